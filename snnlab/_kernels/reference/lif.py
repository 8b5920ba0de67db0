"""NumPy twin of :mod:`snnlab._kernels.lif`: the specification of the LIF layer, step by step.

Per step ``t``, batch element ``b`` and neuron ``j`` (``W`` is ``(n_in, n_out)``)::

    I[t, b, j] = sum_i x[t, b, i] * W[i, j]
    refractory neurons (r > 0): u held, no spike, r -= 1
    others: u = beta * u + I + bias;  s = u >= threshold;
            where s: u = 0 ("zero") or u - threshold ("subtract"), r = refractory
    spikes[t, b] = s;  membrane[t, b] = u (after the reset)
"""

import numpy as np


def lif_layer(x, W, bias, beta, threshold, reset_zero, refractory, u, r, dense=False):
    """Simulate one LIF layer; returns ``(spikes, membrane, u, r)``.

    x: ``(T, B, n_in)`` uint8 spike counts or float32 currents. W: ``(n_in, n_out)`` float32.
    bias: ``(n_out,)`` float32. u: ``(B, n_out)`` float32 and r: ``(B, n_out)`` int32, the
    initial state (not modified). spikes ``(T, B, n_out)`` uint8, membrane ``(T, B, n_out)``
    float32, and the final ``u``, ``r``.

    By default the input current of each batch element sums the weight rows of its active
    inputs, scaled by their values, in increasing input order (what the event-driven kernel
    does). ``dense=True`` computes ``x[t] @ W`` with one matrix product per step instead.
    """
    n_steps, n_batch, _ = x.shape
    n_out = W.shape[1]
    beta = np.float32(beta)
    threshold = np.float32(threshold)
    u = u.astype(np.float32, copy=True)
    r = r.astype(np.int32, copy=True)
    spikes = np.zeros((n_steps, n_batch, n_out), dtype=np.uint8)
    membrane = np.zeros((n_steps, n_batch, n_out), dtype=np.float32)
    current = np.zeros((n_batch, n_out), dtype=np.float32)
    for t in range(n_steps):
        if dense:
            current = x[t].astype(np.float32) @ W
        else:
            for b in range(n_batch):
                active = np.flatnonzero(x[t, b])
                rows = W[active] * x[t, b, active].astype(np.float32)[:, None]
                current[b] = rows.sum(axis=0, dtype=np.float32)
        held = r > 0
        v = beta * u + current + bias
        fire = ~held & (v >= threshold)
        if reset_zero:
            v = np.where(fire, np.float32(0.0), v)
        else:
            v = np.where(fire, v - threshold, v)
        u = np.where(held, u, v).astype(np.float32)
        r = np.where(held, r - 1, np.where(fire, refractory, 0)).astype(np.int32)
        spikes[t] = fire
        membrane[t] = u
    return spikes, membrane, u, r
