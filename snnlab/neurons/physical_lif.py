"""LIF neuron in physical units with double-exponential synapses (the NormAD neuron).

::

    C dV/dt = -g_L (V - E_L) + sum_i w_i c_i(t)
    c_i(t)  = sum_k I_0 (exp(-(t - t_i^k)/tau1) - exp(-(t - t_i^k)/tau2)) H(t - t_i^k)

spike when V >= V_T, reset to E_L, V held at E_L for the refractory period.

Units. Everything here is in the consistent scaled system **ms, mV, pF, nS, pA**
(pF * mV/ms = pA, nS * mV = pA), chosen so float32 state keeps full precision; weights are
dimensionless. Multiply by 1e-3, 1e-3, 1e-12, 1e-9, 1e-12 for seconds, volts, farads, siemens,
amperes.

Defaults follow NormAD (Anwani & Rajendran 2015): C = 300 pF, g_L = 30 nS (tau_L = 10 ms),
E_L = -70 mV, V_T = 20 mV, tau1 = 5 ms, tau2 = 1.25 ms, and I_0 = 1 pA, so the weights carry
the scale: one input spike through weight w injects ``w * I_0 (tau1 - tau2) = 3.75 w fC`` and
raises V by at most ``w * 6.13 uV`` (8.4 ms after the spike): a 90 mV climb from rest to
threshold takes about 15 coincident inputs at w = 1000. The time step defaults to 0.1 ms (tau2/12.5),
small enough that spike times on the grid are within a step of the continuous-time ones.
The refractory period defaults to 2 ms (a choice; the source does not fix one).

Integration is exact on the grid for inputs on the grid (see :mod:`snnlab._kernels.physical_lif`
for the step order). Spikes are detected at grid times, so a spike is reported at the first
grid time at or after the threshold crossing. The reset and the refractory hold start at the
crossing time itself (solved inside the step), so the grid does not delay later spikes: in a
test against RK4 at dt/20 every spike of neurons firing every 2-4 ms came 0-1 step after the
continuous-time crossing, with no drift. A neuron fires at most once per step.

Shapes: input spikes ``(T, B, n_in)`` uint8 (spike counts per bin, normally 0/1); weights
``(n_in, n_out)``; outputs ``(T, B, n_out)`` and traces ``(T, B, n_in)``. Layers in a stack
pass spikes within the same step (no synaptic delay).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from snnlab._kernels import physical_lif as kernels


@dataclass(frozen=True)
class PhysicalLIFParameters:
    """Parameters of the physical-unit LIF neuron and its synapses (units ms, mV, pF, nS, pA)."""

    capacitance: float = field(default=300.0, metadata={"doc": "membrane capacitance C (pF)"})
    leak_conductance: float = field(default=30.0, metadata={"doc": "leak conductance g_L (nS)"})
    rest_potential: float = field(
        default=-70.0, metadata={"doc": "resting and reset potential E_L (mV)"}
    )
    threshold: float = field(default=20.0, metadata={"doc": "spike threshold V_T (mV), > E_L"})
    refractory_period: float = field(
        default=2.0, metadata={"doc": "time V is held at E_L after a spike (ms), >= 0"}
    )
    tau1: float = field(default=5.0, metadata={"doc": "slow synaptic time constant (ms)"})
    tau2: float = field(
        default=1.25, metadata={"doc": "fast synaptic time constant (ms), 0 < tau2 < tau1"}
    )
    amplitude: float = field(default=1.0, metadata={"doc": "synaptic kernel scale I_0 (pA)"})
    dt: float = field(default=0.1, metadata={"doc": "time step (ms)"})

    def __post_init__(self):
        for name in ("capacitance", "leak_conductance", "tau1", "tau2", "amplitude", "dt"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a finite positive number, got {value!r}")
        for name in ("rest_potential", "threshold"):
            if not np.isfinite(getattr(self, name)):
                raise ValueError(f"{name} must be finite, got {getattr(self, name)!r}")
        if not self.threshold > self.rest_potential:
            raise ValueError(
                f"threshold ({self.threshold} mV) must lie above rest_potential "
                f"({self.rest_potential} mV)"
            )
        if not self.tau2 < self.tau1:
            raise ValueError(
                f"tau2 ({self.tau2} ms) must be smaller than tau1 ({self.tau1} ms): the kernel "
                "I_0 (exp(-t/tau1) - exp(-t/tau2)) is positive only then"
            )
        if not (np.isfinite(self.refractory_period) and self.refractory_period >= 0):
            raise ValueError(
                f"refractory_period must be finite and >= 0 ms, got {self.refractory_period!r}"
            )

    @property
    def membrane_time_constant(self) -> float:
        """tau_L = C / g_L (ms)."""
        return self.capacitance / self.leak_conductance


@dataclass
class PhysicalLIFResult:
    """Outputs of one layer.

    spikes:   (T, B, n_out) uint8.
    membrane: (T, B, n_out) float32 V after threshold and reset (mV), or None if not recorded.
    traces:   (T, B, n_in) float32 synaptic traces c_i(t_n) of the layer's inputs (pA), or None.
    """

    spikes: np.ndarray
    membrane: np.ndarray | None
    traces: np.ndarray | None


def _as_spike_tensor(spikes_in: np.ndarray) -> np.ndarray:
    spikes_in = np.asarray(spikes_in)
    if spikes_in.ndim != 3:
        raise ValueError(
            f"spikes_in must have shape (T, B, n_in), got {spikes_in.ndim} dimensions "
            f"{spikes_in.shape}"
        )
    if spikes_in.dtype == np.bool_:
        spikes_in = spikes_in.view(np.uint8)
    if spikes_in.dtype != np.uint8:
        raise ValueError(f"spikes_in must be uint8 (or bool) spike counts, got {spikes_in.dtype}")
    return np.ascontiguousarray(spikes_in)


def _as_weights(weights: np.ndarray, n_in: int) -> np.ndarray:
    weights = np.asarray(weights)
    if weights.ndim != 2 or weights.shape[0] != n_in:
        raise ValueError(
            f"weights must have shape (n_in, n_out) = ({n_in}, n_out) to match spikes_in, "
            f"got {weights.shape}"
        )
    if not np.issubdtype(weights.dtype, np.floating) and not np.issubdtype(
        weights.dtype, np.integer
    ):
        raise ValueError(f"weights must be real numbers, got dtype {weights.dtype}")
    weights = np.ascontiguousarray(weights, dtype=np.float32)
    if not np.all(np.isfinite(weights)):
        raise ValueError("weights must be finite (found NaN or inf, possibly after float32 cast)")
    return weights


def simulate_physical_lif(
    spikes_in: np.ndarray,
    weights: np.ndarray,
    params: PhysicalLIFParameters | None = None,
    record_membrane: bool = True,
    record_traces: bool = False,
) -> PhysicalLIFResult:
    """Simulate one layer from rest.

    spikes_in: (T, B, n_in) uint8 (or bool) spike counts on the ``params.dt`` grid.
    weights:   (n_in, n_out), cast to float32.
    Returns spikes (T, B, n_out), optionally membrane (T, B, n_out) in mV and the input traces
    c (T, B, n_in) in pA (what NormAD filters into d = c * h, see :func:`filtered_traces`).
    """
    params = PhysicalLIFParameters() if params is None else params
    if not isinstance(params, PhysicalLIFParameters):
        raise TypeError(f"params must be a PhysicalLIFParameters, got {type(params).__name__}")
    spikes_in = _as_spike_tensor(spikes_in)
    weights = _as_weights(weights, spikes_in.shape[2])
    result = layer_forward(spikes_in, weights, params, record_membrane)
    if record_traces:
        result.traces = synaptic_traces(spikes_in, params)
    return result


def layer_forward(spikes_in: np.ndarray, weights: np.ndarray, params: PhysicalLIFParameters,
                  record_membrane: bool = True, implementation=kernels) -> PhysicalLIFResult:
    """:func:`simulate_physical_lif` without its checks, for callers whose arrays are already
    what the kernel takes (a learner's own): ``spikes_in`` (T, B, n_in) C-contiguous uint8,
    ``weights`` (n_in, n_out) C-contiguous float32, not checked for NaN (a diverged learner
    still runs, and its guard reports it). ``implementation``: the Numba kernels or their
    NumPy twin :mod:`snnlab._kernels.reference.physical_lif` (same functions)."""
    n_steps, n_batch, _ = spikes_in.shape
    n_out = weights.shape[1]
    v = np.full((n_batch, n_out), params.rest_potential, dtype=np.float32)
    refractory_left, slow, fast = (np.zeros((n_batch, n_out), dtype=np.float32) for _ in range(3))
    spikes_out = np.empty((n_steps, n_batch, n_out), dtype=np.uint8)
    membrane = np.empty((n_steps if record_membrane else 0, n_batch, n_out), dtype=np.float32)
    implementation.physical_lif_forward(
        spikes_in, weights, float(params.dt), float(params.membrane_time_constant),
        float(params.tau1), float(params.tau2), float(params.amplitude / params.capacitance),
        float(params.rest_potential), float(params.threshold), float(params.refractory_period),
        v, refractory_left, slow, fast, spikes_out, membrane)
    return PhysicalLIFResult(spikes_out, membrane if record_membrane else None, None)


def simulate_stack(
    spikes_in: np.ndarray,
    weights: Sequence[np.ndarray],
    params: PhysicalLIFParameters | Sequence[PhysicalLIFParameters] | None = None,
    record_membrane: bool = True,
    record_traces: bool = False,
) -> list[PhysicalLIFResult]:
    """Simulate a feed-forward stack: layer ``l`` gets the spikes of layer ``l - 1``.

    weights: one (n_{l}, n_{l+1}) matrix per layer. params: one set for all layers or one per
    layer. Spikes cross layers within the step they are emitted (no delay), so running whole
    layers one after another equals interleaving them step by step. Returns one
    :class:`PhysicalLIFResult` per layer; its ``traces`` are that layer's input traces.
    """
    weights = list(weights)
    if not weights:
        raise ValueError("weights must hold at least one (n_in, n_out) matrix")
    if params is None or isinstance(params, PhysicalLIFParameters):
        layer_params = [params] * len(weights)
    else:
        layer_params = list(params)
        if len(layer_params) != len(weights):
            raise ValueError(
                f"params must be one PhysicalLIFParameters or one per layer ({len(weights)}), "
                f"got {len(layer_params)}"
            )
        dts = {p.dt for p in layer_params}
        if len(dts) > 1:
            raise ValueError(f"all layers must share one time step, got dt values {sorted(dts)}")
    results = []
    spikes = spikes_in
    for index, (w, p) in enumerate(zip(weights, layer_params)):
        try:
            result = simulate_physical_lif(spikes, w, p, record_membrane, record_traces)
        except ValueError as error:
            raise ValueError(f"layer {index}: {error}") from error
        results.append(result)
        spikes = result.spikes
    return results


def synaptic_traces(
    spikes_in: np.ndarray, params: PhysicalLIFParameters | None = None, implementation=kernels
) -> np.ndarray:
    """``c_i(t_n) = sum_k alpha(t_n - t_i^k)`` for every input, (T, B, n_in) float32 (pA).
    ``implementation``: as in :func:`layer_forward`."""
    params = PhysicalLIFParameters() if params is None else params
    spikes_in = _as_spike_tensor(spikes_in)
    n_steps, n_batch, n_in = spikes_in.shape
    slow = np.zeros((n_batch, n_in), dtype=np.float32)
    fast = np.zeros((n_batch, n_in), dtype=np.float32)
    traces = np.empty((n_steps, n_batch, n_in), dtype=np.float32)
    implementation.double_exponential_traces(
        spikes_in,
        float(params.amplitude),
        math.exp(-params.dt / params.tau1),
        math.exp(-params.dt / params.tau2),
        slow,
        fast,
        traces,
    )
    return traces


def filtered_traces(traces: np.ndarray, tau: float, dt: float, capacitance: float,
                    implementation=kernels) -> np.ndarray:
    """``d(t_n) = (c * h)(t_n)``, ``h(t) = (1/C) exp(-t/tau) H(t)``: (T, B, n) float32 (mV/weight).

    traces: (T, B, n) c from :func:`synaptic_traces` (pA); tau, dt in ms; capacitance in pF.
    With ``tau = tau_L`` this is the membrane response per unit weight, so that without reset
    ``V(t) = E_L + sum_i w_i d_i(t)``; NormAD uses a shorter ``tau`` (its ĥ). The filter starts
    at rest at ``t_0`` and treats c as linear between grid points (O(dt^2) error).
    ``implementation``: as in :func:`layer_forward`.
    """
    traces = np.asarray(traces)
    if traces.ndim != 3:
        raise ValueError(f"traces must have shape (T, B, n), got {traces.shape}")
    if traces.shape[0] == 0:
        raise ValueError("traces must hold at least one time step")
    for name, value in (("tau", tau), ("dt", dt), ("capacitance", capacitance)):
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a finite positive number, got {value!r}")
    traces = np.ascontiguousarray(traces, dtype=np.float32)
    decay, q_prev, q_now = kernels.first_order_hold_coefficients(float(dt), float(tau))
    d = np.empty_like(traces)
    implementation.filtered_traces(traces, decay, q_prev, q_now, 1.0 / float(capacitance), d)
    return d
