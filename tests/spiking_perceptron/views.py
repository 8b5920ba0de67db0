"""The perceptron's own live view: the output neurons' spike counts for the newest sample."""

from __future__ import annotations

import numpy as np

from snnlab.ui.views.base import LiveView, bokeh_pane, latest, make_figure, source_of


class SpikeCountView(LiveView):
    """Bar chart of ``counts`` ``(n_classes,)``: the class that fires most wins."""

    arrays = ("counts",)

    def __init__(self, **params):
        super().__init__(title=params.pop("title", "Output spike counts (current sample)"),
                         **params)
        self.source = source_of("label", "count")
        self.figure = make_figure("", "class", "spikes")
        self.figure.vbar(x="label", top="count", width=0.8, source=self.source)

    def _draw(self, frames, evaluations):
        counts = latest(frames, "counts")
        if counts is not None:
            counts = np.asarray(counts, dtype=np.float64).ravel()
            self.source.data = {"label": np.arange(len(counts), dtype=np.float64),
                                "count": counts}

    def __panel__(self):
        return self._layout(bokeh_pane(self.figure))
