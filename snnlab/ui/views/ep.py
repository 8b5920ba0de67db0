"""Views of the EP learner's posterior: marginals of a neuron, posterior histograms, uncertainty.

They read the snapshot arrays the EP learner declares: ``marginal_mean``/``marginal_std``
``(k, n_in)`` and ``marginal_probs`` ``(k, n_in, n_support)`` (``n_support`` 0 for Gaussian
weights) for ``k`` first-layer neurons, ``posterior_mean``/``posterior_std`` ``(n,)`` and
``posterior_probs`` ``(n, n_support)`` for an even subset of all weights, and
``test_uncertainty``/``test_error`` ``(n_test,)`` for the first test samples.
"""

from __future__ import annotations

import time

import numpy as np
import panel as pn
import param
from bokeh.models import (
    CategoricalColorMapper,
    ColorBar,
    Div,
    HoverTool,
    LinearColorMapper,
    Range1d,
)
from bokeh.palettes import RdBu11, Viridis256

from snnlab.ui.views.base import (
    PALETTE,
    LiveView,
    bokeh_pane,
    empty_columns,
    histogram_columns,
    latest,
    make_figure,
    source_of,
)

MAX_BAND_POINTS = 2000  # ranks of the sorted mean ± std sent per frame
HISTOGRAM_BINS = 40
PROBABILITY_BINS = 20
OUTCOMES = ("correct", "error")
SUMMARY_HZ = 1.0  # changes of the uncertainty summary's text a second, at most


def image_shape(input_shape: tuple) -> tuple[int, int]:
    """``(H, W)`` of the sensor map for a task's ``input_shape`` (a row for 1-D inputs)."""
    if len(input_shape) >= 2:
        return int(input_shape[-2]), int(input_shape[-1])
    return 1, (int(input_shape[0]) if input_shape else 1)


