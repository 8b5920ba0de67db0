"""Class probabilities the learner gave the newest training sample (``proba`` arrays)."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import panel as pn

from snnlab.ui.views.base import PLOT_OPTS, LiveView, dynamic, latest


class ClassProbabilityView(LiveView):
    """Bar chart of ``proba`` ``(n_classes,)``."""

    arrays = ("proba",)

    def __init__(self, **params):
        super().__init__(
            title=params.pop("title", "Class probabilities (current sample)"), **params
        )
        self.pipe = hv.streams.Pipe(data=np.zeros(1))

    def _plot(self, data):
        return hv.Bars((np.arange(len(data)).astype(str), data), "class", "probability").opts(
            ylim=(0, 1), **PLOT_OPTS
        )

    def _draw(self, frames, evaluations):
        proba = latest(frames, "proba")
        if proba is not None:
            self.pipe.send(np.asarray(proba, dtype=float))

    def __panel__(self):
        return self._layout(
            pn.pane.HoloViews(dynamic(self._plot, self.pipe), sizing_mode="stretch_width")
        )
