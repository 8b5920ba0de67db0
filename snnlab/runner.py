"""Runs a learner on a task one step at a time: batches, evaluations, divergence guard.

The same loop serves ``snnlab train`` (called directly), :class:`snnlab.Session` (called from a
worker thread) and sweeps. It owns the training order: each epoch is a fresh permutation of the
training split drawn from ``(seed, epoch)``, so a run is a function of its config and seed.

An evaluation is a function of the learner's state at its step (:func:`measure`), so it can run
at once (``snnlab train``) or later, on a copy of that state in another thread (a live session
hands it to ``defer_evaluation``): the numbers are the same either way.
"""

from __future__ import annotations

import json
import tempfile
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from snnlab.data.task import Task
from snnlab.learners.base import Learner
from snnlab.learners.snapshot import Snapshot


class Diverged(RuntimeError):
    """A step produced NaN or inf; the learner was put back to its last good state."""


@dataclass
class Evaluation:
    """One row of a run's metrics (what ``metrics.csv`` stores)."""

    step: int
    epoch: float
    values: dict = field(default_factory=dict)
    #: arrays the evaluation produced for the live views (e.g. a reliability table); not saved
    arrays: dict = field(default_factory=dict)

    def row(self) -> dict:
        return {"step": self.step, "epoch": round(self.epoch, 6), **self.values}


@dataclass(frozen=True)
class PendingEvaluation:
    """What an evaluation of step ``step`` needs: the learner's state then, its hyperparameters
    then, and the mean training loss since the previous evaluation (None when no step ran)."""

    step: int
    epoch: float
    loss: float | None
    state: dict
    hyperparameters: dict


def measure(learner: Learner, task: Task, eval_samples: int | None,
            train_eval_samples: int) -> tuple[dict, dict]:
    """Metrics of ``learner`` as it is now (test, and train accuracy for classification), and
    the arrays the test evaluation gave for the live views."""
    values = {}
    if task.kind == "classification":
        values.update(learner.evaluate("train", max_samples=train_eval_samples))
    test, arrays = learner.evaluate_with_arrays("test", max_samples=eval_samples)
    values.update(test)
    return values, arrays


class EvaluationHistory:
    """A run's evaluations in order: the newest ``keep`` in memory and, with ``keep``, every
    older one in a temporary file (JSON lines), so a run of any length holds bounded memory and
    still records every row. Iterating yields all rows, oldest first."""

    def __init__(self, keep: int | None = None):
        self._recent: deque[Evaluation] = deque(maxlen=keep)
        self._spill = tempfile.TemporaryFile("w+", encoding="utf-8") if keep else None
        self._spilled = 0

    def append(self, evaluation: Evaluation) -> None:
        if self._spill is not None and len(self._recent) == self._recent.maxlen:
            oldest = self._recent[0]
            self._spill.write(json.dumps([oldest.step, oldest.epoch, oldest.values]) + "\n")
            self._spilled += 1
        self._recent.append(evaluation)

    def __len__(self) -> int:
        return self._spilled + len(self._recent)

    def __bool__(self) -> bool:
        return len(self) > 0

    def __getitem__(self, index: int) -> Evaluation:
        if index >= 0 or -index > len(self._recent):
            raise IndexError("only the newest evaluations are held in memory")
        return self._recent[index]

    def __iter__(self):
        if self._spilled:
            self._spill.flush()
            self._spill.seek(0)
            for line in self._spill:
                step, epoch, values = json.loads(line)
                yield Evaluation(step, epoch, values)
            self._spill.seek(0, 2)
        yield from list(self._recent)

    def recent(self) -> list[Evaluation]:
        """The evaluations held in memory, oldest first."""
        return list(self._recent)


