"""The Lab: one session's controls and live views, in a browser tab or a notebook cell.

Data flow: the session's worker thread steps the learner and queues snapshots (scalars every
step, arrays once per frame); a periodic callback of this Bokeh session (``fps`` times per
second) drains the queue and hands each view the frame, all inside one ``pn.io.hold()`` so the
browser gets one message per frame. Views change their data sources only: nothing is rebuilt
while the run plays. The callback and the worker threads stop when the tab closes.

Evaluations while the lab plays are live ones: the first ``LIVE_EVAL_SAMPLES`` test samples
(and as many training samples), every ``LIVE_EVAL_EVERY_SAMPLES`` training samples, computed
beside the run; the run record exported from the lab re-evaluates the end state the same way.
"""

from __future__ import annotations

import time
from collections import deque
from urllib.parse import urlencode

import numpy as np
import panel as pn
import param

from snnlab import learners, warmup
from snnlab.data import load_task
from snnlab.learners import learner_names
from snnlab.learners.presets import choose_preset, preset_names
from snnlab.runs import index_run
from snnlab.session import Session
from snnlab.ui import export, jupyter
from snnlab.ui.controls import HyperparameterPanel
from snnlab.ui.frame_clock import FrameClock
from snnlab.ui.plain_text import PlainText, notice_pane
from snnlab.ui.serving import in_served_session
from snnlab.ui.speed_readout import SpeedReadout
from snnlab.ui.url_state import (
    lab_tasks,
    parse_query,
    preset_values,
    query_from_search,
    starting_task,
    to_query,
)
from snnlab.ui.views import (
    LearningCurveView,
    LiveView,
    MembraneView,
    RasterView,
    WeightHistogramView,
    learner_views,
)

LIVE_EVAL_SAMPLES = 100
NO_PRESET = "learner defaults"  # the preset selector's entry for no preset
LIVE_EVAL_EVERY_SAMPLES = 2048


def live_eval_every(batch_size: int) -> int:
    """Steps between live evaluations: about every ``LIVE_EVAL_EVERY_SAMPLES`` samples."""
    return max(1, round(LIVE_EVAL_EVERY_SAMPLES / batch_size))


def build_views(session: Session) -> list[LiveView]:
    """The shared views that the learner's snapshots can feed, then the learner's own."""
    learner, task = session.learner, session.task
    arrays = learner.snapshot_arrays
    dt_ms = task.dt * 1000.0
    views: list[LiveView] = []
    rasters = [a for a in arrays if a.startswith("raster_")]
    if rasters:
        views.append(RasterView(populations=rasters, dt_ms=dt_ms))
    membranes = [a for a in arrays if a.startswith("membrane_")]
    if membranes:
        views.append(MembraneView(populations=membranes, dt_ms=dt_ms))
    views.append(LearningCurveView(kind=task.kind, eval_samples=session.runner.eval_samples))
    layers = [a for a in arrays if a.startswith("weights_")]
    if layers:
        views.append(WeightHistogramView(layers=layers))
    views.extend(view.for_task(task) for view in learner_views(learner.key))
    return views


