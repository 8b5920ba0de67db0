"""Leaky integrate-and-fire neuron in physical units with double-exponential synaptic currents.

Model (NormAD; Anwani & Rajendran 2015)::

    C dV/dt = -g_L (V - E_L) + I_syn(t),       tau_L = C / g_L
    I_syn(t) = sum_i w_i c_i(t),                c_i(t) = sum_k alpha(t - t_i^k)
    alpha(t) = I_0 (exp(-t/tau1) - exp(-t/tau2)) H(t),   tau1 > tau2

When V reaches V_T it is reset to E_L and held there for the refractory period t_ref.

Units: every kernel works in the consistent scaled system ms, mV, pF, nS, pA (pF * mV/ms = pA,
nS * mV = pA), so all state values are O(1..1e5) and float32 keeps full relative precision.

Integration is exact on the grid ``t_n = n dt`` for input spikes on grid times: the synaptic
current inside a step is a sum of two exponentials, so traces and membrane are propagated with
closed-form factors (exact integration, Rotter & Diesmann 1999). Because ``I_syn`` is linear in
the traces, the neuron kernel keeps the two trace components per *output* neuron, already
weighted: ``slow_j = sum_i w_ij a_i`` and ``fast_j = sum_i w_ij b_i``, where ``a_i`` and ``b_i``
are the tau1 and tau2 parts of ``c_i / I_0``. One step ``n`` does, in order:

1. propagate V from ``t_{n-1}`` to ``t_n``:
   ``V <- E_L + (V - E_L) exp(-dt/tau_L) + gain_slow * slow - gain_fast * fast``,
   or hold it at E_L while refractory, or integrate only the part of the step after the
   refractory period ends;
2. if ``V(t_n) >= V_T``: emit a spike at step ``n``, find the crossing time inside the step
   (:func:`crossing_time`) and reset; the hold lasts ``t_ref`` from the crossing, and if it
   ends before ``t_n`` V is integrated from E_L for the rest of the step. The grid thus delays
   reported spike times by less than one step but never delays later dynamics (resets on grid
   times would add up to a step of lag per spike in fast-firing neurons). A neuron fires at
   most once per step;
3. decay ``slow *= exp(-dt/tau1)``, ``fast *= exp(-dt/tau2)``;
4. add the input spikes of step ``n``: ``slow_j += s_i w_ij``, ``fast_j += s_i w_ij`` (they
   change V only after ``t_n``: alpha(0) = 0).

State arrays hold the state after the last processed step; a state at rest (V = E_L, traces 0,
refractory time left 0) is the state before step 0. Passing the final state of one call into
the next continues a simulation exactly.
"""

import math

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def exponential_convolution_weight(duration, tau_membrane, tau_synapse):
    """``int_0^r exp(-(r - s)/tau_membrane) exp(-s/tau_synapse) ds`` for ``r = duration`` (ms).

    Written ``exp(-r/tau_m) * r * expm1(x) / x`` with ``x = r (1/tau_m - 1/tau_s)``, which stays
    accurate when the two time constants meet.
    """
    x = duration * (1.0 / tau_membrane - 1.0 / tau_synapse)
    ratio = 1.0 if x == 0.0 else math.expm1(x) / x
    return math.exp(-duration / tau_membrane) * duration * ratio


@njit(cache=True, nogil=True)
def membrane_after(
    duration, v_start, slow_start, fast_start, rest, tau_membrane, tau1, tau2, drive_scale
):
    """V (mV) ``duration`` ms after a free start at ``v_start`` with weighted trace components
    ``slow_start``, ``fast_start``; ``drive_scale = I_0 / C`` (pA/pF). Closed form::

        E_L + (v_start - E_L) e^{-r/tau_L}
            + (I_0/C) [slow W(r, tau_L, tau1) - fast W(r, tau_L, tau2)]
    """
    return (
        rest
        + (v_start - rest) * math.exp(-duration / tau_membrane)
        + drive_scale
        * (
            slow_start * exponential_convolution_weight(duration, tau_membrane, tau1)
            - fast_start * exponential_convolution_weight(duration, tau_membrane, tau2)
        )
    )


NEWTON_ITERATIONS = 4  # from the chord estimate, enough for float64 precision on smooth V


