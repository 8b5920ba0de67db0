"""The protocol every learner follows, on ``param.Parameterized``.

Conventions (scikit-learn's where they fit):

- hyperparameters are ``param`` parameters with bounds and docs; a bad value raises ``ValueError``
  naming the parameter and what is allowed, whether it comes from the API, the CLI or a widget;
- learned state lives in attributes ending in ``_`` listed in ``state_names``;
  ``state_dict()``/``load_state_dict()`` round-trip them exactly (RNG streams included);
- ``setup(task)`` builds the network for the task's shapes, ``reset()`` rebuilds it from
  ``seed`` (same seed, same initial weights), ``step(batch)`` does one update and returns a
  :class:`~snnlab.learners.snapshot.Snapshot`;
- ``partial_fit(X, y)``, ``predict(X)``, ``predict_proba(X)``, ``score(X, y)`` take sample-first
  arrays, like :class:`~snnlab.data.task.Split` holds them.

Subclasses implement ``_init_state``, ``_update`` and ``predict_proba`` (classification) or
``_predict_values`` (regression), and ``weights``.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
import param

from snnlab import metrics
from snnlab.data.task import Batch, Task, make_batch
from snnlab.learners.memory import check_build
from snnlab.learners.snapshot import Snapshot
from snnlab.learners.values import read_value


class NotSetUp(RuntimeError):
    """Raised when a learner is used before ``setup(task)`` gave it its shapes."""


class Learner(param.Parameterized):
    """Base class: see the module docstring for the protocol."""

    seed = param.Integer(
        default=0, bounds=(0, 2**31 - 1), doc="Seed of every random draw: same seed, same run."
    )
    batch_size = param.Integer(default=32, bounds=(1, 4096), doc="Training samples per step.")

    key: ClassVar[str] = ""
    task_kinds: ClassVar[tuple[str, ...]] = ("classification",)
    rebuild_params: ClassVar[tuple[str, ...]] = ()
    snapshot_scalars: ClassVar[tuple[str, ...]] = ("loss",)
    snapshot_arrays: ClassVar[tuple[str, ...]] = ()
    state_names: ClassVar[tuple[str, ...]] = ()

    def __init__(self, **params):
        super().__init__(**params)
        self.task_: Task | None = None
        self.step_ = 0
        self.n_seen_ = 0
        #: whether ``step`` builds and copies the snapshot arrays; whoever consumes snapshots
        #: turns it off while it needs scalars only (a headless run, a screen between frames)
        self.with_arrays = True

    # -- building ---------------------------------------------------------------------------
    def setup(self, task: Task) -> "Learner":
        """Build the network for ``task``'s shapes and initialise it from ``seed``."""
        if task.kind not in self.task_kinds:
            raise ValueError(
                f"learner {self.key!r} cannot learn {task.kind} task {task.name!r}; "
                f"it takes {', '.join(self.task_kinds)} tasks"
            )
        check_build(self.key, self.estimated_bytes(task))
        self.task_ = task
        self.reset()
        return self

    def reset(self) -> None:
        """Back to the initial state drawn from ``seed``: same seed, same initial weights."""
        self._require_setup()
        self.step_ = 0
        self.n_seen_ = 0
        self._init_state(self.task_)

    def estimated_bytes(self, task: Task) -> int:
        """About how many bytes the network built for ``task`` holds (checked by ``setup``
        against :func:`snnlab.learners.memory.budget` before anything is allocated)."""
        return 0

    def _init_state(self, task: Task) -> None:
        raise NotImplementedError

    def _require_setup(self) -> None:
        if self.task_ is None:
            raise NotSetUp(f"call {type(self).__name__}.setup(task) before using the learner")

    # -- learning ---------------------------------------------------------------------------
    def step(self, batch: Batch) -> Snapshot:
        """One update on ``batch``; returns a snapshot of scalars and, while ``with_arrays``,
        copied arrays (an empty dict otherwise)."""
        self._require_setup()
        scalars, arrays = self._update(batch)
        if self.with_arrays:
            arrays = arrays() if callable(arrays) else arrays
            arrays = {k: np.array(v, copy=True) for k, v in arrays.items()}
        else:
            arrays = {}
        self.step_ += 1
        self.n_seen_ += batch.size
        return Snapshot(
            step=self.step_,
            epoch=self.n_seen_ / max(len(self.task_.train), 1),
            scalars={k: float(v) for k, v in scalars.items()},
            arrays=arrays,
        )

    def _update(self, batch: Batch) -> tuple[dict, dict]:
        """One update; returns the snapshot's scalars and its arrays, or a function returning
        them (called only when the arrays are wanted: they can cost more than the update)."""
        raise NotImplementedError

    def partial_fit(self, X, y) -> "Learner":
        """One update on sample-first arrays ``X``, ``y`` (as a task split holds them)."""
        self._require_setup()
        self.step(make_batch(self.task_.kind, X, y))
        return self

    # -- predicting -------------------------------------------------------------------------
    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities ``(n, n_classes)`` for sample-first ``X``."""
        raise NotImplementedError(f"{self.key} does not give class probabilities")

    def _predict_values(self, X) -> np.ndarray:
        raise NotImplementedError(f"{self.key} does not predict real values")

    def predict(self, X) -> np.ndarray:
        """Class labels ``(n,)`` for classification, values ``(n, n_outputs)`` otherwise."""
        self._require_setup()
        if self.task_.kind == "classification":
            return self.predict_proba(X).argmax(axis=1)
        return self._predict_values(X)

    def score(self, X, y) -> float:
        """Accuracy for classification, coefficient of determination R² for regression."""
        predicted = self.predict(X)
        if self.task_.kind == "classification":
            return metrics.accuracy(predicted, y)
        y = np.asarray(y, dtype=np.float64)
        return float(1.0 - np.sum((y - predicted) ** 2) / np.sum((y - y.mean(axis=0)) ** 2))

    def evaluate_with_arrays(self, split: str = "test",
                             max_samples: int | None = None) -> tuple[dict, dict]:
        """``evaluate``'s metrics and the arrays the live views draw from the same pass (e.g. a
        reliability table); none by default. Like ``evaluate``, it changes nothing."""
        return self.evaluate(split, max_samples), {}

    def evaluate(self, split: str = "test", max_samples: int | None = None) -> dict:
        """Metrics on a split of the task, under the names run records use; the learner's
        state is left byte-identical (the contract suite checks)."""
        self._require_setup()
        data = self.task_.split(split)
        n = len(data) if max_samples is None else min(max_samples, len(data))
        x, y = data.x[:n], data.y[:n]
        if self.task_.kind == "classification":
            report = metrics.classification_report(self.predict_proba(x), y, prefix=split)
            return report if split == "test" else {f"{split}_accuracy": report[f"{split}_accuracy"]}
        values = self.predict(x)
        return {"rmse": metrics.rmse(values, y), "rel_l2": metrics.relative_l2(values, y)}

    # -- state ------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every learned array (names end in ``_``) plus the step counters."""
        self._require_setup()
        state = {name: np.array(getattr(self, name), copy=True) for name in self.state_names}
        state["step_"] = np.array(self.step_, dtype=np.int64)
        state["n_seen_"] = np.array(self.n_seen_, dtype=np.int64)
        return state

    def load_state_dict(self, state: dict) -> None:
        """Restore a ``state_dict()``; shapes must match the network ``setup`` built."""
        self._require_setup()
        expected = set(self.state_names) | {"step_", "n_seen_"}
        missing, extra = expected - set(state), set(state) - expected
        if missing or extra:
            raise ValueError(
                f"state for {self.key!r} is missing {sorted(missing)} and has unknown {sorted(extra)}"
            )
        for name in self.state_names:
            current, new = getattr(self, name), np.asarray(state[name])
            if np.shape(current) != new.shape:
                raise ValueError(
                    f"state {name!r} has shape {new.shape}, the network needs {np.shape(current)}"
                )
            setattr(self, name, np.array(new, dtype=np.asarray(current).dtype, copy=True))
        self.step_ = int(state["step_"])
        self.n_seen_ = int(state["n_seen_"])

    def is_finite(self) -> bool:
        """False once any learned float array holds NaN or inf."""
        for name in self.state_names:
            value = np.asarray(getattr(self, name))
            if np.issubdtype(value.dtype, np.floating) and not np.isfinite(value).all():
                return False
        return True

    def weights(self) -> dict[str, np.ndarray]:
        """Weight arrays by layer name, e.g. ``{"output": (n_out, n_in)}``."""
        raise NotImplementedError

    # -- hyperparameters --------------------------------------------------------------------
    def hyperparameters(self) -> dict:
        """Current hyperparameter values (what a run record stores)."""
        return {k: v for k, v in self.param.values().items() if k != "name"}

    def set_hyperparameters(self, **changes) -> bool:
        """Apply ``changes`` atomically (all or none); True when they need a rebuild.

        Unknown names and out-of-range or non-finite values raise ``ValueError`` and change
        nothing.
        """
        changes = restore_types(type(self), changes)
        check_hyperparameters(type(self), changes)
        self.param.update(**changes)
        return any(k in self.rebuild_params for k in changes)


