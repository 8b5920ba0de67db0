"""Learning curves: the loss of every step and the evaluation metrics, appended as they come.

Both plots stream rows into their data sources (``source.stream(rows, rollover=BUFFER_ROWS)``):
each frame sends only the rows produced since the last one, so a slow browser skips frames,
never rows. A metric missing from an evaluation is NaN, which breaks its line.
"""

from __future__ import annotations

import numpy as np
import panel as pn
import param

from snnlab.ui.views.base import (
    BUFFER_ROWS,
    EVALUATION_TAG,
    PALETTE,
    LiveView,
    bokeh_pane,
    empty_columns,
    make_figure,
    source_of,
)

#: metrics drawn for each task kind (columns of the evaluation source)
METRICS_BY_KIND = {
    "classification": ("train_accuracy", "test_accuracy", "ece"),
    "regression": ("rmse", "rel_l2"),
    "pde": ("rel_l2",),
    "spike-train": ("van_rossum", "correlation"),
}


def evaluation_columns(evaluations, metrics) -> dict[str, np.ndarray]:
    """``{"step": (n,), metric: (n,)}`` with NaN where an evaluation lacks a metric."""
    return {"step": np.array([e.step for e in evaluations], dtype=np.float64),
            **{m: np.array([e.values.get(m, np.nan) for e in evaluations], dtype=np.float64)
               for m in metrics}}


class LearningCurveView(LiveView):
    """Loss per step (left) and evaluation metrics (right); ``eval_samples`` (when the
    evaluations use only the first test samples) is said in the metrics plot's title."""

    arrays = ()

    steps_shown = param.Integer(default=0, doc="Loss rows received (for tests).")
    evaluations_shown = param.Integer(default=0, doc="Evaluation rows received (for tests).")

    def __init__(self, kind: str = "classification", eval_samples: int | None = None,
                 **params):
        super().__init__(title=params.pop("title", "Learning curves"), **params)
        self.metrics = METRICS_BY_KIND.get(kind, ())
        self.loss_source = source_of("step", "loss")
        self.metric_source = source_of("step", *self.metrics)
        self.loss_figure = make_figure("loss per step", "step", "loss")
        self.loss_figure.line("step", "loss", source=self.loss_source, color="#dd8452")
        subset = f" (first {eval_samples} test samples)" if eval_samples else ""
        self.metric_figure = make_figure("evaluation" + subset, "step", "value",
                                         tags=[EVALUATION_TAG])
        for colour, metric in zip(PALETTE, self.metrics):
            self.metric_figure.line("step", metric, source=self.metric_source, color=colour,
                                    line_width=2, legend_label=metric)
            self.metric_figure.scatter("step", metric, source=self.metric_source, color=colour,
                                       size=4)
        if self.metrics:
            self.metric_figure.legend.location = "bottom_right"
            self.metric_figure.legend.background_fill_alpha = 0.6

    def _draw(self, frames, evaluations):
        losses = [(f.step, f.scalars["loss"]) for f in frames if "loss" in f.scalars]
        if losses:
            steps, values = np.array(losses, dtype=np.float64).T
            self.loss_source.stream({"step": steps, "loss": values}, rollover=BUFFER_ROWS)
            self.steps_shown += len(losses)
        if evaluations and self.metrics:
            self.metric_source.stream(evaluation_columns(evaluations, self.metrics),
                                      rollover=BUFFER_ROWS)
            self.evaluations_shown += len(evaluations)

    def reset(self):
        super().reset()
        self.loss_source.data = empty_columns("step", "loss")
        self.metric_source.data = empty_columns("step", *self.metrics)
        self.steps_shown = self.evaluations_shown = 0

    def __panel__(self):
        figures = [self.loss_figure] + ([self.metric_figure] if self.metrics else [])
        return self._layout(pn.Row(*map(bokeh_pane, figures), sizing_mode="stretch_width"))
