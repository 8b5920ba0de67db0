"""A task: train/test splits of ready-to-feed arrays plus the metadata learners size themselves by.

Every task, whatever its source, ends up as arrays with a leading sample axis:

- ``kind == "classification"``: ``x`` is ``(n, T, n_inputs)`` uint8 spike counts per time bin,
  ``y`` is ``(n,)`` int64 class indices.
- ``kind == "spike-train"``: ``x`` is ``(n, T, n_inputs)`` uint8 input spikes,
  ``y`` is ``(n, T, n_outputs)`` uint8 desired output spikes.
- ``kind == "regression"``: ``x`` is ``(n, n_inputs)`` float32 real inputs,
  ``y`` is ``(n, n_outputs)`` float32 targets.
- ``kind == "pde"``: like regression, ``x`` holds collocation points and ``y`` the exact solution
  there; the residual and boundary terms come from ``Task.problem``.

A :class:`Batch` turns event arrays time-first, ``(T, B, n_inputs)``, the layout every kernel takes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np

KINDS = ("classification", "spike-train", "regression", "pde")


@dataclass(frozen=True)
class Split:
    """One split of a task: ``x`` and ``y`` with a leading sample axis (see module docstring)."""

    x: np.ndarray
    y: np.ndarray

    def __post_init__(self):
        if len(self.x) != len(self.y):
            raise ValueError(
                f"split has {len(self.x)} inputs but {len(self.y)} targets; they must match"
            )

    def __len__(self) -> int:
        return len(self.x)


@dataclass(frozen=True)
class Batch:
    """A batch, time-first for event data.

    x: ``(T, B, n_inputs)`` for event kinds, ``(B, n_inputs)`` for regression/pde.
    y: ``(B,)`` labels, ``(T, B, n_outputs)`` target spikes, or ``(B, n_outputs)`` targets.
    index: ``(B,)`` positions of the samples in their split.
    """

    x: np.ndarray
    y: np.ndarray
    index: np.ndarray
    split: str = "train"

    @property
    def size(self) -> int:
        return len(self.index)


@dataclass
class Task:
    """Train/test splits plus metadata.

    name: registry name (``"digits-events"``, ``"nmnist"``, ...).
    kind: one of :data:`KINDS`.
    n_inputs, n_outputs: widths of the input and output layers a learner must build.
    n_steps: time bins per sample ``T`` (1 for regression).
    dt: seconds per time bin.
    classes: class labels (classification) or ``None``.
    input_shape: how ``n_inputs`` folds into a sensor, e.g. ``(2, 17, 17)``; views use it.
    options: the options the task was loaded with (recorded in run configs).
    problem: for PDE tasks, the object that evaluates residuals; ``None`` otherwise.
    """

    name: str
    kind: str
    train: Split
    test: Split
    n_inputs: int
    n_outputs: int
    n_steps: int
    dt: float
    classes: tuple | None = None
    input_shape: tuple = ()
    options: dict = field(default_factory=dict)
    problem: Any = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"task kind {self.kind!r} is not one of {KINDS}")
        if not self.input_shape:
            self.input_shape = (self.n_inputs,)

    @property
    def event_based(self) -> bool:
        return self.kind in ("classification", "spike-train")

    @property
    def duration(self) -> float:
        """Seconds of one sample."""
        return self.n_steps * self.dt

    def split(self, name: str) -> Split:
        if name not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', not {name!r}")
        return self.train if name == "train" else self.test

    def batch(self, index, split: str = "train") -> Batch:
        """The samples at ``index`` of ``split`` as a time-first :class:`Batch`."""
        data = self.split(split)
        index = np.asarray(index, dtype=np.int64)
        return make_batch(self.kind, data.x[index], data.y[index], index, split)

    def batches(
        self, split: str = "train", batch_size: int = 32, shuffle: bool = True, seed: int = 0
    ) -> Iterator[Batch]:
        """One pass over ``split`` in batches; the order is shuffled with ``seed`` when asked."""
        n = len(self.split(split))
        order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)
        for start in range(0, n, batch_size):
            yield self.batch(order[start : start + batch_size], split)

    def describe(self) -> dict:
        """Metadata for run records and views (no arrays)."""
        return {
            "name": self.name,
            "kind": self.kind,
            "n_inputs": self.n_inputs,
            "n_outputs": self.n_outputs,
            "n_steps": self.n_steps,
            "dt": self.dt,
            "classes": list(self.classes) if self.classes is not None else None,
            "input_shape": list(self.input_shape),
            "n_train": len(self.train),
            "n_test": len(self.test),
            "options": dict(self.options),
        }


def make_batch(kind: str, x, y, index=None, split: str = "train") -> Batch:
    """A :class:`Batch` from sample-first ``x``, ``y`` of a task of ``kind`` (see module doc).

    Raises ``ValueError`` when the shapes do not fit ``kind``.
    """
    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"got {len(x)} inputs but {len(y)} targets; they must match")
    index = np.arange(len(x)) if index is None else np.asarray(index, dtype=np.int64)
    if kind in ("classification", "spike-train"):
        if x.ndim != 3:
            raise ValueError(
                f"{kind} inputs must be (n_samples, T, n_inputs) spike counts, got shape {x.shape}"
            )
        x = np.ascontiguousarray(np.swapaxes(x, 0, 1))
        if kind == "spike-train":
            if y.ndim != 3:
                raise ValueError(
                    f"spike-train targets must be (n_samples, T, n_outputs), got shape {y.shape}"
                )
            y = np.ascontiguousarray(np.swapaxes(y, 0, 1))
    elif x.ndim != 2:
        raise ValueError(f"{kind} inputs must be (n_samples, n_inputs), got shape {x.shape}")
    return Batch(x=x, y=y, index=index, split=split)
