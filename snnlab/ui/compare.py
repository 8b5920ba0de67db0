"""Two to four learners side by side on the same task and the same input stream.

Every session gets the same seed, so its runner draws the same sequence of training batches
(the order is a function of ``(seed, epoch)``): the learners see identical inputs step by step.
The loss and the task's headline metric get one figure each, with one streamed line per
learner; below them, one output raster per learner, sharing their time axis.

Figures and sources are built when the task or the learners change (``_build``); a frame
(``draw_frame``) then only streams rows into the curve sources and replaces the rasters' data,
all inside one ``pn.io.hold()`` so the browser gets one message per frame.
"""

from __future__ import annotations

import numpy as np
import panel as pn
import param

from snnlab import learners
from snnlab.data import load_task, task_names
from snnlab.data.registry import TASK_KINDS
from snnlab.metrics import HEADLINE
from snnlab.session import Session
from snnlab.ui.frame_clock import FrameClock
from snnlab.ui.lab import Lab
from snnlab.ui.plain_text import notice_pane
from snnlab.ui.serving import in_served_session
from snnlab.ui.speed_readout import SpeedReadout
from snnlab.ui.views.base import (
    BUFFER_ROWS,
    EVALUATION_TAG,
    PALETTE,
    bokeh_pane,
    empty_columns,
    latest,
    make_figure,
    source_of,
)
from snnlab.ui.views.raster import raster_points, select_neurons

