"""Views of the GEM learner: compartments, importance weights, likelihood bound, calibration.

They read the snapshot arrays the GEM learner declares: ``raster_hidden_compartments``
``(K', T, n_hid)`` hidden spikes of the first ``K' = min(K, MAX_SNAPSHOT_COMPARTMENTS)``
compartments on the newest training example, ``omega`` ``(T, K)`` its importance weights and
``loglik_bound`` ``(T,)`` the running per-step bound ``(1/t) log mean_k p(y_{<=t} | x, h^k)``;
the scalars ``n_samples`` (K) and ``log_likelihood_bound``; and from the evaluations the values
``test_accuracy``, ``ece``, ``test_log_likelihood`` and the array ``reliability``
``(3, n_bins)`` (confidence, accuracy, count per bin of the vote shares).
"""

from __future__ import annotations

import bisect
from typing import ClassVar

import numpy as np
import panel as pn
import param
from bokeh.models import HoverTool, Legend, LegendItem, Range1d

from snnlab.learners.gem.learner import MAX_SNAPSHOT_COMPARTMENTS
from snnlab.ui.views.base import (
    EVALUATION_TAG,
    PALETTE,
    LiveView,
    ScalarHistoryView,
    bokeh_pane,
    empty_columns,
    latest,
    make_figure,
    source_of,
)
from snnlab.ui.views.raster import MAX_POINTS, raster_points

MAX_STEPS = 2000  # time steps of one example sent per frame (an even subset beyond)
CALIBRATION_METRICS = ("test_accuracy", "ece", "test_log_likelihood")
BY_K_SHOWN = ("test_accuracy", "ece")
UNIT_RANGE = (-0.03, 1.03)  # 0..1 with room for the markers of bins at 0 or 1


