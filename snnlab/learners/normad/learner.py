r"""``normad``: NormAD (Anwani & Rajendran 2015, 2020) and ReSuMe on physical-unit LIF neurons.

Network. A feed-forward stack of :mod:`snnlab.neurons.physical_lif` layers (LIF in ms, mV, pF,
nS, pA with double-exponential synapses, time step = the task's ``dt``): inputs ->
``hidden[0]`` -> ... -> outputs. Spikes cross layers within their step. Arrays are time-first
``(T, B, n)``.

Notation. Layer ``l`` has inputs ``i`` (spike trains ``S_i``, times ``t_i^k``) and neurons ``j``.
``c_i(t) = sum_k alpha(t - t_i^k)``, ``alpha(t) = I_0 (e^{-t/tau1} - e^{-t/tau2}) H(t)``;
``h(t) = (1/C) e^{-t/tau_L} H(t)``; ``d_i = c_i * h``; ``kappa = alpha * h`` (the PSP of one
spike per unit weight), so ``d_i(t) = sum_k kappa(t - t_i^k)``. Hats use the approximate
membrane time constant ``tau_L'`` (``tau_approx``) instead of ``tau_L``: ``ĥ``, ``d̂ = c * ĥ``,
``kappâ = alpha * ĥ``. The error train of output ``o`` is
``e_o(t) = S_o^desired(t) - S_o^observed(t)`` (+1 at a missing spike, -1 at a spurious one).

Output layer (NormAD, 2015). Without reset the output potential is linear in its weights,
``V_o(t) = E_L + sum_h w_ho d_h(t)``. NormAD raises ``V_o`` at the instants of missing spikes and
lowers it at spurious ones, taking from each error instant only the *direction* of
``∂V_o/∂w = d`` (with the shorter ``ĥ``, because resets keep the real memory short):

    Δw_ho = r ∫ e_o(t) d̂_h(t) / ‖d̂(t)‖ dt
          = r [ sum_{desired t} d̂(t)/‖d̂(t)‖ - sum_{observed t} d̂(t)/‖d̂(t)‖ ]_h,

the norm taken over all inputs of the layer. Each error spike moves the weight vector by
``r`` in norm, whatever the input rates. Coincident desired and observed spikes cancel; a
spike observed a little late gives ``d̂(t_d) - d̂(t_o)``, which moves it earlier.

Hidden layers (spatio-temporal error backpropagation; our derivation, the 2020 paper's exact
approximations are not public). Take the NormAD objective ``J = sum_o ∫ e_o(t) V_o(t) dt``
(the potential deviation at error instants). A hidden weight ``w_ih`` changes ``V_o`` only
through the spike times ``t_h^k`` of hidden neuron ``h``:

1. spatially and temporally through the output kernels:
   ``∂V_o(t)/∂t_h^k = -w_ho kappa'(t - t_h^k)``, so
   ``∂J/∂t_h^k = -sum_o w_ho ∫ e_o(t) kappa'(t - t_h^k) dt``;
2. through the threshold crossing (implicit function theorem on ``V_h(t_h^k) = V_T``, reset
   and other spikes held fixed): ``∂t_h^k/∂w_ih = -d_i(t_h^k) / V̇_h(t_h^k)``.

Hence ``∂J/∂w_ih = sum_k δ_h^k · d_i(t_h^k) / (V̇_h(t_h^k)/V̇_ref)`` with the error carried back
to the hidden spike instant

    δ_h^k = (1/V̇_ref) sum_o w_ho sum_{t: e_o(t) ≠ 0} e_o(t) kappâ'(t - t_h^k),

and the hidden update is NormAD's with ``δ`` in place of ``e``:

    Δw_ih = r · hidden_lr_scale · sum_k δ_h^k d̂_i(t_h^k) / ‖d̂(t_h^k)‖.

Approximations: (A1) ``kappa`` -> ``kappâ`` (``tau_L'``, as in the output rule);
(A2) ``d / V̇_h`` -> ``d̂ / ‖d̂‖``: the slope at a crossing is unreliable (grazing crossings make
it tiny and the step huge), so as NormAD does for the output only the direction of ``d̂`` is
kept; the fixed ``V̇_ref = (V_T - E_L)/tau_L`` (9 mV/ms by default) makes ``δ`` dimensionless,
on the scale of ``e = ±1``; (A3) the lag sum stops after ``backprop_window`` ms (``kappâ'``
decays like ``e^{-s/tau1}``); (A4) reset is ignored and each spike time moves alone. With more
hidden layers the same steps give the recursion ``∂t_h^k/∂t_g^m = w_gh kappa'(t_h^k - t_g^m)
/ V̇_h``, i.e. ``δ_g^m = (1/V̇_ref) sum_h w_gh sum_k δ_h^k kappâ'(t_h^k - t_g^m)``. Every
``δ`` is computed from the weights before the step, then all layers are updated.
``kappâ'(s) = alpha(s)/C - kappâ(s)/tau_L'`` is positive while the PSP rises: a hidden spike
shortly before a missing output spike is pulled earlier (its input weights grow when
``w_ho > 0``), one shortly before a spurious spike is pushed later.

ReSuMe (``rule="resume"``; Ponulak & Kasiński 2010), the baseline, on the output layer only
(hidden layers keep their initial weights):

    Δw_ho = r_R ∫ e_o(t) [a + ∫_0^∞ W(s) S_h(t - s) ds] dt,   W(s) = e^{-s/tau_R},

``r_R = resume_lr``, ``a = resume_nonhebbian``, ``tau_R = resume_tau``.

Batches: the updates of a batch's patterns are averaged (``batch_size = 1`` is the papers'
pattern-by-pattern learning).

Initial weights (our choice). Per layer, ``w = w_bal (m + s ξ)``, ``ξ ~ N(0, 1)`` from
``seed``, where ``w_bal = (V_T - E_L) g_L / (n_in ν I_0 (tau1 - tau2))`` puts the mean
free potential at threshold for Poisson inputs of rate ``ν``; ``ν`` is measured on the first
(up to four) training patterns propagated through the layers already drawn. ``(m, s)`` are
``(init_mean, init_std)`` for the output layer and ``(hidden_init_mean, hidden_init_std)``
for hidden layers, whose wide spread keeps hidden neurons from firing in lockstep.

Convergence. A pattern is *matched* when every output neuron fires exactly as many spikes as
desired and the ``k``-th observed spike lies within ``tolerance_ms`` of the ``k``-th desired
one for every ``k``. ``evaluate`` reports ``converged = 1`` when all evaluated patterns are
matched; ``epochs_to_converge`` is the training epoch (passes over the training split) at the
first evaluation that found convergence, -1 until then. ``converged_`` holds the latest
evaluation's verdict (``snnlab train`` stops on it). Distances: van Rossum (tau 10 ms, summed
over outputs, averaged over patterns) and Schreiber correlation (sigma 2 ms, averaged).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from types import ModuleType

import numpy as np
import param

from snnlab._kernels import physical_lif as lif_kernels
from snnlab.data.task import Batch, Task, make_batch
from snnlab.learners.base import Learner
from snnlab.learners.normad import kernels as normad_kernels
from snnlab.learners.values import LayerWidths
from snnlab.neurons.physical_lif import (
    PhysicalLIFParameters,
    PhysicalLIFResult,
    filtered_traces,
    layer_forward,
    synaptic_traces,
)
from snnlab.spike_trains import schreiber_similarity, van_rossum_distance

MAX_SHOWN_NEURONS = 256  # rasters and error traces in snapshots
MAX_SHOWN_MEMBRANES = 8
MAX_SHOWN_WEIGHTS = 20_000
INIT_PATTERNS = 4  # training patterns whose rates set the initial weight scale


@dataclass(frozen=True)
class Backend:
    """Where the computations run: the Numba kernels or their NumPy twins (same signatures)."""

    lif: ModuleType
    normad: ModuleType


NUMBA = Backend(lif_kernels, normad_kernels)  # the twins' Backend: reference.twin_backend()


def approximate_filtered_traces(
    spikes: np.ndarray, neuron: PhysicalLIFParameters, tau_approx: float, backend: Backend = NUMBA
) -> np.ndarray:
    """``d̂ = c * ĥ`` (T, B, n) float32 (mV per unit weight) of spike trains (T, B, n) uint8."""
    c = synaptic_traces(spikes, neuron, implementation=backend.lif)
    return filtered_traces(c, tau_approx, neuron.dt, neuron.capacitance,
                           implementation=backend.lif)


def psp_derivative_kernel(
    neuron: PhysicalLIFParameters, tau_approx: float, window_ms: float
) -> np.ndarray:
    """``kappâ'(l dt)`` for lags ``l = 0 .. window/dt`` (float64, mV/ms per unit weight).

    ``kappâ = alpha * ĥ``; ``kappâ'(s) = alpha(s)/C - kappâ(s)/tau_L'``.
    """
    s = np.arange(math.ceil(window_ms / neuron.dt) + 1) * neuron.dt

    def convolution(tau_synapse):  # ∫_0^s e^{-(s-u)/tau'} e^{-u/tau_syn} du
        rate = 1.0 / tau_approx - 1.0 / tau_synapse
        if rate == 0.0:
            return s * np.exp(-s / tau_approx)
        return (np.exp(-s / tau_synapse) - np.exp(-s / tau_approx)) / rate

    scale = neuron.amplitude / neuron.capacitance
    psp = scale * (convolution(neuron.tau1) - convolution(neuron.tau2))
    alpha = scale * (np.exp(-s / neuron.tau1) - np.exp(-s / neuron.tau2))
    return alpha - psp / tau_approx


def spike_trains_match(
    desired: np.ndarray, observed: np.ndarray, tolerance_steps: float
) -> np.ndarray:
    """Per sample, whether ``observed`` matches ``desired`` (see the module docstring).

    desired, observed: (T, B, n) spike counts. Returns (B,) bool.
    """
    n_batch, n_out = desired.shape[1], desired.shape[2]
    matched = np.ones(n_batch, dtype=bool)
    for b in range(n_batch):
        for j in range(n_out):
            want = np.repeat(np.arange(desired.shape[0]), desired[:, b, j])
            got = np.repeat(np.arange(observed.shape[0]), observed[:, b, j])
            if len(want) != len(got) or (len(want) and np.abs(want - got).max() > tolerance_steps):
                matched[b] = False
                break
    return matched


def forward(
    x: np.ndarray, layers: list[np.ndarray], neuron: PhysicalLIFParameters, backend: Backend = NUMBA
) -> list[PhysicalLIFResult]:
    """All layers on input spikes x (T, B, n_in) uint8, weights (n_l, n_{l+1}) float32, each
    from rest; one :class:`PhysicalLIFResult` (spikes and membrane) per layer."""
    runs, spikes = [], x
    for w in layers:
        runs.append(layer_forward(spikes, w, neuron, implementation=backend.lif))
        spikes = runs[-1].spikes
    return runs


def normad_updates(
    x,
    target,
    layers,
    runs,
    neuron,
    *,
    lr,
    hidden_lr_scale,
    tau_approx,
    backprop_window,
    backend: Backend = NUMBA,
):
    """NormAD weight changes for every layer from one forward pass (see the module docstring).

    x: (T, B, n_in) uint8; target: (T, B, n_out) uint8; layers: weights (n_l, n_{l+1})
    float32; runs: :func:`forward` of x. Returns (changes per layer, errors per layer), the
    errors (T, B, n_{l+1}) float32: ``e`` for the output layer, ``δ`` at hidden spike instants.
    """
    n_batch = x.shape[1]
    errors = [None] * len(layers)
    errors[-1] = target.astype(np.float32) - runs[-1].spikes.astype(np.float32)
    if len(layers) > 1:
        kernel = psp_derivative_kernel(neuron, tau_approx, backprop_window)
        slope_ref = (neuron.threshold - neuron.rest_potential) / neuron.membrane_time_constant
        for l in range(len(layers) - 1, 0, -1):
            errors[l - 1] = np.empty(runs[l - 1].spikes.shape, dtype=np.float32)
            backend.normad.backpropagate_errors(
                errors[l], runs[l - 1].spikes, layers[l], kernel, 1.0 / slope_ref, errors[l - 1]
            )
    changes = []
    for l, w in enumerate(layers):
        inputs = x if l == 0 else runs[l - 1].spikes
        d_hat = approximate_filtered_traces(inputs, neuron, tau_approx, backend)
        dw = np.zeros_like(w)
        rate = lr if l == len(layers) - 1 else lr * hidden_lr_scale
        backend.normad.normalized_error_update(d_hat, errors[l], rate / n_batch, dw)
        changes.append(dw)
    return changes, errors


def resume_output_update(
    x, target, layers, runs, neuron, *, lr, tau, nonhebbian, backend: Backend = NUMBA
):
    """ReSuMe change of the output weights (others unchanged) and the output error."""
    inputs = x if len(layers) == 1 else runs[-2].spikes
    error = target.astype(np.float32) - runs[-1].spikes.astype(np.float32)
    trace = np.zeros((inputs.shape[1], inputs.shape[2]), dtype=np.float32)
    dw = np.zeros_like(layers[-1])
    backend.normad.resume_update(
        inputs, error, math.exp(-neuron.dt / tau), nonhebbian, lr / inputs.shape[1], trace, dw
    )
    return dw, error


class NormAD(Learner):
    """NormAD (single- and multi-layer) and ReSuMe on physical-unit LIF neurons (module doc)."""

    key = "normad"
    task_kinds = ("spike-train",)
    rebuild_params = ("hidden", "init_mean", "init_std", "hidden_init_mean", "hidden_init_std")
    snapshot_scalars = ("loss", "van_rossum", "correlation", "error_spikes", "threshold", "pattern")
    snapshot_arrays = (
        "raster_input",
        "raster_hidden",
        "raster_output",
        "raster_desired",
        "membrane_output",
        "membrane_hidden",
        "weights_hidden",
        "weights_output",
        "error_output",
        "error_hidden",
    )
    state_names = ("weights_flat_", "epochs_to_converge_")

    batch_size = param.Integer(default=1, bounds=(1, 4096), doc="Patterns per update (averaged).")
    rule = param.Selector(
        default="normad",
        objects=["normad", "resume"],
        doc="NormAD (all layers) or ReSuMe (output layer only).",
    )
    hidden = LayerWidths(default=(), doc="Hidden layer widths, e.g. (50,); () for one layer.")
    lr = param.Number(
        default=1000.0,
        bounds=(0.0, 1e7),
        doc="NormAD rate r: weight-vector change (norm) per error spike.",
    )
    hidden_lr_scale = param.Number(
        default=0.3, bounds=(0.0, 1e3), doc="Hidden-layer NormAD rate as a multiple of r."
    )
    tau_approx = param.Number(
        default=1.0,
        bounds=(0.01, 1000.0),
        doc="Approximate membrane time constant tau_L' of ĥ (ms).",
    )
    backprop_window = param.Number(
        default=40.0,
        bounds=(1.0, 1000.0),
        doc="Lags (ms) over which errors are carried back to hidden spikes.",
    )
    resume_lr = param.Number(
        default=300.0,
        bounds=(0.0, 1e7),
        doc="ReSuMe rate: weight change per error spike per unit trace.",
    )
    resume_tau = param.Number(
        default=5.0, bounds=(0.01, 1000.0), doc="ReSuMe learning-window time constant tau_R (ms)."
    )
    resume_nonhebbian = param.Number(
        default=0.0, bounds=(-10.0, 10.0), doc="ReSuMe non-Hebbian term a."
    )
    init_mean = param.Number(
        default=1.0,
        bounds=(-10.0, 10.0),
        doc="Output weights' mean, in units of the balanced weight w_bal.",
    )
    init_std = param.Number(
        default=0.5, bounds=(0.0, 100.0), doc="Output weights' spread, in units of w_bal."
    )
    hidden_init_mean = param.Number(
        default=1.0, bounds=(-10.0, 10.0), doc="Hidden weights' mean, in units of w_bal."
    )
    hidden_init_std = param.Number(
        default=2.0, bounds=(0.0, 100.0), doc="Hidden weights' spread, in units of w_bal."
    )
    tolerance_ms = param.Number(
        default=1.0,
        bounds=(0.0, 1000.0),
        doc="Largest desired-observed spike offset that counts as matched (ms).",
    )
    capacitance = param.Number(default=300.0, bounds=(1.0, 1e5), doc="Membrane capacitance C (pF).")
    leak_conductance = param.Number(
        default=30.0, bounds=(0.01, 1e4), doc="Leak conductance g_L (nS)."
    )
    rest_potential = param.Number(
        default=-70.0, bounds=(-200.0, 100.0), doc="Rest and reset E_L (mV)."
    )
    threshold = param.Number(default=20.0, bounds=(-200.0, 200.0), doc="Threshold V_T (mV), > E_L.")
    refractory_period = param.Number(
        default=2.0, bounds=(0.0, 100.0), doc="Refractory period (ms)."
    )
    tau1 = param.Number(default=5.0, bounds=(0.01, 1000.0), doc="Slow synaptic time constant (ms).")
    tau2 = param.Number(
        default=1.25, bounds=(0.01, 1000.0), doc="Fast synaptic time constant (ms), < tau1."
    )

    def __init__(self, **params):
        super().__init__(**params)
        self.converged_ = False

    # -- building ---------------------------------------------------------------------------
    def neuron(self) -> PhysicalLIFParameters:
        """The neuron parameters now, on the task's time grid (ms)."""
        self._require_setup()
        try:
            return PhysicalLIFParameters(
                capacitance=self.capacitance,
                leak_conductance=self.leak_conductance,
                rest_potential=self.rest_potential,
                threshold=self.threshold,
                refractory_period=self.refractory_period,
                tau1=self.tau1,
                tau2=self.tau2,
                dt=self.task_.dt * 1000.0,
            )
        except ValueError as error:
            raise ValueError(f"normad neuron parameters: {error}") from None

    def estimated_bytes(self, task: Task) -> int:
        """Weights (float32, with a float64 update) and, per time step, traces and potentials
        of every neuron of a batch (float64)."""
        sizes = self._sizes(task)
        n_weights = sum(a * b for a, b in zip(sizes, sizes[1:]))
        n_steps = task.train.x.shape[1] if task.train.x.ndim == 3 else 1
        return 12 * n_weights + 4 * 8 * n_steps * sum(sizes) * max(self.batch_size, 1)

    def _sizes(self, task: Task) -> list[int]:
        return [task.n_inputs, *self.hidden, task.n_outputs]

    def _init_state(self, task: Task) -> None:
        neuron = self.neuron()
        sizes = self._sizes(task)
        rng = np.random.default_rng(self.seed)
        n = min(INIT_PATTERNS, len(task.train))
        spikes = np.ascontiguousarray(np.minimum(task.train.x[:n], 1).swapaxes(0, 1))
        layers = []
        for l, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
            output = l == len(sizes) - 2
            mean, std = (
                (self.init_mean, self.init_std)
                if output
                else (self.hidden_init_mean, self.hidden_init_std)
            )
            rate = max(float(spikes.mean()) / neuron.dt, 1e-3)  # spikes per ms per input
            balanced = (
                (neuron.threshold - neuron.rest_potential)
                * neuron.leak_conductance
                / (n_in * rate * neuron.amplitude * (neuron.tau1 - neuron.tau2))
            )
            w = (balanced * (mean + std * rng.standard_normal((n_in, n_out)))).astype(np.float32)
            layers.append(w)
            if not output:
                spikes = layer_forward(spikes, w, neuron, record_membrane=False).spikes
        self.weights_flat_ = np.concatenate([w.ravel() for w in layers])
        self.epochs_to_converge_ = np.array(-1.0)
        self.converged_ = False

    def layers(self) -> list[np.ndarray]:
        """Weights per layer (n_l, n_{l+1}), views into ``weights_flat_``."""
        self._require_setup()
        sizes = self._sizes(self.task_)
        out, start = [], 0
        for n_in, n_out in itertools.pairwise(sizes):
            out.append(self.weights_flat_[start : start + n_in * n_out].reshape(n_in, n_out))
            start += n_in * n_out
        return out

    def weights(self) -> dict[str, np.ndarray]:
        layers = self.layers()
        named = {f"hidden{l + 1}": w for l, w in enumerate(layers[:-1])}
        named["output"] = layers[-1]
        return named

    # -- learning ---------------------------------------------------------------------------
    def _check_batch(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        task = self.task_
        if x.ndim != 3 or x.shape[2] != task.n_inputs:
            raise ValueError(f"normad expects inputs (T, B, {task.n_inputs}), got {x.shape}")
        if y.shape != (x.shape[0], x.shape[1], task.n_outputs):
            raise ValueError(
                f"normad expects desired spikes (T, B, {task.n_outputs}) matching the inputs, "
                f"got {y.shape} for inputs {x.shape}"
            )
        return (
            np.ascontiguousarray(np.minimum(x, 1), dtype=np.uint8),
            np.ascontiguousarray(np.minimum(y, 1), dtype=np.uint8),
        )

    def _update(self, batch: Batch) -> tuple[dict, dict]:
        x, y = self._check_batch(np.asarray(batch.x), np.asarray(batch.y))
        neuron = self.neuron()
        layers = self.layers()
        runs = forward(x, layers, neuron)
        if self.rule == "normad":
            changes, errors = normad_updates(
                x,
                y,
                layers,
                runs,
                neuron,
                lr=self.lr,
                hidden_lr_scale=self.hidden_lr_scale,
                tau_approx=self.tau_approx,
                backprop_window=self.backprop_window,
            )
        else:
            dw, error = resume_output_update(
                x,
                y,
                layers,
                runs,
                neuron,
                lr=self.resume_lr,
                tau=self.resume_tau,
                nonhebbian=self.resume_nonhebbian,
            )
            changes = [np.zeros_like(w) for w in layers[:-1]] + [dw]
            errors = [np.zeros(r.spikes.shape, np.float32) for r in runs[:-1]] + [error]
        for w, dw in zip(layers, changes):
            w += dw
        observed = runs[-1].spikes
        distance = van_rossum_distance(y, observed, dt_ms=neuron.dt)
        correlation = schreiber_similarity(y, observed, dt_ms=neuron.dt)
        if not spike_trains_match(y, observed, self.tolerance_ms / neuron.dt).all():
            self.converged_ = False
        scalars = {
            "loss": float(np.mean(distance)),
            "van_rossum": float(np.mean(distance)),
            "correlation": float(np.mean(correlation)),
            "error_spikes": float(np.abs(errors[-1]).sum() / x.shape[1]),
            "threshold": neuron.threshold,
            "pattern": float(batch.index[0]) if len(batch.index) else 0.0,
        }
        return scalars, self._snapshot_arrays(x, y, runs, errors)

    def _snapshot_arrays(self, x, y, runs, errors) -> dict:
        """Arrays of the batch's first pattern, capped in size (see the module constants)."""
        n_steps = x.shape[0]
        hidden_runs, hidden_errors = runs[:-1], errors[:-1]

        def joined(arrays, dtype):
            if not arrays:
                return np.zeros((n_steps, 0), dtype=dtype)
            return np.concatenate([a[:, 0, :] for a in arrays], axis=1)[:, :MAX_SHOWN_NEURONS]

        layers = self.layers()
        hidden_w = (
            np.concatenate([w.ravel() for w in layers[:-1]]) if len(layers) > 1 else np.zeros(0)
        )
        return {
            "raster_input": x[:, 0, :MAX_SHOWN_NEURONS],
            "raster_hidden": joined([r.spikes for r in hidden_runs], np.uint8),
            "raster_output": runs[-1].spikes[:, 0, :],
            "raster_desired": y[:, 0, :],
            "membrane_output": runs[-1].membrane[:, 0, :MAX_SHOWN_MEMBRANES],
            "membrane_hidden": (
                hidden_runs[-1].membrane[:, 0, :MAX_SHOWN_MEMBRANES]
                if hidden_runs
                else np.zeros((n_steps, 0), np.float32)
            ),
            "weights_hidden": _subsample(hidden_w).astype(np.float32),
            "weights_output": _subsample(layers[-1].ravel()).astype(np.float32),
            "error_output": errors[-1][:, 0, :],
            "error_hidden": joined(hidden_errors, np.float32),
        }

    # -- predicting and evaluating ----------------------------------------------------------
    def _predict_values(self, X) -> np.ndarray:
        """Output spikes (n, T, n_outputs) uint8 for sample-first input spikes (n, T, n_inputs)."""
        return self.output_spikes(X)

    def output_spikes(self, X) -> np.ndarray:
        """Output spikes (n, T, n_outputs) uint8 for sample-first inputs (n, T, n_inputs)."""
        self._require_setup()
        X = np.asarray(X)
        if X.ndim != 3 or X.shape[2] != self.task_.n_inputs:
            raise ValueError(f"normad expects inputs (n, T, {self.task_.n_inputs}), got {X.shape}")
        x = np.ascontiguousarray(np.minimum(X, 1).swapaxes(0, 1), dtype=np.uint8)
        return forward(x, self.layers(), self.neuron())[-1].spikes.swapaxes(0, 1)

    def evaluate(self, split: str = "test", max_samples: int | None = None) -> dict:
        """van_rossum, correlation, converged (0/1) and epochs_to_converge (-1: not yet)."""
        self._require_setup()
        data = self.task_.split(split)
        n = len(data) if max_samples is None else min(max_samples, len(data))
        batch = make_batch("spike-train", data.x[:n], data.y[:n])
        x, y = self._check_batch(batch.x, batch.y)
        neuron = self.neuron()
        observed = forward(x, self.layers(), neuron)[-1].spikes
        distance = van_rossum_distance(y, observed, dt_ms=neuron.dt)
        correlation = schreiber_similarity(y, observed, dt_ms=neuron.dt)
        self.converged_ = bool(spike_trains_match(y, observed, self.tolerance_ms / neuron.dt).all())
        if self.converged_ and self.epochs_to_converge_ < 0:
            self.epochs_to_converge_ = np.array(self.n_seen_ / max(len(self.task_.train), 1))
        return {
            "van_rossum": float(np.mean(distance)),
            "correlation": float(np.mean(correlation)),
            "converged": float(self.converged_),
            "epochs_to_converge": float(self.epochs_to_converge_),
        }


def _subsample(values: np.ndarray) -> np.ndarray:
    """At most :data:`MAX_SHOWN_WEIGHTS` evenly spaced entries of a flat array."""
    if values.size <= MAX_SHOWN_WEIGHTS:
        return values
    return values[:: -(-values.size // MAX_SHOWN_WEIGHTS)]
