"""NormAD views: desired vs observed output spikes over training, error signals, distances.

- :class:`SpikeOverlayView`: for one output neuron and one training pattern, the observed spike
  times of every step stacked by step (how they settle on the desired times), the desired
  times as vertical lines and the error instants of the newest step (missing: green up
  triangles, spurious: red down triangles). Reads ``raster_output``, ``raster_desired``,
  ``error_output`` and the scalar ``pattern``.
- :class:`ErrorSignalView`: the output error train ``e(t)`` and the errors carried back to
  hidden spike instants ``δ(t)`` (summed over hidden neurons) of the newest step.
- :class:`SpikeDistanceView`: van Rossum distance and Schreiber correlation of every training
  step (scalars), appended as they come.

Rasters, membranes (with threshold) and weight histograms come from the shared views.
"""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param

from snnlab.ui.views.base import (
    BUFFER_ROWS,
    PLOT_OPTS,
    LiveView,
    ScalarHistoryView,
    dynamic,
    latest,
)
from snnlab.ui.views.raster import TIME

EMPTY_OVERLAY = {
    "observed": pd.DataFrame({"time": np.zeros(0), "step": np.zeros(0, int)}),
    "desired": np.zeros(0),
    "missing": np.zeros(0),
    "spurious": np.zeros(0),
    "step": 0,
}


class SpikeOverlayView(LiveView):
    """Observed output spikes per step against the desired times, error spikes marked."""

    arrays = ("raster_output", "raster_desired", "error_output")

    neuron = param.Integer(default=0, bounds=(0, None), doc="Output neuron shown.")
    pattern = param.Integer(default=0, bounds=(0, None), doc="Training pattern shown.")
    rows_shown = param.Integer(default=0, doc="Observed spikes in the history (for tests).")

    def __init__(self, dt_ms: float = 1.0, **params):
        super().__init__(title=params.pop("title", "Desired vs observed output spikes"), **params)
        self.dt_ms = dt_ms
        self._history: list[pd.DataFrame] = []
        self._newest: dict = {}
        self.pipe = hv.streams.Pipe(data=EMPTY_OVERLAY)
        self.param.watch(self._restart, ["neuron", "pattern"])

    @classmethod
    def for_task(cls, task) -> SpikeOverlayView:
        return cls(dt_ms=task.dt * 1000.0)

    def _plot(self, data):
        observed = hv.Scatter(data["observed"], TIME, "step").opts(
            color="black", size=3, marker="square"
        )
        desired = hv.Overlay(
            [hv.VLine(t).opts(color="#4c72b0", alpha=0.6) for t in data["desired"]]
        )
        step = np.full(len(data["missing"]), data["step"])
        missing = hv.Scatter((data["missing"], step), TIME, "step").opts(
            color="green", marker="triangle", size=10
        )
        step = np.full(len(data["spurious"]), data["step"])
        spurious = hv.Scatter((data["spurious"], step), TIME, "step").opts(
            color="red", marker="inverted_triangle", size=10
        )
        return (observed * desired * missing * spurious).opts(
            hv.opts.Scatter(framewise=True, **PLOT_OPTS)
        )

    def _draw(self, frames, evaluations):
        rows = []
        for frame in frames:
            if int(frame.scalars.get("pattern", 0)) != self.pattern:
                continue
            observed = frame.arrays.get("raster_output")
            if observed is None or self.neuron >= observed.shape[1]:
                continue
            times = np.nonzero(observed[:, self.neuron])[0] * self.dt_ms
            rows.append(pd.DataFrame({"time": times, "step": np.full(len(times), frame.step)}))
            error = frame.arrays["error_output"][:, self.neuron]
            self._newest = {
                "desired": np.nonzero(frame.arrays["raster_desired"][:, self.neuron])[0]
                * self.dt_ms,
                "missing": np.nonzero(error > 0)[0] * self.dt_ms,
                "spurious": np.nonzero(error < 0)[0] * self.dt_ms,
                "step": frame.step,
            }
        if rows:
            self._history.extend(rows)
            self.rows_shown += sum(len(r) for r in rows)
            self._send()

    def _send(self):
        observed = pd.concat(self._history, ignore_index=True) if self._history else None
        if observed is not None and len(observed) > BUFFER_ROWS:
            observed = observed.iloc[-BUFFER_ROWS:]
            self._history = [observed]
        self.pipe.send(
            {
                **EMPTY_OVERLAY,
                **self._newest,
                **({"observed": observed} if observed is not None else {}),
            }
        )

    def _restart(self, *_):
        self._history, self._newest = [], {}
        self.rows_shown = 0
        self.pipe.send(EMPTY_OVERLAY)

    def reset(self):
        super().reset()
        self._restart()

    def __panel__(self):
        controls = pn.Row(
            pn.widgets.IntInput.from_param(self.param.neuron, name="Output neuron", width=110),
            pn.widgets.IntInput.from_param(self.param.pattern, name="Pattern", width=90),
        )
        return self._layout(
            controls, pn.pane.HoloViews(dynamic(self._plot, self.pipe), sizing_mode="stretch_width")
        )


