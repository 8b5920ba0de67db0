"""Spiking MLP evaluated for many perturbed parameter sets at once, and the perturbation draws.

Network (one evaluation = one parameter set ``theta_u`` at one input point ``x``, ``T`` steps):

- encoder: ``"current"`` feeds ``x`` ``(d,)`` as a constant input; ``"spikes"`` feeds ``2 d``
  deterministic integrate-and-fire channels with rates ``clip(x, 0, 1)`` and ``1 - clip(x, 0, 1)``
  (phase starts at 0.5; a channel spikes when its phase reaches 1, then subtracts 1);
- hidden layers ``l = 0 .. L-2``, current-based LIF (weights ``W_l`` ``(n_l, n_{l+1})``,
  bias ``b_l``)::

      I = a_l(t) @ W_l + b_l + noise_scale * xi_u[m, l]     (sum accumulated in float64)
      u = beta * u + I ;  s = u >= threshold ;  after a spike u = 0 or u - threshold

- readout (last layer), a non-spiking leaky integrator of the last hidden spikes::

      v = beta_out * v + (1 - beta_out) * (s @ W_out + b_out + noise_scale * xi_u[m, out])
      y = mean over t of v                                          (n_out,)

Parameters are one flat float32 vector ``theta`` ``(P,)``: for each layer ``W_l`` (row-major)
then ``b_l``. Unit ``u`` evaluates ``theta + deltas[u]``; ``xi`` (activity noise, optional) is
added to every neuron's input current, constant over time.

Work items are (unit, chunk of points), each running the whole time loop on its own, so
results do not depend on the thread count. The caller sets a parallel chunk size of one item:
workers then take items one at a time, and a worker that another process slows down does not
hold back the others (a static split stalled whenever the machine was shared).
"""

import math

import numpy as np
from numba import njit, prange

from snnlab._kernels.lif import lif_step
from snnlab._kernels.rng import next_uniform

TWO_PI = 2.0 * math.pi


@njit(cache=True, nogil=True)
def _gaussian_pair(state, k):
    """Two independent N(0, 1) draws from stream ``k`` (Box-Muller on two uniforms)."""
    u1 = next_uniform(state, k)
    u2 = next_uniform(state, k)
    radius = math.sqrt(-2.0 * math.log(1.0 - u1))
    return radius * math.cos(TWO_PI * u2), radius * math.sin(TWO_PI * u2)


@njit(cache=True, nogil=True)
def draw_directions(state, out, rademacher):
    """Fill ``out`` ``(K, n)`` float32: row ``k`` from stream ``state[k]`` (uint64 ``(K,)``).

    Rademacher: ``+1`` when a uniform is >= 0.5, else ``-1`` (one uniform per entry).
    Gaussian: N(0, 1) by Box-Muller, entries ``2j`` and ``2j + 1`` from one pair of uniforms.
    """
    n_dirs, n = out.shape
    for k in range(n_dirs):
        if rademacher:
            for j in range(n):
                out[k, j] = 1.0 if next_uniform(state, k) >= 0.5 else -1.0
        else:
            for j in range(0, n, 2):
                z1, z2 = _gaussian_pair(state, k)
                out[k, j] = z1
                if j + 1 < n:
                    out[k, j + 1] = z2


# The points of a work item are simulated side by side: every state array is
# (neurons, points) and the innermost loops run over points, so they vectorise. Sums of
# float32 weights are accumulated in float64 and rounded once, so their order (almost surely)
# does not change the float32 result and the NumPy twin may use matrix products.
@njit(cache=True, nogil=True)
def _synaptic_current(layer_in, n_prev, w, row0, n_next, current, out, n_pts):
    """``out[j, p]`` = float32(sum_i ``layer_in[i, p] W[i, j]`` + ``b[j]``), W at ``w[row0:]``."""
    bias = row0 + n_prev * n_next
    for j in range(n_next):
        for p in range(n_pts):
            current[j, p] = 0.0
    for i in range(n_prev):
        row = row0 + i * n_next
        for j in range(n_next):
            wij = np.float64(w[row + j])
            for p in range(n_pts):
                current[j, p] += layer_in[i, p] * wij
    for j in range(n_next):
        b = w[bias + j]
        for p in range(n_pts):
            out[j, p] = np.float32(current[j, p] + b)


@njit(cache=True, nogil=True)
def _lif_layer_step(mem, h0, io, n, beta, threshold, reset_zero, n_pts):
    """LIF update of neurons ``h0:h0+n`` by the engine's rule
    (:func:`snnlab._kernels.lif.lif_step`): ``io`` holds their currents in, their spikes out."""
    no_bias = np.float32(0.0)  # the currents already hold the bias
    for j in range(n):
        for p in range(n_pts):
            v, fired = lif_step(mem[h0 + j, p], io[j, p], no_bias, beta, threshold, reset_zero)
            mem[h0 + j, p] = v
            io[j, p] = np.float32(1.0) if fired else np.float32(0.0)


