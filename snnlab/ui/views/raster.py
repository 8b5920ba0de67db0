"""Spike raster of one population (input, hidden or output) of the newest snapshot.

Which neurons: the first ``count`` from ``offset``, the ``count`` most active in the frame, or a
fixed random subset (seeded, so it stays put from frame to frame). The y axis shows each
neuron's real index.
"""

from __future__ import annotations

import holoviews as hv
import numpy as np
import panel as pn
import param

from snnlab.ui.views.base import PLOT_OPTS, LiveView, dynamic, latest

SELECTIONS = ("first", "most active", "random")
TIME = hv.Dimension("time", label="time", unit="ms")
EMPTY = {"time": np.zeros(0), "neuron": np.zeros(0, dtype=int)}


def select_neurons(
    raster: np.ndarray, selection: str, count: int, offset: int = 0, seed: int = 0
) -> np.ndarray:
    """Indices of the neurons to draw from a ``(T, n)`` raster (ascending)."""
    n = raster.shape[1]
    count = min(count, n)
    if selection == "first":
        start = min(max(offset, 0), n - count)
        return np.arange(start, start + count)
    if selection == "most active":
        order = np.argsort(-raster.sum(axis=0, dtype=np.int64), kind="stable")
        return np.sort(order[:count])
    return np.sort(np.random.default_rng(seed).choice(n, size=count, replace=False))


def raster_points(raster: np.ndarray, neurons: np.ndarray, dt_ms: float) -> dict:
    """``{"time": (k,) ms, "neuron": (k,)}`` for every spike of ``neurons`` in ``raster``."""
    t, j = np.nonzero(raster[:, neurons])
    return {"time": t * dt_ms, "neuron": neurons[j]}


class RasterView(LiveView):
    """Raster of the newest frame; choose population and neurons."""

    arrays = ("raster_",)

    population = param.Selector(
        default="raster_input", objects=["raster_input"], doc="Which population's spikes to draw."
    )
    selection = param.Selector(
        default="most active",
        objects=list(SELECTIONS),
        doc="Which neurons: first from offset, most active, or random.",
    )
    count = param.Integer(default=128, bounds=(1, 4096), doc="How many neurons to draw.")
    offset = param.Integer(default=0, bounds=(0, None), doc="First neuron (selection 'first').")

    def __init__(self, populations=("raster_input",), dt_ms: float = 1.0, **params):
        super().__init__(title=params.pop("title", "Spike raster"), **params)
        self.param.population.objects = list(populations)
        self.population = populations[0]
        self.dt_ms = dt_ms
        self._last: dict[str, np.ndarray] = {}
        self.pipe = hv.streams.Pipe(data=EMPTY)
        self.param.watch(self._redraw, ["population", "selection", "count", "offset"])

    def _plot(self, data):
        return hv.Scatter(data, TIME, "neuron").opts(
            marker="square", size=3, color="black", framewise=True, **PLOT_OPTS
        )

    def _draw(self, frames, evaluations):
        for name in self.param.population.objects:
            raster = latest(frames, name)
            if raster is not None:
                self._last[name] = raster
        self._redraw()

    def _redraw(self, *_):
        raster = self._last.get(self.population)
        if raster is None:
            return
        neurons = select_neurons(raster, self.selection, self.count, self.offset)
        self.pipe.send(raster_points(raster, neurons, self.dt_ms))

    def reset(self):
        super().reset()
        self._last.clear()
        self.pipe.send(EMPTY)

    def __panel__(self):
        controls = pn.Row(
            pn.widgets.Select.from_param(self.param.population, name="Population", width=140),
            pn.widgets.Select.from_param(self.param.selection, name="Neurons", width=120),
            pn.widgets.IntInput.from_param(self.param.count, name="Count", width=90),
            pn.widgets.IntInput.from_param(self.param.offset, name="Offset", width=90),
        )
        return self._layout(
            controls, pn.pane.HoloViews(dynamic(self._plot, self.pipe), sizing_mode="stretch_width")
        )
