"""Views of the GEM learner: compartments, importance weights, likelihood bound, calibration.

They read the snapshot arrays the GEM learner declares: ``raster_hidden_compartments``
``(K, T, n_hid)`` hidden spikes of every compartment on the newest training example, ``omega``
``(T, K)`` its importance weights, ``loglik_bound`` ``(T,)`` the running per-step bound
``(1/t) log mean_k p(y_{<=t} | x, h^k)``, ``reliability`` ``(3, n_bins)`` (confidence, accuracy,
count per bin of the latest test evaluation), and the scalars ``n_samples`` and
``log_likelihood_bound``; evaluation rows give ``test_accuracy``, ``ece`` and
``test_log_likelihood``.
"""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param

from snnlab.ui.views.base import BUFFER_ROWS, PLOT_OPTS, LiveView, dynamic, latest

EMPTY_RASTER = {"step": np.zeros(0), "neuron": np.zeros(0, dtype=int)}
CALIBRATION_METRICS = ("test_accuracy", "ece", "test_log_likelihood")


class CompartmentRasterView(LiveView):
    """Hidden spikes of one chosen compartment on the newest training example."""

    arrays = ("raster_hidden_compartments",)

    compartment = param.Integer(default=0, bounds=(0, None), doc="Which compartment k to draw.")

    def __init__(self, **params):
        super().__init__(title=params.pop("title", "Hidden spikes per compartment"), **params)
        self._last: np.ndarray | None = None
        self.pipe = hv.streams.Pipe(data=EMPTY_RASTER)
        self.param.watch(self._redraw, ["compartment"])

    def _plot(self, data):
        return hv.Scatter(data, "step", "neuron").opts(
            marker="dash", angle=90, size=8, framewise=True, **PLOT_OPTS
        )

    def _draw(self, frames, evaluations):
        rasters = latest(frames, "raster_hidden_compartments")
        if rasters is None:
            return
        self._last = rasters
        self.param.compartment.bounds = (0, max(len(rasters) - 1, 0))
        self._redraw()

    def _redraw(self, *_):
        if self._last is None or len(self._last) == 0:
            return
        t, j = np.nonzero(self._last[min(self.compartment, len(self._last) - 1)])
        self.pipe.send({"step": t, "neuron": j})

    def __panel__(self):
        control = pn.widgets.IntInput.from_param(self.param.compartment, name="Compartment",
                                                 width=120)
        return self._layout(control, pn.pane.HoloViews(dynamic(self._plot, self.pipe),
                                                       sizing_mode="stretch_width"))


class ImportanceWeightView(LiveView):
    """Importance weights omega^k_t of the newest training example, stacked over k (sum 1)."""

    arrays = ("omega",)

    def __init__(self, **params):
        super().__init__(title=params.pop("title", "Importance weights ω^k over time"), **params)
        self.pipe = hv.streams.Pipe(data=np.zeros((0, 1)))

    @staticmethod
    def stacked(omega: np.ndarray) -> np.ndarray:
        """Cumulative sums over compartments ``(T, K)``: the upper edge of each band."""
        return np.cumsum(np.asarray(omega, dtype=np.float64), axis=1)

    def _plot(self, data):
        top = data
        steps = np.arange(len(top))
        bands = []
        for k in range(top.shape[1]):
            low = top[:, k - 1] if k else np.zeros(len(top))
            # an area between the previous band's edge and this one's: bands stack to 1
            bands.append(hv.Area((steps, top[:, k], low), "step", ["cumulative ω", "base"],
                                 label=f"k={k}"))
        return hv.Overlay(bands).opts(
            hv.opts.Area(alpha=0.6, line_width=0.5, ylim=(0, 1.0), **PLOT_OPTS),
            hv.opts.Overlay(legend_position="right"),
        )

    def _draw(self, frames, evaluations):
        omega = latest(frames, "omega")
        if omega is not None:
            self.pipe.send(self.stacked(omega))

    def __panel__(self):
        return self._layout(pn.pane.HoloViews(dynamic(self._plot, self.pipe),
                                              sizing_mode="stretch_width"))


