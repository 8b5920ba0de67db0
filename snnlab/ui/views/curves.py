"""Learning curves: the loss of every step and the evaluation metrics, appended as they come.

Both plots are fed by HoloViews ``Buffer`` streams: each frame appends the rows produced since
the last one, so nothing is redrawn from scratch and a slow browser skips frames, not rows.
"""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param

from snnlab.ui.views.base import BUFFER_ROWS, PLOT_OPTS, LiveView, dynamic

#: metrics drawn for each task kind (columns of the evaluation buffer)
METRICS_BY_KIND = {
    "classification": ("train_accuracy", "test_accuracy", "ece"),
    "regression": ("rmse", "rel_l2"),
    "pde": ("rel_l2",),
    "spike-train": ("van_rossum", "correlation"),
}


class LearningCurveView(LiveView):
    """Loss per step (left) and evaluation metrics (right)."""

    arrays = ()

    steps_shown = param.Integer(default=0, doc="Loss rows received (for tests).")
    evaluations_shown = param.Integer(default=0, doc="Evaluation rows received (for tests).")

    def __init__(self, kind: str = "classification", **params):
        super().__init__(title=params.pop("title", "Learning curves"), **params)
        self.metrics = METRICS_BY_KIND.get(kind, ())
        self.loss_buffer = hv.streams.Buffer(
            pd.DataFrame({"step": np.zeros(0, int), "loss": np.zeros(0)}),
            length=BUFFER_ROWS,
            index=False,
        )
        self.metric_buffer = hv.streams.Buffer(
            pd.DataFrame({"step": np.zeros(0, int), **{m: np.zeros(0) for m in self.metrics}}),
            length=BUFFER_ROWS,
            index=False,
        )

    def _loss_plot(self, data):
        return hv.Curve(data, "step", "loss").opts(color="#dd8452", title="loss", **PLOT_OPTS)

    def _metric_plot(self, data):
        curves = [hv.Curve(data, "step", (m, "value"), label=m) for m in self.metrics]
        return hv.Overlay(curves).opts(legend_position="bottom_right", title="evaluation")

    def _draw(self, frames, evaluations):
        losses = [(f.step, f.scalars["loss"]) for f in frames if "loss" in f.scalars]
        if losses:
            steps, values = zip(*losses)
            self.loss_buffer.send(pd.DataFrame({"step": steps, "loss": values}))
            self.steps_shown += len(losses)
        if evaluations and self.metrics:
            rows = {"step": [e.step for e in evaluations]}
            for m in self.metrics:
                rows[m] = [e.values.get(m, np.nan) for e in evaluations]
            self.metric_buffer.send(pd.DataFrame(rows))
            self.evaluations_shown += len(evaluations)

    def reset(self):
        super().reset()
        self.loss_buffer.clear()
        self.metric_buffer.clear()
        self.steps_shown = self.evaluations_shown = 0

    def __panel__(self):
        plots = [
            pn.pane.HoloViews(
                dynamic(self._loss_plot, self.loss_buffer), sizing_mode="stretch_width"
            )
        ]
        if self.metrics:
            plots.append(
                pn.pane.HoloViews(
                    dynamic(self._metric_plot, self.metric_buffer), sizing_mode="stretch_width"
                )
            )
        return self._layout(pn.Row(*plots, sizing_mode="stretch_width"))