class Lab(pn.viewable.Viewer):
    """Controls and live views over a :class:`~snnlab.Session`.

    Give a session, or the names to build one: ``Lab(learner="readout", task="digits-events")``.
    ``data_root`` is the folder the ``nmnist`` task reads; ``sync_url`` keeps learner, task, seed
    and hyperparameters in the page's URL so a link reproduces the run.
    """

    learner = param.Selector(default="readout", objects=learner_names(), doc="Learning rule.")
    task = param.Selector(default="digits-events", objects=["digits-events"], doc="Task.")
    preset = param.Selector(default=NO_PRESET, objects=[NO_PRESET],
                            doc="Recipe for this learner and task (see `snnlab list presets`).")
    fps = param.Integer(default=20, bounds=(1, 30), doc="Frames drawn per second.")
    live = param.Boolean(default=True, doc="Redraw the views; off, the run goes on and the views "
                         "freeze (saves the browser's and the server's time).")
    frames_drawn = param.Integer(default=0, doc="Frames drawn so far (for tests and the readout).")

    def __init__(
        self,
        session: Session | None = None,
        *,
        data_root: str | None = None,
        sync_url: bool = False,
        eval_every: int | None = None,
        **params,
    ):
        self._initial = {
            k: params.pop(k) for k in ("learner", "task", "seed", "params", "preset")
            if k in params
        }
        super().__init__(**params)
        self.data_root = data_root
        self.sync_url = sync_url
        self.eval_every = eval_every  # None: live_eval_every(batch size)
        # text from links and errors is shown as text, never as markup
        self.notice = notice_pane()
        self.speed = SpeedReadout(width=310, height=22)
        self.clock = FrameClock()
        self.clock.attach(self.speed.div)
        self.clock.on_shown(self._make_up_skipped_frame)
        self._frame_times: deque[float] = deque(maxlen=200)
        self._callback = None
        self._play_pressed = 0.0
        self._loaded = False  # the URL is written only once the page has loaded
        self._switching = False
        self._last_snapshot = None
        self._eval_seen = 0
        self.sidebar = pn.Column(width=320)
        self.main = pn.Column(sizing_mode="stretch_width")
        if session is None:
            session = self._session_from_initial()
        self._use(session)
        self.param.watch(self._switch, ["learner", "task"])
        self.param.watch(self._apply_preset, ["preset"])
        self.param.watch(self._set_period, ["fps"])

    # -- building ---------------------------------------------------------------------------
    def _available_tasks(self) -> list[str]:
        names = lab_tasks(self.learner)
        return [n for n in names if n != "nmnist" or self.data_root]

    def _session_from_initial(self) -> Session:
        learner = self._initial.get("learner", "readout")
        task = self._initial.get("task", "digits-events")
        seed = self._initial.get("seed", 0)
        params = dict(self._initial.get("params", {}))
        preset = self._initial.get("preset")
        if self.sync_url and pn.state.location is not None:
            state = parse_query(
                query_from_search(pn.state.location.search or ""),
                learner,
                task,
                available_tasks=None if self.data_root else _without_nmnist(),
            )
            learner, task, seed, preset = state.learner, state.task, state.seed, state.preset
            params.update(state.params)
            if state.problems:
                self.show_notice("Some link settings were refused: " + "; ".join(state.problems))
        if task not in lab_tasks(learner):
            task = starting_task(learner)
        if preset is not None and preset not in preset_names(learner, task):
            preset = None
        try:
            return self.make_session(learner, task, seed, params, preset)
        except ValueError as err:  # in bounds one by one, too big together (memory budget)
            self.show_notice(f"These settings were refused: {err}; using the preset's values")
            return self.make_session(learner, task, seed, {}, preset)

    def make_session(self, learner: str, task: str, seed: int = 0, params: dict | None = None,
                     preset: str | None = None):
        """A new paused session of ``learner`` on ``task`` from ``preset`` (``None``: the
        task's default preset) with ``params`` on top."""
        chosen = choose_preset(learner, task, preset)
        options = dict(chosen.task_options) if chosen else {}
        if task == "nmnist":
            options["root"] = self.data_root
        values = chosen.resolved_params(params) if chosen else dict(params or {})
        built = learners.make(learner, seed=seed, **values)
        eval_every = self.eval_every or live_eval_every(built.batch_size)
        return Session(built, load_task(task, **options), eval_every=eval_every,
                       eval_samples=LIVE_EVAL_SAMPLES, train_eval_samples=LIVE_EVAL_SAMPLES,
                       preset=chosen.name if chosen else None)

    def _use(self, session: Session) -> None:
        self.session = session
        self._switching = True
        try:
            self.learner = session.learner.key
            self.param.task.objects = sorted(set(self._available_tasks()) | {session.task.name})
            self.task = session.task.name
            names = preset_names(session.learner.key, session.task.name)
            self.param.preset.objects = names + [NO_PRESET]
            self.preset = session.preset or NO_PRESET
        finally:
            self._switching = False
        self.hyperparameters = HyperparameterPanel(session)
        self.hyperparameters.draft.param.watch(
            lambda *_: self._update_url(), self.hyperparameters.names
        )
        # a confirmed rebuild changes the values a link carries
        self.hyperparameters.param.watch(lambda *_: self._update_url(), ["pending"])
        self.views = build_views(session)
        warmup.warm_up_in_background(session.learner, session.task)
        self._last_snapshot = None
        self._eval_seen = 0
        self.sidebar[:] = self._controls()
        curves = [v for v in self.views if isinstance(v, LearningCurveView)]
        others = [v for v in self.views if not isinstance(v, LearningCurveView)]
        self.main[:] = [*curves, pn.GridBox(*others, ncols=2, sizing_mode="stretch_width")]
        self._update_url()

    def _switch(self, *_):
        if self._switching:
            return
        old = self.session
        old.stop()
        try:
            task = self.task if self.task in lab_tasks(self.learner) else starting_task(self.learner)
            self._use(self.make_session(self.learner, task, old.learner.seed))
        except (ValueError, FileNotFoundError) as err:
            self.show_notice(f"Could not switch: {err}")

    def _apply_preset(self, *_):
        """Set every hyperparameter as the chosen preset does: live ones apply at the next step,
        rebuild ones wait for the Rebuild button; a preset with other task options (or any
        preset while the learner is on no preset's task) starts a new session."""
        if self._switching:
            return
        name = None if self.preset == NO_PRESET else self.preset
        session = self.session
        chosen = choose_preset(session.learner.key, session.task.name, name) if name else None
        current = choose_preset(session.learner.key, session.task.name, session.preset) \
            if session.preset else None
        if (dict(chosen.task_options) if chosen else {}) != \
                (dict(current.task_options) if current else {}):
            session.stop()
            self._use(self.make_session(session.learner.key, session.task.name,
                                        session.learner.seed, preset=name))
            return
        session.preset = name
        values = preset_values(session.learner.key, name)
        values.pop("seed", None)
        self.hyperparameters.apply(values)
        self._update_url()

    def _controls(self) -> list:
        buttons = {}
        for label, action, kind in (
            ("Play", self.play, "success"),
            ("Pause", self.pause, "default"),
            ("Step", self.step, "default"),
            ("Reset", self.reset, "default"),
            ("New seed", self.new_seed, "light"),
        ):
            button = pn.widgets.Button(label=label, button_type=kind, width=60)
            button.on_click(lambda _, act=action: act())
            buttons[label] = button
        self.buttons = buttons
        downloads = [
            pn.widgets.FileDownload(
                callback=self._record_file,
                filename="run.zip",
                label="Run record (.zip)",
                button_type="light",
            ),
            pn.widgets.FileDownload(
                callback=self._plots_file,
                filename="plots.png",
                label="Plots (.png)",
                button_type="light",
            ),
            pn.widgets.FileDownload(
                callback=self._arrays_file,
                filename="arrays.npz",
                label="Arrays (.npz)",
                button_type="light",
            ),
        ]
        self.seed_readout = PlainText(f"seed {self.session.learner.seed}")
        return [
            pn.widgets.Select.from_param(self.param.learner, name="Learner"),
            pn.widgets.Select.from_param(self.param.task, name="Task"),
            pn.widgets.Select.from_param(self.param.preset, name="Preset"),
            pn.Row(*[buttons[k] for k in ("Play", "Pause", "Step", "Reset")]),
            pn.Row(buttons["New seed"], self.seed_readout),
            self.speed.pane(),
            pn.widgets.IntSlider.from_param(self.param.fps, name="Frames per second"),
            pn.widgets.Checkbox.from_param(self.param.live, name="Live views"),
            PlainText(f"Evaluations while playing: the first {LIVE_EVAL_SAMPLES} test and "
                      f"training samples, every {self.session.runner.eval_every} steps.",
                      styles={"font-size": "85%", "white-space": "pre-wrap"}),
            pn.pane.Markdown("### Hyperparameters"),
            self.hyperparameters,
            pn.pane.Markdown("### Export"),
            *downloads,
        ]

    # -- controls ---------------------------------------------------------------------------
    def play(self) -> None:
        self._play_pressed = time.perf_counter()
        self.session.play()

    def pause(self) -> None:
        self.session.pause()

    def step(self) -> None:
        self.session.step()
        self.draw_frame(force=True)

    def reset(self, seed: int | None = None) -> None:
        """Back to the initial weights of the current seed (or of ``seed``); clears the views."""
        self.session.reset(seed)
        for view in self.views:
            view.reset()
        self._eval_seen = 0
        self._last_snapshot = None
        self.seed_readout.object = f"seed {self.session.learner.seed}"
        self._update_url()

    def new_seed(self) -> None:
        self.reset(int(np.random.default_rng().integers(0, 2**31 - 1)))

    def show_notice(self, text: str) -> None:
        """Show ``text`` (as plain text: it may quote a link or an error) above the controls."""
        self.notice.object = text
        self.notice.visible = bool(text)

    # -- frames -----------------------------------------------------------------------------
    def draw_frame(self, force: bool = False) -> None:
        """Drain the session and hand every view its part of the frame (the periodic callback).

        All views update inside one ``pn.io.hold()``: the browser receives one message. Skipped
        while ``live`` is off and while the page is behind (see ``FrameClock``), unless ``force``.
        """
        if not (self.live or force):
            return
        if not (force or self.clock.ready()):
            return  # the page is still drawing earlier frames; the next one carries this one's rows
        frames = self.session.drain()
        evaluations = self.session.evaluations_after(self._eval_seen)
        if evaluations:
            self._eval_seen = evaluations[-1].step
        newest = next((f for f in reversed(frames) if f.arrays), None)
        if newest is not None:
            self._last_snapshot = newest
        with pn.io.hold():
            for view in self.views:
                view.push(frames, evaluations)
            if frames or evaluations:
                self._frame_times.append(time.perf_counter())
                self.frames_drawn += 1
                self.clock.sent_frame()
            self._show_speed()
            if self.session.message and self.session.message != self.notice.object:
                self.show_notice(self.session.message)
        # a notebook output gets changes of Bokeh models only when pushed (no-op when served)
        pn.io.push_notebook(self.sidebar, self.main)

    def _make_up_skipped_frame(self) -> None:
        # the page caught up after a tick found it behind: send that tick's frame now
        if self.clock.waiting and self._callback is not None:
            self.draw_frame()

    def frames_per_second(self) -> float:
        """Frames sent over the last two seconds (0 when none was sent in that time)."""
        now = time.perf_counter()
        recent = [t for t in self._frame_times if now - t <= 2.0]
        return len(recent) / 2.0

    def _show_speed(self) -> None:
        """Steps/s, frames/s, step and state (or compile progress) in the readout."""
        if not self.speed.due():
            return
        s = self.session
        if s.compiling:
            done, name = warmup.compile_progress()
            waited = time.perf_counter() - self._play_pressed if self._play_pressed else 0.0
            text = (f"compiling kernels (first use)… {waited:.0f} s, "
                    f"{done} compiled{', now ' + name if name else ''}")
        else:
            text = (f"{s.steps_per_second:.0f} steps/s · {self.frames_per_second():.1f} frames/s"
                    f" · step {s.learner.step_} · {s.state}")
        self.speed.show(text)

    def _set_period(self, *_):
        if self._callback is not None:
            self._callback.period = int(1000 / self.fps)

    def start_streaming(self) -> None:
        """Start this tab's periodic callback; it and the worker stop when the tab closes."""
        if self._callback is not None:
            return
        self._callback = pn.state.add_periodic_callback(
            self.draw_frame, period=int(1000 / self.fps)
        )
        pn.state.onload(self._on_load)
        if in_served_session():
            pn.state.on_session_destroyed(lambda _context: self.close())

    def close(self) -> None:
        """Stop the periodic callback and the session's worker thread."""
        if self._callback is not None:
            self._callback.stop()
            self._callback = None
        self.session.stop()

    # -- sharing and export ------------------------------------------------------------------
    def _on_load(self) -> None:
        self._loaded = True
        self._update_url()

    def _update_url(self) -> None:
        if not (self.sync_url and self._loaded) or pn.state.location is None or self._switching:
            return
        learner, preset = self.session.learner, self.session.preset
        query = to_query(
            learner.key,
            self.session.task.name,
            learner.seed,
            self.hyperparameters.values(),
            preset_values(learner.key, preset),
            preset=preset,
        )
        pn.state.location.search = "?" + urlencode(query)

    def _record_file(self):
        record = self.session.record()
        index_run(record, source="lab")
        return export.record_zip(record)

    def _plots_file(self):
        return export.plots_png(
            self._last_snapshot, self.session.record(), self.session.task.dt * 1000.0
        )

    def _arrays_file(self):
        return export.arrays_npz(self._last_snapshot, self.session.record())

    def ipywidget(self):
        """This lab as an ipywidgets object (needs jupyter_bokeh), composable with others."""
        return jupyter.ipywidget(self)

    def __panel__(self):
        self.start_streaming()
        return pn.Row(
            pn.Column(pn.pane.Markdown("## snnlab"), self.notice, self.sidebar, width=340),
            self.main,
            sizing_mode="stretch_width",
        )


def _without_nmnist() -> list[str]:
    from snnlab.data import task_names

    return [n for n in task_names() if n != "nmnist"]
