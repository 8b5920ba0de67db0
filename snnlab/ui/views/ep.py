"""Views of the EP learner's posterior: marginals of a neuron, posterior histograms, uncertainty.

They read the snapshot arrays the EP learner declares: ``marginal_mean``/``marginal_std``
``(k, n_in)`` and ``marginal_probs`` ``(k, n_in, n_support)`` for ``k`` first-layer neurons,
``posterior_mean``/``posterior_std``/``posterior_probs`` for an even subset of all weights, and
``test_uncertainty``/``test_error`` ``(n,)`` for the first test samples.
"""

from __future__ import annotations

import holoviews as hv
import numpy as np
import panel as pn
import param

from snnlab.ui.views.base import PLOT_OPTS, LiveView, dynamic, latest

IMAGE_OPTS = dict(colorbar=True, framewise=True, responsive=True, min_height=220, toolbar="above",
                  xaxis=None, yaxis=None)


def sensor_image(values: np.ndarray, input_shape: tuple) -> np.ndarray:
    """``(H, W)`` map of per-input values: averaged over polarity and time windows.

    ``values`` ``(n_in,)``; when ``n_in`` is a multiple of the sensor's ``H*W`` the leading
    factors (windows, polarities) are averaged out; otherwise a single row ``(1, n_in)``.
    """
    values = np.asarray(values, dtype=np.float64)
    if len(input_shape) >= 2:
        h, w = input_shape[-2:]
        if values.size % (h * w) == 0:
            return values.reshape(-1, h, w).mean(axis=0)
    return values.reshape(1, -1)


class MarginalsView(LiveView):
    """One neuron's incoming marginals: sorted mean ± std, and maps of mean and std.

    For discrete weights the maps show the probability of the chosen support value instead of
    the mean.
    """

    arrays = ("marginal_mean", "marginal_std", "marginal_probs")

    neuron = param.Integer(default=0, bounds=(0, None), doc="Which first-layer neuron (of those sent).")
    support_value = param.Integer(default=-1, bounds=(-1, None),
                                  doc="Discrete weights: index of the support value to map (-1: last).")

    def __init__(self, input_shape: tuple = (), **params):
        super().__init__(title=params.pop("title", "Posterior marginals (incoming weights)"), **params)
        self.input_shape = tuple(input_shape)
        self._last: dict | None = None
        self.sorted_pipe = hv.streams.Pipe(data=(np.zeros(0), np.zeros(0)))
        self.maps_pipe = hv.streams.Pipe(data=(np.zeros((1, 1)), np.zeros((1, 1)), "mean"))
        self.param.watch(self._redraw, ["neuron", "support_value"])

    @classmethod
    def for_task(cls, task) -> "MarginalsView":
        return cls(input_shape=task.input_shape)

    def _sorted_plot(self, data):
        mean, std = data
        rank = np.arange(len(mean))
        band = hv.Spread((rank, mean, std), "rank", ["mean", "std"]).opts(alpha=0.3, color="#4c72b0")
        return (band * hv.Curve((rank, mean), "rank", "mean").opts(color="#4c72b0")).opts(
            hv.opts.Curve(**PLOT_OPTS, title="mean ± std, sorted by mean", framewise=True))

    def _map_plot(self, which: int):
        """One sensor map from the maps pipe: 0 the mean (or a support probability), 1 the std."""
        def plot(data):
            image, label = (data[0], data[2]) if which == 0 else (data[1], "posterior std")
            bounds = (0, 0, image.shape[1], image.shape[0])
            cmap = "RdBu_r" if which == 0 else "viridis"
            return hv.Image(image[::-1], bounds=bounds).opts(title=label, cmap=cmap, **IMAGE_OPTS)
        return plot

    def _draw(self, frames, evaluations):
        mean = latest(frames, "marginal_mean")
        if mean is None:
            return
        self._last = {"mean": mean, "std": latest(frames, "marginal_std"),
                      "probs": latest(frames, "marginal_probs")}
        self.param.neuron.bounds = (0, len(mean) - 1)
        self._redraw()

    def _redraw(self, *_):
        if self._last is None:
            return
        j = min(self.neuron, len(self._last["mean"]) - 1)
        mean, std, probs = self._last["mean"][j], self._last["std"][j], self._last["probs"][j]
        order = np.argsort(mean)
        self.sorted_pipe.send((mean[order], std[order]))
        if probs.shape[-1]:
            k = self.support_value if 0 <= self.support_value < probs.shape[-1] else probs.shape[-1] - 1
            shown, label = probs[:, k], f"P(w = support[{k}])"
        else:
            shown, label = mean, "posterior mean"
        self.maps_pipe.send((sensor_image(shown, self.input_shape),
                             sensor_image(std, self.input_shape), label))

    def __panel__(self):
        controls = pn.Row(pn.widgets.IntInput.from_param(self.param.neuron, name="Neuron", width=100),
                          pn.widgets.IntInput.from_param(self.param.support_value,
                                                         name="Support value (discrete)", width=160))
        return self._layout(controls,
                            pn.pane.HoloViews(dynamic(self._sorted_plot, self.sorted_pipe),
                                              sizing_mode="stretch_width"),
                            pn.Row(*[pn.pane.HoloViews(dynamic(self._map_plot(k), self.maps_pipe),
                                                       sizing_mode="stretch_width") for k in (0, 1)],
                                   sizing_mode="stretch_width"))


