"""NumPy twins of :mod:`snnlab._kernels.physical_lif` (same step, same rounding points).

Arithmetic mirrors the kernels: float32 state, float64 for products with the float64 step
factors, rounded back to float32 where the kernel stores.
"""

import math

import numpy as np


def _convolution_weight(duration, tau_membrane, tau_synapse):
    """int_0^r exp(-(r - s)/tau_membrane) exp(-s/tau_synapse) ds, by the closed form."""
    rate = 1.0 / tau_membrane - 1.0 / tau_synapse
    if rate == 0.0:
        return duration * math.exp(-duration / tau_membrane)
    return (math.exp(-duration / tau_synapse) - math.exp(-duration / tau_membrane)) / rate


def _membrane_after(duration, v_start, slow_start, fast_start, c):
    """Closed-form V after ``duration`` from a free start; ``c`` holds the constants."""
    return (
        c["rest"]
        + (v_start - c["rest"]) * math.exp(-duration / c["tau_membrane"])
        + c["drive_scale"]
        * (
            slow_start * _convolution_weight(duration, c["tau_membrane"], c["tau1"])
            - fast_start * _convolution_weight(duration, c["tau_membrane"], c["tau2"])
        )
    )


def _crossing_time(free, v_start, v_end, slow_start, fast_start, c):
    """Chord estimate refined by four Newton steps, clipped to [0, free]."""
    if v_start >= c["threshold"]:
        return 0.0
    u = free * (c["threshold"] - v_start) / (v_end - v_start)
    for _ in range(4):
        v_u = _membrane_after(u, v_start, slow_start, fast_start, c)
        slope = -(v_u - c["rest"]) / c["tau_membrane"] + c["drive_scale"] * (
            slow_start * math.exp(-u / c["tau1"]) - fast_start * math.exp(-u / c["tau2"])
        )
        if slope > 0.0:
            u = min(max(u - (v_u - c["threshold"]) / slope, 0.0), free)
    return u


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
    """Twin of the kernel of the same name: vectorised over batch and output neurons for the
    plain step, Python loops for the few neurons that leave a hold or fire in a step."""
    c = {
        "rest": rest,
        "threshold": threshold,
        "tau_membrane": tau_membrane,
        "tau1": tau1,
        "tau2": tau2,
        "drive_scale": drive_scale,
    }
    record = v_out.shape[0] > 0
    decay_membrane = math.exp(-dt / tau_membrane)
    gain_slow = drive_scale * _convolution_weight(dt, tau_membrane, tau1)
    gain_fast = drive_scale * _convolution_weight(dt, tau_membrane, tau2)
    for n in range(spikes_in.shape[0]):
        left = refractory_left.astype(np.float64)
        held = left >= dt
        released = (left > 0.0) & ~held
        v_new = (
            rest
            + (v.astype(np.float64) - rest) * decay_membrane
            + gain_slow * slow.astype(np.float64)
            - gain_fast * fast.astype(np.float64)
        )
        v_new[held] = rest
        free = np.full(v.shape, dt)
        v_start = v.astype(np.float64)
        slow_start = slow.astype(np.float64)
        fast_start = fast.astype(np.float64)
        for index in zip(*np.nonzero(released)):
            free[index] = dt - left[index]
            slow_start[index] *= math.exp(-left[index] / tau1)
            fast_start[index] *= math.exp(-left[index] / tau2)
            v_start[index] = rest
            v_new[index] = _membrane_after(
                free[index], rest, slow_start[index], fast_start[index], c
            )
        refractory_left[...] = np.where(held, left - dt, 0.0)
        fired = v_new >= threshold
        for index in zip(*np.nonzero(fired)):
            cross = _crossing_time(
                free[index], v_start[index], v_new[index], slow_start[index], fast_start[index], c
            )
            restart = cross + refractory_period
            if restart >= free[index]:
                refractory_left[index] = restart - free[index]
                v_new[index] = rest
            else:
                v_new[index] = _membrane_after(
                    free[index] - restart,
                    rest,
                    slow_start[index] * math.exp(-restart / tau1),
                    fast_start[index] * math.exp(-restart / tau2),
                    c,
                )
        spikes_out[n] = fired
        v[...] = v_new.astype(np.float32)
        if record:
            v_out[n] = v
        slow[...] = (slow.astype(np.float64) * math.exp(-dt / tau1)).astype(np.float32)
        fast[...] = (fast.astype(np.float64) * math.exp(-dt / tau2)).astype(np.float32)
        counts = spikes_in[n].astype(np.float32)  # (B, n_in)
        for i in np.flatnonzero(counts.any(axis=0)):
            contribution = counts[:, i : i + 1] * weights[i][None, :]
            slow += contribution
            fast += contribution


def double_exponential_traces(spikes_in, amplitude, decay_slow, decay_fast, slow, fast, c_out):
    """Twin of the kernel of the same name."""
    for n in range(spikes_in.shape[0]):
        arrivals = spikes_in[n].astype(np.float32)
        slow[...] = (slow.astype(np.float64) * decay_slow).astype(np.float32) + arrivals
        fast[...] = (fast.astype(np.float64) * decay_fast).astype(np.float32) + arrivals
        c_out[n] = amplitude * (slow - fast).astype(np.float64)


def filtered_traces(c, decay, q_prev, q_now, inverse_capacitance, d_out):
    """Twin of the kernel of the same name."""
    a_prev = q_prev * inverse_capacitance
    a_now = q_now * inverse_capacitance
    d_out[0] = 0.0
    for n in range(1, c.shape[0]):
        d_out[n] = (
            d_out[n - 1].astype(np.float64) * decay
            + a_prev * c[n - 1].astype(np.float64)
            + a_now * c[n].astype(np.float64)
        )
