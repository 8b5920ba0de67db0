"""A live run: a learner on a task, stepped by one worker thread, read by anyone at any pace.

Thread model: the worker thread is the only one that calls the learner while the session plays.
Callers talk to it through a command queue (hyperparameter changes, applied at step boundaries)
and read what it produced from bounded deques (snapshots, evaluations). A slow reader loses old
frames, never steps: the deques drop their oldest entries when full and the worker never waits
for a reader.

States: ``"paused"`` (initial; ``step()`` works), ``"playing"``, ``"stopped"`` (final: the thread
has ended). A diverging step pauses the session, restores the last good state and says why in
``message``.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque

from snnlab.data.task import Task
from snnlab.learners.base import Learner, check_hyperparameters
from snnlab.learners.snapshot import Snapshot
from snnlab.runner import Diverged, Evaluation, Runner


class Session:
    """Run ``learner`` on ``task`` in a worker thread (see module docstring).

    max_snapshots: capacity of the snapshot queue; the oldest are dropped when it is full.
    max_steps_per_second: throttle for teaching demos (0: as fast as possible).
    """

    def __init__(
        self,
        learner: Learner,
        task: Task,
        *,
        eval_every: int = 20,
        eval_samples: int | None = 200,
        max_snapshots: int = 64,
        max_steps_per_second: float = 0.0,
    ):
        self.learner = learner
        self.task = task
        self.runner = Runner(learner, task, eval_every=eval_every, eval_samples=eval_samples)
        self.snapshots: deque[Snapshot] = deque(maxlen=max_snapshots)
        self.evaluations: deque[Evaluation] = deque(maxlen=10_000)
        self.max_steps_per_second = max_steps_per_second
        self.message = ""
        self.steps_done = 0
        self.snapshots_dropped = 0
        self._state = "paused"
        self._running = False  # what the worker obeys; _state is what callers see
        self._commands: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.RLock()  # held while the learner is touched
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

    def record(self):
        """The run so far as a :class:`~snnlab.record.RunRecord` (``snnlab train``'s format).

        Live hyperparameter changes are in the config's ``schedule``, so ``snnlab replay``
        re-runs the same run.
        """
        from snnlab.training import RunConfig, make_record

        with self._lock:
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
        """One step now, in the caller's thread (pauses first); None if it diverged."""
        self.pause()
        with self._lock:
            self._apply_commands()
            return self._advance()

    def reset(self, seed: int | None = None) -> None:
        """Back to the initial weights of ``seed`` (the current seed when None); pauses."""
        self.pause()
        with self._lock:
            self._apply_commands()
            if seed is not None and seed != self.learner.seed:
                self.learner.set_hyperparameters(seed=seed)
            self.learner.reset()
            self.runner.reset_loop()
            self._start_run()
            self.snapshots.clear()
            self.evaluations.clear()
            self.steps_done = 0
            self.message = ""

    def stop(self, timeout: float = 10.0) -> None:
        """End the worker thread for good; the session cannot play again."""
        self._running = False
        self._state = "stopped"
        self._wake.set()
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

    def drain(self) -> list[Snapshot]:
        """Take every queued snapshot, oldest first."""
        out = []
        while True:
            try:
                out.append(self.snapshots.popleft())
            except IndexError:
                return out

    # -- worker -----------------------------------------------------------------------------
    def _require_alive(self) -> None:
        if self._state == "stopped":
            raise RuntimeError("this session was stopped; make a new Session to run again")

    def _apply_commands(self) -> None:
        rebuild = False
        while True:
            try:
                changes = self._commands.get_nowait()
            except queue.Empty:
                break
            if self.learner.set_hyperparameters(**changes):
                rebuild = True
            else:
                self._schedule.append({"step": self.learner.step_, "params": dict(changes)})
        if rebuild:
            self.learner.setup(self.task)
            self.runner.reset_loop()
            self._start_run()

    def _advance(self) -> Snapshot | None:
        try:
            snapshot = self.runner.advance()
        except Diverged as why:
            self._running = False
            self._state = "paused"
            self.message = f"paused: {why}"
            return None
        self.steps_done += 1
        self._rate.tick()
        if len(self.snapshots) == self.snapshots.maxlen:
            self.snapshots_dropped += 1
        self.snapshots.append(snapshot)
        history = self.runner.history
        if history and (not self.evaluations or history[-1] is not self.evaluations[-1]):
            self.evaluations.append(history[-1])
        return snapshot

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

    def __enter__(self) -> "Session":
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
