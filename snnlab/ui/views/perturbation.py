"""Views of the ``wp`` learner: prediction vs target (or exact PDE solution), pointwise error,
and the per-step estimator diagnostics (relative L2, cosine with the reference, variance).

They read the snapshot arrays ``prediction``, ``target``, ``plot_x``, ``plot_t`` (``(G,)`` each;
``plot_t`` is constant for 1-D tasks and holds a few times for ``(x, t)`` tasks, one curve per
time) and the scalars ``rel_l2``, ``estimator_cosine``, ``estimator_variance``.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from bokeh.core.properties import value
from bokeh.models import Legend, LegendItem, Span

from snnlab.learners.wp.learner import PLOT_SLICES
from snnlab.ui.views.base import (
    PALETTE,
    LiveView,
    ScalarHistoryView,
    bokeh_pane,
    empty_columns,
    latest,
    make_figure,
    source_of,
)

CURVE_ARRAYS = ("prediction", "target", "plot_x", "plot_t")
DIAGNOSTICS = ("rel_l2", "estimator_cosine", "estimator_variance")
MAX_TIMES = 8  # curves built when the task is not known (for_task builds what it needs)
LOG_SCALARS = ("rel_l2", "estimator_variance")


def curves_by_time(frames) -> dict | None:
    """``{t: (x, prediction, target)}`` (float64 ``(G_t,)`` each, times ascending) from the
    newest frame carrying the curve arrays; None when none does."""
    arrays = [latest(frames, name) for name in CURVE_ARRAYS]
    if any(a is None for a in arrays):
        return None
    prediction, target, x, t = (np.asarray(a, dtype=np.float64) for a in arrays)
    return {float(time): (x[t == time], prediction[t == time], target[t == time])
            for time in np.unique(t)}


def _label(time: float, n_times: int) -> str:
    return "" if n_times == 1 else f"t={time:.2f}"


class CurvesByTimeView(LiveView):
    """Model output (solid) over the target or exact solution (dashed), one colour per time.

    One data source per time, ``n_times`` of them built up front (a frame with fewer times
    empties the rest, one with more shows the first ``n_times``), each redrawn whole from the
    newest snapshot's curves. A subclass shows something else by declaring other ``columns``
    (computed by ``curve_columns`` from a time's prediction and target) and ``lines``.
    """

    arrays = CURVE_ARRAYS
    #: columns of each time's source besides "x"
    columns: tuple[str, ...] = ("prediction", "target")
    #: (legend text, column, line style) in legend order; the first is drawn on top
    lines: ClassVar[tuple[tuple[str, str, dict], ...]] = (
        ("model", "prediction", {"line_width": 2}),
        ("target", "target", {"line_dash": "dashed"}),
    )
    y_label = "u"

    @staticmethod
    def curve_columns(prediction: np.ndarray, target: np.ndarray) -> dict[str, np.ndarray]:
        """A time's ``columns`` from its prediction and target ``(G_t,)``."""
        return {"prediction": prediction, "target": target}

    def __init__(self, n_times: int = MAX_TIMES, **params):
        super().__init__(**params)
        self.n_times = n_times
        self.curves = {i: source_of("x", *self.columns) for i in range(n_times)}
        self.figure = make_figure("", "x", self.y_label)
        #: per time: its legend items and the text they show before the time's label
        self.legend_items: dict[int, list[tuple[LegendItem, str]]] = {}
        for i, source in self.curves.items():
            colour = PALETTE[i % len(PALETTE)]
            self.legend_items[i] = [
                (LegendItem(label=prefix, renderers=[renderer], visible=False), prefix)
                for prefix, renderer in self._glyphs(source, colour)]
        self._legend_text: dict[str, str] = {}  # the text each legend item shows now
        self.legend = Legend(items=[item for items in self.legend_items.values()
                                    for item, _ in items],
                             location="top_right", background_fill_alpha=0.6, visible=False)
        self.figure.add_layout(self.legend)

    @classmethod
    def for_task(cls, task) -> CurvesByTimeView:
        # the learner plots one time for 1-D tasks, PLOT_SLICES times for (x, t) tasks
        return cls(n_times=1 if task.n_inputs == 1 else PLOT_SLICES)

    def _glyphs(self, source, colour: str) -> list[tuple[str, object]]:
        """Draw one time's ``lines`` from ``source``; ``[(legend text, renderer)]``."""
        drawn = {text: self.figure.line("x", column, source=source, color=colour, **style)
                 for text, column, style in reversed(self.lines)}
        return [(text, drawn[text]) for text, _, _ in self.lines]

    def _draw(self, frames, evaluations):
        data = curves_by_time(frames)
        if data is None:
            return
        shown = sorted(data.items())[: self.n_times]
        for i, source in self.curves.items():
            label = None
            if i < len(shown):
                time, (x, prediction, target) = shown[i]
                source.data = {"x": x, **self.curve_columns(prediction, target)}
                label = _label(time, len(data))
            elif len(source.data["x"]):
                source.data = empty_columns("x", *self.columns)
            for item, prefix in self.legend_items[i]:
                self._show_item(item, label is not None, " ".join(filter(None, (prefix, label))))
        if not self.legend.visible:
            self.legend.visible = True

    def _show_item(self, item: LegendItem, visible: bool, text: str) -> None:
        """Set a legend item's visibility and (when visible) text, sending only changes."""
        if item.visible != visible:
            item.visible = visible
        if visible and self._legend_text.get(item.id) != text:
            item.label = value(text)  # a bare string would name a data column
            self._legend_text[item.id] = text

    def reset(self):
        super().reset()
        for source in self.curves.values():
            source.data = empty_columns("x", *self.columns)

    def __panel__(self):
        return self._layout(bokeh_pane(self.figure))


class PredictionView(CurvesByTimeView):
    """Model output (solid) over the target or exact solution (dashed), one colour per time."""

    def __init__(self, **params):
        super().__init__(title=params.pop("title", "Prediction vs target"), **params)


class PointwiseErrorView(CurvesByTimeView):
    """``prediction - target`` along x, one curve per time, over a dotted zero line."""

    columns = ("error",)
    lines = (("error", "error", {"line_width": 2}),)
    y_label = "error"

    def __init__(self, **params):
        super().__init__(title=params.pop("title", "Pointwise error"), **params)
        self.figure.add_layout(Span(location=0.0, dimension="width", line_color="gray",
                                    line_dash="dotted"))

    @staticmethod
    def curve_columns(prediction, target):
        return {"error": prediction - target}


class EstimatorDiagnosticsView(ScalarHistoryView):
    """Per-step relative L2 on the plotting points, cosine with the reference gradient and
    the variance of the estimate, appended as rows. Relative L2 and variance are on log axes
    where a value ``<= 0`` (the variance of one direction is 0) is a NaN gap."""

    arrays = CURVE_ARRAYS
    scalars = DIAGNOSTICS
    plot_styles: ClassVar[dict[str, tuple[str, str, dict]]] = {
        "rel_l2": ("relative L2 (plotting points)", "#4c72b0", {"y_axis_type": "log"}),
        "estimator_cosine": ("cosine with reference", "#55a868", {"y_range": (-1.05, 1.05)}),
        "estimator_variance": ("estimator variance", "#c44e52", {"y_axis_type": "log"}),
    }

    def __init__(self, **params):
        super().__init__(title=params.pop("title", "Estimator diagnostics"), **params)

    def _shown(self, name, values):
        if name in LOG_SCALARS:
            return np.where(values > 0, values, np.nan)
        return values
