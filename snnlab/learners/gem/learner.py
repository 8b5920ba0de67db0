"""``gem``: multi-sample online learning of a probabilistic (GLM) spiking network (Jang & Simeone).

Network (:mod:`snnlab.learners.gem.network`, kernels in :mod:`snnlab.learners.gem.kernels`):
visible inputs X and outputs Y and ``n_hidden`` hidden neurons H, each a Bernoulli GLM neuron
``p(s_{i,t} = 1) = sigma(u_{i,t})`` driven through ``n_basis`` raised-cosine synaptic bases
(``memory`` steps) and a feedback kernel. Hidden neurons receive from inputs and hidden neurons,
outputs from inputs and hidden neurons (never from outputs). ``n_samples`` = K compartments share
every weight; each samples its own hidden spikes.

Training (one example at a time, online, snnlab/docs/algorithms.md section 2): inputs are clamped to the
data (counts above 1 clipped to a spike), outputs to the target — for classification the
true-class output neuron spikes at every step and the others stay silent; for spike-train tasks
the target trains themselves. Per step t and compartment k the kernel computes the visible
log-likelihood ``r^k_t``, smoothed log-weights ``v^k_t = kappa v^k_{t-1} + c r^k_t``, importance
weights ``omega_t = softmax_k(v_t)``, eligibility traces ``e^k_t = kappa e^k_{t-1} + c grad^k_t``
(``c = 1 - kappa`` with ``scale_traces``, else 1 as in the authors' code) and the rule's update
(``rule``): ``"gem"`` ``theta += eta sum_k omega^k_t e^k_t`` (the three-factor rule), ``"iw"``
importance-weighted ELBO with a running baseline, ``"mb"`` K single-sample variational updates
averaged (learning signal with a KL toward ``target_rate``), ``"mb1"`` the same with one
compartment whatever ``n_samples`` says.

Schedule (our choices for one online pass over a few hundred recordings;
snnlab/docs/algorithms.md section 2): the learning rate of the n-th training example is
``lr / (1 + lr_decay n)``; with ``average_start >= 0`` predictions use the Polyak (running
uniform) average of the parameters over every example from the ``average_start``-th on, which
removes the recency bias of a constant-rate online rule.

Inference: ``n_samples_test`` compartments run with the outputs free (sampled). Each compartment
votes for the output neuron with the most spikes (ties split the vote); class probabilities are
the vote shares. ``decision="majority"`` predicts the most voted class, ``"sum"`` the class with
the most spikes summed over compartments (its probabilities are the vote shares with the summed
counts breaking ties, so the argmax is that class). The spread of the votes gives the
calibration (ECE). ``evaluate`` also reports the per-step visible log-likelihood of the targets,
``(1 / T) log mean_k p(y | x, h^k)`` with outputs clamped, averaged over the test examples.

Changing ``n_samples`` (or ``rule``) live rebuilds the compartments (their RNG streams, drawn
from ``(seed, step)``) and keeps the shared weights.
"""

from __future__ import annotations

from contextlib import contextmanager

import numba
import numpy as np
import param

from snnlab import metrics
from snnlab._kernels.rng import make_streams
from snnlab.data.task import Batch, Task
from snnlab.learners.base import Learner
from snnlab.learners.gem.network import (
    GEMConfig,
    GEMWorkspace,
    GLMNetwork,
    GLMNetworkShape,
    gem_train_example,
    glm_infer,
    init_glm_network,
)

MAX_SNAPSHOT_VALUES = 20_000
MAX_SNAPSHOT_COMPARTMENTS = 16
INFER_CHUNK = 256
#: stream-seed offsets keeping training, live rebuilds and inference draws apart
TRAIN_STREAMS, INFER_STREAMS, LOGLIK_STREAMS = 0, 1, 2


@contextmanager
def numba_threads(n: int):
    """Run the block with at most ``n`` Numba threads in this thread (restored afterwards).

    A parallel kernel otherwise wakes every thread of the pool at each of its per-step parallel
    regions, which on a busy machine costs far more than the work itself.
    """
    previous = numba.get_num_threads()
    numba.set_num_threads(max(1, min(n, numba.config.NUMBA_NUM_THREADS)))
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def spikes(x: np.ndarray) -> np.ndarray:
    """Event counts as 0/1 spikes (uint8, C-contiguous): the GLM's visible neurons are binary."""
    return np.ascontiguousarray(np.minimum(np.asarray(x), 1).astype(np.uint8, copy=False))