def restore_types(cls: type[Learner], values: dict) -> dict:
    """``values`` (typed: the API, a record, a spec) normalised for the parameters of ``cls``:
    lists to tuples, NumPy and ``Decimal`` numbers to ``int``/``float``; a boolean for a
    number, a non-finite number or a fraction for an integer raises ``ValueError``."""
    return {k: read_value(k, cls.param[k], v) if k in cls.param and not isinstance(v, str)
            else v for k, v in values.items()}


def check_hyperparameters(cls: type[Learner], changes: dict) -> None:
    """Raise ``ValueError`` naming the first unknown, non-finite or out-of-range value."""
    known = {k for k in cls.param if k != "name"}
    probe = cls()  # param checks a value as it is assigned: to this throwaway instance
    for key, value in changes.items():
        if key not in known:
            raise ValueError(
                f"{cls.key!r} has no parameter {key!r}; it has {', '.join(sorted(known))}"
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"parameter {key!r} must be a finite number, not {value}")
        try:
            setattr(probe, key, value)
        except (ValueError, TypeError) as err:
            raise ValueError(f"parameter {key!r}: {err}") from None


def parse_hyperparameters(cls: type[Learner], text: dict) -> dict:
    """Typed values for the parameters of ``cls`` from text (``--param k=v``, a URL query, a
    sweep spec) or typed values, read by each parameter's type (see ``values.read_value``).
    Unknown names and bad values raise ``ValueError``."""
    values = {}
    for key, raw in text.items():
        if key not in cls.param or key == "name":
            check_hyperparameters(cls, {key: raw})  # raises: unknown parameter
        values[key] = read_value(key, cls.param[key], raw)
    check_hyperparameters(cls, values)
    return values
