"""Histogram of one layer's weights in the newest snapshot (``weights_<layer>`` arrays)."""

from __future__ import annotations

import numpy as np
import panel as pn
import param

from snnlab.ui.views.base import (
    LiveView,
    bokeh_pane,
    histogram_columns,
    latest,
    make_figure,
    source_of,
)


class WeightHistogramView(LiveView):
    """Histogram per layer; the bins follow the weights as they spread. Layers that a network
    declares but does not have (no hidden layer) are not offered."""

    arrays = ("weights_",)

    layer = param.Selector(default=None, objects=[], doc="Which layer's weights.")
    bins = param.Integer(default=40, bounds=(5, 200), doc="Number of histogram bins.")

    def __init__(self, layers=(), **params):
        super().__init__(title=params.pop("title", "Weights"), **params)
        self.param.layer.objects = list(layers)
        self.layer = layers[0] if layers else None
        self._last: dict[str, np.ndarray] = {}
        self.source = source_of("left", "right", "top")
        self.figure = make_figure("", "weight", "count")
        self.figure.quad(left="left", right="right", top="top", bottom=0, source=self.source,
                         fill_color="#4c72b0", line_color=None)
        self.param.watch(self._redraw, ["layer", "bins"])

    def _draw(self, frames, evaluations):
        for name in list(self.param.layer.objects):
            w = latest(frames, name)
            if w is not None:
                self._last[name] = w
        present = [n for n in self.param.layer.objects if self._last.get(n, np.ones(1)).size]
        if present != list(self.param.layer.objects):
            self.param.layer.objects = present
            if self.layer not in present and present:
                self.layer = present[0]
        self._redraw()

    def _redraw(self, *_):
        w = self._last.get(self.layer)
        if w is None or w.size == 0:
            return
        self.source.data = histogram_columns(w, self.bins)

    def reset(self):
        super().reset()
        self._last.clear()
        self.source.data = {"left": np.zeros(0), "right": np.zeros(0), "top": np.zeros(0)}

    def __panel__(self):
        controls = pn.FlexBox(
            pn.widgets.Select.from_param(self.param.layer, name="Layer", width=180),
            pn.widgets.IntInput.from_param(self.param.bins, name="Bins", width=90),
        )
        return self._layout(controls, bokeh_pane(self.figure))