def class_targets(labels: np.ndarray, n_steps: int, n_classes: int) -> np.ndarray:
    """``(T, B, n_classes)`` uint8 targets: the true-class neuron spikes at every step."""
    labels = np.asarray(labels, dtype=np.int64)
    y = np.zeros((n_steps, len(labels), n_classes), dtype=np.uint8)
    y[:, np.arange(len(labels)), labels] = 1
    return y


def vote_shares(counts: np.ndarray) -> np.ndarray:
    """``(B, n_classes)`` share of compartments voting for each class from counts ``(B, K, C)``.

    A compartment votes for its output neuron(s) with the most spikes; a tie splits its vote.
    """
    top = counts == counts.max(axis=2, keepdims=True)
    return (top / top.sum(axis=2, keepdims=True)).mean(axis=1)


def reliability_table(proba: np.ndarray, labels: np.ndarray, n_bins: int = 10) -> np.ndarray:
    """``(3, n_bins)`` float32 rows: mean confidence, accuracy and count per confidence bin
    (:func:`snnlab.metrics.reliability`; empty bins hold 0 with count 0)."""
    if len(labels) == 0:
        return np.zeros((3, n_bins), dtype=np.float32)
    conf, acc, counts = metrics.reliability(proba, np.asarray(labels), n_bins)
    return np.nan_to_num(np.stack([conf, acc, counts])).astype(np.float32)


def log_mean_exp(values: np.ndarray, axis: int) -> np.ndarray:
    top = values.max(axis=axis, keepdims=True)
    return np.squeeze(top, axis) + np.log(np.mean(np.exp(values - top), axis=axis))


