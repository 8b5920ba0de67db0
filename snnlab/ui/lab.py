"""The Lab: one session's controls and live views, in a browser tab or a notebook cell.

Data flow: the session's worker thread steps the learner and queues snapshots; a periodic
callback of this Bokeh session (``fps`` times per second) drains the queue and pushes the frames
to the views' HoloViews streams. The callback and the worker thread stop when the tab closes.
"""

from __future__ import annotations

import time
from collections import deque
from contextlib import nullcontext
from urllib.parse import urlencode

import numpy as np
import panel as pn
import param

from snnlab import learners
from snnlab.data import load_task
from snnlab.learners import learner_names
from snnlab.runs import index_run
from snnlab.session import Session
from snnlab.ui import export
from snnlab.ui.controls import HyperparameterPanel
from snnlab.ui.url_state import TASK_PRESETS, lab_tasks, parse_query, starting_task, to_query
from snnlab.ui.views import (
    LEARNER_VIEWS,
    LearningCurveView,
    LiveView,
    MembraneView,
    RasterView,
    WeightHistogramView,
)


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
    views.append(LearningCurveView(kind=task.kind))
    layers = [a for a in arrays if a.startswith("weights_")]
    if layers:
        views.append(WeightHistogramView(layers=layers))
    views.extend(view.for_task(task) for view in LEARNER_VIEWS.get(learner.key, ()))
    return views


