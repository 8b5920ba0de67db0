"""Current-based discrete-time LIF layer: event-driven and dense-current kernels.

One layer of ``n_out`` neurons driven by ``n_in`` inputs through ``W`` (``(n_in, n_out)``
float32), for a batch of ``B`` independent trials over ``T`` steps. Per step ``t``, batch
element ``b`` and neuron ``j``::

    I[t, b, j] = sum_i x[t, b, i] * W[i, j]
    if r[b, j] > 0:           u held, no spike, r -= 1      (refractory)
    else:
        u = beta * u + I[t, b, j] + bias[j]
        s = u >= threshold
        if s: u = 0 (reset "zero") or u - threshold (reset "subtract"); r = refractory
    spikes[t, b, j] = s;  membrane[t, b, j] = u             (u after the reset)

``u`` (``(B, n_out)`` float32) and ``r`` (``(B, n_out)`` int32, refractory steps left) are
the state: they are read at the start and hold the final state at the end, so a simulation
can continue in chunks.

Work is split into units = (block of neurons, group of batch elements), each running the
whole time loop on its own (no synchronisation per step). Neuron blocks are sized so a
block of weights stays in one core's L2 cache; the parallel kernels hand contiguous runs of
units to ``n_threads`` workers.

Spike-count inputs are first turned into per-``(t, b)`` lists of active inputs
(:func:`active_inputs`), shared by all units, so the
event-driven kernels only touch the weight rows of inputs that spiked.
"""

import numpy as np
from numba import njit, prange

WORD_BYTES = 8
WORDS_PER_CHUNK = 4096  # non-zero word indices of one chunk stay in L1
ONE = np.uint64(1)
LOW7 = np.uint64(0x7F7F7F7F7F7F7F7F)
HIGH = np.uint64(0x8080808080808080)
DEBRUIJN = np.uint64(0x03F79D71B4CB0A89)
S58 = np.uint64(58)


# The per-step loops slice weight rows and state rows; with reference counting every view
# costs atomic increments that took ~15 % of the run. These helpers allocate nothing, so they
# are compiled without the runtime's reference counting (the callers own all arrays).
HOT_LOOP = {"cache": True, "nogil": True, "_nrt": False}


def _byte_of_bit_table():
    """Byte index (0..7) of a single set bit, looked up by its de Bruijn hash."""
    table = np.zeros(64, dtype=np.int64)
    for bit in range(64):
        single = np.uint64(1 << bit)
        with np.errstate(over="ignore"):
            table[(single * DEBRUIJN) >> S58] = bit // 8
    return table


BYTE_OF_BIT = _byte_of_bit_table()


@njit(cache=True, nogil=True)
def _scan_rows(rows, row_ends, inputs, counts, e_start, e_stop):
    """Active inputs of ``rows`` ``(n_rows, n_in)`` uint8, written to entries ``e_start:e_stop``.

    row_ends: ``(n_rows,)`` int64, written with the entry index one past each row's last entry.
    Returns False (and stops) when the entries do not fit before ``e_stop``.

    Inputs are sparse, so the scan reads 8 bytes at a time. A first branch-free pass over a
    chunk of words lists the non-zero ones (a branch per word mispredicts too often at 2 %
    density); a second pass picks the non-zero bytes of those words.
    """
    n_rows, n_in = rows.shape
    flat = rows.reshape(rows.size)
    n_words = flat.size // WORD_BYTES
    words = flat[: n_words * WORD_BYTES].view(np.uint64)
    nonzero_words = np.empty(WORDS_PER_CHUNK, dtype=np.int64)
    e = e_start
    row = 0
    row_start = 0
    row_end = n_in
    for chunk_start in range(0, n_words + 1, WORDS_PER_CHUNK):
        chunk_end = min(chunk_start + WORDS_PER_CHUNK, n_words)
        last_chunk = chunk_start + WORDS_PER_CHUNK > n_words
        n_nonzero = 0
        for w in range(chunk_start, chunk_end):
            nonzero_words[n_nonzero] = w
            n_nonzero += words[w] != 0
        for q in range(n_nonzero + 1):
            if q < n_nonzero:
                w = nonzero_words[q]
                base = w * WORD_BYTES
                # High bit of each byte set where that byte is non-zero.
                mask = (((words[w] & LOW7) + LOW7) | words[w]) & HIGH
            elif last_chunk:
                # Bytes after the last whole word, packed into a mask the same way.
                base = n_words * WORD_BYTES
                mask = np.uint64(0)
                for p in range(base, flat.size):
                    if flat[p] != 0:
                        mask |= np.uint64(0x80) << np.uint64(8 * (p - base))
            else:
                break
            while mask != 0:
                low = mask & (~mask + ONE)
                p = base + BYTE_OF_BIT[(low * DEBRUIJN) >> S58]
                while p >= row_end:
                    row_ends[row] = e
                    row += 1
                    row_start = row_end
                    row_end += n_in
                if e == e_stop:
                    return False
                inputs[e] = p - row_start
                counts[e] = flat[p]
                e += 1
                mask ^= low
    while row < n_rows:
        row_ends[row] = e
        row += 1
    return True