def decimate(values: np.ndarray, limit: int = MAX_SNAPSHOT_VALUES) -> np.ndarray:
    """An even subset of at most ``limit`` values of ``values`` (flattened), as float32."""
    flat = np.asarray(values, dtype=np.float32).ravel()
    return flat[:: -(-flat.size // limit)] if flat.size > limit else flat


class GEM(Learner):
    """GEM / IW / MB online learner of a GLM spiking network (see module docstring)."""

    key = "gem"
    task_kinds = ("classification", "spike-train")
    rebuild_params = ("n_hidden", "n_basis", "memory", "init_scale")
    snapshot_scalars = (
        "loss", "log_likelihood_bound", "effective_samples", "learning_rate", "n_samples"
    )
    snapshot_arrays = (
        "raster_input",
        "raster_hidden",
        "raster_output",
        "raster_hidden_compartments",
        "membrane_output",
        "omega",
        "loglik_steps",
        "loglik_bound",
        "weights_input_hidden",
        "weights_hidden_hidden",
        "weights_input_output",
        "weights_hidden_output",
    )
    state_names = ("theta_", "theta_average_", "n_averaged_", "streams_")

    batch_size = param.Integer(default=8, bounds=(1, 4096), doc="Training samples per step "
                               "(learned one after the other, online).")
    rule = param.Selector(
        default="gem",
        objects=["gem", "iw", "mb", "mb1"],
        doc="Learning rule: GEM, importance-weighted ELBO, averaged single-sample variational "
        "(MB) or the single-sample baseline (MB1, one compartment).",
    )
    n_samples = param.Integer(
        default=5, bounds=(1, 64), doc="Compartments K in training (sharing the weights)."
    )
    n_samples_test = param.Integer(
        default=10, bounds=(1, 256), doc="Compartments K_I at inference (votes, log-likelihood)."
    )
    n_hidden = param.Integer(default=16, bounds=(0, 4096), doc="Hidden neurons.")
    # lr, lr_decay, memory and averaging over the second half of a pass were chosen on the
    # last 160 of the 800 N-MNIST training recordings (trained on the other 640), never on test.
    lr = param.Number(
        default=0.01,
        bounds=(0.0, 10.0),
        doc="Learning rate eta (tasks with many output neurons, e.g. prediction, need less).",
    )
    lr_decay = param.Number(
        default=0.01,
        bounds=(0.0, 1.0),
        doc="Learning rate of the n-th training example: lr / (1 + lr_decay n).",
    )
    average_start = param.Integer(
        default=200,
        bounds=(-1, None),
        doc="Predict with the running average of the parameters over every training example "
        "from this one on (-1: predict with the current parameters).",
    )
    kappa = param.Number(
        default=0.05, bounds=(0.0, 0.99), doc="Decay of eligibility traces and log-weights."
    )
    scale_traces = param.Boolean(
        default=False,
        doc="Traces and log-weights take (1 - kappa) times the new term (False: as the GEM "
        "authors' code, a lower softmax temperature).",
    )
    n_basis = param.Integer(default=8, bounds=(1, 32), doc="Raised-cosine bases per synapse.")
    memory = param.Integer(
        default=30, bounds=(1, 500), doc="Steps the synaptic bases and feedback kernel reach back."
    )
    init_scale = param.Number(
        default=0.1, bounds=(0.0, 10.0), doc="Initial parameters drawn from U[-s, s]."
    )
    decision = param.Selector(
        default="sum",
        objects=["sum", "majority"],
        doc="Class decision: most output spikes summed over compartments, or majority vote.",
    )
    kl_weight = param.Number(
        default=1.0, bounds=(0.0, 100.0), doc="MB/MB1: weight of the hidden-rate KL term."
    )
    target_rate = param.Number(
        default=0.3, bounds=(0.001, 0.999), doc="MB/MB1: target hidden firing probability."
    )
    baseline_decay = param.Number(
        default=0.05, bounds=(0.0, 1.0), doc="IW/MB: decay of the running baselines."
    )
    n_threads = param.Integer(
        default=1, bounds=(1, 256), doc="Threads over the compartments (1: no thread pool)."
    )

    # -- building ---------------------------------------------------------------------------
    def _init_state(self, task: Task) -> None:
        net = init_glm_network(self._shape(task), self.seed, init_scale=self.init_scale)
        self._basis, self._feedback = net.basis, net.feedback_kernel
        self.theta_ = net.theta
        self.theta_average_ = net.theta.astype(np.float64)
        self.n_averaged_ = np.zeros((), dtype=np.int64)
        self.streams_ = self._new_streams(TRAIN_STREAMS)
        self._workspace = None

    def estimated_bytes(self, task: Task) -> int:
        """theta (float32) and its average (float64), plus per compartment a gradient and
        eligibility traces of theta's size (float64)."""
        n_pre, n_post = task.n_inputs + self.n_hidden, self.n_hidden + task.n_outputs
        n_theta = (n_pre * self.n_basis + 2) * n_post
        return n_theta * (4 + 8 + 2 * 8 * max(self.n_samples, self.n_samples_test))

    def _shape(self, task: Task) -> GLMNetworkShape:
        return GLMNetworkShape(
            task.n_inputs, self.n_hidden, task.n_outputs, self.n_basis, self.memory
        )

    @property
    def n_compartments(self) -> int:
        """Compartments used in training: ``n_samples``, or 1 for the single-sample ``mb1``."""
        return 1 if self.rule == "mb1" else self.n_samples

    def _new_streams(self, purpose: int, n: int | None = None) -> np.ndarray:
        n = self.n_compartments if n is None else n
        return make_streams(int(np.random.SeedSequence([self.seed, purpose, self.step_])
                                .generate_state(1)[0]), n)

    def _network(self, theta: np.ndarray) -> GLMNetwork:
        return GLMNetwork(self._shape(self.task_), theta, self._basis, self._feedback)

    def prediction_theta(self) -> np.ndarray:
        """The parameters predictions use: the running average once it has started."""
        if self.average_start >= 0 and int(self.n_averaged_) > 0:
            return self.theta_average_.astype(np.float32)
        return self.theta_

    # -- learning ---------------------------------------------------------------------------
    def _config(self, n_seen: int) -> GEMConfig:
        """The kernel's settings for the training example that follows ``n_seen`` others."""
        return GEMConfig(
            rule=self.rule,
            kappa=self.kappa,
            learning_rate=self.lr / (1.0 + self.lr_decay * n_seen),
            apply="step",
            scale_traces=self.scale_traces,
            baseline_decay=self.baseline_decay,
            kl_weight=self.kl_weight,
            target_rate=self.target_rate,
            n_threads=self.n_threads,
        )

    def _targets(self, batch: Batch) -> np.ndarray:
        if self.task_.kind == "classification":
            return class_targets(batch.y, batch.x.shape[0], self.task_.n_outputs)
        return spikes(batch.y)

    def _update(self, batch: Batch) -> tuple[dict, dict]:
        if self.streams_.shape[0] != self.n_compartments:
            # K (or the rule) changed: new compartments, same shared weights
            self.streams_ = self._new_streams(TRAIN_STREAMS)
        x, y = spikes(batch.x), self._targets(batch)
        net = self._network(self.theta_)
        workspace_key = (net.shape, self.n_compartments, self.rule)
        if self._workspace is None or self._workspace.key != workspace_key:
            self._workspace = GEMWorkspace(net.shape, self.n_compartments, self.rule)
        n_steps = x.shape[0]
        bounds, effective = [], []
        with numba_threads(self.n_threads):
            for b in range(x.shape[1]):
                config = self._config(self.n_seen_ + b)
                result = gem_train_example(
                    net, x[:, b], y[:, b], self.streams_, config,
                    record_potentials=b == 0, workspace=self._workspace,
                )
                self._accumulate_average(self.n_seen_ + b + 1)
                bound = log_mean_exp(np.cumsum(result.loglik, axis=0, dtype=np.float64), axis=1)
                bounds.append(bound[-1] / n_steps)
                effective.append(np.mean(1.0 / np.sum(result.omega.astype(np.float64) ** 2, 1)))
                if b == 0:
                    first, first_bound = result, bound
        scalars = {
            "loss": -float(np.mean(bounds)),
            "log_likelihood_bound": float(np.mean(bounds)),
            "effective_samples": float(np.mean(effective)),
            "learning_rate": config.learning_rate,
            "n_samples": self.n_compartments,
        }

        def arrays():  # built only when the screen wants them
            return {
                "raster_input": x[:, 0],
                "raster_hidden": first.hidden_spikes[:, 0],
                "raster_output": first.output_spikes[:, 0],
                "raster_hidden_compartments": first.hidden_spikes[:, :MAX_SNAPSHOT_COMPARTMENTS]
                .transpose(1, 0, 2),
                "membrane_output": first.output_potentials[:, 0, :16],
                "omega": first.omega,
                "loglik_steps": first.loglik,
                "loglik_bound": (first_bound / np.arange(1, n_steps + 1)).astype(np.float32),
                **{f"weights_{k}": decimate(w) for k, w in self.weights().items()},
            }
        return scalars, arrays

    def _accumulate_average(self, n_seen: int) -> None:
        """Fold the parameters after ``n_seen`` training examples into the running average
        (from example ``average_start`` on)."""
        if self.average_start < 0 or n_seen <= self.average_start:
            return
        self.n_averaged_ = np.asarray(int(self.n_averaged_) + 1, dtype=np.int64)
        self.theta_average_ += (self.theta_ - self.theta_average_) / float(self.n_averaged_)

    # -- predicting -------------------------------------------------------------------------
    def _check_inputs(self, X) -> np.ndarray:
        self._require_setup()
        X = np.asarray(X)
        if X.ndim != 3 or X.shape[2] != self.task_.n_inputs:
            raise ValueError(
                f"gem expects inputs (n_samples, T, {self.task_.n_inputs}), got {X.shape}"
            )
        return X

    def infer(self, X, targets=None, clamp_outputs: bool = False, n_samples: int | None = None):
        """Run ``n_samples`` (default ``n_samples_test``) compartments on sample-first ``X``.

        Returns output spike counts ``(n, K_I, n_out)`` and, with time-first ``targets``
        ``(T, n, n_out)``, the log-likelihood of the targets per compartment ``(n, K_I)``.
        The draws come from streams seeded by ``(seed, step)``, so a prediction does not touch
        the training streams and repeats exactly.
        """
        X = self._check_inputs(X)
        n_comp = self.n_samples_test if n_samples is None else n_samples
        net = self._network(self.prediction_theta())
        purpose = LOGLIK_STREAMS if clamp_outputs else INFER_STREAMS
        streams = self._new_streams(purpose, n_comp)
        counts, logliks = [], []
        with numba_threads(self.n_threads):
            for start in range(0, len(X), INFER_CHUNK):
                xb = spikes(np.swapaxes(X[start:start + INFER_CHUNK], 0, 1))
                tb = None if targets is None else targets[:, start:start + INFER_CHUNK]
                out = glm_infer(net, xb, streams, tb, clamp_outputs=clamp_outputs,
                                n_threads=self.n_threads)
                counts.append(out.counts)
                logliks.append(out.loglik)
        counts = np.concatenate(counts) if counts else np.zeros((0, n_comp, net.shape.n_out))
        loglik = None if targets is None else np.concatenate(logliks)
        return counts, loglik

    def proba_from_counts(self, counts: np.ndarray) -> np.ndarray:
        """Class probabilities ``(n, C)`` from counts ``(n, K, C)`` under ``decision``."""
        shares = vote_shares(counts)
        if self.decision == "sum":
            total = counts.sum(axis=1).astype(np.float64)
            best = total == total.max(axis=1, keepdims=True)
            # lift the summed-count winner(s) to the largest share so argmax follows the sum
            lifted = np.where(best, shares.max(axis=1, keepdims=True) + 1e-9, shares)
            return lifted / lifted.sum(axis=1, keepdims=True)
        return shares

    def predict_proba(self, X) -> np.ndarray:
        """``(n, n_classes)`` vote shares of ``n_samples_test`` compartments (see ``decision``)."""
        if self.task_ is not None and self.task_.kind != "classification":
            raise ValueError("predict_proba needs a classification task")
        counts, _ = self.infer(X)
        return self.proba_from_counts(counts)

    def _predict_values(self, X) -> np.ndarray:
        """Spike-train tasks: expected output spike counts ``(n, n_out)`` (mean over K_I)."""
        counts, _ = self.infer(X)
        return counts.mean(axis=1)

    def log_likelihood(self, X, Y) -> np.ndarray:
        """Per-step visible log-likelihood ``(1/T) log mean_k p(y | x, h^k)`` ``(n,)`` of targets
        ``Y`` (labels for classification, sample-first spike trains otherwise)."""
        X = self._check_inputs(X)
        n_steps = X.shape[1]
        if self.task_.kind == "classification":
            targets = class_targets(Y, n_steps, self.task_.n_outputs)
        else:
            targets = spikes(np.swapaxes(np.asarray(Y), 0, 1))
        _, loglik = self.infer(X, targets, clamp_outputs=True)
        return log_mean_exp(loglik, axis=1) / n_steps

    def evaluate(self, split: str = "test", max_samples: int | None = None) -> dict:
        """Accuracy (by ``decision``), per-step visible log-likelihood and ECE of the votes for
        classification; log-likelihood and spike-count correlation for spike-train tasks."""
        return self.evaluate_with_arrays(split, max_samples)[0]

    def evaluate_with_arrays(self, split: str = "test",
                             max_samples: int | None = None) -> tuple[dict, dict]:
        """``evaluate`` and, for a test split of a classification task, ``reliability``
        ``(3, n_bins)``: confidence, accuracy and count per bin of the vote shares."""
        self._require_setup()
        data = self.task_.split(split)
        n = len(data) if max_samples is None else min(max_samples, len(data))
        x, y = data.x[:n], data.y[:n]
        loglik = float(np.mean(self.log_likelihood(x, y)))
        counts, _ = self.infer(x)
        if self.task_.kind == "classification":
            accuracy = metrics.accuracy(self.proba_from_counts(counts).argmax(axis=1), y)
            if split != "test":
                return {f"{split}_accuracy": accuracy}, {}
            shares = vote_shares(counts)
            return {
                "test_accuracy": accuracy,
                "test_log_likelihood": loglik,
                "ece": metrics.expected_calibration_error(shares, y),
            }, {"reliability": reliability_table(shares, y)}
        predicted = counts.mean(axis=1).ravel()
        target = np.minimum(y, 1).sum(axis=1, dtype=np.float64).ravel()
        spread = predicted.std() * target.std()
        correlation = float(np.corrcoef(predicted, target)[0, 1]) if spread > 0 else 0.0
        return {f"{split}_log_likelihood": loglik, "correlation": correlation}, {}

    def weights(self) -> dict[str, np.ndarray]:
        """Synaptic weights ``(n_pre, n_post, n_basis)`` by pathway (copies)."""
        net = self._network(self.theta_)
        layers = {
            "input_hidden": net.w_in_hid,
            "hidden_hidden": net.w_hid_hid,
            "input_output": net.w_in_out,
            "hidden_output": net.w_hid_out,
        }
        return {name: np.array(w, copy=True) for name, w in layers.items()}