class PosteriorHistogramView(LiveView):
    """Histograms of posterior means and stds; for discrete weights, of the largest probability."""

    arrays = ("posterior_mean", "posterior_std", "posterior_probs")

    def __init__(self, **params):
        super().__init__(title=params.pop("title", "Posterior over all weights"), **params)
        empty = (np.zeros(1), np.array([0.0, 1.0]))
        self.pipes = {name: hv.streams.Pipe(data=empty)
                      for name in ("posterior mean", "posterior std", "max probability (discrete weights)")}

    def _plot(self, name):
        def plot(data):
            counts, edges = data
            return hv.Histogram((edges, counts), kdims=[name], vdims=["count"]).opts(
                framewise=True, line_color=None, title=name, **PLOT_OPTS)
        return plot

    def _draw(self, frames, evaluations):
        mean, std = latest(frames, "posterior_mean"), latest(frames, "posterior_std")
        probs = latest(frames, "posterior_probs")
        if mean is None:
            return
        self.pipes["posterior mean"].send(np.histogram(mean, bins=40))
        self.pipes["posterior std"].send(np.histogram(std, bins=40))
        if probs is not None and probs.size:
            self.pipes["max probability (discrete weights)"].send(np.histogram(probs.max(axis=1), bins=20, range=(0, 1)))

    def __panel__(self):
        return self._layout(pn.Row(*[pn.pane.HoloViews(dynamic(self._plot(n), p), sizing_mode="stretch_width")
                                     for n, p in self.pipes.items()], sizing_mode="stretch_width"))


class UncertaintyView(LiveView):
    """Predictive uncertainty per test sample, errors in red: are the errors the unsure ones?"""

    arrays = ("test_uncertainty", "test_error")

    def __init__(self, kind: str = "classification", **params):
        super().__init__(title=params.pop("title", "Predictive uncertainty per test sample"), **params)
        self.kind = kind
        self.pipe = hv.streams.Pipe(data=(np.zeros(0), np.zeros(0)))
        self.summary = pn.pane.Markdown("")

    @classmethod
    def for_task(cls, task) -> "UncertaintyView":
        return cls(kind=task.kind)

    def _plot(self, data):
        uncertainty, error = data
        label = "entropy (nats)" if self.kind == "classification" else "predictive std"
        points = hv.Points((np.arange(len(uncertainty)), uncertainty, error),
                           ["test sample", label], ["error"])
        cmap = ["#4c72b0", "#c44e52"] if self.kind == "classification" else "viridis"
        return points.opts(color="error", cmap=cmap, size=6, framewise=True, colorbar=self.kind != "classification",
                           **PLOT_OPTS)

    def _draw(self, frames, evaluations):
        uncertainty, error = latest(frames, "test_uncertainty"), latest(frames, "test_error")
        if uncertainty is None:
            return
        self.pipe.send((uncertainty, error))
        if self.kind == "classification":
            wrong = error > 0.5
            if wrong.any() and (~wrong).any():
                self.summary.object = (f"mean entropy: **{uncertainty[wrong].mean():.3f}** on the "
                                       f"{wrong.sum()} errors vs **{uncertainty[~wrong].mean():.3f}** "
                                       "on the correct predictions")
        else:
            corr = np.corrcoef(uncertainty, error)[0, 1] if uncertainty.std() > 0 else 0.0
            self.summary.object = f"correlation of predictive std with |error|: **{corr:.2f}**"

    def __panel__(self):
        return self._layout(self.summary, pn.pane.HoloViews(dynamic(self._plot, self.pipe),
                                                            sizing_mode="stretch_width"))
