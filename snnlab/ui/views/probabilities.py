"""Class probabilities the learner gave the newest training sample (``proba`` arrays)."""

from __future__ import annotations

import numpy as np
from bokeh.models import Range1d

from snnlab.ui.views.base import LiveView, bokeh_pane, latest, make_figure, source_of


class ClassProbabilityView(LiveView):
    """Bar chart of ``proba`` ``(n_classes,)``."""

    arrays = ("proba",)

    def __init__(self, **params):
        super().__init__(
            title=params.pop("title", "Class probabilities (current sample)"), **params
        )
        self.source = source_of("label", "probability")
        self.figure = make_figure("", "class", "probability", y_range=Range1d(0, 1))
        self.figure.vbar(x="label", top="probability", width=0.8, source=self.source,
                         fill_color="#4c72b0", line_color=None)

    def _draw(self, frames, evaluations):
        proba = latest(frames, "proba")
        if proba is not None:
            proba = np.asarray(proba, dtype=np.float64).ravel()
            self.source.data = {"label": np.arange(len(proba), dtype=np.float64),
                                "probability": proba}

    def __panel__(self):
        return self._layout(bokeh_pane(self.figure))
