"""Evaluations of a live run, computed in their own thread on a copy of the learner.

An evaluation can take seconds (GEM runs every test sample through K compartments); done in the
session's worker it would stop the run, and the page, for that long. Here the worker hands over
a :class:`~snnlab.runner.PendingEvaluation` (the state after the step, shared, never written
again) and goes on stepping; this thread loads the state into a twin learner of the same
hyperparameters and runs the same :func:`~snnlab.runner.measure`, so the numbers equal those of
``snnlab train`` at the same steps. Results come back in submission order.

At most ``max_pending`` evaluations wait: a run that asks for evaluations faster than they can
be computed waits for them (memory stays bounded and no evaluation is lost, so the run's record
still replays).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable

from snnlab import learners
from snnlab.data.task import Task
from snnlab.learners.base import Learner
from snnlab.runner import PendingEvaluation, measure

log = logging.getLogger(__name__)


class BackgroundEvaluator:
    """Evaluate pending states of ``learner``'s run in a thread; ``on_result(pending, values,
    arrays)`` receives each result (in that thread), ``on_error(message)`` a failure."""

    def __init__(
        self,
        learner: Learner,
        task: Task,
        on_result: Callable[[PendingEvaluation, dict, dict], None],
        on_error: Callable[[str], None],
        *,
        eval_samples: int | None,
        train_eval_samples: int,
        max_pending: int = 2,
    ):
        self.key = learner.key
        self.task = task
        self.on_result = on_result
        self.on_error = on_error
        self.eval_samples = eval_samples
        self.train_eval_samples = train_eval_samples
        self.max_pending = max_pending
        self._jobs: deque[tuple[int, PendingEvaluation]] = deque()
        self._generation = 0
        self._busy = False
        self._stopped = False
        self._changed = threading.Condition()
        self._twin: Learner | None = None
        self._thread = threading.Thread(target=self._work, name="snnlab-evaluator", daemon=True)
        self._thread.start()

    def submit(self, pending: PendingEvaluation) -> None:
        """Queue an evaluation; waits while ``max_pending`` are already queued."""
        with self._changed:
            while len(self._jobs) >= self.max_pending and not self._stopped:
                self._changed.wait(0.1)
            self._jobs.append((self._generation, pending))
            self._changed.notify_all()

    def discard_pending(self) -> None:
        """Forget queued and running evaluations (the run was reset or rebuilt)."""
        with self._changed:
            self._generation += 1
            self._jobs.clear()
            self._changed.notify_all()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until every queued evaluation has been delivered; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._jobs and not self._busy, timeout)

    def stop(self, timeout: float = 10.0) -> None:
        with self._changed:
            self._stopped = True
            self._jobs.clear()
            self._changed.notify_all()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _work(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._jobs or self._stopped)
                if self._stopped:
                    return
                generation, pending = self._jobs.popleft()
                self._busy = True
                self._changed.notify_all()
            try:
                values, arrays = self._evaluate(pending)
                with self._changed:
                    if generation == self._generation and not self._stopped:
                        self.on_result(pending, values, arrays)
            except Exception as err:  # a bug must not end the thread silently
                log.exception("evaluation of step %d failed", pending.step)
                self.on_error(f"evaluation of step {pending.step} failed: "
                              f"{type(err).__name__}: {err}")
            finally:
                with self._changed:
                    self._busy = False
                    self._changed.notify_all()

    def _evaluate(self, pending: PendingEvaluation) -> tuple[dict, dict]:
        twin = self._twin_for(pending.hyperparameters)
        twin.load_state_dict(pending.state)
        return measure(twin, self.task, self.eval_samples, self.train_eval_samples)

    def _twin_for(self, hyperparameters: dict) -> Learner:
        """A learner of the run's hyperparameters on the run's task, rebuilt only when a
        parameter that shapes the network changed."""
        twin = self._twin
        if twin is not None:
            changed = {k: v for k, v in hyperparameters.items()
                       if getattr(twin, k) != v}
            if set(changed) & set(twin.rebuild_params):
                twin = None
            elif changed:
                twin.set_hyperparameters(**changed)
        if twin is None:
            twin = learners.make(self.key, **hyperparameters)
            twin.with_arrays = False
            twin.setup(self.task)
            self._twin = twin
        return twin