class ErrorSignalView(LiveView):
    """Output error ``e(t)`` per output neuron and hidden errors ``δ(t)`` of the newest step."""

    arrays = ("error_output", "error_hidden")

    def __init__(self, dt_ms: float = 1.0, **params):
        super().__init__(title=params.pop("title", "Error signals"), **params)
        self.dt_ms = dt_ms
        self.pipe = hv.streams.Pipe(data=(np.zeros((0, 3)), np.zeros((0, 2))))

    @classmethod
    def for_task(cls, task) -> ErrorSignalView:
        return cls(dt_ms=task.dt * 1000.0)

    # A DynamicMap must return one element or overlay, never a Layout (a Layout froze every
    # plot of the page): each panel gets its own DynamicMap on the shared pipe.
    def _output_plot(self, data):
        return hv.Spikes(data[0], TIME, ["e(t)", "neuron"]).opts(
            color="neuron",
            cmap="Category10",
            framewise=True,
            title="output error e(t)",
            **PLOT_OPTS,
        )

    def _hidden_plot(self, data):
        return hv.Spikes(data[1], TIME, "δ(t)").opts(
            color="#8172b3",
            framewise=True,
            title="error at hidden spikes δ(t), summed",
            **PLOT_OPTS,
        )

    def _draw(self, frames, evaluations):
        error = latest(frames, "error_output")
        if error is None:
            return
        steps, neurons = np.nonzero(error)
        output = np.column_stack([steps * self.dt_ms, error[steps, neurons], neurons])
        hidden_error = latest(frames, "error_hidden")
        summed = hidden_error.sum(axis=1) if hidden_error.shape[1] else np.zeros(len(error))
        active = np.nonzero(summed)[0]
        self.pipe.send((output, np.column_stack([active * self.dt_ms, summed[active]])))

    def __panel__(self):
        return self._layout(pn.Row(
            *[pn.pane.HoloViews(dynamic(plot, self.pipe), sizing_mode="stretch_width")
              for plot in (self._output_plot, self._hidden_plot)],
            sizing_mode="stretch_width"))


class SpikeDistanceView(ScalarHistoryView):
    """van Rossum distance and Schreiber correlation of each training step."""

    arrays = ()
    scalars = ("van_rossum", "correlation")

    def __init__(self, **params):
        super().__init__(title=params.pop("title", "Spike-train distance per step"), **params)

    def plots(self):
        return (self._distance_plot, self._correlation_plot)

    def _distance_plot(self, data):
        return hv.Curve(data, "step", "van_rossum").opts(
            color="#dd8452", title="van Rossum distance", **PLOT_OPTS
        )

    def _correlation_plot(self, data):
        return hv.Curve(data, "step", "correlation").opts(
            color="#55a868", ylim=(0, 1.05), title="Schreiber correlation", **PLOT_OPTS
        )