@njit(cache=True, nogil=True)
def _scan_chunk(rows, offsets, inputs, counts, row_edges, entry_starts, entry_stops, c):
    r0 = row_edges[c]
    r1 = row_edges[c + 1]
    return _scan_rows(
        rows[r0:r1], offsets[r0 + 1 : r1 + 1], inputs, counts, entry_starts[c], entry_stops[c]
    )


@njit(cache=True, nogil=True)
def active_inputs(x, offsets, inputs, counts, row_edges, entry_starts, entry_stops, fits):
    """Lists of active inputs per ``(t, b)`` row, in increasing input order.

    x: ``(T, B, n_in)`` uint8 spike counts, C-contiguous; its ``(t, b)`` rows are scanned in
        chunks ``row_edges[c]:row_edges[c + 1]`` (``row_edges`` ``(n_chunks + 1,)`` int64).
    offsets: ``(T * B + 1,)`` int64, written: row ``t * B + b`` owns entries
        ``offsets[row]:offsets[row + 1]`` of ``inputs`` (int32 input indices) and ``counts``
        (float32 spike counts), both written.
    entry_starts, entry_stops: ``(n_chunks,)`` int64, the entries chunk ``c`` may fill, so
        chunks can be scanned at once with room from a guess. Row ``r0 = row_edges[c]``
        then starts at ``entry_starts[c]``, not at ``offsets[r0]``, until the caller moves
        the entries to close the gaps between chunks.
    fits: ``(n_chunks,)`` bool, written: whether each chunk's entries fitted; a chunk that did
        not fit must be scanned again with more room.
    """
    rows = x.reshape(x.shape[0] * x.shape[1], x.shape[2])
    offsets[0] = 0
    for c in range(row_edges.size - 1):
        fits[c] = _scan_chunk(
            rows, offsets, inputs, counts, row_edges, entry_starts, entry_stops, c
        )


@njit(cache=True, nogil=True, parallel=True)
def active_inputs_parallel(
    x, offsets, inputs, counts, row_edges, entry_starts, entry_stops, fits, n_threads
):
    """:func:`active_inputs` with ``n_threads`` chunks, chunk ``c`` scanned by worker ``c``."""
    rows = x.reshape(x.shape[0] * x.shape[1], x.shape[2])
    offsets[0] = 0
    for c in prange(n_threads):
        fits[c] = _scan_chunk(
            rows, offsets, inputs, counts, row_edges, entry_starts, entry_stops, c
        )


@njit(**HOT_LOOP)
def _add_row(acc, w_row, c):
    """acc += c * w_row (all ``(n,)``); the common count 1 skips the multiply."""
    n = acc.shape[0]
    if c == 1.0:
        for k in range(n):
            acc[k] += w_row[k]
    else:
        for k in range(n):
            acc[k] += c * w_row[k]


