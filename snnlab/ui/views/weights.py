"""Histogram of one layer's weights in the newest snapshot (``weights_<layer>`` arrays)."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import panel as pn
import param

from snnlab.ui.views.base import PLOT_OPTS, LiveView, dynamic, latest


class WeightHistogramView(LiveView):
    """Histogram per layer; the bins follow the weights as they spread."""

    arrays = ("weights_",)

    layer = param.Selector(default=None, objects=[], doc="Which layer's weights.")
    bins = param.Integer(default=40, bounds=(5, 200), doc="Number of histogram bins.")

    def __init__(self, layers=(), **params):
        super().__init__(title=params.pop("title", "Weights"), **params)
        self.param.layer.objects = list(layers)
        self.layer = layers[0] if layers else None
        self._last: dict[str, np.ndarray] = {}
        self.pipe = hv.streams.Pipe(data=(np.zeros(1), np.array([0.0, 1.0])))
        self.param.watch(self._redraw, ["layer", "bins"])

    def _plot(self, data):
        counts, edges = data
        return hv.Histogram((edges, counts), kdims=["weight"], vdims=["count"]).opts(
            framewise=True, color="#4c72b0", line_color=None, **PLOT_OPTS
        )

    def _draw(self, frames, evaluations):
        for name in self.param.layer.objects:
            w = latest(frames, name)
            if w is not None:
                self._last[name] = w
        if self._last.get(self.layer, np.zeros(0)).size == 0:
            # a declared layer can be empty (no hidden layer): show one that has weights
            self.layer = next((n for n, w in self._last.items() if w.size), self.layer)
        self._redraw()

    def _redraw(self, *_):
        w = self._last.get(self.layer)
        if w is None:
            return
        w = np.asarray(w, dtype=np.float64).ravel()
        self.pipe.send(np.histogram(w[np.isfinite(w)], bins=self.bins))

    def __panel__(self):
        controls = pn.Row(
            pn.widgets.Select.from_param(self.param.layer, name="Layer", width=180),
            pn.widgets.IntInput.from_param(self.param.bins, name="Bins", width=90),
        )
        return self._layout(
            controls, pn.pane.HoloViews(dynamic(self._plot, self.pipe), sizing_mode="stretch_width")
        )
