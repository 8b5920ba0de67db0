"""Membrane potentials of a few neurons over the newest sample, with the threshold line."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import panel as pn
import param

from snnlab.ui.views.base import PLOT_OPTS, LiveView, dynamic, latest
from snnlab.ui.views.raster import TIME


def traces_with_breaks(trace: np.ndarray, dt_ms: float) -> tuple[np.ndarray, np.ndarray]:
    """Time and potential of every column of ``trace`` ``(T, n)`` one after the other, each
    followed by a NaN so the line breaks between neurons; both ``(n * (T + 1),)``."""
    n_steps, n = trace.shape
    time_ms = np.tile(np.append(np.arange(n_steps) * dt_ms, np.nan), n)
    values = np.vstack([trace, np.full((1, n), np.nan)]).T.ravel()
    return time_ms, values.astype(np.float64)


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
        self.pipe = hv.streams.Pipe(data=((np.zeros(1), np.zeros(1)), 1.0))
        self.param.watch(self._redraw, ["population", "n_traces"])

    def _plot(self, data):
        (time_ms, potential), threshold = data
        # one Curve with NaN breaks between neurons: ten times cheaper to redraw than a Path
        lines = hv.Curve((time_ms, potential), TIME, "potential").opts(
            color="#4c72b0", line_width=1.5, framewise=True, **PLOT_OPTS)
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
        self.pipe.send((traces_with_breaks(trace[:, : self.n_traces], self.dt_ms), self._threshold))

    def __panel__(self):
        controls = pn.Row(
            pn.widgets.Select.from_param(self.param.population, name="Population", width=160),
            pn.widgets.IntInput.from_param(self.param.n_traces, name="Neurons", width=90),
        )
        return self._layout(
            controls, pn.pane.HoloViews(dynamic(self._plot, self.pipe), sizing_mode="stretch_width")
        )