MAX_LEARNERS = 4
RASTERS = ("raster_output", "raster_hidden", "raster_input")  # the first a learner sends is shown
RASTER_NEURONS = 64


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
    fps = param.Integer(default=Lab.param["fps"].default, bounds=Lab.param["fps"].bounds,
                        doc="Frames drawn per second (the lab's default).")
    frames_drawn = param.Integer(default=0, doc="Frames drawn so far.")

    def __init__(self, *, data_root: str | None = None, sync_url: bool = False, **params):
        super().__init__(**params)
        self.data_root = data_root
        self._offering = False  # set while a task switch re-offers learners (one rebuild)
        self.param.task.objects = [t for t in task_names() if t != "nmnist" or data_root]
        self._offer_learners()
        self.notice = notice_pane()
        self.speed = SpeedReadout(width=320, height=44)
        self.clock = FrameClock()
        self.clock.attach(self.speed.div)
        self.clock.on_shown(self._make_up_skipped_frame)
        self.main = pn.Column(sizing_mode="stretch_width")
        self.sessions: dict[str, Session] = {}
        self.loss_sources: dict = {}
        self.metric_sources: dict = {}
        self.raster_sources: dict = {}
        self._callback = None
        self._build()
        self.param.watch(self._rebuild, ["task", "chosen", "seed", "batch_size"])

    def _build(self) -> None:
        """Sessions, figures and sources for the chosen learners (empty when too few)."""
        self.sessions, self.loss_sources, self.metric_sources, self.raster_sources = {}, {}, {}, {}
        if not 2 <= len(self.chosen) <= MAX_LEARNERS:
            self.show_notice(f"choose 2 to {MAX_LEARNERS} learners (chosen: {len(self.chosen)})")
            self.main[:] = []
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
        self.metric = HEADLINE[task.kind]
        self.dt_ms = task.dt * 1000.0
        self._eval_seen = {n: 0 for n in self.chosen}
        self.loss_sources = {n: source_of("step", "loss") for n in self.chosen}
        self.metric_sources = {n: source_of("step", self.metric) for n in self.chosen}
        self.raster_sources = {n: source_of("time", "neuron") for n in self.chosen}
        curves = []
        for column, sources in (("loss", self.loss_sources), (self.metric, self.metric_sources)):
            fig = make_figure(column, "step", column)
            if sources is self.metric_sources:  # evaluations: they land beside the run
                fig.tags = [EVALUATION_TAG]
            for colour, (name, source) in zip(PALETTE, sources.items()):
                fig.line("step", column, source=source, color=colour, line_width=1.5,
                         legend_label=name)
            fig.legend.location = "top_right"
            fig.legend.background_fill_alpha = 0.6
            curves.append(fig)
        self.curve_figures = curves
        self.raster_figures = {}
        for name, session in self.sessions.items():
            shared = next(iter(self.raster_figures.values()), None)
            population = next((r for r in RASTERS if r in session.learner.snapshot_arrays), "")
            fig = make_figure(f"{name}: {population}" if population else name, "time (ms)", "neuron",
                              **({"x_range": shared.x_range} if shared is not None else {}))
            fig.scatter("time", "neuron", source=self.raster_sources[name], marker="square",
                        size=3, color="black")
            self.raster_figures[name] = fig
        self.main[:] = [
            pn.Row(*map(bokeh_pane, curves), sizing_mode="stretch_width"),
            pn.pane.Markdown("#### Spikes of the current sample (shared time axis)"),
            pn.Row(*map(bokeh_pane, self.raster_figures.values()), sizing_mode="stretch_width"),
        ]

    def _offer_learners(self) -> None:
        """The learners that fit the task; keep the chosen ones that still fit."""
        available = learners_for(self.task)
        kept = [n for n in self.chosen if n in available]
        # the quick baseline first, so a new comparison shows curves within seconds
        preferred = sorted(available, key=lambda n: (n != "readout", n))
        self.param.chosen.objects = available
        self.chosen = kept if len(kept) >= 2 else preferred[:2]

    def _rebuild(self, *events):
        if self._offering:
            return  # the task switch below rebuilds once the learners are set
        if any(e.name == "task" for e in events):
            # not discard_events: the learners' widget must see the new options and value
            self._offering = True
            try:
                self._offer_learners()
            finally:
                self._offering = False
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
        self.draw_frame(force=True)

    def reset(self):
        for s in self.sessions.values():
            s.reset()
        with pn.io.hold():
            for sources in (self.loss_sources, self.metric_sources, self.raster_sources):
                for source in sources.values():
                    source.data = empty_columns(*source.data)
        self._eval_seen = {n: 0 for n in self.sessions}

    def draw_frame(self, force: bool = False) -> None:
        """Drain every session and append its rows (the periodic callback): data only.
        Skipped while the page is behind (see ``FrameClock``), unless ``force``."""
        if not (force or self.clock.ready()):
            return
        with pn.io.hold():
            drawn = [self._draw_learner(name, session) for name, session in self.sessions.items()]
            if any(drawn):
                self.clock.sent_frame()
                self.frames_drawn += 1
            if self.speed.due():
                self.speed.show(" · ".join(f"{n}: step {s.learner.step_}, "
                                           f"{s.steps_per_second:.0f}/s"
                                           for n, s in self.sessions.items()))
        # a notebook output gets changes of Bokeh models only when pushed (no-op when served)
        pn.io.push_notebook(self.main)

    def _make_up_skipped_frame(self) -> None:
        # the page caught up after a tick found it behind: send that tick's frame now
        if self.clock.waiting and self._callback is not None:
            self.draw_frame()

    def _draw_learner(self, name: str, session: Session) -> bool:
        """Append ``name``'s new rows; whether anything was new."""
        frames = session.drain()
        losses = [(f.step, f.scalars["loss"]) for f in frames if "loss" in f.scalars]
        if losses:
            steps, values = np.array(losses, dtype=np.float64).T
            self.loss_sources[name].stream({"step": steps, "loss": values}, rollover=BUFFER_ROWS)
        evaluations = session.evaluations_after(self._eval_seen[name])
        if evaluations:
            self._eval_seen[name] = evaluations[-1].step
        rows = [(e.step, e.values[self.metric]) for e in evaluations if self.metric in e.values]
        if rows:
            steps, values = np.array(rows, dtype=np.float64).T
            self.metric_sources[name].stream({"step": steps, self.metric: values},
                                             rollover=BUFFER_ROWS)
        raster = next((r for r in (latest(frames, k) for k in RASTERS)
                       if r is not None and r.ndim == 2 and r.shape[1]), None)
        if raster is not None:
            neurons = select_neurons(raster, "most active", RASTER_NEURONS)
            self.raster_sources[name].data = raster_points(raster, neurons, self.dt_ms)
        return bool(frames or evaluations)

    def close_sessions(self) -> None:
        for s in self.sessions.values():
            s.stop()
        self.sessions = {}

    def close(self) -> None:
        if self._callback is not None:
            self._callback.stop()
            self._callback = None
        self.close_sessions()

    def _set_period(self, *_):
        if self._callback is not None:
            self._callback.period = int(1000 / self.fps)

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
            self.speed.pane(),
            pn.widgets.IntSlider.from_param(self.param.fps, name="Frames per second"),
            width=340,
        )

    def __panel__(self):
        if self._callback is None:
            self._callback = pn.state.add_periodic_callback(self.draw_frame, period=int(1000 / self.fps))
            self.param.watch(self._set_period, ["fps"])
            if in_served_session():
                pn.state.on_session_destroyed(lambda _context: self.close())
        return pn.Row(self._controls(), self.main, sizing_mode="stretch_width")
