"""Temporal basis functions for GLM / spike-response neurons (Pillow et al. 2008).

A synapse of the GLM neuron (:mod:`snnlab.learners.gem.network`) filters its presynaptic spike
train with ``n_basis`` kernels over a memory of ``memory`` steps and learns one weight per kernel.
Every function here returns kernels sampled at the lags ``tau = 1, ..., memory``: column ``d``
holds the value at lag ``d + 1``, so ``(a * s)_{t-1} = sum_d a[d] s_{t-1-d}``.

**Raised cosines (Pillow et al., Nature 454, 2008, supplementary methods).** Time is stretched
by ``g(tau) = log(tau + c)`` (``stretch="log"``) or left as it is (``g(tau) = tau``,
``stretch="linear"``). The bump centres ``phi_k`` are equally spaced in ``g`` from ``g(1)`` to
``g(memory)`` with spacing ``delta``, and

    a_k(tau) = 1/2 (1 + cos(clip(pi (g(tau) - phi_k) / (2 delta), -pi, pi)))

Each bump is non-zero over ``|g(tau) - phi_k| < 2 delta``; neighbours are shifted by a quarter
period, so away from the two ends the bumps sum to the constant 2 (no lag is favoured) and the
log stretch gives fine resolution at short lags and coarse at long ones. ``c`` (``log_offset``)
sets how strong the stretch is: large ``c`` tends to the linear spacing. Our default ``c = 1``
puts the first centre at lag 1 and the last at lag ``memory``. With a single bump the centre sits
at lag 1 and the bump falls to zero at lag ``memory``.
"""

from __future__ import annotations

import numpy as np

STRETCHES = ("log", "linear")


def _check_count(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def raised_cosine_basis(
    n_basis: int = 8, memory: int = 10, stretch: str = "log", log_offset: float = 1.0
) -> np.ndarray:
    """Raised-cosine bumps over lags ``1..memory``: float32 ``(n_basis, memory)``, peaks at 1.

    ``stretch`` is ``"log"`` (Pillow 2008) or ``"linear"``; ``log_offset`` is ``c`` in
    ``g(tau) = log(tau + c)`` (> 0; ignored for ``"linear"``). See the module docstring.
    """
    n_basis = _check_count("n_basis", n_basis, 1)
    memory = _check_count("memory", memory, 1)
    if stretch not in STRETCHES:
        raise ValueError(f"stretch must be one of {STRETCHES}, got {stretch!r}")
    if not (np.isfinite(log_offset) and log_offset > 0):
        raise ValueError(f"log_offset must be a finite number > 0, got {log_offset!r}")
    lags = np.arange(1, memory + 1, dtype=np.float64)
    warped = np.log(lags + log_offset) if stretch == "log" else lags
    first, last = warped[0], warped[-1]
    if n_basis == 1:
        centres = np.array([first])
        spacing = max(last - first, 1e-12) / 2.0
    else:
        centres = np.linspace(first, last, n_basis)
        spacing = max(last - first, 1e-12) / (n_basis - 1)
    phase = np.clip(np.pi * (warped[None, :] - centres[:, None]) / (2.0 * spacing), -np.pi, np.pi)
    return (0.5 * (1.0 + np.cos(phase))).astype(np.float32)


def exponential_kernel(memory: int = 10, tau: float = 2.0) -> np.ndarray:
    """``b(lag) = exp(-(lag - 1) / tau)`` over lags ``1..memory``: float32 ``(memory,)``.

    The default feedback (refractory) kernel: 1 one step after the neuron's own spike, decaying
    with time constant ``tau`` steps (> 0). Its learned weight sets the sign (negative:
    refractoriness, positive: bursting).
    """
    memory = _check_count("memory", memory, 1)
    if not (np.isfinite(tau) and tau > 0):
        raise ValueError(f"tau must be a finite number > 0 (steps), got {tau!r}")
    return np.exp(-np.arange(memory, dtype=np.float64) / tau).astype(np.float32)