@njit(cache=True, nogil=True)
def crossing_time(
    free,
    v_start,
    v_end,
    slow_start,
    fast_start,
    rest,
    threshold,
    tau_membrane,
    tau1,
    tau2,
    drive_scale,
):
    """Time (ms, in [0, free]) after a free start at which V reaches ``threshold``.

    V rises through the threshold once within a step at any sensible dt; the root is found
    from the chord between ``v_start`` and ``v_end = V(free)``, refined with Newton
    steps on the closed-form V (:func:`membrane_after`), its slope from the ODE
    ``dV/dt = -(V - E_L)/tau_L + (I_0/C)(slow e^{-u/tau1} - fast e^{-u/tau2})``.
    """
    if v_start >= threshold:
        return 0.0
    u = free * (threshold - v_start) / (v_end - v_start)
    for _ in range(NEWTON_ITERATIONS):
        v_u = membrane_after(
            u, v_start, slow_start, fast_start, rest, tau_membrane, tau1, tau2, drive_scale
        )
        slope = -(v_u - rest) / tau_membrane + drive_scale * (
            slow_start * math.exp(-u / tau1) - fast_start * math.exp(-u / tau2)
        )
        if slope > 0.0:
            u = min(max(u - (v_u - threshold) / slope, 0.0), free)
    return u


def first_order_hold_coefficients(dt: float, tau: float) -> tuple[float, float, float]:
    """Factors of ``d_{n+1} = p d_n + q_prev c_n + q_now c_{n+1}`` for ``d = c * exp(-t/tau)``.

    ``c`` is taken linear between grid samples (first-order hold), which is exact for linear
    pieces and O(dt^2) otherwise; ``c`` from double-exponential synapses is continuous, so the
    hold is accurate. ``q_prev = tau^2 (1 - p)/dt - tau p`` and
    ``q_now = tau (1 - p) - q_prev`` (both ms), ``p = exp(-dt/tau)``.
    """
    p = math.exp(-dt / tau)
    one_minus_p = -math.expm1(-dt / tau)
    q_prev = tau * tau * one_minus_p / dt - tau * p
    q_now = tau * one_minus_p - q_prev
    return p, q_prev, q_now


@njit(cache=True, nogil=True)
def physical_lif_forward(
    spikes_in,
    weights,
    dt,
    tau_membrane,
    tau1,
    tau2,
    drive_scale,
    rest,
    threshold,
    refractory_period,
    v,
    refractory_left,
    slow,
    fast,
    spikes_out,
    v_out,
):
    """Run one layer over ``T`` steps, filling outputs and advancing the state in place.

    spikes_in:       (T, B, n_in) uint8 spike counts per bin.
    weights:         (n_in, n_out) float32, dimensionless (current = w * c).
    dt, tau_membrane (C/g_L), tau1, tau2, refractory_period: ms; drive_scale = I_0 / C (pA/pF);
    rest, threshold: E_L and V_T (mV).
    v:               (B, n_out) float32 membrane (mV), in/out.
    refractory_left: (B, n_out) float32 refractory time still to run (ms), in/out.
    slow, fast:      (B, n_out) float32 weighted trace components (sum_i w_ij a_i, ...), in/out.
    spikes_out:      (T, B, n_out) uint8, filled.
    v_out:           (T, B, n_out) float32 membrane after threshold and reset, filled when
                     ``v_out.shape[0] > 0`` (pass a (0, B, n_out) array to skip recording).
    """
    n_steps, n_batch, n_in = spikes_in.shape
    n_out = weights.shape[1]
    record = v_out.shape[0] > 0
    decay_membrane = math.exp(-dt / tau_membrane)
    decay_slow = math.exp(-dt / tau1)
    decay_fast = math.exp(-dt / tau2)
    gain_slow = drive_scale * exponential_convolution_weight(dt, tau_membrane, tau1)
    gain_fast = drive_scale * exponential_convolution_weight(dt, tau_membrane, tau2)
    # time outermost: each step reads one contiguous (B, n_in) slab of the time-first input
    for n in range(n_steps):
        for b in range(n_batch):
            for j in range(n_out):
                spikes_out[n, b, j] = 0
                left = refractory_left[b, j]
                if left >= dt:
                    refractory_left[b, j] = left - dt
                    v[b, j] = rest
                else:
                    refractory_left[b, j] = 0.0
                    if left > 0.0:
                        # the hold ends inside this step: integrate from E_L after it ends
                        free = dt - left
                        slow_start = slow[b, j] * math.exp(-left / tau1)
                        fast_start = fast[b, j] * math.exp(-left / tau2)
                        v_start = rest
                        v_new = membrane_after(
                            free,
                            rest,
                            slow_start,
                            fast_start,
                            rest,
                            tau_membrane,
                            tau1,
                            tau2,
                            drive_scale,
                        )
                    else:
                        free = dt
                        slow_start = slow[b, j]
                        fast_start = fast[b, j]
                        v_start = v[b, j]
                        v_new = (
                            rest
                            + (v_start - rest) * decay_membrane
                            + gain_slow * slow_start
                            - gain_fast * fast_start
                        )
                    if v_new >= threshold:
                        spikes_out[n, b, j] = 1
                        cross = crossing_time(
                            free,
                            v_start,
                            v_new,
                            slow_start,
                            fast_start,
                            rest,
                            threshold,
                            tau_membrane,
                            tau1,
                            tau2,
                            drive_scale,
                        )
                        restart = cross + refractory_period  # when the hold ends
                        if restart >= free:
                            refractory_left[b, j] = restart - free
                            v_new = rest
                        else:
                            v_new = membrane_after(
                                free - restart,
                                rest,
                                slow_start * math.exp(-restart / tau1),
                                fast_start * math.exp(-restart / tau2),
                                rest,
                                tau_membrane,
                                tau1,
                                tau2,
                                drive_scale,
                            )
                    v[b, j] = v_new
                if record:
                    v_out[n, b, j] = v[b, j]
                slow[b, j] = slow[b, j] * decay_slow
                fast[b, j] = fast[b, j] * decay_fast
            for i in range(n_in):
                count = spikes_in[n, b, i]
                if count != 0:
                    c = np.float32(count)
                    for j in range(n_out):
                        w = c * weights[i, j]
                        slow[b, j] += w
                        fast[b, j] += w


