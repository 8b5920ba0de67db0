"""A live run: a learner on a task, stepped by one worker thread, read by anyone at any pace.

Thread model: the worker thread is the only one that calls the learner while the session plays.
Callers talk to it through a command queue (hyperparameter changes, applied at step boundaries)
and read what it produced:

- ``drain()`` returns the snapshots since the last call, oldest first. Every step leaves its
  scalars (cheap: the curves lose no row), but arrays come only with the first step after each
  ``drain()``: the learner builds and copies arrays only when the screen has taken the previous
  ones, so a fast learner never fills memory with frames nobody will see, and a frame shows a
  state at most one frame old. The queue is bounded; a reader that stays away loses the oldest
  rows (``snapshots_dropped`` counts them), never steps.
- ``evaluations`` holds the newest evaluation rows. They are computed in a second thread on a
  copy of the learner's state (:mod:`snnlab.live_evaluation`), so an evaluation never stops the
  run; the run's full history lives in ``runner.history`` (older rows on disk).

States: ``"paused"`` (initial; ``step()`` works), ``"playing"``, ``"stopped"`` (final: the thread
has ended). Any failure in a step — a diverging step (NaN) or an exception — pauses the session,
restores the last good state and says why in ``message``; an exception is also logged.
``compiling`` is true while a first step compiles the learner's kernels.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque

from snnlab import warmup
from snnlab.data.task import Task
from snnlab.learners.base import Learner, check_hyperparameters
from snnlab.learners.snapshot import Snapshot
from snnlab.live_evaluation import BackgroundEvaluator
from snnlab.runner import Diverged, Evaluation, PendingEvaluation, Runner

log = logging.getLogger(__name__)

HISTORY_ROWS = 1000  # evaluation rows a session holds in memory (the record keeps them all)


class Session:
    """Run ``learner`` on ``task`` in a worker thread (see module docstring).

    eval_every / eval_samples / train_eval_samples: the evaluation schedule (see
        :class:`~snnlab.runner.Runner`).
    max_snapshots: capacity of the snapshot queue; the oldest are dropped when it is full.
    max_steps_per_second: throttle for teaching demos (0: as fast as possible).
    preset: the name of the preset the learner and task were built from, for the run record.
    """

    def __init__(
        self,
        learner: Learner,
        task: Task,
        *,
        eval_every: int = 20,
        eval_samples: int | None = 200,
        train_eval_samples: int = 256,
        max_snapshots: int = 4096,
        max_steps_per_second: float = 0.0,
        preset: str | None = None,
    ):
        self.learner = learner
        self.task = task
        #: the preset the run started from (stored in its record), ``None`` for none
        self.preset = preset
        self.evaluator = BackgroundEvaluator(
            learner, task, self._evaluated, self._evaluation_failed,
            eval_samples=eval_samples, train_eval_samples=train_eval_samples)
        self.runner = Runner(learner, task, eval_every=eval_every, eval_samples=eval_samples,
                             train_eval_samples=train_eval_samples,
                             defer_evaluation=self.evaluator.submit, history_rows=HISTORY_ROWS)
        self.snapshots: deque[Snapshot] = deque(maxlen=max_snapshots)
        self.evaluations: deque[Evaluation] = deque(maxlen=HISTORY_ROWS)
        self.max_steps_per_second = max_steps_per_second
        self.message = ""
        self.steps_done = 0
        self.snapshots_dropped = 0
        self._with_arrays: Snapshot | None = None  # newest snapshot with arrays, not yet drained
        self.compiling = False
        self._known_warm = False  # whether this learner's current settings have stepped once
        self._state = "paused"
        self._running = False  # what the worker obeys; _state is what callers see
        self._commands: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.RLock()  # held while the learner is touched
        self._results_lock = threading.Lock()  # guards ``evaluations`` (the evaluator appends, the screen reads)
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._rate = _RateMeter()
        self._start_run()

    # -- state ------------------------------------------------------------------------------
    @property
    def state(self) -> str:
        return self._state

    @property
    def steps_per_second(self) -> float:
        return self._rate.rate()

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    def _start_run(self) -> None:
        """A new run starts here: its base hyperparameters, no live changes yet."""
        self._base_params = {k: v for k, v in self.learner.hyperparameters().items() if k != "seed"}
        self._schedule: list[dict] = []
        self.learner.with_arrays = True

    def record(self, timeout: float = 600.0):
        """The run so far as a :class:`~snnlab.record.RunRecord` (``snnlab train``'s format).

        Waits for evaluations still being computed. Live hyperparameter changes are in the
        config's ``schedule``, so ``snnlab replay`` re-runs the same run.
        """
        from snnlab.training import RunConfig, make_record

        with self._lock:
            self.evaluator.wait_idle(timeout)
            runner = self.runner
            if not runner.history or runner.history[-1].step != self.learner.step_:
                if self.learner.step_ > 0:
                    runner.evaluate()
            config = RunConfig(
                learner=self.learner.key,
                task=self.task.name,
                seed=self.learner.seed,
                params=dict(self._base_params),
                task_options=dict(self.task.options),
                steps=max(self.learner.step_, 1),
                eval_every=runner.eval_every,
                eval_samples=runner.eval_samples,
                schedule=list(self._schedule),
                preset=self.preset,
            )
            return make_record(config, runner)

    # -- controls ---------------------------------------------------------------------------
    def play(self) -> None:
        """Start (or resume) stepping in the worker thread."""
        self._require_alive()
        self.message = ""
        self._running = True
        self._state = "playing"
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="snnlab-session", daemon=True)
            self._thread.start()
        self._wake.set()

    def pause(self) -> None:
        """Stop stepping after the current step; returns once no step is in flight.

        ``state`` reads ``"paused"`` only from then on, so no step follows it.
        """
        self._require_alive()
        self._running = False
        with self._lock:
            if self._state != "stopped":
                self._state = "paused"

    def step(self) -> Snapshot | None:
        """One step now, in the caller's thread (pauses first); None if it failed."""
        self.pause()
        with self._lock:
            self._apply_commands()
            self.learner.with_arrays = True
            return self._advance()

    def reset(self, seed: int | None = None) -> None:
        """Back to the initial weights of ``seed`` (the current seed when None); pauses."""
        self.pause()
        with self._lock:
            self._apply_commands()
            if seed is not None and seed != self.learner.seed:
                self.learner.set_hyperparameters(seed=seed)
            self.learner.reset()
            self._restart_loop()
            self.steps_done = 0
            self.message = ""

    def stop(self, timeout: float = 10.0) -> None:
        """End the worker threads for good; the session cannot play again."""
        self._running = False
        self._state = "stopped"
        self._wake.set()
        self.evaluator.stop(timeout)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise RuntimeError(f"session thread did not stop within {timeout} s")

    def set_params(self, **changes) -> None:
        """Queue hyperparameter changes; applied before the next step (at once when paused).

        Raises ``ValueError`` at once for unknown names or bad values, changing nothing.
        """
        check_hyperparameters(type(self.learner), changes)
        self._commands.put(changes)
        if not self._running:
            with self._lock:
                self._apply_commands()

    def evaluations_after(self, step: int) -> list[Evaluation]:
        """The evaluations held in memory of steps after ``step``, oldest first."""
        with self._results_lock:
            return [e for e in self.evaluations if e.step > step]

    def drain(self) -> list[Snapshot]:
        """Take every queued snapshot, oldest first; the next step builds arrays again."""
        out = []
        while True:
            try:
                out.append(self.snapshots.popleft())
            except IndexError:
                break
        with_arrays, self._with_arrays = self._with_arrays, None
        if with_arrays is not None and (not out or out[0].step > with_arrays.step):
            out.insert(0, with_arrays)  # the queue overflowed past it: the screen still gets it
        self.learner.with_arrays = True
        return out

    # -- worker -----------------------------------------------------------------------------
    def _require_alive(self) -> None:
        if self._state == "stopped":
            raise RuntimeError("this session was stopped; make a new Session to run again")

    def _restart_loop(self) -> None:
        self.evaluator.discard_pending()
        self.runner.reset_loop()
        self._start_run()
        self.snapshots.clear()
        self._with_arrays = None
        with self._results_lock:
            self.evaluations.clear()

    def _apply_commands(self) -> None:
        rebuild = False
        while True:
            try:
                changes = self._commands.get_nowait()
            except queue.Empty:
                break
            self._known_warm = False  # other settings may compile other kernels
            if self.learner.set_hyperparameters(**changes):
                rebuild = True
            else:
                self._schedule.append({"step": self.learner.step_, "params": dict(changes)})
        if rebuild:
            self.learner.setup(self.task)
            self._restart_loop()

    def _advance(self) -> Snapshot | None:
        # a warm-up key costs a sort of every hyperparameter: asked again only after changes
        cold = not self._known_warm and not warmup.is_warm(self.learner)
        self.compiling = cold
        try:
            snapshot = self.runner.advance()
        except Diverged as why:
            self._fail(f"paused: {why}")
            return None
        except Exception as err:  # a bug or MemoryError must not end the thread unseen
            log.exception("step %d of %s failed", self.learner.step_ + 1, self.learner.key)
            self._fail(f"paused: step {self.learner.step_ + 1} failed with "
                       f"{type(err).__name__}: {err}; the learner keeps its state after step "
                       f"{self.learner.step_}")
            self.runner.restore_good_state()
            return None
        finally:
            self.compiling = False
        if cold:
            warmup.mark_warm(self.learner)
        self._known_warm = True
        self.steps_done += 1
        self._rate.tick()
        self.learner.with_arrays = False  # until the screen takes this snapshot
        if len(self.snapshots) == self.snapshots.maxlen:
            self.snapshots_dropped += 1
        self.snapshots.append(snapshot)
        if snapshot.arrays:
            self._with_arrays = snapshot
        return snapshot

    def _fail(self, message: str) -> None:
        self._running = False
        self._state = "paused"
        self.message = message

    def _evaluated(self, pending: PendingEvaluation, values: dict, arrays: dict) -> None:
        """An evaluation came back from the evaluator thread."""
        evaluation = self.runner.record_evaluation(pending, values, arrays)
        with self._results_lock:
            self.evaluations.append(evaluation)

    def _evaluation_failed(self, message: str) -> None:
        self._fail(f"paused: {message}")

    def _work(self) -> None:
        while self._state != "stopped":
            if not self._running:
                self._wake.wait(0.5)
                self._wake.clear()
                continue
            started = time.perf_counter()
            with self._lock:
                if self._running:
                    self._apply_commands()
                    self._advance()
            if self.max_steps_per_second > 0:
                time.sleep(
                    max(0.0, 1.0 / self.max_steps_per_second - time.perf_counter() + started)
                )

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


class _RateMeter:
    """Steps per second over the last couple of seconds."""

    def __init__(self, window: float = 2.0):
        self.window = window
        self.times: deque[float] = deque(maxlen=10_000)

    def tick(self) -> None:
        self.times.append(time.perf_counter())

    def rate(self) -> float:
        now = time.perf_counter()
        while self.times and now - self.times[0] > self.window:
            self.times.popleft()
        return len(self.times) / self.window