@njit(**HOT_LOOP)
def _all_single(counts, e0, e1):
    """Whether every count in ``counts[e0:e1]`` is 1."""
    for e in range(e0, e1):
        if counts[e] != 1.0:
            return False
    return True


@njit(**HOT_LOOP)
def _add_active_rows(acc, W, inputs, counts, e0, e1, lo, hi):
    """acc += sum over entries e in [e0, e1) of counts[e] * W[inputs[e], lo:hi].

    Rows are added in groups, eight single spikes ``acc += ((w1 + w2) + (w3 + w4)) + (...)``
    while they last, then four ``acc += (c1 w1 + c2 w2) + (c3 w3 + c4 w4)``, so the
    accumulator is read and written once per group rather than once per row (the loop is
    bound by loads). This matches a sum in input order to float32 rounding.
    """
    n = hi - lo
    e = e0
    while e + 8 <= e1 and _all_single(counts, e, e + 8):
        w1 = W[inputs[e], lo:hi]
        w2 = W[inputs[e + 1], lo:hi]
        w3 = W[inputs[e + 2], lo:hi]
        w4 = W[inputs[e + 3], lo:hi]
        w5 = W[inputs[e + 4], lo:hi]
        w6 = W[inputs[e + 5], lo:hi]
        w7 = W[inputs[e + 6], lo:hi]
        w8 = W[inputs[e + 7], lo:hi]
        for k in range(n):
            acc[k] += ((w1[k] + w2[k]) + (w3[k] + w4[k])) + ((w5[k] + w6[k]) + (w7[k] + w8[k]))
        e += 8
    while e + 4 <= e1:
        w1 = W[inputs[e], lo:hi]
        w2 = W[inputs[e + 1], lo:hi]
        w3 = W[inputs[e + 2], lo:hi]
        w4 = W[inputs[e + 3], lo:hi]
        c1, c2, c3, c4 = counts[e], counts[e + 1], counts[e + 2], counts[e + 3]
        if _all_single(counts, e, e + 4):
            # Single spikes, the common case: half the arithmetic.
            for k in range(n):
                acc[k] += (w1[k] + w2[k]) + (w3[k] + w4[k])
        else:
            for k in range(n):
                acc[k] += (c1 * w1[k] + c2 * w2[k]) + (c3 * w3[k] + c4 * w4[k])
        e += 4
    while e < e1:
        _add_row(acc, W[inputs[e], lo:hi], counts[e])
        e += 1


@njit(cache=True, nogil=True)
def lif_step(u, current, bias, beta, threshold, reset_zero):
    """One step of one current-based LIF neuron, the rule every LIF network in snnlab follows
    (the engine's layers here and WP's spiking MLP): ``v = beta u + current + bias``; the neuron
    fires when ``v >= threshold`` and is then reset to 0 (``reset_zero``) or by subtracting the
    threshold. Returns ``(v after the reset, fired)``.

    Written without branches on the spike (conditional values only), so loops that call it over
    neurons still vectorise once it is inlined.
    """
    v = beta * u + current + bias
    fired = v >= threshold
    if reset_zero:
        v = np.float32(0.0) if fired else v
    else:
        v = v - threshold if fired else v
    return v, fired


@njit(**HOT_LOOP)
def _update_neurons(acc, bias, u, r, s, beta, threshold, reset_zero, refractory):
    """Advance one step for one block of one batch element; clears ``acc`` for the next step.

    acc, bias, u: ``(n,)`` float32; r: ``(n,)`` int32; s: ``(n,)`` uint8 (written).
    """
    n = acc.shape[0]
    if refractory == 0:
        for k in range(n):
            v, fired = lif_step(u[k], acc[k], bias[k], beta, threshold, reset_zero)
            u[k] = v
            s[k] = fired
            acc[k] = 0.0
    else:
        for k in range(n):
            if r[k] > 0:
                r[k] -= 1
                s[k] = 0
            else:
                v, fired = lif_step(u[k], acc[k], bias[k], beta, threshold, reset_zero)
                if fired:
                    r[k] = refractory
                s[k] = fired
                u[k] = v
            acc[k] = 0.0