@njit(cache=True, nogil=True)
def double_exponential_traces(spikes_in, amplitude, decay_slow, decay_fast, slow, fast, c_out):
    """Per-input synaptic traces ``c_i(t_n) = I_0 (a_i - b_i)`` on the grid (pA).

    spikes_in:  (T, B, n_in) uint8 spike counts per bin.
    amplitude:  I_0 (pA); decay_slow = exp(-dt/tau1), decay_fast = exp(-dt/tau2).
    slow, fast: (B, n_in) float32 unweighted components a_i, b_i, in/out.
    c_out:      (T, B, n_in) float32, filled; same step order as :func:`physical_lif_forward`
                (decay, then add the step's spikes, then read), so
                ``sum_i w_ij c_i(t_n) = I_0 (slow_j - fast_j)`` there.
    """
    n_steps, n_batch, n_in = spikes_in.shape
    for n in range(n_steps):
        for b in range(n_batch):
            for i in range(n_in):
                a = np.float32(slow[b, i] * decay_slow) + np.float32(spikes_in[n, b, i])
                f = np.float32(fast[b, i] * decay_fast) + np.float32(spikes_in[n, b, i])
                slow[b, i] = a
                fast[b, i] = f
                c_out[n, b, i] = amplitude * (a - f)


@njit(cache=True, nogil=True)
def filtered_traces(c, decay, q_prev, q_now, inverse_capacitance, d_out):
    """``d(t_n) = (c * h)(t_n)`` with ``h(t) = (1/C) exp(-t/tau) H(t)``, first-order hold.

    c:      (T, B, n) float32 traces (pA).
    decay, q_prev, q_now: from :func:`first_order_hold_coefficients` (ms for the q's).
    inverse_capacitance: 1/C (1/pF).
    d_out:  (T, B, n) float32 (mV per unit weight), filled; ``d_out[0] = 0`` (filter at rest
            at ``t_0``), then ``d_{n+1} = decay d_n + (q_prev c_n + q_now c_{n+1}) / C``.
    """
    n_steps, n_batch, n_in = c.shape
    a_prev = q_prev * inverse_capacitance
    a_now = q_now * inverse_capacitance
    for b in range(n_batch):
        for i in range(n_in):
            d_out[0, b, i] = 0.0
    for n in range(1, n_steps):
        for b in range(n_batch):
            for i in range(n_in):
                d_out[n, b, i] = (
                    d_out[n - 1, b, i] * decay + a_prev * c[n - 1, b, i] + a_now * c[n, b, i]
                )
