"""Spike raster of one population (input, hidden or output) of the newest snapshot.

Which neurons: the first ``count`` from ``offset``, the ``count`` most active in the frame, or a
fixed random subset (seeded, so it stays put from frame to frame). The y axis shows each
neuron's real index. A frame sends at most ``MAX_POINTS`` spikes: the latest ones, so a long
sample shows its last window rather than flooding the browser.
"""

from __future__ import annotations

import numpy as np
import panel as pn
import param

from snnlab.ui.views.base import LiveView, bokeh_pane, latest, make_figure, source_of

SELECTIONS = ("first", "most active", "random")
MAX_POINTS = 4000


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


def raster_points(raster: np.ndarray, neurons: np.ndarray, dt_ms: float,
                  max_points: int = MAX_POINTS) -> dict:
    """``{"time": (k,) ms, "neuron": (k,)}`` for the spikes of ``neurons`` in ``raster``
    ``(T, n)``; of more than ``max_points`` spikes, the latest ``max_points``."""
    t, j = np.nonzero(raster[:, neurons])
    if len(t) > max_points:
        t, j = t[-max_points:], j[-max_points:]
    return {"time": t * float(dt_ms), "neuron": neurons[j].astype(np.float64)}


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
        self.source = source_of("time", "neuron")
        self.figure = make_figure("", "time (ms)", "neuron")
        self.figure.scatter("time", "neuron", source=self.source, marker="square", size=3,
                            color="black")
        self.param.watch(self._redraw, ["population", "selection", "count", "offset"])

    def _draw(self, frames, evaluations):
        for name in self.param.population.objects:
            raster = latest(frames, name)
            if raster is not None:
                self._last[name] = raster
        self._redraw()

    def _redraw(self, *_):
        raster = self._last.get(self.population)
        if raster is None or raster.ndim != 2:
            return
        neurons = select_neurons(raster, self.selection, self.count, self.offset)
        self.source.data = raster_points(raster, neurons, self.dt_ms)

    def reset(self):
        super().reset()
        self._last.clear()
        self.source.data = {"time": np.zeros(0), "neuron": np.zeros(0)}

    def __panel__(self):
        controls = pn.FlexBox(
            pn.widgets.Select.from_param(self.param.population, name="Population", width=140),
            pn.widgets.Select.from_param(self.param.selection, name="Neurons", width=110),
            pn.widgets.IntInput.from_param(self.param.count, name="Count", width=80),
            pn.widgets.IntInput.from_param(self.param.offset, name="Offset", width=80),
        )
        return self._layout(controls, bokeh_pane(self.figure))
