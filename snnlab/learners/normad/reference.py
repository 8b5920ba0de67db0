"""Vectorised NumPy twins of :mod:`snnlab.learners.normad.kernels` (same arguments, same
buffers)."""

import numpy as np


def normalized_error_update(d_hat, error, scale, dw):
    """Twin of the kernel of the same name."""
    norm = np.sqrt(np.sum(d_hat.astype(np.float64) ** 2, axis=2, keepdims=True))
    unit = np.divide(d_hat, norm, out=np.zeros(d_hat.shape), where=norm > 0)
    dw += (scale * np.einsum("tbi,tbj->ij", unit, error.astype(np.float64))).astype(np.float32)


def backpropagate_errors(error_post, spikes_pre, weights, kernel, scale, error_pre):
    """Twin of the kernel of the same name: one shifted product per lag."""
    n_steps = error_post.shape[0]
    projected = np.einsum("tbo,ho->tbh", error_post.astype(np.float64), weights.astype(np.float64))
    total = np.zeros(projected.shape)
    for lag in range(1, min(len(kernel), n_steps)):
        total[: n_steps - lag] += kernel[lag] * projected[lag:]
    error_pre[...] = (scale * spikes_pre * total).astype(np.float32)


def resume_update(spikes_in, error, decay, nonhebbian, scale, trace, dw):
    """Twin of the kernel of the same name."""
    traces = np.empty(spikes_in.shape, dtype=np.float32)
    for n in range(spikes_in.shape[0]):
        trace[...] = (trace.astype(np.float64) * decay).astype(np.float32) + spikes_in[n]
        traces[n] = trace
    dw += (scale * np.einsum("tbi,tbj->ij", nonhebbian + traces.astype(np.float64), error)).astype(
        np.float32
    )


def twin_backend():
    """These twins and the physical-LIF twins as a
    :class:`~snnlab.learners.normad.learner.Backend`, for the learner's functions that take one
    (the tests and the benchmark run the same NormAD steps on both)."""
    import sys

    from snnlab._kernels.reference import physical_lif
    from snnlab.learners.normad.learner import Backend

    return Backend(physical_lif, sys.modules[__name__])
