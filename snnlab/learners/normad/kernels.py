"""Weight-update kernels of NormAD (Anwani & Rajendran 2015, 2020) and ReSuMe (Ponulak 2010).

All arrays are time-first ``(T, B, n)`` float32 on the simulation grid; a spike or an error
instant at step ``n`` stands for a Dirac impulse at ``t_n``, so the integrals of the rules become
sums over steps. Update buffers ``dw`` ``(n_in, n_out)`` are float32 and accumulated in place.

- :func:`normalized_error_update`: ``dw_ij += scale * sum_{n,b} e_j[n,b] d̂_i[n,b] / ‖d̂[n,b]‖``
  (the NormAD update, for output errors or back-propagated hidden errors alike);
- :func:`backpropagate_errors`: errors at the spike instants of the layer below,
  ``e_h[n] = scale * s_h[n] * sum_o w_ho sum_{l >= 1} e_o[n + l] kernel[l]``;
- :func:`resume_update`: ``dw_ij += scale * sum_{n,b} e_j[n,b] (a + x_i[n,b])`` with the
  exponential presynaptic trace ``x_i[n] = decay x_i[n-1] + s_i[n]``.
"""

import math

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def normalized_error_update(d_hat, error, scale, dw):
    """``dw[i, j] += scale * sum_{n, b} error[n, b, j] d_hat[n, b, i] / ‖d_hat[n, b, :]‖``.

    d_hat: (T, B, n_in) float32 filtered input traces d̂ (mV per unit weight).
    error: (T, B, n_out) float32 error at each step (0 almost everywhere).
    scale: learning rate over batch size. dw: (n_in, n_out) float32, accumulated.
    Instants where ``d̂`` is zero (no input yet) carry no direction and are skipped.
    """
    n_steps, n_batch, n_in = d_hat.shape
    n_out = error.shape[2]
    for n in range(n_steps):
        for b in range(n_batch):
            active = False
            for j in range(n_out):
                if error[n, b, j] != 0.0:
                    active = True
                    break
            if not active:
                continue
            squared = 0.0
            for i in range(n_in):
                squared += np.float64(d_hat[n, b, i]) * d_hat[n, b, i]
            if squared <= 0.0:
                continue
            inverse_norm = 1.0 / math.sqrt(squared)
            for j in range(n_out):
                e = error[n, b, j]
                if e != 0.0:
                    factor = scale * e * inverse_norm
                    for i in range(n_in):
                        dw[i, j] += np.float32(factor * d_hat[n, b, i])


@njit(cache=True, nogil=True)
def backpropagate_errors(error_post, spikes_pre, weights, kernel, scale, error_pre):
    """Errors at the spike instants of the presynaptic layer (spatio-temporal backpropagation).

    ``error_pre[n, b, h] = scale * s_h[n, b] * sum_o w_ho sum_{l=1}^{L-1} error_post[n+l, b, o]
    kernel[l]``, i.e. the postsynaptic errors after each presynaptic spike, weighted by the
    kernel at the lag and carried back through the weights.

    error_post: (T, B, n_post) float32; spikes_pre: (T, B, n_pre) uint8;
    weights: (n_pre, n_post) float32; kernel: (L,) float64, ``kernel[l]`` at lag ``l`` steps;
    error_pre: (T, B, n_pre) float32, filled.
    """
    n_steps, n_batch, n_pre = spikes_pre.shape
    n_post = error_post.shape[2]
    n_lags = kernel.shape[0]
    # the post-synaptic error projected on each presynaptic neuron is needed only at error
    # instants, which are few: mark them once
    has_error = np.zeros((n_steps, n_batch), dtype=np.bool_)
    for m in range(n_steps):
        for b in range(n_batch):
            for o in range(n_post):
                if error_post[m, b, o] != 0.0:
                    has_error[m, b] = True
                    break
    for n in range(n_steps):
        for b in range(n_batch):
            for h in range(n_pre):
                error_pre[n, b, h] = 0.0
            last = min(n + n_lags, n_steps)
            for h in range(n_pre):
                if spikes_pre[n, b, h] == 0:
                    continue
                total = 0.0
                for m in range(n + 1, last):
                    if has_error[m, b]:
                        k = kernel[m - n]
                        for o in range(n_post):
                            total += k * weights[h, o] * error_post[m, b, o]
                error_pre[n, b, h] = np.float32(scale * spikes_pre[n, b, h] * total)


@njit(cache=True, nogil=True)
def resume_update(spikes_in, error, decay, nonhebbian, scale, trace, dw):
    """ReSuMe: ``dw[i, j] += scale * sum_{n, b} error[n, b, j] (nonhebbian + x_i[n, b])``.

    spikes_in: (T, B, n_in) uint8; error: (T, B, n_out) float32;
    decay: ``exp(-dt / tau_R)`` of the learning window ``W(s) = exp(-s / tau_R)``;
    nonhebbian: the constant ``a``; scale: learning rate over batch size;
    trace: (B, n_in) float32 presynaptic traces ``x_i`` (in/out; spikes of step ``n`` count
    at step ``n``); dw: (n_in, n_out) float32, accumulated.
    """
    n_steps, n_batch, n_in = spikes_in.shape
    n_out = error.shape[2]
    for n in range(n_steps):
        for b in range(n_batch):
            for i in range(n_in):
                trace[b, i] = np.float32(trace[b, i] * decay) + np.float32(spikes_in[n, b, i])
            for j in range(n_out):
                e = error[n, b, j]
                if e != 0.0:
                    factor = scale * e
                    for i in range(n_in):
                        dw[i, j] += np.float32(factor * (nonhebbian + trace[b, i]))
