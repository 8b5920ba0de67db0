"""GLM / spike-response Bernoulli network (the GEM neuron): parameters, initialisation, drivers.

Neuron i at step t (discrete time)::

    u_{i,t} = gamma_i + w_fb_i (b * s_i)_{t-1} + sum_{j in pre(i)} sum_a w_{j i a} (A_a * s_j)_{t-1}
    p(s_{i,t} = 1) = sigma(u_{i,t})

``A`` is a bank of ``n_basis`` raised cosines over ``memory`` steps
(:func:`snnlab.neurons.bases.raised_cosine_basis`, log-stretched as in Pillow et al. 2008) and
``b`` one feedback (refractory) kernel (:func:`snnlab.neurons.bases.exponential_kernel` by
default). Inputs X (``n_in``) are clamped to data; hidden neurons H (``n_hid``) are sampled and
receive from inputs and hidden neurons; outputs Y (``n_out``) receive from inputs and hidden
neurons, and are clamped to targets in training and free at inference. A hidden neuron acts on
itself through its feedback kernel only (the hidden->hidden diagonal stays zero).

K compartments share all parameters; each samples its own hidden spikes (and, when free, its
own outputs) from its own RNG stream (:func:`snnlab._kernels.rng.make_streams`).

Learning rules (``GEMConfig.rule``; math in :mod:`snnlab.learners.gem.kernels` and
snnlab/docs/algorithms.md section 2): ``"gem"`` (generalized EM, the default), ``"iw"``
(importance-weighted ELBO with a running baseline), ``"mb"`` (K single-sample variational updates
averaged, KL toward a target hidden rate) and ``"mb1"`` (the same with K = 1).

Shapes: one training example is ``x`` uint8 ``(T, n_in)`` and ``y`` uint8 ``(T, n_out)``;
inference takes batches ``(T, B, n_in)``. Parameters are stored in one float32 matrix
``GLMNetwork.theta`` ``(R, n_post)`` (layout in :mod:`snnlab.learners.gem.kernels`); the named
properties (``w_in_hid`` ``(n_in, n_hid, n_basis)`` etc.) are writeable views into it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from snnlab._kernels.subnormals import callers_mode_kept
from snnlab.learners.gem import kernels
from snnlab.neurons.bases import exponential_kernel, raised_cosine_basis

RULES = {"gem": kernels.GEM, "iw": kernels.IW, "mb": kernels.MB, "mb1": kernels.MB1}
APPLY_MODES = ("step", "example")


def _check_int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


@dataclass(frozen=True)
class GLMNetworkShape:
    """Sizes of a GLM network: neuron counts per role, synaptic bases and their memory (steps)."""

    n_in: int = field(metadata={"doc": "input (visible, clamped) neurons, >= 1"})
    n_hid: int = field(metadata={"doc": "hidden (sampled) neurons, >= 0"})
    n_out: int = field(metadata={"doc": "output (visible) neurons, >= 1"})
    n_basis: int = field(default=8, metadata={"doc": "synaptic basis functions per synapse"})
    memory: int = field(default=10, metadata={"doc": "steps the bases and feedback reach back"})

    def __post_init__(self):
        _check_int("n_in", self.n_in, 1)
        _check_int("n_hid", self.n_hid, 0)
        _check_int("n_out", self.n_out, 1)
        _check_int("n_basis", self.n_basis, 1)
        _check_int("memory", self.memory, 1)

    @property
    def n_pre(self) -> int:
        """Presynaptic neurons of every learnable neuron: inputs then hidden."""
        return self.n_in + self.n_hid

    @property
    def n_post(self) -> int:
        """Learnable neurons: hidden then outputs."""
        return self.n_hid + self.n_out

    @property
    def n_rows(self) -> int:
        """Rows of ``theta``: one per (presynaptic neuron, basis), then feedback, then bias."""
        return self.n_pre * self.n_basis + 2


@dataclass
class GLMNetwork:
    """Parameters of a GLM network: ``theta`` float32 ``(n_rows, n_post)``, basis, feedback.

    ``basis`` float32 ``(n_basis, memory)``; ``feedback_kernel`` float32 ``(memory,)``.
    """

    shape: GLMNetworkShape
    theta: np.ndarray
    basis: np.ndarray
    feedback_kernel: np.ndarray

    def __post_init__(self):
        s = self.shape
        for name, array, want in (
            ("theta", self.theta, (s.n_rows, s.n_post)),
            ("basis", self.basis, (s.n_basis, s.memory)),
            ("feedback_kernel", self.feedback_kernel, (s.memory,)),
        ):
            if not isinstance(array, np.ndarray) or array.dtype != np.float32:
                raise ValueError(f"{name} must be a float32 numpy array, got {type(array)!r}")
            if array.shape != want:
                raise ValueError(f"{name} must have shape {want} for {s}, got {array.shape}")
            if not array.flags.c_contiguous:
                raise ValueError(f"{name} must be C-contiguous")

    @property
    def weights(self) -> np.ndarray:
        """All synaptic weights as a view ``(n_pre, n_post, n_basis)``: [pre, post, basis]."""
        s = self.shape
        return self.theta[:-2].reshape(s.n_pre, s.n_basis, s.n_post).transpose(0, 2, 1)

    @property
    def w_in_hid(self) -> np.ndarray:
        """Input -> hidden weights, view ``(n_in, n_hid, n_basis)``."""
        return self.weights[: self.shape.n_in, : self.shape.n_hid]

    @property
    def w_hid_hid(self) -> np.ndarray:
        """Hidden -> hidden weights, view ``(n_hid, n_hid, n_basis)`` (diagonal held at zero)."""
        return self.weights[self.shape.n_in :, : self.shape.n_hid]

    @property
    def w_in_out(self) -> np.ndarray:
        """Input -> output weights, view ``(n_in, n_out, n_basis)``."""
        return self.weights[: self.shape.n_in, self.shape.n_hid :]

    @property
    def w_hid_out(self) -> np.ndarray:
        """Hidden -> output weights, view ``(n_hid, n_out, n_basis)``."""
        return self.weights[self.shape.n_in :, self.shape.n_hid :]

    @property
    def bias(self) -> np.ndarray:
        """Bias gamma per learnable neuron, view ``(n_post,)`` (hidden then outputs)."""
        return self.theta[-1]

    def copy(self) -> GLMNetwork:
        """An independent copy (parameters and kernels)."""
        return GLMNetwork(
            self.shape, self.theta.copy(), self.basis.copy(), self.feedback_kernel.copy()
        )


def init_glm_network(
    shape: GLMNetworkShape,
    seed: int = 0,
    init_scale: float = 0.1,
    stretch: str = "log",
    log_offset: float = 1.0,
    feedback_tau: float = 2.0,
) -> GLMNetwork:
    """A network with every weight, feedback weight and bias drawn from U[-init_scale, init_scale].

    Same ``seed``, same parameters. The basis is :func:`raised_cosine_basis` with ``stretch``
    and ``log_offset``; the feedback kernel :func:`exponential_kernel` with ``feedback_tau``.
    """
    if not isinstance(shape, GLMNetworkShape):
        raise ValueError(f"shape must be a GLMNetworkShape, got {type(shape).__name__}")
    if not (np.isfinite(init_scale) and init_scale >= 0):
        raise ValueError(f"init_scale must be a finite number >= 0, got {init_scale!r}")
    rng = np.random.default_rng(int(seed))
    theta = rng.uniform(-init_scale, init_scale, size=(shape.n_rows, shape.n_post))
    net = GLMNetwork(
        shape,
        np.ascontiguousarray(theta, dtype=np.float32),
        raised_cosine_basis(shape.n_basis, shape.memory, stretch, log_offset),
        exponential_kernel(shape.memory, feedback_tau),
    )
    diagonal = np.arange(shape.n_hid)
    net.w_hid_hid[diagonal, diagonal, :] = 0.0
    return net


@dataclass(frozen=True)
class GEMConfig:
    """Hyperparameters of one online training step (one example)."""

    rule: str = field(default="gem", metadata={"doc": "'gem', 'iw', 'mb' or 'mb1' (K = 1)"})
    kappa: float = field(
        default=0.05, metadata={"doc": "decay of traces and smoothed log-weights, in [0, 1)"}
    )
    learning_rate: float = field(default=0.05, metadata={"doc": "eta, >= 0"})
    apply: str = field(
        default="step",
        metadata={
            "doc": "'step': theta += eta Delta_t every step (the paper); 'example': once, "
            "with the sum, after the example"
        },
    )
    scale_traces: bool = field(
        default=False,
        metadata={
            "doc": "traces and smoothed log-weights take (1 - kappa) times the new term; "
            "False as in the GEM authors' code (a lower softmax temperature)"
        },
    )
    baseline_decay: float = field(
        default=0.05, metadata={"doc": "beta of the IW/MB running baselines, in [0, 1]"}
    )
    kl_weight: float = field(
        default=1.0, metadata={"doc": "weight of the hidden-rate KL in the MB signal, >= 0"}
    )
    target_rate: float = field(
        default=0.3, metadata={"doc": "target hidden firing probability of the MB KL, in (0, 1)"}
    )
    n_threads: int = field(default=1, metadata={"doc": "threads for the compartments, >= 1"})

    def __post_init__(self):
        if self.rule not in RULES:
            raise ValueError(f"rule must be one of {tuple(RULES)}, got {self.rule!r}")
        if self.apply not in APPLY_MODES:
            raise ValueError(f"apply must be one of {APPLY_MODES}, got {self.apply!r}")
        checks = (
            ("kappa", 0.0 <= self.kappa < 1.0, "in [0, 1)"),
            ("learning_rate", self.learning_rate >= 0.0, ">= 0"),
            ("baseline_decay", 0.0 <= self.baseline_decay <= 1.0, "in [0, 1]"),
            ("kl_weight", self.kl_weight >= 0.0, ">= 0"),
            ("target_rate", 0.0 < self.target_rate < 1.0, "in (0, 1)"),
        )
        for name, ok, allowed in checks:
            value = getattr(self, name)
            if not (np.isfinite(value) and ok):
                raise ValueError(f"{name} must be a finite number {allowed}, got {value!r}")
        _check_int("n_threads", self.n_threads, 1)


class GEMWorkspace:
    """Reusable scratch of the training kernel: per-compartment traces and rule baselines.

    traces float32 ``(K, n_rows, n_post)``; baseline_num/den float32 ``(K, ...)`` for MB/MB1,
    ``(1, ...)`` for IW, ``(0, ...)`` for GEM. Contents carry nothing between examples.
    """

    def __init__(self, shape: GLMNetworkShape, n_compartments: int, rule: str):
        n_base = {"gem": 0, "iw": 1}.get(rule, n_compartments)
        self.key = (shape, n_compartments, rule)
        self.traces = np.empty((n_compartments, shape.n_rows, shape.n_post), np.float32)
        self.baseline_num = np.empty((n_base, shape.n_rows, shape.n_post), np.float32)
        self.baseline_den = np.empty_like(self.baseline_num)


@dataclass
class GEMResult:
    """What one training example produced.

    update float32 ``(n_rows, n_post)``: ``sum_t Delta_t`` (no learning rate); omega, loglik,
    signal float32 ``(T, K)``: importance weights, ``r^k_t``, hidden learning signal;
    hidden_spikes ``(T, K, n_hid)``, output_spikes ``(T, K, n_out)`` uint8; output_potentials
    float32 ``(T, K, n_out)`` or None.
    """

    update: np.ndarray
    omega: np.ndarray
    loglik: np.ndarray
    signal: np.ndarray
    hidden_spikes: np.ndarray
    output_spikes: np.ndarray
    output_potentials: np.ndarray | None = None


@dataclass
class GLMInference:
    """Free-running (or clamped) run over a batch: counts int32 ``(B, K, n_out)``;
    loglik float64 ``(B, K)`` of the given targets, or None without targets."""

    counts: np.ndarray
    loglik: np.ndarray | None = None

    def log_likelihood(self) -> np.ndarray:
        """``log mean_k exp(loglik[b, k])`` per example ``(B,)`` (needs targets)."""
        if self.loglik is None:
            raise ValueError("no targets were given to glm_infer, so there is no log-likelihood")
        top = self.loglik.max(axis=1, keepdims=True)
        return top[:, 0] + np.log(np.mean(np.exp(self.loglik - top), axis=1))


def _spikes(name: str, array, shape: tuple) -> np.ndarray:
    """Validate a binary spike array and return it as C-contiguous uint8."""
    if not isinstance(array, np.ndarray):
        raise ValueError(f"{name} must be a numpy array, got {type(array).__name__}")
    if array.dtype == np.bool_:
        array = array.view(np.uint8)
    if array.dtype != np.uint8:
        raise ValueError(f"{name} must be uint8 (or bool) spikes, got dtype {array.dtype}")
    if array.shape != shape:
        raise ValueError(f"{name} must have shape {shape} (time first), got {array.shape}")
    if array.size and array.max() > 1:
        raise ValueError(f"{name} must hold 0/1 spikes, found the value {array.max()}")
    return np.ascontiguousarray(array)


def _streams(streams, rule: str | None = None) -> np.ndarray:
    if not isinstance(streams, np.ndarray) or streams.dtype != np.uint64 or streams.ndim != 1:
        raise ValueError(
            "streams must be a uint64 array (K,) from snnlab._kernels.rng."
            "make_streams, one stream per compartment"
        )
    if streams.shape[0] < 1:
        raise ValueError("streams must hold at least one stream (K >= 1)")
    if rule == "mb1" and streams.shape[0] != 1:
        raise ValueError(
            f"rule 'mb1' is the single-sample rule: it needs K = 1 stream, got {streams.shape[0]}"
        )
    return streams


def _check_network(net):
    if not isinstance(net, GLMNetwork):
        raise ValueError(f"net must be a GLMNetwork, got {type(net).__name__}")


def gem_train_example(
    net: GLMNetwork,
    x: np.ndarray,
    y: np.ndarray,
    streams: np.ndarray,
    config: GEMConfig = GEMConfig(),
    *,
    clamp_outputs: bool = True,
    record_potentials: bool = False,
    workspace: GEMWorkspace | None = None,
) -> GEMResult:
    """Learn online from one example ``x`` ``(T, n_in)``, ``y`` ``(T, n_out)`` with K = len(streams)
    compartments; updates ``net.theta`` in place and advances ``streams``.

    ``config.apply == "step"`` applies ``eta Delta_t`` after every step (the paper);
    ``"example"`` runs the example on fixed parameters and then adds ``eta sum_t Delta_t``.
    ``clamp_outputs=False`` samples the outputs instead of clamping them to ``y`` (``r^k_t`` then
    scores the sampled outputs). Pass a ``workspace`` from an earlier call to reuse its memory.
    """
    _check_network(net)
    if not isinstance(config, GEMConfig):
        raise ValueError(f"config must be a GEMConfig, got {type(config).__name__}")
    s = net.shape
    if not isinstance(x, np.ndarray) or x.ndim != 2:
        raise ValueError(f"x must be a (T, n_in) array, got {getattr(x, 'shape', type(x))}")
    n_steps = x.shape[0]
    if n_steps < 1:
        raise ValueError("x must hold at least one time step")
    x = _spikes("x", x, (n_steps, s.n_in))
    y = _spikes("y", y, (n_steps, s.n_out))
    streams = _streams(streams, config.rule)
    n_comp = streams.shape[0]
    if workspace is None or workspace.key != (s, n_comp, config.rule):
        workspace = GEMWorkspace(s, n_comp, config.rule)
    update = np.zeros((s.n_rows, s.n_post), np.float32)
    omega = np.empty((n_steps, n_comp), np.float32)
    loglik = np.empty((n_steps, n_comp), np.float32)
    signal = np.empty((n_steps, n_comp), np.float32)
    hid = np.empty((n_steps, n_comp, s.n_hid), np.uint8)
    out = np.empty((n_steps, n_comp, s.n_out), np.uint8)
    out_u = np.empty((n_steps if record_potentials else 0, n_comp, s.n_out), np.float32)
    per_step = config.apply == "step"
    with callers_mode_kept():
        kernels.gem_train_example(
            x,
            y,
            bool(clamp_outputs),
            net.theta,
            net.basis,
            net.feedback_kernel,
            s.n_hid,
            RULES[config.rule],
            float(config.kappa),
            bool(config.scale_traces),
            float(config.learning_rate),
            per_step,
            float(config.baseline_decay),
            float(config.kl_weight),
            float(config.target_rate),
            streams,
            workspace.traces,
            workspace.baseline_num,
            workspace.baseline_den,
            update,
            omega,
            loglik,
            signal,
            hid,
            out,
            out_u,
            int(config.n_threads),
        )
    if not per_step:
        net.theta += np.float32(config.learning_rate) * update
    return GEMResult(update, omega, loglik, signal, hid, out, out_u if record_potentials else None)


def gem_train_batch(
    net: GLMNetwork,
    x: np.ndarray,
    y: np.ndarray,
    streams: np.ndarray,
    config: GEMConfig = GEMConfig(),
    *,
    record_potentials: bool = False,
) -> list[GEMResult]:
    """Online learning over a batch ``x`` ``(T, B, n_in)``, ``y`` ``(T, B, n_out)``: the examples
    one after the other (each sees the parameters the previous ones left), one result each."""
    for name, array in (("x", x), ("y", y)):
        if not isinstance(array, np.ndarray) or array.ndim != 3:
            raise ValueError(
                f"{name} must be a (T, B, n) array, got {getattr(array, 'shape', type(array))}"
            )
    if x.shape[1] != y.shape[1] or x.shape[0] != y.shape[0]:
        raise ValueError(f"x {x.shape} and y {y.shape} must agree in T and B")
    _check_network(net)
    workspace = GEMWorkspace(net.shape, _streams(streams, config.rule).shape[0], config.rule)
    results = []
    for b in range(x.shape[1]):
        results.append(
            gem_train_example(
                net,
                x[:, b],
                y[:, b],
                streams,
                config,
                record_potentials=record_potentials,
                workspace=workspace,
            )
        )
    return results


def glm_infer(
    net: GLMNetwork,
    x: np.ndarray,
    streams: np.ndarray,
    targets: np.ndarray | None = None,
    *,
    clamp_outputs: bool = False,
    n_threads: int = 1,
) -> GLMInference:
    """Run K = len(streams) compartments on a batch ``x`` ``(T, B, n_in)``; advances ``streams``.

    Outputs run free (sampled) unless ``clamp_outputs`` (which needs ``targets``
    ``(T, B, n_out)``). Returns output spike counts per compartment and, with targets, the
    log-likelihood of the targets per compartment (see :class:`GLMInference`).
    """
    _check_network(net)
    s = net.shape
    if not isinstance(x, np.ndarray) or x.ndim != 3:
        raise ValueError(f"x must be a (T, B, n_in) array, got {getattr(x, 'shape', type(x))}")
    n_steps, n_batch = x.shape[:2]
    x = _spikes("x", x, (n_steps, n_batch, s.n_in))
    if targets is None:
        if clamp_outputs:
            raise ValueError("clamp_outputs=True needs targets (T, B, n_out) to clamp to")
        tgt = np.zeros((n_steps, n_batch, s.n_out), np.uint8)
    else:
        tgt = _spikes("targets", targets, (n_steps, n_batch, s.n_out))
    streams = _streams(streams)
    _check_int("n_threads", n_threads, 1)
    counts = np.zeros((n_batch, streams.shape[0], s.n_out), np.int32)
    loglik = np.zeros((n_batch, streams.shape[0]), np.float64)
    kernels.glm_infer(
        x,
        tgt,
        targets is not None,
        bool(clamp_outputs),
        net.theta,
        net.basis,
        net.feedback_kernel,
        s.n_hid,
        streams,
        counts,
        loglik,
        int(n_threads),
    )
    return GLMInference(counts, loglik if targets is not None else None)


__all__ = [
    "RULES",
    "GEMConfig",
    "GEMResult",
    "GEMWorkspace",
    "GLMInference",
    "GLMNetwork",
    "GLMNetworkShape",
    "gem_train_batch",
    "gem_train_example",
    "glm_infer",
    "init_glm_network",
]
