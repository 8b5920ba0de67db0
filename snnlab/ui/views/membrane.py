"""Membrane potentials of a few neurons over the newest sample, with the threshold line.

All traces go out as one line with a NaN between neurons (one glyph, one data source: a
frame is one column replacement, however many neurons are shown), decimated to at most
``MAX_POINTS_PER_TRACE`` points a neuron by keeping every k-th time step.
"""

from __future__ import annotations

import numpy as np
import panel as pn
import param
from bokeh.models import Span

from snnlab.ui.views.base import LiveView, bokeh_pane, latest, make_figure, source_of

MAX_POINTS_PER_TRACE = 2000


def traces_with_breaks(trace: np.ndarray, dt_ms: float,
                       max_points: int = MAX_POINTS_PER_TRACE) -> tuple[np.ndarray, np.ndarray]:
    """Time and potential of every column of ``trace`` ``(T, n)`` one after the other, each
    followed by a NaN so the line breaks between neurons; both ``(n * (T' + 1),)`` where
    ``T' = ceil(T / k)`` keeps every ``k``-th step, ``k`` the least with ``T' <= max_points``."""
    n_steps, n = trace.shape
    stride = max(1, -(-n_steps // max_points))
    kept = np.arange(0, n_steps, stride)
    time_ms = np.tile(np.append(kept * dt_ms, np.nan), n)
    values = np.vstack([trace[kept], np.full((1, n), np.nan)]).T.ravel()
    return time_ms.astype(np.float64), values.astype(np.float64)


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
        self.source = source_of("time", "potential")
        self.figure = make_figure("", "time (ms)", "potential")
        self.figure.line("time", "potential", source=self.source, color="#4c72b0",
                         line_width=1.5)
        self.threshold = Span(location=1.0, dimension="width", line_color="red",
                              line_dash="dashed")
        self.figure.add_layout(self.threshold)
        self.param.watch(self._redraw, ["population", "n_traces"])

    def _draw(self, frames, evaluations):
        for name in self.param.population.objects:
            trace = latest(frames, name)
            if trace is not None:
                self._last[name] = trace
        threshold = next(
            (f.scalars["threshold"] for f in reversed(frames) if "threshold" in f.scalars), None
        )
        if threshold is not None and threshold != self.threshold.location:
            self.threshold.location = float(threshold)
        self._redraw()

    def _redraw(self, *_):
        trace = self._last.get(self.population)
        if trace is None or trace.ndim != 2 or trace.shape[1] == 0:
            return
        time_ms, potential = traces_with_breaks(trace[:, : self.n_traces], self.dt_ms)
        self.source.data = {"time": time_ms, "potential": potential}

    def reset(self):
        super().reset()
        self._last.clear()
        self.source.data = {"time": np.zeros(0), "potential": np.zeros(0)}

    def __panel__(self):
        controls = pn.FlexBox(
            pn.widgets.Select.from_param(self.param.population, name="Population", width=160),
            pn.widgets.IntInput.from_param(self.param.n_traces, name="Neurons", width=90),
        )
        return self._layout(controls, bokeh_pane(self.figure))