def sensor_image(values: np.ndarray, input_shape: tuple) -> np.ndarray:
    """``(H, W)`` map of per-input values ``(n_in,)``, averaged over polarity and time windows.

    When ``n_in`` is a multiple of the sensor's ``H*W`` the leading factors (windows,
    polarities) are averaged out; otherwise a single row ``(1, n_in)``.
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    h, w = image_shape(input_shape)
    if values.size and values.size % (h * w) == 0:
        return values.reshape(-1, h, w).mean(axis=0)
    return values.reshape(1, -1)


def sorted_band(mean: np.ndarray, std: np.ndarray,
                max_points: int = MAX_BAND_POINTS) -> dict[str, np.ndarray]:
    """``{"rank", "mean", "lower", "upper"}`` of ``mean`` ``(n,)`` sorted ascending with
    ``mean ± std`` of the same weights; of more than ``max_points`` ranks an even subset
    (first and last kept)."""
    order = np.argsort(mean, kind="stable")
    n = len(order)
    ranks = np.unique(np.linspace(0, n - 1, max_points).round().astype(np.int64)) \
        if n > max_points else np.arange(n)
    m = np.asarray(mean, dtype=np.float64)[order[ranks]]
    s = np.asarray(std, dtype=np.float64)[order[ranks]]
    return {"rank": ranks.astype(np.float64), "mean": m, "lower": m - s, "upper": m + s}


def rescale(mapper: LinearColorMapper, image: np.ndarray) -> bool:
    """Fit ``mapper`` to the finite range of ``image`` when the range has left it or fills less
    than half of it; returns whether it changed.

    The new range is padded by a tenth on each side (a flat image gets a tiny range, so it
    still maps to one colour). Changing a colour mapper re-lays out its colour bar and plot in
    the page (tens of ms), so a range that drifts a little each frame must not move it.
    """
    finite = image[np.isfinite(image)]
    if finite.size == 0:
        return False
    low, high = float(finite.min()), float(finite.max())
    span = high - low
    inside = mapper.low <= low and high <= mapper.high
    if inside and span >= 0.5 * (mapper.high - mapper.low):
        return False
    pad = 0.1 * span if span > 0 else max(abs(low) * 1e-6, 1e-12)
    mapper.update(low=low - pad, high=high + pad)
    return True


def image_figure(title: str, height: int, width: int, palette) -> tuple:
    """A sensor-map figure with its image source, colour mapper and colour bar, all built once.

    The image fills ``[0, width] x [0, height]`` whatever the shape of the array sent, so the
    figure never changes size or range.
    """
    source = source_of("image")
    mapper = LinearColorMapper(palette=palette, low=0.0, high=1.0)
    fig = make_figure(title, x_range=Range1d(0, width), y_range=Range1d(0, height))
    renderer = fig.image(image="image", x=0, y=0, dw=width, dh=height, source=source,
                         color_mapper=mapper)
    fig.add_tools(HoverTool(renderers=[renderer], tooltips=[("value", "@image")]))
    fig.add_layout(ColorBar(color_mapper=mapper, width=10), "right")
    fig.axis.visible = False
    fig.grid.visible = False
    return fig, source, mapper


class MarginalsView(LiveView):
    """One neuron's incoming marginals: sorted mean ± std, and sensor maps of mean and std.

    For discrete weights the first map shows the probability of the chosen support value
    instead of the mean.
    """

    arrays = ("marginal_mean", "marginal_std", "marginal_probs")

    neuron = param.Integer(default=0, bounds=(0, None),
                           doc="Which first-layer neuron (of those sent).")
    support_value = param.Integer(
        default=-1, bounds=(-1, None),
        doc="Discrete weights: index of the support value to map (-1: last).")

    def __init__(self, input_shape: tuple = (), **params):
        super().__init__(title=params.pop("title", "Posterior marginals (incoming weights)"),
                         **params)
        self.input_shape = tuple(input_shape)
        height, width = image_shape(self.input_shape)
        self._last: dict | None = None
        self.band_source = source_of("rank", "mean", "lower", "upper")
        self.band_figure = make_figure("mean ± std, sorted by mean", "rank", "weight")
        self.band_figure.varea(x="rank", y1="lower", y2="upper", source=self.band_source,
                               fill_color=PALETTE[0], fill_alpha=0.3)
        self.band_figure.line("rank", "mean", source=self.band_source, color=PALETTE[0],
                              line_width=1.5)
        self.mean_figure, self.mean_source, self.mean_mapper = image_figure(
            "posterior mean", height, width, tuple(reversed(RdBu11)))
        self.std_figure, self.std_source, self.std_mapper = image_figure(
            "posterior std", height, width, Viridis256)
        self.param.watch(self._redraw, ["neuron", "support_value"])

    @classmethod
    def for_task(cls, task) -> MarginalsView:
        return cls(input_shape=task.input_shape)

    def _draw(self, frames, evaluations):
        mean = latest(frames, "marginal_mean")
        if mean is None or len(mean) == 0:
            return
        self._last = {"mean": mean, "std": latest(frames, "marginal_std"),
                      "probs": latest(frames, "marginal_probs")}
        if self.param.neuron.bounds != (0, len(mean) - 1):  # a widget change re-lays out the page
            self.param.neuron.bounds = (0, len(mean) - 1)
        self._redraw()

    def _redraw(self, *_):
        if self._last is None:
            return
        j = min(self.neuron, len(self._last["mean"]) - 1)
        mean, std = self._last["mean"][j], self._last["std"][j]
        probs = self._last["probs"]
        self.band_source.data = sorted_band(mean, std)
        if probs is not None and probs.ndim == 3 and probs.shape[-1]:
            n_support = probs.shape[-1]
            k = self.support_value if 0 <= self.support_value < n_support else n_support - 1
            shown, label = probs[j][:, k], f"P(w = support[{k}])"
        else:
            shown, label = mean, "posterior mean"
        if self.mean_figure.title.text != label:
            self.mean_figure.title.text = label
        for values, source, mapper in ((shown, self.mean_source, self.mean_mapper),
                                       (std, self.std_source, self.std_mapper)):
            # sensor row 0 is the top row; Bokeh draws an image's row 0 at the bottom
            image = sensor_image(values, self.input_shape)[::-1]
            source.data = {"image": [np.ascontiguousarray(image)]}
            rescale(mapper, image)

    def reset(self):
        super().reset()
        self._last = None
        for source in (self.band_source, self.mean_source, self.std_source):
            source.data = empty_columns(*source.data)

    def __panel__(self):
        controls = pn.FlexBox(
            pn.widgets.IntInput.from_param(self.param.neuron, name="Neuron", width=100),
            pn.widgets.IntInput.from_param(self.param.support_value,
                                           name="Support value (discrete)", width=160),
        )
        maps = pn.Row(bokeh_pane(self.mean_figure), bokeh_pane(self.std_figure),
                      sizing_mode="stretch_width")
        return self._layout(controls, bokeh_pane(self.band_figure), maps)


class PosteriorHistogramView(LiveView):
    """Histograms of posterior means and stds; for discrete weights, of the largest probability
    of each weight (hidden for Gaussian weights, which have none)."""

    arrays = ("posterior_mean", "posterior_std", "posterior_probs")

    def __init__(self, **params):
        super().__init__(title=params.pop("title", "Posterior over all weights"), **params)
        titles = {"mean": ("posterior mean", "weight"),
                  "std": ("posterior std", "std"),
                  "max_probability": ("max probability (discrete weights)", "probability")}
        self.histograms = {name: source_of("left", "right", "top") for name in titles}
        self.figures = []
        for colour, (name, (title, x_label)) in zip(PALETTE, titles.items()):
            fig = make_figure(title, x_label, "count")
            fig.quad(left="left", right="right", top="top", bottom=0,
                     source=self.histograms[name], fill_color=colour, line_color=None)
            self.figures.append(fig)

    def _draw(self, frames, evaluations):
        mean, std = latest(frames, "posterior_mean"), latest(frames, "posterior_std")
        if mean is None:
            return
        self.histograms["mean"].data = histogram_columns(mean, HISTOGRAM_BINS)
        if std is not None:
            self.histograms["std"].data = histogram_columns(std, HISTOGRAM_BINS)
        probs = latest(frames, "posterior_probs")
        discrete = probs is not None and probs.ndim == 2 and probs.size > 0
        if discrete:
            self.histograms["max_probability"].data = histogram_columns(
                probs.max(axis=1), PROBABILITY_BINS, (0.0, 1.0))
        if probs is not None and self.figures[2].visible != discrete:
            self.figures[2].visible = discrete

    def reset(self):
        super().reset()
        for source in self.histograms.values():
            source.data = empty_columns("left", "right", "top")

    def __panel__(self):
        return self._layout(pn.Row(*map(bokeh_pane, self.figures), sizing_mode="stretch_width"))


def uncertainty_summary(uncertainty: np.ndarray, error: np.ndarray, kind: str) -> str:
    """One line of HTML comparing the uncertainty of errors and correct predictions
    (classification) or its correlation with the error (regression); only formatted numbers
    enter it."""
    uncertainty = np.asarray(uncertainty, dtype=np.float64)
    error = np.asarray(error, dtype=np.float64)
    if kind == "classification":
        wrong = error > 0.5
        if wrong.all() or not wrong.any():
            which = "errors" if wrong.any() else "correct predictions"
            return (f"mean entropy: <b>{uncertainty.mean():.3f}</b> on all {len(wrong)} "
                    f"test samples ({which})")
        return (f"mean entropy: <b>{uncertainty[wrong].mean():.3f}</b> on the "
                f"{int(wrong.sum())} errors vs <b>{uncertainty[~wrong].mean():.3f}</b> on the "
                f"{int((~wrong).sum())} correct predictions")
    spread = uncertainty.std() * error.std()
    corr = float(np.corrcoef(uncertainty, error)[0, 1]) if spread > 0 else 0.0
    return f"correlation of predictive std with |error|: <b>{corr:.2f}</b>"


class UncertaintyView(LiveView):
    """Predictive uncertainty per test sample coloured by its error: are the errors the unsure
    ones? Classification: entropy, errors in red; regression: predictive std, |error| mapped."""

    arrays = ("test_uncertainty", "test_error")

    def __init__(self, kind: str = "classification", **params):
        super().__init__(title=params.pop("title", "Predictive uncertainty per test sample"),
                         **params)
        self.kind = kind
        label = "entropy (nats)" if kind == "classification" else "predictive std"
        # a Bokeh Div, not a Panel text pane: Panel rebuilds a pane's stylesheet models on
        # every change of its text, a Div only changes its ``text``
        self.summary = Div(text="", height=24, sizing_mode="stretch_width")  # fixed: no re-layout
        self._summary_at = 0.0
        self.source = source_of("sample", "uncertainty", "error", "outcome")
        self.figure = make_figure("", "test sample", label)
        if kind == "classification":
            mapper = CategoricalColorMapper(factors=list(OUTCOMES),
                                            palette=[PALETTE[0], PALETTE[3]])
            self.figure.scatter("sample", "uncertainty", source=self.source, size=6,
                                color={"field": "outcome", "transform": mapper},
                                legend_field="outcome")
            self.figure.legend.location = "top_left"
            self.figure.legend.background_fill_alpha = 0.6
            self.error_mapper = None
        else:
            self.error_mapper = LinearColorMapper(palette=Viridis256, low=0.0, high=1.0)
            self.figure.scatter("sample", "uncertainty", source=self.source, size=6,
                                color={"field": "error", "transform": self.error_mapper})
            self.figure.add_layout(
                ColorBar(color_mapper=self.error_mapper, width=10, title="|error|"), "right")

    @classmethod
    def for_task(cls, task) -> UncertaintyView:
        return cls(kind=task.kind)

    def _draw(self, frames, evaluations):
        uncertainty, error = latest(frames, "test_uncertainty"), latest(frames, "test_error")
        if uncertainty is None or error is None or len(uncertainty) == 0:
            return
        uncertainty = np.asarray(uncertainty, dtype=np.float64)
        error = np.asarray(error, dtype=np.float64)
        outcome = np.where(error > 0.5, OUTCOMES[1], OUTCOMES[0])
        self.source.data = {"sample": np.arange(len(uncertainty), dtype=np.float64),
                            "uncertainty": uncertainty, "error": error, "outcome": outcome}
        if self.error_mapper is not None:
            rescale(self.error_mapper, error)
        now = time.perf_counter()
        # a text change re-lays out the page: at most SUMMARY_HZ times a second
        if now - self._summary_at >= 1.0 / SUMMARY_HZ:
            summary = uncertainty_summary(uncertainty, error, self.kind)
            if summary != self.summary.text:
                self.summary.text = summary
                self._summary_at = now

    def reset(self):
        super().reset()
        self.source.data = empty_columns("sample", "uncertainty", "error", "outcome")
        self.summary.text = ""
        self._summary_at = 0.0

    def __panel__(self):
        return self._layout(bokeh_pane(self.summary), bokeh_pane(self.figure))