class LikelihoodBoundView(LiveView):
    """Running log-likelihood bound within the newest example (left) and per step (right)."""

    arrays = ("loglik_bound",)

    def __init__(self, **params):
        super().__init__(title=params.pop("title", "Log-likelihood bound (per step)"), **params)
        self.pipe = hv.streams.Pipe(data=np.zeros(0))
        self.buffer = hv.streams.Buffer(
            pd.DataFrame({"step": np.zeros(0, int), "bound": np.zeros(0)}),
            length=BUFFER_ROWS, index=False,
        )

    def _example_plot(self, data):
        return hv.Curve((np.arange(1, len(data) + 1), data), "time step",
                        "bound / step").opts(title="within the newest example", framewise=True,
                                             **PLOT_OPTS)

    def _steps_plot(self, data):
        return hv.Curve(data, "step", "bound").opts(title="per training step", color="#55a868",
                                                    **PLOT_OPTS)

    def _draw(self, frames, evaluations):
        bound = latest(frames, "loglik_bound")
        if bound is not None:
            self.pipe.send(np.asarray(bound, dtype=np.float64))
        rows = [(f.step, f.scalars["log_likelihood_bound"]) for f in frames
                if "log_likelihood_bound" in f.scalars]
        if rows:
            steps, values = zip(*rows)
            self.buffer.send(pd.DataFrame({"step": steps, "bound": values}))

    def reset(self):
        super().reset()
        self.buffer.clear()

    def __panel__(self):
        return self._layout(pn.Row(
            pn.pane.HoloViews(dynamic(self._example_plot, self.pipe), sizing_mode="stretch_width"),
            pn.pane.HoloViews(dynamic(self._steps_plot, self.buffer), sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
        ))


class CalibrationView(LiveView):
    """Reliability diagram of the latest evaluation, and accuracy, ECE, log-likelihood by K.

    Each evaluation row is filed under the number of compartments K the learner trained with
    when it came (the ``n_samples`` scalar), so changing K live draws one point per K: the mean
    over that K's evaluations.
    """

    arrays = ("reliability",)

    def __init__(self, **params):
        super().__init__(title=params.pop("title", "Calibration and K"), **params)
        self.reliability_pipe = hv.streams.Pipe(data=np.zeros((3, 0)))
        self.by_k_pipe = hv.streams.Pipe(data=self._summary([]))
        self.rows: list[dict] = []
        self._k = None

    @staticmethod
    def _summary(rows: list[dict]) -> pd.DataFrame:
        frame = pd.DataFrame(rows, columns=["K", *CALIBRATION_METRICS])
        return frame.groupby("K", as_index=False).mean() if len(frame) else frame

    def _reliability_plot(self, data):
        conf, acc, counts = data
        used = counts > 0
        diagonal = hv.Curve(([0, 1], [0, 1]), "confidence", "accuracy").opts(
            color="gray", line_dash="dashed")
        points = hv.Scatter((conf[used], acc[used], counts[used]), "confidence",
                            ["accuracy", "count"]).opts(size=8, color="#c44e52", tools=["hover"])
        bars = hv.Curve((conf[used], acc[used]), "confidence", "accuracy").opts(color="#c44e52")
        return (diagonal * bars * points).opts(
            hv.opts.Curve(xlim=(0, 1), ylim=(0, 1), title="reliability (vote shares)",
                          **PLOT_OPTS))

    def _by_k_plot(self, data):
        curves = [hv.Curve(data, "K", (m, "value"), label=m).opts(tools=["hover"])
                  for m in ("test_accuracy", "ece")]
        points = [hv.Scatter(data, "K", (m, "value"), label=m).opts(size=7)
                  for m in ("test_accuracy", "ece")]
        return hv.Overlay(curves + points).opts(
            hv.opts.Curve(title="accuracy and ECE by K", framewise=True, **PLOT_OPTS),
            hv.opts.Overlay(legend_position="bottom_right"))

    def _draw(self, frames, evaluations):
        for frame in frames:
            if "n_samples" in frame.scalars:
                self._k = int(frame.scalars["n_samples"])
        table = latest(frames, "reliability")
        if table is not None:
            self.reliability_pipe.send(np.asarray(table, dtype=np.float64))
        new = [e for e in evaluations if "test_accuracy" in e.values]
        if new and self._k is not None:
            for e in new:
                self.rows.append({"K": self._k, **{m: e.values.get(m, np.nan)
                                                   for m in CALIBRATION_METRICS}})
            self.by_k_pipe.send(self._summary(self.rows))

    def reset(self):
        super().reset()
        self.rows = []
        self._k = None

    def __panel__(self):
        return self._layout(pn.Row(
            pn.pane.HoloViews(dynamic(self._reliability_plot, self.reliability_pipe),
                              sizing_mode="stretch_width"),
            pn.pane.HoloViews(dynamic(self._by_k_plot, self.by_k_pipe),
                              sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
        ))
