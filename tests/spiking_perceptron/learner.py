"""``perceptron``: a layer of LIF neurons, one per class, trained by a spike-count perceptron rule.

A fifth learner that exists to prove the learner contract: it is declared in this package and
named in ``SNNLAB_LEARNERS``, and nothing in snnlab knows of it.

Forward: input spike counts ``x`` ``(T, B, n_in)`` drive ``n_classes`` LIF neurons through ``W``
``(n_in, n_classes)`` (the engine's kernel, :func:`snnlab.neurons.lif.simulate_lif`); the class
is the neuron that fires most, ``c = Σ_t s_t`` ``(B, n_classes)``.

Rule (per sample, on the summed input ``a = Σ_t x_t / T`` ``(n_in,)``): when the target's count
does not beat every other count by ``margin`` spikes, ``W[:, y] += lr a`` and, for the strongest
rival ``r``, ``W[:, r] -= lr a``.
"""

from __future__ import annotations

import numpy as np
import param

from snnlab.data.task import Batch, Task
from snnlab.learners.base import Learner
from snnlab.neurons.lif import LIFParameters, simulate_lif


class SpikingPerceptron(Learner):
    """Spike-count perceptron on a layer of LIF neurons (see module docstring)."""

    key = "perceptron"
    task_kinds = ("classification",)
    rebuild_params = ("init_scale",)
    snapshot_scalars = ("loss", "train_accuracy", "threshold")
    snapshot_arrays = ("raster_output", "membrane_output", "weights_output", "counts")
    state_names = ("W_",)

    lr = param.Number(default=0.5, bounds=(0.0, 100.0), doc="Perceptron step size.")
    margin = param.Integer(default=2, bounds=(0, 100), doc="Spikes the target must win by.")
    threshold = param.Number(default=1.0, bounds=(1e-3, 100.0), doc="LIF firing threshold.")
    beta = param.Number(default=0.9, bounds=(0.01, 1.0), doc="LIF membrane decay per step.")
    init_scale = param.Number(default=0.05, bounds=(0.0, 10.0),
                              doc="Standard deviation of the initial weights.")

    def _init_state(self, task: Task) -> None:
        rng = np.random.default_rng(np.random.SeedSequence(self.seed))
        self.W_ = rng.normal(0.0, self.init_scale,
                             size=(task.n_inputs, task.n_outputs)).astype(np.float32)

    def estimated_bytes(self, task: Task) -> int:
        return 4 * task.n_inputs * task.n_outputs

    def _simulate(self, x: np.ndarray, record_membrane: bool):
        """``x`` ``(T, B, n_in)`` uint8 -> spikes ``(T, B, n_classes)``, membrane or None."""
        params = LIFParameters(beta=self.beta, threshold=self.threshold)
        result = simulate_lif(np.ascontiguousarray(x, dtype=np.uint8), self.W_, params,
                              record_membrane=record_membrane)
        return result.spikes, result.membrane

    def _update(self, batch: Batch) -> tuple[dict, dict]:
        spikes, membrane = self._simulate(batch.x, record_membrane=True)
        counts = spikes.sum(axis=0, dtype=np.int64)  # (B, n_classes)
        labels = np.asarray(batch.y, dtype=np.int64)
        inputs = batch.x.mean(axis=0, dtype=np.float64)  # (B, n_in)
        losses = np.zeros(len(labels))
        for b, y in enumerate(labels):
            rivals = counts[b].copy()
            rivals[y] = np.iinfo(np.int64).min
            rival = int(rivals.argmax())
            losses[b] = max(0, self.margin - (counts[b, y] - counts[b, rival]))
            if losses[b] > 0:
                self.W_[:, y] += np.float32(self.lr) * inputs[b].astype(np.float32)
                self.W_[:, rival] -= np.float32(self.lr) * inputs[b].astype(np.float32)
        scalars = {"loss": losses.mean(), "threshold": self.threshold,
                   "train_accuracy": np.mean(counts.argmax(axis=1) == labels)}

        def arrays():
            return {"raster_output": spikes[:, 0, :], "membrane_output": membrane[:, 0, :],
                    "weights_output": self.W_.T, "counts": counts[0].astype(np.float64)}

        return scalars, arrays

    def predict_proba(self, X) -> np.ndarray:
        """``(n, n_classes)``: a softmax of the spike counts (ties share the probability)."""
        self._require_setup()
        X = np.asarray(X)
        if X.ndim != 3 or X.shape[2] != self.task_.n_inputs:
            raise ValueError(f"perceptron expects inputs (n_samples, T, {self.task_.n_inputs}), "
                             f"got {X.shape}")
        spikes, _ = self._simulate(np.swapaxes(X, 0, 1), record_membrane=False)
        counts = spikes.sum(axis=0, dtype=np.float64)
        z = np.exp(counts - counts.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)

    def weights(self) -> dict[str, np.ndarray]:
        return {"output": self.W_.T.copy()}
