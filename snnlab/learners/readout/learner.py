"""``readout``: multinomial logistic regression on spike counts — the non-spiking reference.

Every spiking learner is compared with this one. Raw features are per-input spike counts summed
over time, ``c = log(1 + Σ_t x_t)`` (``features="log-counts"``, the default: event counts are heavy
tailed and the log makes one bright pixel weigh less) or the raw counts. They are standardised
with the training split's per-input mean and standard deviation and divided by ``sqrt(n_inputs)``,
``f = (c - mean_) / (std_ sqrt(n_inputs))``, so ``‖f‖² ≈ 1`` whatever the sensor size and one
learning rate suits every task.

Model: ``p(y | f) = softmax(W f + b)``, ``W`` ``(n_classes, n_inputs)``, ``b`` ``(n_classes,)``.
Update: one SGD step on the mean cross-entropy of the batch plus ``½ l2 ‖W‖²``:
``W ← W - lr [ (P - Y)ᵀ F / B + l2 W ]``, ``P`` ``(B, n_classes)`` predicted, ``Y`` one-hot.
"""

from __future__ import annotations

import numpy as np
import param

from snnlab.data.task import Batch, Task
from snnlab.learners.base import Learner


def spike_count_features(x: np.ndarray, kind: str, time_axis: int) -> np.ndarray:
    """``(B, n_inputs)`` float64 features from spike counts summed over ``time_axis``."""
    counts = np.asarray(x).sum(axis=time_axis, dtype=np.float64)
    return np.log1p(counts) if kind == "log-counts" else counts


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class Readout(Learner):
    """Logistic regression on spike counts (see module docstring)."""

    key = "readout"
    task_kinds = ("classification",)
    rebuild_params = ("features",)
    snapshot_scalars = ("loss", "train_accuracy")
    snapshot_arrays = ("raster_input", "weights_output", "proba")
    state_names = ("W_", "b_", "mean_", "scale_", "W_average_", "b_average_", "n_averaged_")

    # 8.0 did best of {0.5, 1, 2, 4, 8} after 200 steps on a held-out fifth of the training
    # splits of digits-events and N-MNIST (features have unit norm, so large steps are stable).
    lr = param.Number(default=8.0, bounds=(0.0, 100.0), doc="SGD learning rate.")
    l2 = param.Number(default=1e-4, bounds=(0.0, 1.0), doc="L2 penalty on the weights.")
    average_start = param.Integer(
        default=-1, bounds=(-1, None),
        doc="Predict with the running average of the weights after each update from this "
        "training example on (Polyak averaging; -1: with the current weights).",
    )
    features = param.Selector(
        default="log-counts",
        objects=["log-counts", "counts"],
        doc="Spike-count features: log(1 + count) or raw counts.",
    )

    def _init_state(self, task: Task) -> None:
        rng = np.random.default_rng(self.seed)
        self.W_ = rng.normal(0.0, 0.01, size=(task.n_outputs, task.n_inputs))
        self.b_ = np.zeros(task.n_outputs)
        counts = spike_count_features(task.train.x, self.features, time_axis=1)
        self.mean_ = counts.mean(axis=0)
        std = counts.std(axis=0)
        self.scale_ = 1.0 / (np.where(std > 0, std, 1.0) * np.sqrt(task.n_inputs))
        self.W_average_, self.b_average_ = self.W_.copy(), self.b_.copy()
        self.n_averaged_ = np.array(0, dtype=np.int64)

    def estimated_bytes(self, task: Task) -> int:
        # W_, its average and one gradient, float64
        return 3 * 8 * (task.n_outputs + 1) * task.n_inputs

    def _standardise(self, x: np.ndarray, time_axis: int) -> np.ndarray:
        return (spike_count_features(x, self.features, time_axis) - self.mean_) * self.scale_

    def _proba(self, features: np.ndarray, averaged: bool = False) -> np.ndarray:
        if averaged and self.n_averaged_ > 0:
            return softmax(features @ self.W_average_.T + self.b_average_)
        return softmax(features @ self.W_.T + self.b_)

    def _update(self, batch: Batch) -> tuple[dict, dict]:
        features = self._standardise(batch.x, time_axis=0)
        labels = np.asarray(batch.y, dtype=np.int64)
        proba = self._proba(features)
        n = len(labels)
        loss = -np.mean(np.log(np.clip(proba[np.arange(n), labels], 1e-12, 1.0)))
        error = proba.copy()
        error[np.arange(n), labels] -= 1.0
        self.W_ -= self.lr * (error.T @ features / n + self.l2 * self.W_)
        self.b_ -= self.lr * error.mean(axis=0)
        if 0 <= self.average_start < self.n_seen_ + n:
            # W̄ ← W̄ + (W - W̄) / k over the k updates since average_start
            self.n_averaged_ = np.array(int(self.n_averaged_) + 1, dtype=np.int64)
            k = int(self.n_averaged_)
            self.W_average_ += (self.W_ - self.W_average_) / k
            self.b_average_ += (self.b_ - self.b_average_) / k
        scalars = {"loss": loss, "train_accuracy": np.mean(proba.argmax(axis=1) == labels)}
        arrays = {
            "raster_input": batch.x[:, 0, :],
            "weights_output": self.W_.astype(np.float32),
            "proba": proba[0],
        }
        return scalars, arrays

    def predict_proba(self, X) -> np.ndarray:
        """``(n, n_classes)`` from sample-first spike counts ``X`` ``(n, T, n_inputs)``."""
        self._require_setup()
        X = np.asarray(X)
        if X.ndim != 3 or X.shape[2] != self.task_.n_inputs:
            raise ValueError(
                f"readout expects inputs (n_samples, T, {self.task_.n_inputs}), got {X.shape}"
            )
        return self._proba(self._standardise(X, time_axis=1), averaged=True)

    def weights(self) -> dict[str, np.ndarray]:
        return {"output": self.W_}