@njit(**HOT_LOOP)
def _events_unit(
    offsets,
    inputs,
    counts,
    W,
    bias,
    beta,
    threshold,
    reset_zero,
    refractory,
    u,
    r,
    spikes,
    membrane,
    record,
    lo,
    hi,
    b0,
    b1,
    scratch,
):
    """Neurons ``lo:hi`` of batch elements ``b0:b1`` over all steps (see module docstring).

    scratch: float32 array of at least ``hi - lo`` zeros, left zero on return.
    """
    n_steps = spikes.shape[0]
    n_batch = spikes.shape[1]
    acc = scratch[: hi - lo]
    bias_blk = bias[lo:hi]
    for t in range(n_steps):
        for b in range(b0, b1):
            row = t * n_batch + b
            _add_active_rows(acc, W, inputs, counts, offsets[row], offsets[row + 1], lo, hi)
            u_blk = u[b, lo:hi]
            _update_neurons(
                acc,
                bias_blk,
                u_blk,
                r[b, lo:hi],
                spikes[t, b, lo:hi],
                beta,
                threshold,
                reset_zero,
                refractory,
            )
            if record:
                recorded = membrane[t, b, lo:hi]
                for k in range(hi - lo):
                    recorded[k] = u_blk[k]


@njit(**HOT_LOOP)
def _currents_unit(
    x,
    W,
    bias,
    beta,
    threshold,
    reset_zero,
    refractory,
    u,
    r,
    spikes,
    membrane,
    record,
    lo,
    hi,
    b0,
    b1,
    scratch,
):
    """Like :func:`_events_unit` with real-valued inputs ``x`` ``(T, B, n_in)`` float32."""
    n_steps = spikes.shape[0]
    n_in = x.shape[2]
    acc = scratch[: hi - lo]
    bias_blk = bias[lo:hi]
    for t in range(n_steps):
        for b in range(b0, b1):
            x_tb = x[t, b]
            for i in range(n_in):
                c = x_tb[i]
                if c != 0.0:
                    _add_row(acc, W[i, lo:hi], c)
            u_blk = u[b, lo:hi]
            _update_neurons(
                acc,
                bias_blk,
                u_blk,
                r[b, lo:hi],
                spikes[t, b, lo:hi],
                beta,
                threshold,
                reset_zero,
                refractory,
            )
            if record:
                recorded = membrane[t, b, lo:hi]
                for k in range(hi - lo):
                    recorded[k] = u_blk[k]


@njit(cache=True, nogil=True)
def lif_events(
    offsets,
    inputs,
    counts,
    W,
    bias,
    beta,
    threshold,
    reset_zero,
    refractory,
    u,
    r,
    spikes,
    membrane,
    record,
    block_edges,
    batch_edges,
):
    """Event-driven LIF layer on one thread.

    offsets, inputs, counts: active-input lists from :func:`active_inputs`.
    W: ``(n_in, n_out)`` float32 C-contiguous; bias: ``(n_out,)`` float32.
    beta, threshold: float32; reset_zero: bool; refractory: int.
    u: ``(B, n_out)`` float32 and r: ``(B, n_out)`` int32, state read and updated in place.
    spikes: ``(T, B, n_out)`` uint8, written. membrane: ``(T, B, n_out)`` float32, written
        when ``record`` (may be ``(0, 0, 0)`` otherwise).
    block_edges: ``(n_blocks + 1,)`` int64 neuron block boundaries;
    batch_edges: ``(n_groups + 1,)`` int64 batch group boundaries.
    """
    scratch = np.zeros(u.shape[1], dtype=np.float32)
    for j in range(block_edges.size - 1):
        for g in range(batch_edges.size - 1):
            _events_unit(
                offsets,
                inputs,
                counts,
                W,
                bias,
                beta,
                threshold,
                reset_zero,
                refractory,
                u,
                r,
                spikes,
                membrane,
                record,
                block_edges[j],
                block_edges[j + 1],
                batch_edges[g],
                batch_edges[g + 1],
                scratch,
            )


