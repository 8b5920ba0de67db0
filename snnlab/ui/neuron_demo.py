"""Teaching demo: one LIF and one GLM neuron under sliders, redrawn as the sliders move.

The model (:class:`snnlab.demos.neuron.NeuronDemoModel`) owns the parameters and the
simulation; this Viewer shows its sliders and two figures built once, whose data sources get
each new simulation (inside one ``pn.io.hold()``, so a redraw is one browser message). "Run"
draws fresh inputs ``fps`` times per second, to show the trial-to-trial variability.
"""

from __future__ import annotations

import numpy as np
import panel as pn
import param
from bokeh.models import Span

from snnlab.demos.neuron import NeuronDemoModel
from snnlab.ui.serving import in_served_session
from snnlab.ui.views.base import PALETTE, bokeh_pane, make_figure, source_of
from snnlab.ui.views.raster import MAX_POINTS

TIME = "time (ms)"
MAX_LINE_POINTS = 2500  # per line: longer simulations keep every k-th step
INPUT_ROWS = 2.0  # height of the spike plot the inputs fill at most, above the two neurons


def input_points(raster: np.ndarray, time_ms: np.ndarray,
                 max_points: int = MAX_POINTS) -> dict[str, np.ndarray]:
    """``{"time", "row"}`` of the spikes of the first inputs of ``raster`` ``(T, n)`` whose
    spikes add up to at most ``max_points`` (at least one input, then its first ``max_points``
    spikes), input ``j`` on row ``2 + j * spacing`` with ``spacing = min(0.1, INPUT_ROWS / n)``."""
    n = raster.shape[1]
    shown = max(1, int(np.searchsorted(np.cumsum(raster.sum(axis=0)), max_points, "right")))
    t, j = np.nonzero(raster[:, :shown])
    t, j = t[:max_points], j[:max_points]
    return {"time": time_ms[t], "row": 2.0 + j * min(0.1, INPUT_ROWS / n)}


class NeuronDemo(pn.viewable.Viewer):
    """Sliders for the model's parameters; membrane and spikes of both neurons, live."""

    running = param.Boolean(default=False, doc="Draw fresh inputs fps times per second.")
    fps = param.Integer(default=20, bounds=(1, 30), doc="Fresh inputs per second while running.")
    redraws = param.Integer(default=0, doc="Simulations drawn so far (for tests).")

    def __init__(self, model: NeuronDemoModel | None = None, **params):
        super().__init__(**params)
        self.model = model or NeuronDemoModel()
        self._plots: pn.Column | None = None  # built on first display
        # a StaticText: a Markdown pane makes new stylesheet models on every change
        self.rates = pn.widgets.StaticText(value="")
        self.potentials = source_of("time", "lif_v", "glm_u")
        self.lif_spikes = source_of("time", "row")
        self.glm_spikes = source_of("time", "row")
        self.probability = source_of("time", "row")
        self.inputs = source_of("time", "row")
        self.potential_figure = make_figure("membrane potentials", TIME, "potential")
        self.potential_figure.line("time", "lif_v", source=self.potentials, color=PALETTE[0],
                                   legend_label="LIF v")
        self.potential_figure.line("time", "glm_u", source=self.potentials, color=PALETTE[1],
                                   legend_label="GLM u")
        self.potential_figure.legend.location = "top_left"
        self.threshold = Span(location=self.model.threshold, dimension="width",
                              line_color="red", line_dash="dashed")
        self.potential_figure.add_layout(self.threshold)
        self.spike_figure = make_figure(
            "spikes: LIF (0), GLM (1) with its firing probability, inputs", TIME, "neuron",
            x_range=self.potential_figure.x_range)
        self.spike_figure.scatter("time", "row", source=self.inputs, color="grey", size=2)
        self.spike_figure.line("time", "row", source=self.probability, color="orange", alpha=0.6)
        for source, colour in ((self.lif_spikes, PALETTE[0]), (self.glm_spikes, PALETTE[1])):
            self.spike_figure.scatter("time", "row", source=source, color=colour, size=8,
                                      marker="square")
        self._callback = None
        self._cleanup_registered = False
        self.model.param.watch(self._redraw, [k for k in self.model.param if k != "name"])
        self.param.watch(self._run, ["running"])
        self.param.watch(self._set_period, ["fps"])
        self._redraw()

    def _redraw(self, *_):
        """Simulate and replace every source's data (the figures stay)."""
        data = self.model.simulate()
        t = data["time_ms"]
        stride = max(1, -(-len(t) // MAX_LINE_POINTS))
        seconds = len(t) / 1000.0
        with pn.io.hold():
            self.potentials.data = {"time": t[::stride], "lif_v": data["lif_v"][::stride],
                                    "glm_u": data["glm_u"][::stride]}
            for source, key, row in ((self.lif_spikes, "lif_spikes", 0.0),
                                     (self.glm_spikes, "glm_spikes", 1.0)):
                times = t[data[key] > 0]
                source.data = {"time": times, "row": np.full(len(times), row)}
            self.probability.data = {"time": t[::stride],
                                     "row": 1.0 + 0.9 * data["glm_p"][::stride]}
            self.inputs.data = input_points(data["input_raster"], t)
            self.threshold.location = self.model.threshold
            self.rates.value = (
                f"LIF: {data['lif_spikes'].sum() / seconds:.1f} Hz · "
                f"GLM: {data['glm_spikes'].sum() / seconds:.1f} Hz · "
                f"inputs: {data['input_count'].sum() / seconds / self.model.n_inputs:.1f} Hz each")
        if self._plots is not None:  # a notebook output gets model changes only when pushed
            pn.io.push_notebook(self._plots)
        self.redraws += 1

    def _tick(self):
        self.model.seed = (self.model.seed + 1) % (2**31 - 1)

    def _period(self) -> int:
        return int(1000 / self.fps)

    def _run(self, event):
        if event.new and self._callback is None:
            self._callback = pn.state.add_periodic_callback(self._tick, period=self._period())
        elif not event.new and self._callback is not None:
            self._callback.stop()
            self._callback = None

    def _set_period(self, *_):
        if self._callback is not None:
            self._callback.period = self._period()

    def _stop(self, *_):
        if self._callback is not None:
            self._callback.stop()
            self._callback = None

    def __panel__(self):
        if not self._cleanup_registered and in_served_session():
            pn.state.on_session_destroyed(self._stop)
            self._cleanup_registered = True
        if self._plots is None:
            self._plots = pn.Column(self.rates, bokeh_pane(self.potential_figure),
                                    bokeh_pane(self.spike_figure), sizing_mode="stretch_width")
        sliders = pn.Param(self.model.param, parameters=[k for k in self.model.param if k != "name"],
                           show_name=False, widgets={"seed": pn.widgets.IntInput})
        return pn.Row(
            pn.Column(pn.pane.Markdown("## One neuron, two models"),
                      pn.widgets.Toggle.from_param(self.param.running, name="Run (fresh inputs)"),
                      pn.widgets.IntSlider.from_param(self.param.fps, name="Runs per second"),
                      sliders, width=320),
            self._plots,
            sizing_mode="stretch_width",
        )
