"""Bars of one value per class for the newest training sample: the class probabilities a
learner gave it (``proba``), or any other per-class array a learner's view names."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from bokeh.models import Range1d

from snnlab.ui.views.base import LiveView, bokeh_pane, latest, make_figure, source_of


class PerClassBarsView(LiveView):
    """Bar chart of the newest ``arrays[0]`` ``(n_classes,)`` among the frames."""

    #: the value axis: its label, and its fixed range (``None``: follows the data)
    value_label: ClassVar[str] = "value"
    value_range: ClassVar[tuple[float, float] | None] = None

    def __init__(self, **params):
        super().__init__(**params)
        self.source = source_of("label", "value")
        fixed = {"y_range": Range1d(*self.value_range)} if self.value_range else {}
        self.figure = make_figure("", "class", self.value_label, **fixed)
        self.figure.vbar(x="label", top="value", width=0.8, source=self.source,
                         fill_color="#4c72b0", line_color=None)

    def _draw(self, frames, evaluations):
        values = latest(frames, self.arrays[0])
        if values is not None:
            values = np.asarray(values, dtype=np.float64).ravel()
            self.source.data = {"label": np.arange(len(values), dtype=np.float64),
                                "value": values}

    def __panel__(self):
        return self._layout(bokeh_pane(self.figure))


class ClassProbabilityView(PerClassBarsView):
    """The class probabilities ``proba`` ``(n_classes,)`` of the newest training sample."""

    arrays = ("proba",)
    value_label = "probability"
    value_range = (0.0, 1.0)

    def __init__(self, **params):
        super().__init__(title=params.pop("title", "Class probabilities (current sample)"),
                         **params)