def even_steps(n_steps: int, limit: int = MAX_STEPS) -> np.ndarray:
    """Every ``k``-th of ``n_steps`` time steps, ``k`` the least that keeps at most ``limit``."""
    return np.arange(0, n_steps, max(1, -(-n_steps // limit)))


class CompartmentRasterView(LiveView):
    """Hidden spikes of one chosen compartment on the newest training example."""

    arrays = ("raster_hidden_compartments",)

    compartment = param.Integer(default=0, bounds=(0, None), doc="Which compartment k to draw.")

    def __init__(self, **params):
        super().__init__(title=params.pop("title", "Hidden spikes per compartment"), **params)
        self._last: np.ndarray | None = None
        self.source = source_of("step", "neuron")
        self.figure = make_figure("", "time step", "hidden neuron")
        self.figure.scatter("step", "neuron", source=self.source, marker="dash", angle=np.pi / 2,
                            size=8, color="black")
        self.param.watch(self._redraw, ["compartment"])

    def _draw(self, frames, evaluations):
        rasters = latest(frames, "raster_hidden_compartments")
        if rasters is None or rasters.ndim != 3:
            return
        self._last = rasters
        if self.param.compartment.bounds != (0, max(len(rasters) - 1, 0)):
            self.param.compartment.bounds = (0, max(len(rasters) - 1, 0))  # widget: only changes
        self._redraw()

    def _redraw(self, *_):
        if self._last is None or len(self._last) == 0:
            return
        raster = self._last[min(self.compartment, len(self._last) - 1)]
        points = raster_points(raster, np.arange(raster.shape[1]), 1.0, MAX_POINTS)
        self.source.data = {"step": points["time"], "neuron": points["neuron"]}

    def reset(self):
        super().reset()
        self._last = None
        self.source.data = empty_columns("step", "neuron")

    def __panel__(self):
        controls = pn.FlexBox(
            pn.widgets.IntInput.from_param(self.param.compartment, name="Compartment", width=120))
        return self._layout(controls, bokeh_pane(self.figure))


def band_columns(n_bands: int) -> tuple[str, ...]:
    return ("step", *(f"{edge}_{k}" for k in range(n_bands) for edge in ("lower", "upper")))


def stacked_bands(omega: np.ndarray, n_bands: int = MAX_SNAPSHOT_COMPARTMENTS) -> dict:
    """Stacked bands of the importance weights ``omega`` ``(T, K)``: ``step`` and, per band
    ``k < n_bands``, ``lower_k``/``upper_k`` ``(T',)`` (at most ``MAX_STEPS`` steps). Band ``k``
    spans compartment ``k``'s share on top of the shares of compartments ``0..k-1``; the last
    band also holds every compartment past it (so the bands stack to 1 for any K), and bands
    past K are NaN (not drawn)."""
    omega = np.asarray(omega, dtype=np.float64)
    steps = even_steps(len(omega))
    top = np.cumsum(omega[steps], axis=1)
    n_compartments = omega.shape[1]
    nothing = np.full(len(steps), np.nan)
    columns = {"step": steps.astype(np.float64)}
    for k in range(n_bands):
        if k >= n_compartments:
            columns[f"lower_{k}"] = columns[f"upper_{k}"] = nothing
            continue
        columns[f"lower_{k}"] = top[:, k - 1] if k else np.zeros(len(steps))
        columns[f"upper_{k}"] = top[:, k] if k < n_bands - 1 else top[:, -1]
    return columns


class ImportanceWeightView(LiveView):
    """Importance weights omega^k_t of the newest training example, stacked over k (sum 1).

    One band per compartment up to ``MAX_SNAPSHOT_COMPARTMENTS``, all built at once; the last
    band holds the compartments past it, and bands past the current K are empty and left out of
    the legend.
    """

    arrays = ("omega",)

    def __init__(self, **params):
        super().__init__(title=params.pop("title", "Importance weights ω^k over time"), **params)
        n_bands = MAX_SNAPSHOT_COMPARTMENTS
        self.source = source_of(*band_columns(n_bands))
        self.figure = make_figure("", "time step", "cumulative ω", y_range=Range1d(0, 1))
        self.legend_items = []
        for k in range(n_bands):
            band = self.figure.varea(x="step", y1=f"lower_{k}", y2=f"upper_{k}",
                                     source=self.source, fill_color=PALETTE[k % len(PALETTE)],
                                     fill_alpha=0.7)
            label = f"k={k}" if k < n_bands - 1 else f"k≥{k}"
            self.legend_items.append(LegendItem(label=label, renderers=[band], visible=k == 0))
        self.figure.add_layout(
            Legend(items=self.legend_items, ncols=2, label_text_font_size="8pt",
                   glyph_height=10, glyph_width=10, spacing=0, padding=4, margin=4),
            "right")

    def _draw(self, frames, evaluations):
        omega = latest(frames, "omega")
        if omega is None or omega.ndim != 2:
            return
        self.source.data = stacked_bands(omega, len(self.legend_items))
        for k, item in enumerate(self.legend_items):
            if item.visible != (k < omega.shape[1]):
                item.visible = k < omega.shape[1]

    def reset(self):
        super().reset()
        self.source.data = empty_columns(*band_columns(len(self.legend_items)))

    def __panel__(self):
        return self._layout(bokeh_pane(self.figure))


class LikelihoodBoundView(ScalarHistoryView):
    """Running log-likelihood bound within the newest example (left, the whole example each
    frame) and per training step (right, appended)."""

    arrays = ("loglik_bound",)
    scalars = ("log_likelihood_bound",)
    plot_styles: ClassVar[dict] = {"log_likelihood_bound": ("per training step", PALETTE[2], {})}

    def __init__(self, **params):
        super().__init__(title=params.pop("title", "Log-likelihood bound (per step)"), **params)
        self.example_source = source_of("time_step", "bound")
        example_figure = make_figure("within the newest example", "time step", "bound / step")
        example_figure.line("time_step", "bound", source=self.example_source, color=PALETTE[0],
                            line_width=1.5)
        self.figures.insert(0, example_figure)

    def _draw(self, frames, evaluations):
        super()._draw(frames, evaluations)
        bound = latest(frames, "loglik_bound")
        if bound is not None:
            steps = even_steps(len(bound))
            self.example_source.data = {"time_step": steps + 1.0,
                                        "bound": np.asarray(bound, dtype=np.float64)[steps]}

    def reset(self):
        super().reset()
        self.example_source.data = empty_columns("time_step", "bound")


class CalibrationView(LiveView):
    """Reliability diagram of the latest evaluation, and accuracy and ECE by K.

    Each evaluation is filed under the number of compartments K the learner trained with up to
    its step (the ``n_samples`` scalar of the newest snapshot at or before it; evaluations may
    arrive after later snapshots), so changing K live draws one point per K: the mean over that
    K's evaluations.
    """

    arrays = ()

    def __init__(self, **params):
        super().__init__(title=params.pop("title", "Calibration and K"), **params)
        self.reliability_source = source_of("confidence", "accuracy", "count")
        self.reliability_figure = make_figure("reliability (vote shares)", "confidence",
                                              "accuracy", x_range=Range1d(*UNIT_RANGE),
                                              y_range=Range1d(*UNIT_RANGE),
                                              tags=[EVALUATION_TAG])
        self.reliability_figure.line([0, 1], [0, 1], color="gray", line_dash="dashed")
        self.reliability_figure.line("confidence", "accuracy", source=self.reliability_source,
                                     color=PALETTE[3])
        bins = self.reliability_figure.scatter("confidence", "accuracy", size=8,
                                               source=self.reliability_source, color=PALETTE[3])
        self.reliability_figure.add_tools(HoverTool(renderers=[bins], tooltips=[
            ("confidence", "@confidence{0.000}"), ("accuracy", "@accuracy{0.000}"),
            ("count", "@count")]))
        self.by_k_source = source_of("K", *CALIBRATION_METRICS)
        self.by_k_figure = make_figure("accuracy and ECE by K", "K", "value",
                                       tags=[EVALUATION_TAG])
        for colour, metric in zip(PALETTE, BY_K_SHOWN):
            self.by_k_figure.line("K", metric, source=self.by_k_source, color=colour,
                                  line_width=2, legend_label=metric)
            self.by_k_figure.scatter("K", metric, source=self.by_k_source, color=colour, size=7)
        self.by_k_figure.legend.location = "bottom_right"
        self.by_k_figure.legend.background_fill_alpha = 0.6
        self._forget()

    def _forget(self):
        # steps at which K changed and the K from then on (ascending): one entry per change
        self._k_steps: list[int] = []
        self._k_values: list[int] = []
        self._waiting: list = []  # evaluations that came before any snapshot told K
        # per K: sum and count of each metric's finite values
        self._sums: dict[int, np.ndarray] = {}
        self._counts: dict[int, np.ndarray] = {}

    def _k_at(self, step: int) -> int:
        """K of the newest snapshot at or before ``step`` (the first K for earlier steps)."""
        return self._k_values[max(bisect.bisect_right(self._k_steps, step) - 1, 0)]

    def _draw(self, frames, evaluations):
        for frame in frames:
            k = frame.scalars.get("n_samples")
            if k is not None and (not self._k_values or int(k) != self._k_values[-1]):
                self._k_steps.append(frame.step)
                self._k_values.append(int(k))
        table = next((e.arrays["reliability"] for e in reversed(evaluations)
                      if "reliability" in e.arrays), None)
        if table is not None:
            conf, acc, counts = np.asarray(table, dtype=np.float64)
            used = counts > 0
            self.reliability_source.data = {"confidence": conf[used], "accuracy": acc[used],
                                            "count": counts[used]}
        new = self._waiting + [e for e in evaluations if "test_accuracy" in e.values]
        if not self._k_values:
            self._waiting = new
            return
        self._waiting = []
        for evaluation in new:
            k = self._k_at(evaluation.step)
            values = np.array([evaluation.values.get(m, np.nan) for m in CALIBRATION_METRICS],
                              dtype=np.float64)
            finite = np.isfinite(values)
            self._sums[k] = self._sums.get(k, 0.0) + np.where(finite, values, 0.0)
            self._counts[k] = self._counts.get(k, 0) + finite
        if new:
            ks = sorted(self._sums)
            with np.errstate(invalid="ignore"):
                means = np.array([self._sums[k] / self._counts[k] for k in ks]).reshape(-1, 3)
            self.by_k_source.data = {"K": np.array(ks, dtype=np.float64),
                                     **{m: means[:, i] for i, m in enumerate(CALIBRATION_METRICS)}}

    def reset(self):
        super().reset()
        self._forget()
        self.reliability_source.data = empty_columns("confidence", "accuracy", "count")
        self.by_k_source.data = empty_columns("K", *CALIBRATION_METRICS)

    def __panel__(self):
        return self._layout(pn.Row(bokeh_pane(self.reliability_figure),
                                   bokeh_pane(self.by_k_figure), sizing_mode="stretch_width"))