class Runner:
    """Steps ``learner`` through ``task``'s training split, evaluating every ``eval_every`` steps.

    eval_every: steps between evaluations on the test split (0: only when asked).
    eval_samples: cap on samples per evaluation (None: the whole split); keeps live views fast.
    defer_evaluation: when given, a due evaluation is handed to it as a
        :class:`PendingEvaluation` instead of being computed now; whoever takes it appends the
        result with :meth:`record_evaluation`.
    history_rows: evaluations kept in memory (None: all); older ones go to a temporary file.
    """

    def __init__(
        self,
        learner: Learner,
        task: Task,
        *,
        eval_every: int = 50,
        eval_samples: int | None = None,
        train_eval_samples: int = 256,
        defer_evaluation: Callable[[PendingEvaluation], None] | None = None,
        history_rows: int | None = None,
    ):
        if eval_every < 0:
            raise ValueError(f"eval_every must be >= 0, not {eval_every}")
        self.learner = learner
        self.task = task
        self.eval_every = eval_every
        self.eval_samples = eval_samples
        self.train_eval_samples = train_eval_samples
        self.defer_evaluation = defer_evaluation
        self.history_rows = history_rows
        if learner.task_ is not task:
            learner.setup(task)
        self.reset_loop()

    def reset_loop(self) -> None:
        """Back to the first batch of epoch 0 and an empty history (the learner is not touched)."""
        self.history = EvaluationHistory(self.history_rows)
        self._epoch = 0
        self._batches = self._epoch_batches(0)
        self._losses: list[float] = []
        self._good_state = self.learner.state_dict()
        #: (step, sample indices) of the most recent batches, newest last: which inputs were seen
        self.recent_batches: deque = deque(maxlen=1000)

    def _epoch_batches(self, epoch: int):
        seed = np.random.SeedSequence([self.learner.seed, epoch]).generate_state(1)[0]
        return self.task.batches(
            "train", batch_size=self.learner.batch_size, shuffle=True, seed=int(seed)
        )

    @property
    def steps_per_epoch(self) -> int:
        return -(-len(self.task.train) // self.learner.batch_size)

    def advance(self) -> Snapshot:
        """One learner step on the next batch; raises :class:`Diverged` (state restored) on NaN."""
        batch = next(self._batches, None)
        if batch is None:
            self._epoch += 1
            self._batches = self._epoch_batches(self._epoch)
            batch = next(self._batches)
        snapshot = self.learner.step(batch)
        self.recent_batches.append((snapshot.step, batch.index))
        if not (snapshot.is_finite() and self.learner.is_finite()):
            self.restore_good_state()
            raise Diverged(
                f"step {snapshot.step} produced NaN or inf (try a smaller learning rate); "
                f"the learner was put back to its state after step {self.learner.step_}"
            )
        self._good_state = self.learner.state_dict()
        if "loss" in snapshot.scalars:
            self._losses.append(snapshot.scalars["loss"])
        if self.eval_every and self.learner.step_ % self.eval_every == 0:
            if self.defer_evaluation is None:
                self.evaluate()
            else:
                self.defer_evaluation(self.pending_evaluation())
        return snapshot

    def restore_good_state(self) -> None:
        """Put the learner back to its state after the last step that went well."""
        self.learner.load_state_dict(self._good_state)

    def pending_evaluation(self) -> PendingEvaluation:
        """Everything an evaluation of the learner's current state needs, taken now."""
        loss = float(np.mean(self._losses)) if self._losses else None
        self._losses = []
        learner = self.learner
        return PendingEvaluation(
            step=learner.step_,
            epoch=learner.n_seen_ / len(self.task.train),
            loss=loss,
            state=self._good_state,  # a fresh copy each step, never written again
            hyperparameters=learner.hyperparameters(),
        )

    def evaluate(self) -> Evaluation:
        """Test metrics (and train accuracy where it applies) now; appended to ``history``."""
        pending = self.pending_evaluation()
        values, arrays = measure(self.learner, self.task, self.eval_samples,
                                 self.train_eval_samples)
        return self.record_evaluation(pending, values, arrays)

    def record_evaluation(self, pending: PendingEvaluation, values: dict,
                          arrays: dict | None = None) -> Evaluation:
        """Append the evaluation of ``pending`` (the loss first, as ``metrics.csv`` orders it)."""
        loss = {} if pending.loss is None else {"loss": pending.loss}
        evaluation = Evaluation(pending.step, pending.epoch, {**loss, **values}, arrays or {})
        self.history.append(evaluation)
        return evaluation
