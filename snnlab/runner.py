"""Runs a learner on a task one step at a time: batches, evaluations, divergence guard.

The same loop serves ``snnlab train`` (called directly), :class:`snnlab.Session` (called from a
worker thread) and sweeps. It owns the training order: each epoch is a fresh permutation of the
training split drawn from ``(seed, epoch)``, so a run is a function of its config and seed.
"""

from __future__ import annotations

from collections import deque
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

    def row(self) -> dict:
        return {"step": self.step, "epoch": round(self.epoch, 6), **self.values}


class Runner:
    """Steps ``learner`` through ``task``'s training split, evaluating every ``eval_every`` steps.

    eval_every: steps between evaluations on the test split (0: only when asked).
    eval_samples: cap on samples per evaluation (None: the whole split); keeps live views fast.
    """

    def __init__(
        self,
        learner: Learner,
        task: Task,
        *,
        eval_every: int = 50,
        eval_samples: int | None = None,
        train_eval_samples: int = 256,
    ):
        if eval_every < 0:
            raise ValueError(f"eval_every must be >= 0, not {eval_every}")
        self.learner = learner
        self.task = task
        self.eval_every = eval_every
        self.eval_samples = eval_samples
        self.train_eval_samples = train_eval_samples
        if learner.task_ is not task:
            learner.setup(task)
        self.reset_loop()

    def reset_loop(self) -> None:
        """Back to the first batch of epoch 0 and an empty history (the learner is not touched)."""
        self.history: list[Evaluation] = []
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
            bad_step = snapshot.step
            self.learner.load_state_dict(self._good_state)
            raise Diverged(
                f"step {bad_step} produced NaN or inf (try a smaller learning rate); "
                f"the learner was put back to its state after step {self.learner.step_}"
            )
        self._good_state = self.learner.state_dict()
        if "loss" in snapshot.scalars:
            self._losses.append(snapshot.scalars["loss"])
        if self.eval_every and self.learner.step_ % self.eval_every == 0:
            self.evaluate()
        return snapshot

    def evaluate(self) -> Evaluation:
        """Test metrics (and train accuracy where it applies) now; appended to ``history``."""
        learner = self.learner
        values = {}
        if self._losses:
            values["loss"] = float(np.mean(self._losses))
            self._losses = []
        if self.task.kind == "classification":
            values.update(learner.evaluate("train", max_samples=self.train_eval_samples))
        values.update(learner.evaluate("test", max_samples=self.eval_samples))
        evaluation = Evaluation(learner.step_, learner.n_seen_ / len(self.task.train), values)
        self.history.append(evaluation)
        return evaluation
