"""``wp``: weight perturbation / randomized forward gradients for a spiking MLP (forward passes only).

Model (:class:`SpikingMLP`, kernel :mod:`snnlab.learners.wp.kernels`): real inputs ``x``
``(d,)`` enter as constant currents (``encoding="current"``) or as deterministic
integrate-and-fire spike trains (``"spikes"``), drive hidden layers of current-based LIF
neurons for ``T`` steps, and a non-spiking leaky-integrator readout whose time-mean potential is
the output ``y(x)`` ``(n_out,)``. All parameters form one float32 vector ``theta`` ``(P,)``.

Loss of parameters ``theta`` on a batch: mean squared error (regression), or the task
problem's residual + boundary loss from finite differences of ``y`` at stencil points
(PDE, :mod:`snnlab.data.pde`).

Gradient estimate from ``K`` random directions ``v_k`` (``distribution``: N(0, I) or Rademacher)
over all parameters (``scope="global"``) or over one layer per step, in turn
(``scope="layer"``), with ``L_0 = L(theta)`` and ``L_k^± = L(theta ± e v_k)``::

    forward:    g = 1/K sum_k (L_k^+ - L_0) / epsilon * v_k                    (K + 1 passes)
    central:    g = 1/K sum_k (L_k^+ - L_k^-) / (2 epsilon) * v_k              (2K + 1 passes)
    smoothing:  g = 1/K sum_k (L_k^+ - b_k) / sigma * v_k,  e = sigma          (K + 1 passes)

``smoothing`` is Stein's identity for the Gaussian-smoothed loss ``E[L(theta + sigma V)]``; our
choice of baseline ``b_k`` is the mean of the *other* perturbed losses (leave-one-out, unbiased,
and independent of ``L_0``, a single sample of a discontinuous function); with ``K = 1`` it
falls back to ``L_0``. Every estimator also runs ``L_0`` (its loss is the reported ``loss``).

Activity perturbation (``perturb="activity"``): instead of the weights, noise ``e xi_k`` (one
value per point and neuron, constant over time) is added to every neuron's input current; the
coefficients above then estimate ``dL/dI`` per point and neuron, mapped to weights with the
unperturbed time-mean presynaptic activity ``a``: ``dW_l = a_l^T G_l``, ``db_l = sum_m G_l``
(exact for a constant input, an approximation for spiking inputs; our choice).

Optimiser: SGD or Adam (per-parameter step counts, so layer-wise updates get correct bias
corrections), learning rate ``lr 0.5^(step / lr_half_life)`` (constant when the half-life is 0).

Diagnostics (scalars of every snapshot): ``estimator_variance`` = trace of the covariance of
the K-average, ``(1/K) sum_i Var_k[g_{k,i}]`` from the per-direction estimates (0 when K = 1);
``estimator_cosine`` = cosine between the estimate and a reference gradient, central
differences (step ``sigma_ref / 2``) of the Gaussian-smoothed loss ``L_sigma_ref`` estimated with
``reference_samples`` common draws, ``sigma_ref`` = ``epsilon`` (forward, central) or ``sigma``
(smoothing). The reference costs ``2 P reference_samples`` passes, so it is computed only every
``diagnostic_every`` steps and only when the perturbed parameters number at most
``reference_max_params``; between computations (and before the first, as 0) the snapshot
repeats the last value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np
import param

from snnlab import metrics
from snnlab._kernels.rng import DIAGNOSTIC_STREAMS, make_streams
from snnlab.data.task import Batch, Task
from snnlab.learners.base import Learner
from snnlab.learners.values import LayerWidths
from snnlab.learners.wp import kernels

MAX_DIRECTIONS = 256  # bound of n_directions: one RNG stream per direction
MAX_REFERENCE_SAMPLES = 1024
PLOT_POINTS = 200  # prediction/target points of every snapshot
PLOT_SLICES = 3  # times shown for a 2-D (x, t) task
TRACED_NEURONS = 8
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8


@dataclass
class ForwardResult:
    """out ``(U, M, n_out)``; activity ``(M, sum of layer input widths)`` of unit 0 or None;
    membrane ``(T, H)`` / raster ``(T, H)`` of unit 0 at the traced point, or None."""

    out: np.ndarray
    activity: np.ndarray | None = None
    membrane: np.ndarray | None = None
    raster: np.ndarray | None = None


@dataclass(frozen=True)
class SpikingMLP:
    """Layout and neuron constants of the spiking MLP (see the module docstring).

    sizes: widths ``(encoder, hidden..., n_out)``; encoder = ``d`` (currents) or ``2 d``
    (spikes). beta: hidden membrane decay; threshold; reset ``"subtract"``/``"zero"``;
    beta_out: readout decay; n_steps: ``T``.
    """

    sizes: tuple
    encoding: str = "current"
    beta: float = 0.95
    threshold: float = 1.0
    reset: str = "subtract"
    beta_out: float = 0.9
    n_steps: int = 16

    @property
    def n_layers(self) -> int:
        return len(self.sizes) - 1

    @property
    def offsets(self) -> np.ndarray:
        """``(L + 1,)`` int64 start of each layer's parameters in ``theta`` (last: ``P``)."""
        sizes = self.sizes
        counts = [(sizes[l] + 1) * sizes[l + 1] for l in range(self.n_layers)]
        return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    @property
    def n_params(self) -> int:
        return int(self.offsets[-1])

    @property
    def n_hidden(self) -> int:
        return int(sum(self.sizes[1:-1]))

    @property
    def layer_names(self) -> list[str]:
        return [f"hidden{l + 1}" for l in range(self.n_layers - 1)] + ["output"]

    def weight(self, theta: np.ndarray, layer: int) -> np.ndarray:
        """``W_l`` ``(n_l, n_{l+1})`` view of ``theta``."""
        lo, n_in, n_out = int(self.offsets[layer]), self.sizes[layer], self.sizes[layer + 1]
        return theta[lo: lo + n_in * n_out].reshape(n_in, n_out)

    def bias(self, theta: np.ndarray, layer: int) -> np.ndarray:
        lo, n_in, n_out = int(self.offsets[layer]), self.sizes[layer], self.sizes[layer + 1]
        return theta[lo + n_in * n_out: lo + (n_in + 1) * n_out]

    def init_params(self, rng: np.random.Generator, domain_low, domain_high) -> np.ndarray:
        """Initial ``theta`` (float32).

        First layer: weights N(0, 1 / n_in) x 2 with biases putting each neuron's firing onset
        (``W x + b = (1 - beta) threshold``) through a random point of the input domain, so the
        neurons switch on at points spread over it. Later hidden layers: N(0, 2 / n_in) with
        biases at the leak threshold; readout N(0, 1 / n_in), zero bias.
        """
        theta = np.zeros(self.n_params, dtype=np.float32)
        onset = (1.0 - self.beta) * self.threshold
        for l in range(self.n_layers):
            n_in, n_out = self.sizes[l], self.sizes[l + 1]
            W, b = self.weight(theta, l), self.bias(theta, l)
            if l == self.n_layers - 1:
                W[:] = rng.normal(0.0, 1.0 / math.sqrt(n_in), (n_in, n_out))
            elif l == 0:
                W[:] = rng.normal(0.0, 2.0 / math.sqrt(n_in), (n_in, n_out))
                if self.encoding == "current":
                    centre = rng.uniform(domain_low, domain_high, (n_out, len(domain_low)))
                else:  # the encoder's channels fire at rates in [0, 1]: onsets near rate 1/2
                    centre = rng.uniform(0.0, 1.0, (n_out, n_in))
                b[:] = onset - np.einsum("jd,dj->j", centre, W)
            else:
                W[:] = rng.normal(0.0, math.sqrt(2.0 / n_in), (n_in, n_out))
                b[:] = onset
        return theta

    def forward(
        self,
        points: np.ndarray,
        theta: np.ndarray,
        deltas: np.ndarray | None = None,
        noise: np.ndarray | None = None,
        noise_scale: float = 0.0,
        *,
        record_activity: bool = False,
        trace_point: int = -1,
        n_threads: int = 1,
        module=kernels,
    ) -> ForwardResult:
        """Evaluate ``theta + deltas[u]`` for every unit ``u`` at ``points`` ``(M, d)``.

        deltas: ``(U, P)`` float32 (None: one unperturbed unit). noise: ``(U, M, N_act)``
        float32 activity noise scaled by ``noise_scale`` (None: none). record_activity: return
        unit 0's time-mean layer inputs. trace_point: return unit 0's hidden membrane and
        spikes at that point (-1: none). module: the kernel module or its NumPy twin.
        """
        points = np.ascontiguousarray(points, dtype=np.float32)
        if points.ndim != 2:
            raise ValueError(f"points must be (n_points, n_inputs), got shape {points.shape}")
        if deltas is None:
            deltas = np.zeros((1, self.n_params), dtype=np.float32)
        n_units, n_points = len(deltas), len(points)
        n_act = int(sum(self.sizes[1:]))
        if noise is None:
            noise = np.zeros((0, 0, 0), dtype=np.float32)
        elif noise.shape != (n_units, n_points, n_act):
            raise ValueError(f"noise must have shape {(n_units, n_points, n_act)}, got {noise.shape}")
        out = np.empty((n_units, n_points, self.sizes[-1]), dtype=np.float32)
        activity = np.zeros(
            (n_points, int(sum(self.sizes[:-1]))) if record_activity else (0, 0), np.float32
        )
        traced = trace_point >= 0 and self.n_hidden > 0
        membrane = np.zeros((self.n_steps, self.n_hidden) if traced else (0, 0), np.float32)
        raster = np.zeros(membrane.shape, np.uint8)
        n_threads = max(1, min(int(n_threads), numba.config.NUMBA_NUM_THREADS))
        n_chunks = 1 if n_threads == 1 else max(1, min(n_points, -(-2 * n_threads // n_units)))
        args = (
            points, np.ascontiguousarray(theta, np.float32), np.ascontiguousarray(deltas),
            np.ascontiguousarray(noise), np.float32(noise_scale),
            np.asarray(self.sizes, np.int64), self.offsets[:-1].copy(),
            self.encoding == "spikes", np.float32(self.beta), np.float32(self.threshold),
            self.reset == "zero", np.float32(self.beta_out), int(self.n_steps), out, activity,
            membrane, raster, int(max(trace_point, 0)), int(n_chunks),
        )
        previous = numba.get_num_threads()
        numba.set_num_threads(n_threads)
        try:
            with numba.parallel_chunksize(1):  # items handed out one at a time (see kernel)
                module.spiking_mlp_forward(*args, n_threads)
        finally:
            numba.set_num_threads(previous)
        return ForwardResult(
            out,
            activity if record_activity else None,
            membrane if traced else None,
            raster if traced else None,
        )


def draw(streams: np.ndarray, n_dirs: int, n: int, rademacher: bool) -> np.ndarray:
    """``(n_dirs, n)`` float32 directions from the first ``n_dirs`` streams (advanced in place)."""
    out = np.empty((n_dirs, n), dtype=np.float32)
    if n_dirs and n:
        kernels.draw_directions(streams[:n_dirs], out, rademacher)
    return out


def direction_coefficients(losses: np.ndarray, estimator: str, K: int, scale: float) -> np.ndarray:
    """``c_k`` ``(K,)`` with ``g = 1/K sum_k c_k v_k`` from the losses of the units run.

    losses: ``(K + 1,)`` ``[L_0, L_1^+, ..., L_K^+]`` or, for ``central``, ``(2K + 1,)`` with
    ``L_k^-`` after them. scale: epsilon or sigma.
    """
    base, plus = losses[0], losses[1: K + 1]
    if estimator == "forward":
        return (plus - base) / scale
    if estimator == "central":
        return (plus - losses[K + 1: 2 * K + 1]) / (2.0 * scale)
    if K == 1:
        return (plus - base) / scale
    leave_one_out = (plus.sum() - plus) / (K - 1)
    return (plus - leave_one_out) / scale


class WP(Learner):
    """Weight perturbation / randomized forward gradients (see the module docstring)."""

    key = "wp"
    task_kinds = ("regression", "pde")
    rebuild_params = ("hidden", "encoding")
    snapshot_scalars = (
        "loss", "rel_l2", "estimator_cosine", "estimator_variance", "forward_passes", "threshold",
    )
    state_names = (
        "theta_", "adam_m_", "adam_v_", "adam_count_", "streams_", "reference_streams_",
        "cosine_", "passes_",
    )

    # Defaults chosen on training data (held-out points of regression-sine's training split
    # and the Poisson residual loss); see docs/results/wp-estimators.
    hidden = LayerWidths(default=(64,), doc="Widths of the hidden LIF layers, e.g. (64,); ().")
    n_steps = param.Integer(default=16, bounds=(1, 256), doc="Time steps T per evaluation.")
    encoding = param.Selector(
        default="current", objects=["current", "spikes"],
        doc="Inputs as constant currents, or as deterministic spike trains (rates x and 1 - x).",
    )
    beta = param.Number(default=0.95, bounds=(0.0, 1.0), doc="Hidden membrane decay per step.")
    threshold = param.Number(default=1.0, bounds=(0.01, 100.0), doc="Hidden firing threshold.")
    reset_mode = param.Selector(default="subtract", objects=["subtract", "zero"],
                           doc="After a spike: subtract the threshold, or set u to 0.")
    readout_beta = param.Number(default=0.9, bounds=(0.0, 0.999),
                                doc="Decay of the leaky-integrator readout.")
    estimator = param.Selector(
        default="central", objects=["forward", "central", "smoothing"],
        doc="Gradient estimator: forward or central differences, or Gaussian smoothing (Stein).",
    )
    n_directions = param.Integer(default=16, bounds=(1, MAX_DIRECTIONS),
                                 doc="Random directions K per estimate.")
    epsilon = param.Number(default=0.02, bounds=(1e-6, 10.0),
                           doc="Perturbation size of the forward and central estimators.")
    sigma = param.Number(default=0.02, bounds=(1e-6, 10.0),
                         doc="Smoothing scale of the smoothing estimator.")
    scope = param.Selector(default="global", objects=["global", "layer"],
                           doc="Perturb all parameters at once, or one layer per step in turn.")
    distribution = param.Selector(default="gaussian", objects=["gaussian", "rademacher"],
                                  doc="Distribution of the direction entries.")
    perturb = param.Selector(
        default="weights", objects=["weights", "activity"],
        doc="Perturb the parameters, or the neurons' input currents (activity perturbation).",
    )
    optimizer = param.Selector(default="adam", objects=["adam", "sgd"], doc="Update rule.")
    lr = param.Number(default=0.005, bounds=(0.0, 10.0), doc="Learning rate.")
    lr_half_life = param.Integer(
        default=0, bounds=(0, 10_000_000),
        doc="Steps over which the learning rate halves (lr 0.5^(step / half-life)); 0: constant.",
    )
    diagnostic_every = param.Integer(
        default=25, bounds=(0, 100_000),
        doc="Steps between reference-gradient cosines (0: never; small networks only).",
    )
    reference_samples = param.Integer(default=16, bounds=(2, MAX_REFERENCE_SAMPLES),
                                      doc="Smoothing draws of the reference gradient.")
    reference_max_params = param.Integer(
        default=256, bounds=(1, 100_000),
        doc="Largest number of perturbed parameters for which the reference is computed.",
    )
    # One thread by default: on a shared 2-core machine a parallel region per step stalls
    # whenever another process holds a core; raise it on a quiet machine (see
    # snnlab/learners/wp/benchmark.py).
    snapshot_every = param.Integer(
        default=1, bounds=(1, 100_000),
        doc="Steps between recomputed snapshot arrays (plotting points, traces); in between a "
            "snapshot repeats the last ones.",
    )
    n_threads = param.Integer(default=1, bounds=(1, 256),
                              doc="Threads over the perturbed forward passes (directions).")

    # -- building ---------------------------------------------------------------------------
    def estimated_bytes(self, task: Task) -> int:
        """Parameters with Adam's two moments (float64) and one perturbed copy per direction
        and sign (float32)."""
        encoder = task.n_inputs * (2 if self.encoding == "spikes" else 1)
        sizes = (encoder, *self.hidden, task.n_outputs)
        n_params = sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))
        return n_params * (3 * 8 + 4 * (2 * self.n_directions + 1))

    def _init_state(self, task: Task) -> None:
        x = task.train.x
        rng = np.random.default_rng(self.seed)
        self.theta_ = self.net_.init_params(rng, x.min(axis=0), x.max(axis=0))
        n = self.net_.n_params
        self.adam_m_ = np.zeros(n)
        self.adam_v_ = np.zeros(n)
        self.adam_count_ = np.zeros(n, dtype=np.int64)
        self.streams_ = make_streams(self.seed, MAX_DIRECTIONS)
        self.reference_streams_ = make_streams(self.seed, MAX_REFERENCE_SAMPLES,
                                              DIAGNOSTIC_STREAMS)
        self.cosine_ = np.array(0.0)
        self.passes_ = np.array(0, dtype=np.int64)
        self._last_plot = None
        self._plot_setup(task)
        layers = [f"weights_{name}" for name in self.net_.layer_names]
        traces = ("membrane_hidden", "raster_hidden") if self.net_.n_hidden else ()
        self.snapshot_arrays = ("prediction", "target", "plot_x", "plot_t", *traces, *layers)

    @property
    def net_(self) -> SpikingMLP:
        """The network of the current hyperparameters (neuron constants apply at once)."""
        self._require_setup()
        task = self.task_
        encoder = task.n_inputs * (2 if self.encoding == "spikes" else 1)
        return SpikingMLP(
            sizes=(encoder, *self.hidden, task.n_outputs), encoding=self.encoding, beta=self.beta,
            threshold=self.threshold, reset=self.reset_mode, beta_out=self.readout_beta,
            n_steps=self.n_steps,
        )

    def _plot_setup(self, task: Task) -> None:
        """Plotting points: ≤ 200 test points, sorted by x (1-D) or x at 3 times (2-D)."""
        x, y = task.test.x, task.test.y[:, 0]
        if task.n_inputs == 1:
            order = np.argsort(x[:, 0], kind="stable")
            keep = order[np.unique(np.linspace(0, len(x) - 1, min(PLOT_POINTS, len(x))).round()
                                   .astype(int))]
        else:
            times = np.unique(x[:, 1])
            chosen = times[np.unique(np.linspace(0, len(times) - 1, PLOT_SLICES).round().astype(int))]
            keep = []
            for t in chosen:
                rows = np.flatnonzero(x[:, 1] == t)
                rows = rows[np.argsort(x[rows, 0], kind="stable")]
                per = PLOT_POINTS // len(chosen)
                keep.extend(rows[np.unique(np.linspace(0, len(rows) - 1, min(per, len(rows)))
                                           .round().astype(int))])
            keep = np.asarray(keep)
        self.plot_points_ = x[keep]
        self.plot_target_ = y[keep].astype(np.float32)

    # -- the loss of many parameter sets ----------------------------------------------------
    def _batch_points(self, batch: Batch):
        """Points to evaluate and the function mapping outputs ``(U, M, n_out)`` to losses."""
        x = np.asarray(batch.x, dtype=np.float32)
        if self.task_.kind == "pde":
            problem = self.task_.problem
            stencil = problem.stencil(x)
            n_s = len(stencil)

            def losses(out):
                u = out[:, :, 0]
                return problem.loss(
                    u[:, :n_s].reshape(len(u), len(x), problem.n_stencil), u[:, n_s:], x
                )

            return np.concatenate([stencil, problem.boundary_points]), losses
        y = np.asarray(batch.y, dtype=np.float64)
        return x, lambda out: np.mean((out - y[None]) ** 2, axis=(1, 2))

    def _scope_slice(self) -> tuple[int, int, int]:
        """``(lo, hi, layer)`` of the perturbed parameters (layer -1: all)."""
        if self.scope == "global":
            return 0, self.net_.n_params, -1
        layer = self.step_ % self.net_.n_layers
        return int(self.net_.offsets[layer]), int(self.net_.offsets[layer + 1]), layer

    def _units(self, V: np.ndarray, scale: float) -> np.ndarray:
        """Rows ``[0, scale V]`` (``[0, scale V, -scale V]`` for central)."""
        rows = [np.zeros((1, V.shape[1]), np.float32), scale * V]
        if self.estimator == "central":
            rows.append(-scale * V)
        return np.concatenate(rows).astype(np.float32)

    def _scale(self) -> float:
        return self.sigma if self.estimator == "smoothing" else self.epsilon

    def _estimate(self, points, losses_of):
        """Per-direction estimates ``(K, P)``, the losses of the units and the passes run."""
        K, P = self.n_directions, self.net_.n_params
        lo, hi, layer = self._scope_slice()
        scale = self._scale()
        rademacher = self.distribution == "rademacher"
        threads = self.n_threads
        if self.perturb == "weights":
            V = np.zeros((K, P), np.float32)
            V[:, lo:hi] = draw(self.streams_, K, hi - lo, rademacher)
            units = self._units(V, scale)
            result = self.net_.forward(points, self.theta_, units, n_threads=threads)
            losses = losses_of(result.out)
            coeff = direction_coefficients(losses, self.estimator, K, scale)
            return coeff[:, None] * V, losses, len(units)
        sizes, n_points = self.net_.sizes, len(points)
        n_act = int(sum(sizes[1:]))
        xi = draw(self.streams_, K, n_points * n_act, rademacher).reshape(K, n_points, n_act)
        cols = np.concatenate([[0], np.cumsum(sizes[1:])])
        if layer >= 0:
            keep = np.zeros(n_act, bool)
            keep[cols[layer]: cols[layer + 1]] = True
            xi[:, :, ~keep] = 0.0
        noise = self._units(xi.reshape(K, -1), 1.0).reshape(-1, n_points, n_act)
        deltas = np.zeros((len(noise), P), np.float32)
        result = self.net_.forward(points, self.theta_, deltas, noise, scale,
                                   record_activity=True, n_threads=threads)
        losses = losses_of(result.out)
        coeff = direction_coefficients(losses, self.estimator, K, scale)
        G = np.zeros((K, P))
        act_cols = np.concatenate([[0], np.cumsum(sizes[:-1])])
        for l in range(self.net_.n_layers):
            g_current = coeff[:, None, None] * xi[:, :, cols[l]: cols[l + 1]]  # (K, M, n_l)
            a = result.activity[:, act_cols[l]: act_cols[l + 1]].astype(np.float64)
            o = int(self.net_.offsets[l])
            n_w = sizes[l] * sizes[l + 1]
            G[:, o: o + n_w] = np.einsum("mi,kmj->kij", a, g_current).reshape(K, -1)
            G[:, o + n_w: o + n_w + sizes[l + 1]] = g_current.sum(axis=1)
        return G, losses, len(noise)

    def direction_estimates(self, batch: Batch) -> np.ndarray:
        """Per-direction estimates ``(K, P)`` on ``batch`` (their mean is the estimate).

        Advances the direction streams; the parameters are not changed.
        """
        self._require_setup()
        return self._estimate(*self._batch_points(batch))[0]

    def reference_gradient(self, batch: Batch) -> np.ndarray:
        """The reference gradient ``(n,)`` on ``batch`` over the perturbed parameters ``lo:hi``
        of the current scope (see :meth:`_reference`)."""
        self._require_setup()
        lo, hi, _ = self._scope_slice()
        return self._reference(*self._batch_points(batch), lo, hi)

    def _reference(self, points, losses_of, lo: int, hi: int) -> np.ndarray:
        """Central differences of the Gaussian-smoothed loss over parameters ``lo:hi``.

        ``dL_s/dtheta_i ≈ mean_n [L(theta + h e_i + s V_n) - L(theta - h e_i + s V_n)] / 2h``
        with ``s`` the estimator's smoothing scale, ``h = s / 2`` and ``reference_samples``
        common draws ``V_n`` (from their own streams: the diagnostic never changes training).
        """
        s, N, P = self._scale(), self.reference_samples, self.net_.n_params
        h = s / 2.0
        V = s * draw(self.reference_streams_, N, P, self.distribution == "rademacher")
        n = hi - lo
        deltas = np.repeat(V[None, None], n, axis=0).repeat(2, axis=1)  # (n, 2, N, P)
        idx = np.arange(n)
        deltas[idx, 0, :, lo + idx] += h
        deltas[idx, 1, :, lo + idx] -= h
        out = self.net_.forward(points, self.theta_, deltas.reshape(-1, P),
                                n_threads=self.n_threads).out
        L = losses_of(out).reshape(n, 2, N)
        return (L[:, 0] - L[:, 1]).mean(axis=1) / (2.0 * h)

    # -- learning ---------------------------------------------------------------------------
    def _update(self, batch: Batch) -> tuple[dict, dict]:
        points, losses_of = self._batch_points(batch)
        lo, hi, _ = self._scope_slice()
        diagnose = (
            self.diagnostic_every > 0
            and self.step_ % self.diagnostic_every == 0
            and hi - lo <= self.reference_max_params
        )
        reference = self._reference(points, losses_of, lo, hi) if diagnose else None
        G, losses, passes = self._estimate(points, losses_of)
        g = G.mean(axis=0)
        K = len(G)
        variance = float(G[:, lo:hi].var(axis=0, ddof=1).sum() / K) if K > 1 else 0.0
        if reference is not None:
            norms = np.linalg.norm(g[lo:hi]) * np.linalg.norm(reference)
            self.cosine_ = np.array(float(g[lo:hi] @ reference / norms) if norms > 0 else 0.0)
        self._apply(g, lo, hi)
        self.passes_ = np.array(int(self.passes_) + passes, dtype=np.int64)
        scalars = {
            "loss": float(losses[0]),
            "estimator_cosine": float(self.cosine_),
            "estimator_variance": variance,
            "forward_passes": float(self.passes_),
            "threshold": self.threshold,
        }
        if self._last_plot is None or self.step_ % self.snapshot_every == 0:
            self._last_plot = self._plot_arrays()
        arrays, scalars["rel_l2"] = self._last_plot
        return scalars, arrays

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self._last_plot = None  # the cached snapshot arrays belong to the old parameters

    def _apply(self, g: np.ndarray, lo: int, hi: int) -> None:
        theta = self.theta_[lo:hi].astype(np.float64)
        g = g[lo:hi]
        lr = self.lr * (0.5 ** (self.step_ / self.lr_half_life) if self.lr_half_life else 1.0)
        if self.optimizer == "sgd":
            theta -= lr * g
        else:
            b1, b2 = ADAM_BETAS
            self.adam_count_[lo:hi] += 1
            t = self.adam_count_[lo:hi]
            self.adam_m_[lo:hi] = b1 * self.adam_m_[lo:hi] + (1 - b1) * g
            self.adam_v_[lo:hi] = b2 * self.adam_v_[lo:hi] + (1 - b2) * g * g
            m_hat = self.adam_m_[lo:hi] / (1 - b1**t)
            v_hat = self.adam_v_[lo:hi] / (1 - b2**t)
            theta -= lr * m_hat / (np.sqrt(v_hat) + ADAM_EPS)
        self.theta_[lo:hi] = theta.astype(np.float32)

    def _plot_arrays(self) -> tuple[dict, float]:
        """Snapshot arrays on the plotting points, and the relative L2 error there."""
        net = self.net_
        trace_point = len(self.plot_points_) // 2
        result = net.forward(self.plot_points_, self.theta_, trace_point=trace_point,
                             n_threads=self.n_threads)
        prediction = result.out[0, :, 0]
        arrays = {
            "prediction": prediction,
            "target": self.plot_target_,
            "plot_x": self.plot_points_[:, 0],
            "plot_t": (self.plot_points_[:, 1] if self.plot_points_.shape[1] > 1
                       else np.zeros(len(prediction), np.float32)),
        }
        if result.membrane is not None:
            first = net.sizes[1]
            shown = np.unique(np.linspace(0, first - 1, min(TRACED_NEURONS, first)).round()
                              .astype(int))
            arrays["membrane_hidden"] = result.membrane[:, shown]
            arrays["raster_hidden"] = result.raster
        for l, name in enumerate(net.layer_names):
            arrays[f"weights_{name}"] = net.weight(self.theta_, l).copy()
        return arrays, metrics.relative_l2(prediction, self.plot_target_)

    # -- predicting -------------------------------------------------------------------------
    def _predict_values(self, X) -> np.ndarray:
        """``(n, n_outputs)`` outputs at sample-first inputs ``X`` ``(n, n_inputs)``."""
        self._require_setup()
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != self.task_.n_inputs:
            raise ValueError(
                f"wp expects inputs (n_samples, {self.task_.n_inputs}), got shape {X.shape}"
            )
        return self.net_.forward(X, self.theta_, n_threads=self.n_threads).out[0]

    def evaluate(self, split: str = "test", max_samples: int | None = None) -> dict:
        """RMSE and relative L2 on ``split`` (PDE test split: the exact solution on a fine grid).

        A cap ``max_samples`` takes evenly spaced samples (not the first ones), so a capped
        evaluation still covers the whole domain.
        """
        self._require_setup()
        data = self.task_.split(split)
        index = np.arange(len(data))
        if max_samples is not None and max_samples < len(data):
            index = np.unique(np.linspace(0, len(data) - 1, max_samples).round().astype(int))
        values = self._predict_values(data.x[index])
        y = data.y[index]
        return {"rmse": metrics.rmse(values, y), "rel_l2": metrics.relative_l2(values, y)}

    def weights(self) -> dict[str, np.ndarray]:
        return {name: self.net_.weight(self.theta_, l).copy()
                for l, name in enumerate(self.net_.layer_names)}
