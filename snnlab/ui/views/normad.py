"""NormAD views: desired vs observed output spikes over training, error signals, distances.

- :class:`SpikeOverlayView`: for one output neuron and one training pattern, the observed spike
  times stacked by step (how they settle on the desired times), the desired times as vertical
  lines and the error instants of the newest step (missing: green up triangles, spurious: red
  down triangles). Reads ``raster_output``, ``raster_desired``, ``error_output`` ``(T, n_out)``
  and the scalar ``pattern``.
- :class:`ErrorSignalView`: the output error train ``e(t)`` ``(T, n_out)`` and the errors
  carried back to hidden spike instants ``δ(t)`` ``(T, n_hidden)`` (summed over hidden neurons)
  of the newest step.
- :class:`SpikeDistanceView`: van Rossum distance and Schreiber correlation of every training
  step (scalars), appended as they come.

Rasters, membranes (with threshold) and weight histograms come from the shared views.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import panel as pn
import param
from bokeh.models import ColumnDataSource, Range1d

from snnlab.ui.views.base import (
    PALETTE,
    LiveView,
    ScalarHistoryView,
    bokeh_pane,
    empty_columns,
    latest,
    make_figure,
    source_of,
)
from snnlab.ui.views.raster import MAX_POINTS

TIME = "time (ms)"
#: observed spikes the overlay keeps (the oldest steps fall out)
OVERLAY_ROWS = MAX_POINTS


def pin_time_axis(fig, end: float, pinned: float | None) -> float:
    """Set ``fig``'s x range to a sample, ``[0, end]`` ms, when ``end`` differs from the
    ``pinned`` one (the range the browser syncs back after a zoom is left alone until the
    sample length changes); returns ``end``."""
    if end != pinned:
        fig.x_range.update(start=0.0, end=end)
    return end


class SpikeOverlayView(LiveView):
    """Observed output spikes per step against the desired times, error spikes marked.

    Snapshots carry arrays only now and then (the newest of a frame), so the overlay samples
    steps: it adds the observed spikes of each snapshot that carries ``raster_output`` for the
    chosen pattern. It keeps the newest ``OVERLAY_ROWS`` spikes (rollover: the oldest steps
    fall out); a new neuron or pattern starts a new history.
    """

    arrays = ("raster_output", "raster_desired", "error_output")

    neuron = param.Integer(default=0, bounds=(0, None), doc="Output neuron shown.")
    pattern = param.Integer(default=0, bounds=(0, None), doc="Training pattern shown.")
    rows_shown = param.Integer(default=0, doc="Observed spikes added since the last restart "
                               "(for tests; the plot keeps the newest OVERLAY_ROWS).")

    def __init__(self, dt_ms: float = 1.0, **params):
        super().__init__(title=params.pop("title", "Desired vs observed output spikes"), **params)
        self.dt_ms = dt_ms
        self._time_end = None  # sample length the time axis is pinned to (ms)
        self.observed = source_of("time", "step")
        self.desired = source_of("time")
        self.missing = source_of("time", "step")
        self.spurious = source_of("time", "step")
        self.figure = make_figure("", TIME, "step", x_range=Range1d(0.0, 1.0))
        # one glyph spanning the plot's height per desired time; it leaves the y range alone
        self.figure.vspan(x="time", source=self.desired, line_color="#4c72b0", line_alpha=0.6,
                          line_width=2, legend_label="desired")
        self.figure.scatter("time", "step", source=self.observed, marker="square", size=3,
                            color="black", legend_label="observed")
        self.figure.scatter("time", "step", source=self.missing, marker="triangle", size=10,
                            color="green", legend_label="missing")
        self.figure.scatter("time", "step", source=self.spurious, marker="inverted_triangle",
                            size=10, color="red", legend_label="spurious")
        self.figure.legend.location = "top_right"
        self.figure.legend.background_fill_alpha = 0.6
        self.param.watch(self._restart, ["neuron", "pattern"])

    @classmethod
    def for_task(cls, task) -> SpikeOverlayView:
        return cls(dt_ms=task.dt * 1000.0)

    def _draw(self, frames, evaluations):
        times, steps, newest = [], [], None
        for frame in frames:
            observed = frame.arrays.get("raster_output")
            if (observed is None or int(frame.scalars.get("pattern", 0)) != self.pattern
                    or self.neuron >= observed.shape[1]):
                continue
            spikes = np.nonzero(observed[:, self.neuron])[0] * self.dt_ms
            times.append(spikes)
            steps.append(np.full(len(spikes), float(frame.step)))
            newest = frame
        if newest is None:
            return
        time_ms = np.concatenate(times).astype(np.float64)
        if len(time_ms):
            self.observed.stream({"time": time_ms, "step": np.concatenate(steps)},
                                 rollover=OVERLAY_ROWS)
            self.rows_shown += len(time_ms)
        desired = newest.arrays["raster_desired"][:, self.neuron]
        error = newest.arrays["error_output"][:, self.neuron]
        self.desired.data = {"time": np.nonzero(desired)[0] * self.dt_ms}
        for source, instants in ((self.missing, error > 0), (self.spurious, error < 0)):
            at = np.nonzero(instants)[0] * self.dt_ms
            source.data = {"time": at, "step": np.full(len(at), float(newest.step))}
        self._time_end = pin_time_axis(self.figure, len(desired) * self.dt_ms, self._time_end)

    def _restart(self, *_):
        for source, columns in ((self.observed, ("time", "step")), (self.desired, ("time",)),
                                (self.missing, ("time", "step")),
                                (self.spurious, ("time", "step"))):
            source.data = empty_columns(*columns)
        self.rows_shown = 0

    def reset(self):
        super().reset()
        self._restart()

    def __panel__(self):
        controls = pn.Row(
            pn.widgets.IntInput.from_param(self.param.neuron, name="Output neuron", width=110),
            pn.widgets.IntInput.from_param(self.param.pattern, name="Pattern", width=90),
        )
        return self._layout(controls, bokeh_pane(self.figure))


def hidden_error_columns(error_hidden: np.ndarray, dt_ms: float,
                         max_points: int = MAX_POINTS) -> dict[str, np.ndarray]:
    """``{"time", "delta"}`` of ``δ`` ``(T, n_hidden)`` summed over hidden neurons, at the
    instants where the sum is non-zero. Past ``max_points`` instants the sum is also taken
    over bins of ``k`` steps (time: the bin's start), ``k`` the least that fits."""
    summed = error_hidden.sum(axis=1, dtype=np.float64)
    stride = 1
    if np.count_nonzero(summed) > max_points:
        stride = -(-len(summed) // max_points)
        padded = np.zeros(-(-len(summed) // stride) * stride)
        padded[: len(summed)] = summed
        summed = padded.reshape(-1, stride).sum(axis=1)
    active = np.nonzero(summed)[0]
    return {"time": active * stride * dt_ms, "delta": summed[active]}


class ErrorSignalView(LiveView):
    """Output error ``e(t)`` per output neuron and hidden errors ``δ(t)`` of the newest step.

    Errors are drawn as vertical bars from 0, output bars coloured by neuron. The titles say
    how many error spikes there are, or that there is no hidden layer (``error_hidden`` has no
    columns) or no hidden error (ReSuMe trains the output layer only).
    """

    arrays = ("error_output", "error_hidden")

    def __init__(self, dt_ms: float = 1.0, **params):
        super().__init__(title=params.pop("title", "Error signals"), **params)
        self.dt_ms = dt_ms
        self._time_end = None  # sample length the time axis is pinned to (ms)
        self.output = ColumnDataSource(self._no_output())
        self.hidden = source_of("time", "delta")
        # e is +1, 0 or -1: fixed bounds keep a one-sided frame from looking like a full one
        self.output_figure = make_figure("output error e(t)", TIME, "e(t)",
                                         x_range=Range1d(0.0, 1.0), y_range=(-1.2, 1.2))
        self.output_figure.segment(x0="time", y0=0.0, x1="time", y1="error", source=self.output,
                                   line_color="color", line_width=2)
        self.hidden_figure = make_figure("error at hidden spikes δ(t), summed", TIME, "δ(t)",
                                         x_range=self.output_figure.x_range)
        self.hidden_figure.segment(x0="time", y0=0.0, x1="time", y1="delta", source=self.hidden,
                                   line_color="#8172b3", line_width=2)

    @classmethod
    def for_task(cls, task) -> ErrorSignalView:
        return cls(dt_ms=task.dt * 1000.0)

    def _draw(self, frames, evaluations):
        error = latest(frames, "error_output")
        if error is None:
            return
        steps, neurons = np.nonzero(error)
        if len(steps) > MAX_POINTS:  # the latest ones, as the rasters do
            steps, neurons = steps[-MAX_POINTS:], neurons[-MAX_POINTS:]
        values = error[steps, neurons].astype(np.float64)
        self.output.data = {
            "time": steps * self.dt_ms, "error": values, "neuron": neurons.astype(np.float64),
            "color": [PALETTE[j % len(PALETTE)] for j in neurons]}
        missing, spurious = int((values > 0).sum()), int((values < 0).sum())
        self._set_title(self.output_figure, f"output error e(t): {missing} missing, "
                                            f"{spurious} spurious")
        self._time_end = pin_time_axis(self.output_figure, len(error) * self.dt_ms,
                                       self._time_end)
        hidden = latest(frames, "error_hidden")
        if hidden is None or hidden.ndim != 2 or hidden.shape[1] == 0:
            self.hidden.data = empty_columns("time", "delta")
            self._set_title(self.hidden_figure, "δ(t): no hidden layer")
            return
        self.hidden.data = hidden_error_columns(hidden, self.dt_ms)
        n = hidden.shape[1]
        self._set_title(self.hidden_figure,
                        f"error at hidden spikes δ(t), summed over {n} hidden neurons"
                        if len(self.hidden.data["time"]) else
                        f"δ(t): no error at the {n} hidden neurons' spikes this step")

    @staticmethod
    def _no_output() -> dict:
        return {**empty_columns("time", "error", "neuron"), "color": []}

    @staticmethod
    def _set_title(fig, text: str) -> None:
        if fig.title.text != text:
            fig.title.text = text

    def reset(self):
        super().reset()
        self.output.data = self._no_output()
        self.hidden.data = empty_columns("time", "delta")

    def __panel__(self):
        return self._layout(pn.Row(bokeh_pane(self.output_figure), bokeh_pane(self.hidden_figure),
                                   sizing_mode="stretch_width"))


class SpikeDistanceView(ScalarHistoryView):
    """van Rossum distance and Schreiber correlation of each training step."""

    arrays = ()
    scalars = ("van_rossum", "correlation")
    # Schreiber's correlation of non-negative filtered trains lies in [0, 1]
    plot_styles: ClassVar[dict[str, tuple[str, str, dict]]] = {
        "van_rossum": ("van Rossum distance", "#dd8452", {}),
        "correlation": ("Schreiber correlation", "#55a868", {"y_range": (-0.05, 1.05)}),
    }

    def __init__(self, **params):
        super().__init__(title=params.pop("title", "Spike-train distance per step"), **params)
