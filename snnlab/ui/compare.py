"""Two to four learners side by side on the same task and the same input stream.

Every session gets the same seed, so its runner draws the same sequence of training batches
(the order is a function of ``(seed, epoch)``): the learners see identical inputs step by step.
One learning-curve plot holds one line per learner; the rasters below share their time axis.
"""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param

from snnlab import learners
from snnlab.data import load_task, task_names
from snnlab.data.registry import TASK_KINDS
from snnlab.session import Session
from snnlab.ui.views.base import PLOT_OPTS, dynamic, latest
from snnlab.ui.views.raster import EMPTY, TIME, raster_points, select_neurons

MAX_LEARNERS = 4
HEADLINE_METRIC = {"classification": "test_accuracy", "regression": "rel_l2", "pde": "rel_l2",
                   "spike-train": "van_rossum"}


def learners_for(task: str) -> list[str]:
    kind = TASK_KINDS.get(task)
    return [n for n in learners.learner_names() if kind in learners.learner_class(n).task_kinds]


class Compare(pn.viewable.Viewer):
    """Learners on one task and one input stream, one curve each (see module docstring)."""

    task = param.Selector(default="digits-events", objects=[], doc="Task all learners share.")
    chosen = param.ListSelector(default=[], objects=[], doc="Learners to compare (2 to 4).")
    seed = param.Integer(default=0, bounds=(0, 2**31 - 1), doc="Seed shared by every learner.")
    batch_size = param.Integer(default=32, bounds=(1, 4096),
                               doc="Samples per step, shared so every learner sees the same batches.")
    fps = param.Integer(default=5, bounds=(1, 30), doc="Frames drawn per second.")
    frames_drawn = param.Integer(default=0, doc="Frames drawn so far.")

    def __init__(self, *, data_root: str | None = None, sync_url: bool = False, **params):
        super().__init__(**params)
        self.data_root = data_root
        self.param.task.objects = [t for t in task_names() if t != "nmnist" or data_root]
        self._offer_learners()
        self.notice = pn.pane.Alert("", alert_type="warning", visible=False)
        self.speed = pn.pane.Markdown("")
        self.main = pn.Column(sizing_mode="stretch_width")
        self.sessions: dict[str, Session] = {}
        self._callback = None
        self._build()
        self.param.watch(self._rebuild, ["task", "chosen", "seed", "batch_size"])

    def _build(self) -> None:
        if not 2 <= len(self.chosen) <= MAX_LEARNERS:
            self.show_notice(f"choose 2 to {MAX_LEARNERS} learners (chosen: {len(self.chosen)})")
            return
        self.show_notice("")
        # one task for every learner: the GEM preset (pooled inputs) would change the others' input
        options = {"root": self.data_root} if self.task == "nmnist" else {}
        task = load_task(self.task, **options)
        self.sessions = {
            name: Session(learners.make(name, seed=self.seed, batch_size=self.batch_size), task,
                          eval_every=10)
            for name in self.chosen
        }
        self.metric = HEADLINE_METRIC[task.kind]
        self.dt_ms = task.dt * 1000.0
        self.loss_buffers = {n: self._buffer("loss") for n in self.chosen}
        self.metric_buffers = {n: self._buffer(self.metric) for n in self.chosen}
        self.raster_pipes = {n: hv.streams.Pipe(data=EMPTY) for n in self.chosen}
        self._eval_seen = {n: 0 for n in self.chosen}
        curves = [
            pn.pane.HoloViews(self._overlay(self.loss_buffers, "loss"), sizing_mode="stretch_width"),
            pn.pane.HoloViews(self._overlay(self.metric_buffers, self.metric),
                              sizing_mode="stretch_width"),
        ]
        rasters = hv.Layout([dynamic(self._raster_plot(n), self.raster_pipes[n])
                             for n in self.chosen]).cols(len(self.chosen))
        self.main[:] = [pn.Row(*curves, sizing_mode="stretch_width"),
                        pn.pane.Markdown("#### Output spikes of the current sample (shared time axis)"),
                        pn.pane.HoloViews(rasters, sizing_mode="stretch_width")]

    @staticmethod
    def _buffer(column: str) -> hv.streams.Buffer:
        return hv.streams.Buffer(pd.DataFrame({"step": np.zeros(0, int), column: np.zeros(0)}),
                                 length=20_000, index=False)

    @staticmethod
    def _overlay(buffers: dict, column: str):
        curves = [hv.DynamicMap(lambda data, n=n: hv.Curve(data, "step", column, label=n),
                                streams=[buffers[n]]) for n in buffers]
        return hv.Overlay(curves).collate().opts(
            hv.opts.Curve(**PLOT_OPTS), hv.opts.Overlay(legend_position="top_right", title=column))

    def _raster_plot(self, name: str):
        def plot(data):
            return hv.Scatter(data, TIME, "neuron").opts(marker="square", size=3, color="black",
                                                         title=name, **PLOT_OPTS)
        return plot

    def _offer_learners(self) -> None:
        available = learners_for(self.task)
        self.param.chosen.objects = available
        kept = [n for n in self.chosen if n in available]
        # the quick baseline first, so a new comparison shows curves within seconds
        preferred = sorted(available, key=lambda n: (n != "readout", n))
        self.chosen = kept if len(kept) >= 2 else preferred[:2]

    def _rebuild(self, *events):
        if any(e.name == "task" for e in events):
            with param.parameterized.discard_events(self):
                self._offer_learners()
        self.close_sessions()
        self._build()

    def show_notice(self, text: str) -> None:
        self.notice.object = text
        self.notice.visible = bool(text)

    # -- controls -------------------------------------------------------------------------------
    def play(self):
        for s in self.sessions.values():
            s.play()

    def pause(self):
        for s in self.sessions.values():
            s.pause()

    def step(self):
        for s in self.sessions.values():
            s.step()
        self.draw_frame()

    def reset(self):
        for s in self.sessions.values():
            s.reset()
        for buffers in (self.loss_buffers, self.metric_buffers):
            for b in buffers.values():
                b.clear()
        self._eval_seen = {n: 0 for n in self.sessions}

    def draw_frame(self) -> None:
        """Drain every session and append its rows (the periodic callback)."""
        for name, session in self.sessions.items():
            frames = session.drain()
            losses = [(f.step, f.scalars["loss"]) for f in frames if "loss" in f.scalars]
            if losses:
                steps, values = zip(*losses)
                self.loss_buffers[name].send(pd.DataFrame({"step": steps, "loss": values}))
            evaluations = [e for e in list(session.evaluations) if e.step > self._eval_seen[name]]
            rows = [(e.step, e.values[self.metric]) for e in evaluations if self.metric in e.values]
            if evaluations:
                self._eval_seen[name] = evaluations[-1].step
            if rows:
                steps, values = zip(*rows)
                self.metric_buffers[name].send(pd.DataFrame({"step": steps, self.metric: values}))
            raster = next((latest(frames, k) for k in ("raster_output", "raster_hidden", "raster_input")
                           if latest(frames, k) is not None), None)
            if raster is not None:
                neurons = select_neurons(raster, "most active", 64)
                self.raster_pipes[name].send(raster_points(raster, neurons, self.dt_ms))
        self.frames_drawn += 1
        self.speed.object = " · ".join(f"{n}: step {s.learner.step_}, {s.steps_per_second:.0f}/s"
                                       for n, s in self.sessions.items())

    def close_sessions(self) -> None:
        for s in self.sessions.values():
            s.stop()
        self.sessions = {}

    def close(self) -> None:
        if self._callback is not None:
            self._callback.stop()
            self._callback = None
        self.close_sessions()

    def _controls(self):
        buttons = []
        for label, action in (("Play", self.play), ("Pause", self.pause), ("Step", self.step),
                              ("Reset", self.reset)):
            b = pn.widgets.Button(label=label, width=70)
            b.on_click(lambda _, act=action: act())
            buttons.append(b)
        return pn.Column(
            pn.pane.Markdown("## snnlab compare"),
            self.notice,
            pn.widgets.Select.from_param(self.param.task, name="Task"),
            pn.widgets.MultiChoice.from_param(self.param.chosen, name="Learners", max_items=MAX_LEARNERS),
            pn.widgets.IntInput.from_param(self.param.seed, name="Seed (shared)"),
            pn.widgets.IntInput.from_param(self.param.batch_size, name="Batch size (shared)"),
            pn.Row(*buttons),
            self.speed,
            pn.widgets.IntSlider.from_param(self.param.fps, name="Frames per second"),
            width=340,
        )

    def __panel__(self):
        if self._callback is None:
            self._callback = pn.state.add_periodic_callback(self.draw_frame, period=int(1000 / self.fps))
            self.param.watch(lambda e: setattr(self._callback, "period", int(1000 / e.new)), ["fps"])
            if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
                pn.state.on_session_destroyed(lambda _context: self.close())
        return pn.Row(self._controls(), self.main, sizing_mode="stretch_width")
