"""NumPy twin of :mod:`snnlab.learners.wp.kernels`, vectorised over units and points.

Same arguments, same outputs (``n_chunks`` and ``n_threads`` are accepted and ignored). Layer
currents are batched float64 matrix products rounded to float32, as the kernel's float64 sums
are, so spikes agree exactly.
"""

import numpy as np

from snnlab._kernels.reference.rng import uniform_streams


def draw_directions(state, out, rademacher):
    """Fill ``out`` ``(K, n)`` float32 from streams ``state`` ``(K,)`` (see the kernel)."""
    n = out.shape[1]
    if rademacher:
        for j in range(n):
            out[:, j] = np.where(uniform_streams(state) >= 0.5, 1.0, -1.0)
        return
    for j in range(0, n, 2):
        u1 = uniform_streams(state)
        u2 = uniform_streams(state)
        radius = np.sqrt(-2.0 * np.log(1.0 - u1))
        out[:, j] = radius * np.cos(2.0 * np.pi * u2)
        if j + 1 < n:
            out[:, j + 1] = radius * np.sin(2.0 * np.pi * u2)


def spiking_mlp_forward(
    points, theta, deltas, noise, noise_scale, sizes, offsets, encode_spikes, beta, threshold,
    reset_zero, beta_out, n_steps, out, activity, membrane, raster, record_point, n_chunks=1,
    n_threads=1,
):
    """Outputs of ``U`` parameter sets at ``M`` points into ``out`` ``(U, M, n_out)``."""
    n_units, n_points = deltas.shape[0], points.shape[0]
    n_layers = len(sizes) - 1
    w = theta[None, :] + deltas  # (U, P) float32
    weights, biases = [], []
    for l in range(n_layers):
        n_in, n_next = int(sizes[l]), int(sizes[l + 1])
        lo = int(offsets[l])
        weights.append(w[:, lo: lo + n_in * n_next].reshape(n_units, n_in, n_next)
                       .astype(np.float64))
        biases.append(w[:, lo + n_in * n_next: lo + (n_in + 1) * n_next].astype(np.float64))
    beta, threshold = np.float32(beta), np.float32(threshold)
    beta_out, noise_scale = np.float32(beta_out), np.float32(noise_scale)
    leak_out = np.float32(1.0) - beta_out
    noise_cols = np.concatenate([[0], np.cumsum(sizes[1:])])
    membranes = [np.zeros((n_units, n_points, int(sizes[l + 1])), np.float32)
                 for l in range(n_layers - 1)]
    readout = np.zeros((n_units, n_points, int(sizes[-1])), np.float32)
    acc = np.zeros((n_units, n_points, int(sizes[-1])), np.float64)
    phase = np.full((n_points, int(sizes[0])), 0.5)
    rates = np.clip(points.astype(np.float64), 0.0, 1.0)
    if activity.shape[0] and not encode_spikes:
        activity[:, : sizes[0]] = points
    act_cols = np.concatenate([[0], np.cumsum(sizes[:-1])])

    def layer_current(l, layer_in):
        # layer_in: (M, n_in) shared by all units, or (U, M, n_in)
        if layer_in.ndim == 2:
            layer_in = np.broadcast_to(layer_in, (n_units, *layer_in.shape))
        total = np.matmul(layer_in.astype(np.float64), weights[l]) + biases[l][:, None, :]
        current = total.astype(np.float32)
        if noise.shape[0]:
            current = current + noise_scale * noise[:, :, noise_cols[l]: noise_cols[l + 1]]
        return current

    current0 = None if encode_spikes else layer_current(0, points)
    for t in range(n_steps):
        if encode_spikes:
            phase[:, 0::2] += rates
            phase[:, 1::2] += 1.0 - rates
            layer_in = (phase >= 1.0).astype(np.float32)
            phase -= layer_in
            if activity.shape[0]:
                activity[:, : sizes[0]] += layer_in / n_steps
        for l in range(n_layers):
            current = current0 if (l == 0 and not encode_spikes) else layer_current(l, layer_in)
            if l < n_layers - 1:
                v = beta * membranes[l] + current
                fired = v >= threshold
                v = np.where(fired, np.float32(0.0) if reset_zero else v - threshold, v)
                membranes[l] = v.astype(np.float32)
                layer_in = fired.astype(np.float32)
                if activity.shape[0]:
                    lo = act_cols[l + 1]
                    activity[:, lo: lo + sizes[l + 1]] += layer_in[0] / n_steps
                if membrane.shape[0]:
                    h0 = int(np.sum(sizes[1: l + 1]))
                    membrane[t, h0: h0 + sizes[l + 1]] = membranes[l][0, record_point]
                    raster[t, h0: h0 + sizes[l + 1]] = fired[0, record_point]
            else:
                readout = beta_out * readout + leak_out * current
                acc += readout
    out[...] = (acc / n_steps).astype(np.float32)