@njit(cache=True, nogil=True)
def _evaluate_item(
    points, theta, deltas, noise, noise_scale, sizes, offsets, encode_spikes, beta, threshold,
    reset_zero, beta_out, n_steps, out, activity, membrane, raster, record_point, u, m_lo, m_hi,
):
    n_layers = sizes.shape[0] - 1
    n_params = theta.shape[0]
    n_pts = m_hi - m_lo
    w = np.empty(n_params, dtype=np.float32)
    for p in range(n_params):
        w[p] = theta[p] + deltas[u, p]
    n_in0 = sizes[0]
    n_hidden = 0
    for l in range(1, n_layers):
        n_hidden += sizes[l]
    max_width = 0
    for l in range(n_layers + 1):
        max_width = max(max_width, sizes[l])
    n_out = sizes[n_layers]
    has_noise = noise.shape[0] > 0
    record_activity = activity.shape[0] > 0 and u == 0
    p_rec = record_point - m_lo
    record_trace = membrane.shape[0] > 0 and u == 0 and 0 <= p_rec < n_pts
    d = points.shape[1]
    mem = np.zeros((n_hidden, n_pts), dtype=np.float32)
    readout = np.zeros((n_out, n_pts), dtype=np.float32)
    acc = np.zeros((n_out, n_pts), dtype=np.float64)
    buf_a = np.zeros((max_width, n_pts), dtype=np.float32)
    buf_b = np.zeros((max_width, n_pts), dtype=np.float32)
    current = np.empty((max_width, n_pts), dtype=np.float64)
    current0 = np.empty((sizes[1], n_pts), dtype=np.float32)
    phase = np.full((n_in0, n_pts), 0.5)
    leak_out = np.float32(1.0) - beta_out
    x = np.empty((n_in0, n_pts), dtype=np.float32)
    for p in range(n_pts):
        for i in range(d):
            x[i, p] = points[m_lo + p, i]
    if not encode_spikes:
        # constant input: the first layer's current is the same every step (x w is exact
        # in float64)
        _synaptic_current(x, n_in0, w, offsets[0], sizes[1], current, current0, n_pts)
        if record_activity:
            for p in range(n_pts):
                for i in range(n_in0):
                    activity[m_lo + p, i] = x[i, p]
    for t in range(n_steps):
        layer_in = buf_a
        io = buf_b
        n_prev = n_in0
        if encode_spikes:
            for c in range(d):
                for p in range(n_pts):
                    r = min(max(np.float64(x[c, p]), 0.0), 1.0)
                    for side in range(2):
                        i = 2 * c + side
                        phase[i, p] += r if side == 0 else 1.0 - r
                        fired = phase[i, p] >= 1.0
                        if fired:
                            phase[i, p] -= 1.0
                        layer_in[i, p] = 1.0 if fired else 0.0
            if record_activity:
                for p in range(n_pts):
                    for i in range(n_in0):
                        activity[m_lo + p, i] += layer_in[i, p] / n_steps
        act_col = n_in0
        h0 = 0
        noise_col = 0
        for l in range(n_layers):
            n_next = sizes[l + 1]
            if l == 0 and not encode_spikes:
                for j in range(n_next):
                    for p in range(n_pts):
                        io[j, p] = current0[j, p]
            else:
                _synaptic_current(layer_in, n_prev, w, offsets[l], n_next, current, io, n_pts)
            if has_noise:
                for p in range(n_pts):
                    for j in range(n_next):
                        io[j, p] = io[j, p] + noise_scale * noise[u, m_lo + p, noise_col + j]
            noise_col += n_next
            if l < n_layers - 1:
                _lif_layer_step(mem, h0, io, n_next, beta, threshold, reset_zero, n_pts)
                if record_trace:
                    for j in range(n_next):
                        membrane[t, h0 + j] = mem[h0 + j, p_rec]
                        raster[t, h0 + j] = 1 if io[j, p_rec] != 0.0 else 0
                if record_activity:
                    for p in range(n_pts):
                        for j in range(n_next):
                            activity[m_lo + p, act_col + j] += io[j, p] / n_steps
                act_col += n_next
                h0 += n_next
                n_prev = n_next
                layer_in, io = io, layer_in
            else:
                for j in range(n_next):
                    for p in range(n_pts):
                        readout[j, p] = beta_out * readout[j, p] + leak_out * io[j, p]
                        acc[j, p] += readout[j, p]
    for p in range(n_pts):
        for j in range(n_out):
            out[u, m_lo + p, j] = np.float32(acc[j, p] / n_steps)


@njit(cache=True, nogil=True, parallel=True)
def spiking_mlp_forward(
    points, theta, deltas, noise, noise_scale, sizes, offsets, encode_spikes, beta, threshold,
    reset_zero, beta_out, n_steps, out, activity, membrane, raster, record_point, n_chunks,
    n_threads,
):
    """Outputs of ``U`` parameter sets at ``M`` points, written to ``out`` ``(U, M, n_out)``.

    points: ``(M, d)`` float32. theta: ``(P,)`` float32. deltas: ``(U, P)`` float32.
    noise: ``(U, M, N_act)`` float32 activity noise (``N_act`` = all hidden + readout neurons,
    layer after layer) or shape ``(0, 0, 0)``. sizes: ``(L + 1,)`` int64 widths, encoder first.
    offsets: ``(L,)`` int64 start of each layer's ``W_l`` in ``theta``.
    activity: ``(M, sum of layer input widths)`` float32, zeroed by the caller, receives the
    time-mean input of every layer for unit 0 (or shape ``(0, 0)``).
    membrane ``(T, H)`` float32 / raster ``(T, H)`` uint8: hidden traces of unit 0 at point
    ``record_point`` (or shape ``(0, 0)``). n_chunks: point chunks per unit (work items are
    ``U * n_chunks``). n_threads: workers (the caller also sets Numba's thread count).
    """
    n_units = deltas.shape[0]
    n_points = points.shape[0]
    n_items = n_units * n_chunks
    for item in prange(n_items):
        u = item // n_chunks
        c = item % n_chunks
        m_lo = (n_points * c) // n_chunks
        m_hi = (n_points * (c + 1)) // n_chunks
        _evaluate_item(
            points, theta, deltas, noise, noise_scale, sizes, offsets, encode_spikes, beta,
            threshold, reset_zero, beta_out, n_steps, out, activity, membrane, raster,
            record_point, u, m_lo, m_hi,
        )
