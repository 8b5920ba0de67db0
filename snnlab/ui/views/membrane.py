"""Membrane potentials of a few neurons over the newest sample, with the threshold line."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import panel as pn
import param

from snnlab.ui.views.base import PLOT_OPTS, LiveView, dynamic, latest
from snnlab.ui.views.raster import TIME


class MembraneView(LiveView):
    """Traces from a ``membrane_*`` snapshot array ``(T, n)``; threshold from scalar ``threshold``."""

    arrays = ("membrane_",)

    population = param.Selector(default=None, objects=[], doc="Which population's potentials.")
    n_traces = param.Integer(default=4, bounds=(1, 16), doc="How many neurons to draw.")

    def __init__(self, populations=(), dt_ms: float = 1.0, **params):
        super().__init__(title=params.pop("title", "Membrane potential"), **params)
        self.param.population.objects = list(populations)
        self.population = populations[0] if populations else None
        self.dt_ms = dt_ms
        self._last: dict[str, np.ndarray] = {}
        self._threshold = 1.0
        # HoloViews cannot draw an empty list of paths: start from one resting point
        self.pipe = hv.streams.Pipe(data=([{"time": [0.0], "potential": [0.0], "neuron": 0}], 1.0))
        self.param.watch(self._redraw, ["population", "n_traces"])

    def _plot(self, data):
        paths, threshold = data
        lines = hv.Path(paths, kdims=[TIME, "potential"], vdims=["neuron"]).opts(
            color="neuron", cmap="Category10", line_width=1.5, framewise=True, **PLOT_OPTS
        )
        return lines * hv.HLine(threshold).opts(color="red", line_dash="dashed")

    def _draw(self, frames, evaluations):
        for name in self.param.population.objects:
            trace = latest(frames, name)
            if trace is not None:
                self._last[name] = trace
        threshold = next(
            (f.scalars["threshold"] for f in reversed(frames) if "threshold" in f.scalars), None
        )
        if threshold is not None:
            self._threshold = threshold
        self._redraw()

    def _redraw(self, *_):
        trace = self._last.get(self.population)
        if trace is None:
            return
        t = np.arange(trace.shape[0]) * self.dt_ms
        paths = [
            {"time": t, "potential": trace[:, i], "neuron": i}
            for i in range(min(self.n_traces, trace.shape[1]))
        ]
        self.pipe.send((paths, self._threshold))

    def __panel__(self):
        controls = pn.Row(
            pn.widgets.Select.from_param(self.param.population, name="Population", width=160),
            pn.widgets.IntInput.from_param(self.param.n_traces, name="Neurons", width=90),
        )
        return self._layout(
            controls, pn.pane.HoloViews(dynamic(self._plot, self.pipe), sizing_mode="stretch_width")
        )
