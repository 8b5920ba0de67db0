"""Current-based discrete-time LIF neurons: parameters, state and simulation drivers.

One layer of ``n_out`` neurons with weights ``W`` ``(n_in, n_out)``, batch of ``B`` trials,
``T`` steps; per step::

    u_t = beta * u_{t-1} + x_t @ W + bias        (held instead while refractory)
    s_t = u_t >= threshold                        (never while refractory)
    after a spike: u_t = 0 (reset "zero") or u_t - threshold (reset "subtract"),
                   then input is ignored and u held for ``refractory`` steps

Inputs are spike counts ``(T, B, n_in)`` uint8 (:func:`simulate_lif`, event-driven: only
the weight rows of active inputs are added) or real-valued currents ``(T, B, n_in)``
float32 (:func:`simulate_lif_currents`). :func:`simulate_lif_network` runs a feed-forward
stack, each layer driven by the previous layer's spikes in the same step.

The returned :class:`LIFState` continues a simulation: running ``T1`` steps then ``T2``
steps from the returned state equals one run of ``T1 + T2`` steps.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

import numba
import numpy as np

from snnlab._kernels import lif as kernels

RESET_MODES = ("subtract", "zero")
L2_WEIGHT_BYTES = 1_600_000  # one core's 2 MB L2 holds a weight block plus the state
BLOCK_ALIGN = 16  # neurons per 64-byte line of float32
GUESSED_SPARSITY = 8  # room for 1 active input in 8 per step before rescanning


@dataclass(frozen=True)
class LIFParameters:
    """Parameters of a layer of LIF neurons.

    beta: membrane decay per step, in (0, 1] (1 = perfect integrator).
    threshold: firing threshold, > 0 (``math.inf`` gives a non-spiking readout).
    reset: "subtract" (u -= threshold) or "zero" (u = 0) after a spike.
    refractory: steps after a spike during which input is ignored, int >= 0.
    """

    beta: float = 0.9
    threshold: float = 1.0
    reset: str = "subtract"
    refractory: int = 0

    def __post_init__(self):
        if not (0.0 < self.beta <= 1.0):
            raise ValueError(f"beta must be in (0, 1], got {self.beta!r}")
        if not (self.threshold > 0.0):
            raise ValueError(f"threshold must be > 0, got {self.threshold!r}")
        if self.reset not in RESET_MODES:
            raise ValueError(f"reset must be one of {RESET_MODES}, got {self.reset!r}")
        if isinstance(self.refractory, bool) or not isinstance(self.refractory, (int, np.integer)):
            raise ValueError(f"refractory must be an int >= 0, got {self.refractory!r}")  # noqa: TRY004
        if self.refractory < 0:
            raise ValueError(f"refractory must be an int >= 0, got {self.refractory!r}")


@dataclass
class LIFState:
    """State between steps: membrane ``(B, n_out)`` float32, refractory steps left ``(B, n_out)``
    int32."""

    membrane: np.ndarray
    refractory_left: np.ndarray

    @classmethod
    def zeros(cls, batch: int, n_out: int) -> LIFState:
        return cls(
            np.zeros((batch, n_out), dtype=np.float32), np.zeros((batch, n_out), dtype=np.int32)
        )


@dataclass
class LIFResult:
    """spikes ``(T, B, n_out)`` uint8; membrane ``(T, B, n_out)`` float32 after the reset, or
    None when not recorded; state at the end of the run."""

    spikes: np.ndarray
    membrane: np.ndarray | None
    state: LIFState


@dataclass
class LIFNetworkResult:
    """spikes: one ``(T, B, n_l)`` uint8 array per layer; membranes: layer index -> ``(T, B,
    n_l)`` float32 for the recorded layers; states: the final state of each layer."""

    spikes: list[np.ndarray]
    membranes: dict[int, np.ndarray] = field(default_factory=dict)
    states: list[LIFState] = field(default_factory=list)


def work_partition(n_in: int, n_out: int, batch: int, n_threads: int):
    """Neuron block and batch group boundaries (int64 edges) for the kernels.

    Blocks keep ``n_in x block`` float32 weights within ``L2_WEIGHT_BYTES`` so each stays in
    one core's cache for the whole time loop. With several threads, a small layer is split
    by batch group (one per thread) and a large one by neuron block (a multiple of the thread
    count, so workers get equal shares).
    """
    n_blocks = max(1, math.ceil(n_in * n_out * 4 / L2_WEIGHT_BYTES))
    n_groups = 1
    if n_threads > 1:
        if n_blocks < n_threads and batch >= n_threads:
            n_groups = n_threads
        else:
            n_blocks = math.ceil(n_blocks / n_threads) * n_threads
    n_blocks = max(1, min(n_blocks, math.ceil(n_out / BLOCK_ALIGN)))
    aligned = np.linspace(0, n_out / BLOCK_ALIGN, n_blocks + 1).round().astype(np.int64)
    block_edges = np.minimum(aligned * BLOCK_ALIGN, n_out)
    block_edges[-1] = n_out
    group_edges = np.linspace(0, batch, n_groups + 1).round().astype(np.int64)
    return block_edges, group_edges


def simulate_lif(
    x: np.ndarray,
    W: np.ndarray,
    params: LIFParameters,
    bias: np.ndarray | None = None,
    record_membrane: bool = True,
    n_threads: int = 1,
    state: LIFState | None = None,
) -> LIFResult:
    """Event-driven simulation of one layer driven by spike counts.

    x: ``(T, B, n_in)`` uint8 spike counts (a count c adds c times the weight row).
    W: ``(n_in, n_out)`` float32. bias: ``(n_out,)`` float32 added every step, or None.
    record_membrane: also return the membrane ``(T, B, n_out)`` (costs memory bandwidth).
    n_threads: worker threads (results do not depend on it). state: where to start (not
    modified), zeros when None.
    """
    _check_array("x", x, np.uint8, 3)
    return _simulate(x, W, params, bias, record_membrane, n_threads, state)


def simulate_lif_currents(
    currents: np.ndarray,
    W: np.ndarray,
    params: LIFParameters,
    bias: np.ndarray | None = None,
    record_membrane: bool = True,
    n_threads: int = 1,
    state: LIFState | None = None,
) -> LIFResult:
    """Like :func:`simulate_lif` with real-valued inputs ``currents`` ``(T, B, n_in)`` float32:
    the input current is ``currents[t, b] @ W`` (zero entries skipped)."""
    _check_array("currents", currents, np.float32, 3)
    return _simulate(currents, W, params, bias, record_membrane, n_threads, state)


def simulate_lif_network(
    x: np.ndarray,
    weights: Sequence[np.ndarray],
    params: LIFParameters | Sequence[LIFParameters],
    biases: Sequence[np.ndarray | None] | None = None,
    record_membrane: Sequence[int] = (),
    n_threads: int = 1,
    states: Sequence[LIFState] | None = None,
) -> LIFNetworkResult:
    """Feed-forward stack of LIF layers; layer ``l + 1`` sees layer ``l``'s spikes of the same
    step.

    x: ``(T, B, n_0)`` uint8 spike counts or float32 currents (drives the first layer).
    weights: ``W_l`` ``(n_l, n_{l+1})`` float32 per layer. params: one
    :class:`LIFParameters` for all layers or one per layer. biases: one per layer (None
    entries allowed) or None. record_membrane: indices of layers whose membrane to return.
    states: one :class:`LIFState` per layer to continue from, or None.
    """
    n_layers = len(weights)
    if n_layers == 0:
        raise ValueError("weights must hold at least one weight matrix")
    if isinstance(params, LIFParameters):
        params = [params] * n_layers
    biases = [None] * n_layers if biases is None else list(biases)
    states = [None] * n_layers if states is None else list(states)
    for name, seq in (("params", params), ("biases", biases), ("states", states)):
        if len(seq) != n_layers:
            raise ValueError(f"{name} must have one entry per layer ({n_layers}), got {len(seq)}")
    recorded = set(record_membrane)
    bad = sorted(
        i for i in recorded if not (isinstance(i, (int, np.integer)) and 0 <= i < n_layers)
    )
    if bad:
        raise ValueError(f"record_membrane holds layer indices outside 0..{n_layers - 1}: {bad}")
    if not (isinstance(x, np.ndarray) and x.dtype in (np.uint8, np.float32)):
        raise ValueError(
            f"x must be a uint8 (spike counts) or float32 (currents) array, got "
            f"{getattr(x, 'dtype', type(x).__name__)}"
        )
    result = LIFNetworkResult(spikes=[])
    layer_input = x
    for layer in range(n_layers):
        simulate = simulate_lif_currents if layer_input.dtype == np.float32 else simulate_lif
        out = simulate(
            layer_input,
            weights[layer],
            params[layer],
            biases[layer],
            record_membrane=layer in recorded,
            n_threads=n_threads,
            state=states[layer],
        )
        result.spikes.append(out.spikes)
        result.states.append(out.state)
        if out.membrane is not None:
            result.membranes[layer] = out.membrane
        layer_input = out.spikes
    return result


def _check_array(name, a, dtype, ndim):
    if not isinstance(a, np.ndarray):
        raise ValueError(f"{name} must be a numpy array, got {type(a).__name__}")  # noqa: TRY004
    if a.dtype != dtype or a.ndim != ndim:
        raise ValueError(
            f"{name} must be a {ndim}-d {np.dtype(dtype).name} array, got {a.ndim}-d {a.dtype}"
        )


def _simulate(x, W, params, bias, record_membrane, n_threads, state):
    if not isinstance(params, LIFParameters):
        raise ValueError(f"params must be LIFParameters, got {type(params).__name__}")  # noqa: TRY004
    n_steps, batch, n_in = x.shape
    _check_array("W", W, np.float32, 2)
    if W.shape[0] != n_in:
        raise ValueError(f"W must have shape (n_in={n_in}, n_out), got {W.shape}")
    n_out = W.shape[1]
    if bias is None:
        bias = np.zeros(n_out, dtype=np.float32)
    else:
        _check_array("bias", bias, np.float32, 1)
        if bias.shape != (n_out,):
            raise ValueError(f"bias must have shape (n_out={n_out},), got {bias.shape}")
    if state is None:
        state = LIFState.zeros(batch, n_out)
    else:
        for name, a, dtype in (
            ("state.membrane", state.membrane, np.float32),
            ("state.refractory_left", state.refractory_left, np.int32),
        ):
            _check_array(name, a, dtype, 2)
            if a.shape != (batch, n_out):
                raise ValueError(
                    f"{name} must have shape (B={batch}, n_out={n_out}), got {a.shape}"
                )
        state = LIFState(state.membrane.copy(), state.refractory_left.copy())
    max_threads = numba.config.NUMBA_NUM_THREADS
    if (
        isinstance(n_threads, bool)
        or not isinstance(n_threads, (int, np.integer))
        or not (1 <= n_threads <= max_threads)
    ):
        raise ValueError(f"n_threads must be an int in 1..{max_threads}, got {n_threads!r}")

    x = np.ascontiguousarray(x)
    W = np.ascontiguousarray(W)
    bias = np.ascontiguousarray(bias)
    spikes = np.empty((n_steps, batch, n_out), dtype=np.uint8)
    membrane = np.empty((n_steps, batch, n_out) if record_membrane else (0, 0, 0), np.float32)
    block_edges, group_edges = work_partition(n_in, n_out, batch, n_threads)
    model = (
        W,
        bias,
        np.float32(params.beta),
        np.float32(params.threshold),
        params.reset == "zero",
        int(params.refractory),
        state.membrane,
        state.refractory_left,
        spikes,
        membrane,
        bool(record_membrane),
        block_edges,
        group_edges,
    )
    if x.dtype == np.uint8:
        offsets, inputs, counts = _active_inputs(x, n_threads)
        if n_threads == 1:
            kernels.lif_events(offsets, inputs, counts, *model)
        else:
            _run_parallel(kernels.lif_events_parallel, (offsets, inputs, counts, *model), n_threads)
    elif n_threads == 1:
        kernels.lif_currents(x, *model)
    else:
        _run_parallel(kernels.lif_currents_parallel, (x, *model), n_threads)
    return LIFResult(spikes, membrane if record_membrane else None, state)


def _active_inputs(x, n_threads):
    """Active-input lists ``(offsets, inputs, counts)`` of spike counts ``x`` (see the kernel).

    One chunk of ``(t, b)`` rows per thread. Each chunk first gets room for a density of
    ``1 / GUESSED_SPARSITY`` so one pass over ``x`` usually suffices (chunks that overflow
    are counted exactly and scanned again); the gaps between chunks are then closed.
    """
    n_rows, n_in = x.shape[0] * x.shape[1], x.shape[2]
    row_edges = np.linspace(0, n_rows, n_threads + 1).round().astype(np.int64)
    room = np.diff(row_edges) * n_in // GUESSED_SPARSITY + 64
    offsets = np.empty(n_rows + 1, dtype=np.int64)
    fits = np.zeros(n_threads, dtype=np.bool_)
    while True:
        entry_stops = np.cumsum(room)
        entry_starts = entry_stops - room
        inputs = np.empty(entry_stops[-1], dtype=np.int32)
        counts = np.empty(entry_stops[-1], dtype=np.float32)
        args = (x, offsets, inputs, counts, row_edges, entry_starts, entry_stops, fits)
        if n_threads == 1:
            kernels.active_inputs(*args)
        else:
            _run_parallel(kernels.active_inputs_parallel, args, n_threads)
        if fits.all():
            return _close_gaps(offsets, inputs, counts, row_edges, entry_starts)
        rows = x.reshape(n_rows, n_in)
        room = np.array([np.count_nonzero(rows[a:b]) for a, b in pairwise(row_edges)])


def _close_gaps(offsets, inputs, counts, row_edges, entry_starts):
    """Move each chunk's entries down to follow the previous chunk's, so that row ``r`` owns
    ``offsets[r]:offsets[r + 1]`` across chunk boundaries too."""
    end = 0
    for c, start in enumerate(entry_starts):
        r0, r1 = row_edges[c], row_edges[c + 1]
        n = offsets[r1] - start if r1 > r0 else 0
        if start != end:
            inputs[end : end + n] = inputs[start : start + n]
            counts[end : end + n] = counts[start : start + n]
            offsets[r0 + 1 : r1 + 1] -= start - end
        end += n
    return offsets, inputs[:end], counts[:end]


def _run_parallel(kernel, args, n_threads):
    previous = numba.get_num_threads()
    numba.set_num_threads(n_threads)
    try:
        kernel(*args, n_threads)
    finally:
        numba.set_num_threads(previous)