class Lab(pn.viewable.Viewer):
    """Controls and live views over a :class:`~snnlab.Session`.

    Give a session, or the names to build one: ``Lab(learner="readout", task="digits-events")``.
    ``data_root`` is the folder the ``nmnist`` task reads; ``sync_url`` keeps learner, task, seed
    and hyperparameters in the page's URL so a link reproduces the run.
    """

    learner = param.Selector(default="readout", objects=learner_names(), doc="Learning rule.")
    task = param.Selector(default="digits-events", objects=["digits-events"], doc="Task.")
    fps = param.Integer(default=10, bounds=(1, 30), doc="Frames drawn per second.")
    draw_budget = param.Number(
        default=0.15, bounds=(0.01, 1.0),
        doc="Largest share of the time the server spends drawing: a frame that would exceed it "
            "is skipped, so a heavy dashboard costs frames, not simulation steps.")
    live = param.Boolean(default=True, doc="Redraw the views; off, the run goes on and the views "
                         "freeze (saves the browser's and the server's time).")
    frames_drawn = param.Integer(default=0, doc="Frames drawn so far (for tests and the readout).")

    def __init__(
        self,
        session: Session | None = None,
        *,
        data_root: str | None = None,
        sync_url: bool = False,
        eval_every: int = 20,
        **params,
    ):
        self._initial = {
            k: params.pop(k) for k in ("learner", "task", "seed", "params") if k in params
        }
        super().__init__(**params)
        self.data_root = data_root
        self.sync_url = sync_url
        self.eval_every = eval_every
        self.notice = pn.pane.Alert("", alert_type="warning", visible=False)
        self.speed = pn.pane.Markdown("", name="speed")
        self._frame_times: deque[float] = deque(maxlen=200)
        self._callback = None
        self._last_draw_end = self._last_draw_cost = 0.0
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
        if self.sync_url and pn.state.location is not None:
            state = parse_query(
                dict(pn.state.location.query_params),
                learner,
                task,
                available_tasks=None if self.data_root else _without_nmnist(),
            )
            learner, task, seed = state.learner, state.task, state.seed
            params.update(state.params)
            if state.problems:
                self.show_notice("Some link settings were refused: " + "; ".join(state.problems))
        if task not in lab_tasks(learner):
            task = starting_task(learner)
        return self.make_session(learner, task, seed, params)

    def make_session(self, learner: str, task: str, seed: int = 0, params: dict | None = None):
        """A new paused session of ``learner`` on ``task``."""
        options = dict(TASK_PRESETS.get((learner, task), {}))
        if task == "nmnist":
            options["root"] = self.data_root
        built = learners.make(learner, seed=seed, **(params or {}))
        return Session(built, load_task(task, **options), eval_every=self.eval_every)

    def _use(self, session: Session) -> None:
        self.session = session
        self._switching = True
        try:
            self.learner = session.learner.key
            self.param.task.objects = sorted(set(self._available_tasks()) | {session.task.name})
            self.task = session.task.name
        finally:
            self._switching = False
        self.hyperparameters = HyperparameterPanel(session)
        self.hyperparameters.draft.param.watch(
            lambda *_: self._update_url(), self.hyperparameters.names
        )
        self.views = build_views(session)
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
        self.seed_readout = pn.pane.Markdown(f"seed **{self.session.learner.seed}**")
        return [
            pn.widgets.Select.from_param(self.param.learner, name="Learner"),
            pn.widgets.Select.from_param(self.param.task, name="Task"),
            pn.Row(*[buttons[k] for k in ("Play", "Pause", "Step", "Reset")]),
            pn.Row(buttons["New seed"], self.seed_readout),
            self.speed,
            pn.widgets.IntSlider.from_param(self.param.fps, name="Frames per second"),
            pn.widgets.Checkbox.from_param(self.param.live, name="Live views"),
            pn.pane.Markdown("### Hyperparameters"),
            self.hyperparameters,
            pn.pane.Markdown("### Export"),
            *downloads,
        ]

    # -- controls ---------------------------------------------------------------------------
    def play(self) -> None:
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
        self.seed_readout.object = f"seed **{self.session.learner.seed}**"
        self._update_url()

    def new_seed(self) -> None:
        self.reset(int(np.random.default_rng().integers(0, 2**31 - 1)))

    def show_notice(self, text: str) -> None:
        self.notice.object = text
        self.notice.visible = bool(text)

    # -- frames -----------------------------------------------------------------------------
    def draw_frame(self, force: bool = False) -> None:
        """Drain the session and push what it produced to every view (the periodic callback).

        Skipped while ``live`` is off, and when drawing now would take more than
        ``draw_budget`` of the time since the last frame (unless ``force``).
        """
        if not self.live:
            return
        now = time.perf_counter()
        idle = now - self._last_draw_end
        if not force and idle < self._last_draw_cost * (1.0 / self.draw_budget - 1.0):
            return  # over budget: the session keeps queueing, the next drawn frame catches up
        frames = self.session.drain()
        evaluations = [e for e in list(self.session.evaluations) if e.step > self._eval_seen]
        if evaluations:
            self._eval_seen = evaluations[-1].step
        if frames:
            self._last_snapshot = frames[-1]
        # Every plot refresh freezes the Bokeh document, and each unfreeze walks all of its
        # models (about 40 ms for a lab); one freeze around the frame walks them once.
        document = pn.state.curdoc
        with document.models.freeze() if document is not None else nullcontext():
            for view in self.views:
                view.push(frames, evaluations)
        self._last_draw_end = time.perf_counter()
        self._last_draw_cost = self._last_draw_end - now
        self._frame_times.append(self._last_draw_end)
        self.frames_drawn += 1
        self._show_speed()
        if self.session.message and self.session.message != self.notice.object:
            self.show_notice(self.session.message)

    def frames_per_second(self) -> float:
        times = self._frame_times
        if len(times) < 2 or time.perf_counter() - times[-1] > 2.0:
            return 0.0
        window = [t for t in times if times[-1] - t <= 2.0]
        return (len(window) - 1) / max(window[-1] - window[0], 1e-9)

    def _show_speed(self) -> None:
        s = self.session
        self.speed.object = (
            f"**{s.steps_per_second:.0f}** steps/s · "
            f"**{self.frames_per_second():.1f}** frames/s · "
            f"step {s.learner.step_} · {s.state}"
        )

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
        if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
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
        learner = self.session.learner
        defaults = {k: p.default for k, p in type(learner).param.objects().items()}
        query = to_query(
            learner.key,
            self.session.task.name,
            learner.seed,
            self.hyperparameters.values(),
            defaults,
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
        return pn.ipywidget(self)

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
