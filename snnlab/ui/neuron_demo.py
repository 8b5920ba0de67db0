"""Teaching demo: one LIF and one GLM neuron under sliders, redrawn as the sliders move.

The model (:class:`snnlab.demos.neuron.NeuronDemoModel`) owns the parameters and the
simulation; this Viewer shows its sliders and pushes each new simulation into Pipe streams.
"Run" draws fresh inputs every half second, to show the trial-to-trial variability.
"""

from __future__ import annotations

import holoviews as hv
import numpy as np
import panel as pn
import param

from snnlab.demos.neuron import NeuronDemoModel
from snnlab.ui.views.base import PLOT_OPTS, dynamic
from snnlab.ui.views.raster import TIME


class NeuronDemo(pn.viewable.Viewer):
    """Sliders for the model's parameters; membrane and spikes of both neurons, live."""

    running = param.Boolean(default=False, doc="Draw fresh inputs every half second.")
    redraws = param.Integer(default=0, doc="Simulations drawn so far (for tests).")

    def __init__(self, model: NeuronDemoModel | None = None, **params):
        super().__init__(**params)
        self.model = model or NeuronDemoModel()
        self.pipe = hv.streams.Pipe(data=self.model.simulate())
        self.rates = pn.pane.Markdown("")
        self.model.param.watch(self._redraw, [k for k in self.model.param if k != "name"])
        self._callback = None
        self._redraw()

    def _redraw(self, *_):
        data = self.model.simulate()
        self.pipe.send(data)
        seconds = len(data["time_ms"]) / 1000.0
        self.rates.object = (f"LIF: **{data['lif_spikes'].sum() / seconds:.1f} Hz** · "
                             f"GLM: **{data['glm_spikes'].sum() / seconds:.1f} Hz** · "
                             f"inputs: {data['input_count'].sum() / seconds / self.model.n_inputs:.1f} Hz each")
        self.redraws += 1

    def _potentials(self, data):
        t = data["time_ms"]
        threshold = hv.HLine(self.model.threshold).opts(color="red", line_dash="dashed")
        lif = hv.Curve((t, data["lif_v"]), TIME, "potential", label="LIF v")
        glm = hv.Curve((t, data["glm_u"]), TIME, "potential", label="GLM u")
        return (lif * glm * threshold).opts(hv.opts.Curve(**PLOT_OPTS, framewise=True),
                                            hv.opts.Overlay(legend_position="top_left",
                                                            title="membrane potentials"))

    def _spikes(self, data):
        t = data["time_ms"]
        rows = []
        for row, key in ((0, "lif_spikes"), (1, "glm_spikes")):
            times = t[data[key] > 0]
            rows.append(hv.Scatter((times, np.full(len(times), row)), TIME, "neuron"))
        inputs_t, inputs_j = np.nonzero(data["input_raster"])
        inputs = hv.Scatter((t[inputs_t], 2 + inputs_j * 0.1), TIME, "neuron").opts(
            color="grey", size=2)
        probability = hv.Curve((t, 1.0 + 0.9 * data["glm_p"]), TIME, "neuron").opts(
            color="orange", alpha=0.6)
        return (rows[0].opts(color="#4c72b0", size=8, marker="square")
                * rows[1].opts(color="#dd8452", size=8, marker="square")
                * probability * inputs).opts(
            hv.opts.Scatter(**PLOT_OPTS, framewise=True),
            hv.opts.Overlay(title="spikes: LIF (0), GLM (1) with its firing probability, inputs"))

    def _tick(self):
        self.model.seed = (self.model.seed + 1) % (2**31 - 1)

    def _run(self, event):
        if event.new and self._callback is None:
            self._callback = pn.state.add_periodic_callback(self._tick, period=500)
        elif not event.new and self._callback is not None:
            self._callback.stop()
            self._callback = None

    def __panel__(self):
        self.param.watch(self._run, ["running"])
        if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
            pn.state.on_session_destroyed(lambda _context: self._callback and self._callback.stop())
        sliders = pn.Param(self.model.param, parameters=[k for k in self.model.param if k != "name"],
                           show_name=False, widgets={"seed": pn.widgets.IntInput})
        return pn.Row(
            pn.Column(pn.pane.Markdown("## One neuron, two models"),
                      pn.widgets.Toggle.from_param(self.param.running, name="Run (fresh inputs)"),
                      sliders, width=320),
            pn.Column(self.rates,
                      pn.pane.HoloViews(dynamic(self._potentials, self.pipe), sizing_mode="stretch_width"),
                      pn.pane.HoloViews(dynamic(self._spikes, self.pipe), sizing_mode="stretch_width"),
                      sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
        )