@njit(cache=True, nogil=True, parallel=True)
def lif_events_parallel(
    offsets,
    inputs,
    counts,
    W,
    bias,
    beta,
    threshold,
    reset_zero,
    refractory,
    u,
    r,
    spikes,
    membrane,
    record,
    block_edges,
    batch_edges,
    n_threads,
):
    """:func:`lif_events` with the units shared among ``n_threads`` workers.

    Worker ``w`` runs units ``[w * n_units // n_threads, (w + 1) * n_units // n_threads)``
    (unit = block-major pair of neuron block and batch group), each with its own time loop.
    Results are identical to :func:`lif_events` for any ``n_threads``.
    """
    n_groups = batch_edges.size - 1
    n_units = (block_edges.size - 1) * n_groups
    # One accumulator per worker, allocated here: numba hoists an allocation inside prange
    # out of the loop, which would make the workers share it.
    scratches = np.zeros((n_threads, u.shape[1]), dtype=np.float32)
    for w in prange(n_threads):
        scratch = scratches[w]
        for unit in range(w * n_units // n_threads, (w + 1) * n_units // n_threads):
            j = unit // n_groups
            g = unit % n_groups
            _events_unit(
                offsets,
                inputs,
                counts,
                W,
                bias,
                beta,
                threshold,
                reset_zero,
                refractory,
                u,
                r,
                spikes,
                membrane,
                record,
                block_edges[j],
                block_edges[j + 1],
                batch_edges[g],
                batch_edges[g + 1],
                scratch,
            )


@njit(cache=True, nogil=True)
def lif_currents(
    x,
    W,
    bias,
    beta,
    threshold,
    reset_zero,
    refractory,
    u,
    r,
    spikes,
    membrane,
    record,
    block_edges,
    batch_edges,
):
    """LIF layer driven by real-valued inputs ``x`` ``(T, B, n_in)`` float32, one thread.

    Same arguments and state as :func:`lif_events`, with ``x`` in place of the active lists;
    ``I[t, b] = x[t, b] @ W`` summed in increasing input order (exact zeros skipped).
    """
    scratch = np.zeros(u.shape[1], dtype=np.float32)
    for j in range(block_edges.size - 1):
        for g in range(batch_edges.size - 1):
            _currents_unit(
                x,
                W,
                bias,
                beta,
                threshold,
                reset_zero,
                refractory,
                u,
                r,
                spikes,
                membrane,
                record,
                block_edges[j],
                block_edges[j + 1],
                batch_edges[g],
                batch_edges[g + 1],
                scratch,
            )


@njit(cache=True, nogil=True, parallel=True)
def lif_currents_parallel(
    x,
    W,
    bias,
    beta,
    threshold,
    reset_zero,
    refractory,
    u,
    r,
    spikes,
    membrane,
    record,
    block_edges,
    batch_edges,
    n_threads,
):
    """:func:`lif_currents` with units shared among ``n_threads`` workers."""
    n_groups = batch_edges.size - 1
    n_units = (block_edges.size - 1) * n_groups
    # One accumulator per worker, allocated here: numba hoists an allocation inside prange
    # out of the loop, which would make the workers share it.
    scratches = np.zeros((n_threads, u.shape[1]), dtype=np.float32)
    for w in prange(n_threads):
        scratch = scratches[w]
        for unit in range(w * n_units // n_threads, (w + 1) * n_units // n_threads):
            j = unit // n_groups
            g = unit % n_groups
            _currents_unit(
                x,
                W,
                bias,
                beta,
                threshold,
                reset_zero,
                refractory,
                u,
                r,
                spikes,
                membrane,
                record,
                block_edges[j],
                block_edges[j + 1],
                batch_edges[g],
                batch_edges[g + 1],
                scratch,
            )
