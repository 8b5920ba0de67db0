"""NumPy twin of :mod:`snnlab.learners.gem.kernels`: dense, all compartments at once, no skipped
rows.

Same arguments and buffers as the kernels (minus workspaces and thread count); the math is
written as whole-array expressions over compartments so it reads like the module docstring of
the kernel. Draw order per stream matches the kernel: per step, hidden neurons in order, then
free outputs in order.
"""

import numpy as np

from snnlab._kernels.reference.rng import uniform_streams
from snnlab.learners.gem.kernels import BASELINE_EPS, GEM, IW, MB, MB1


def log_sigmoid(z):
    """``log sigma(z)`` elementwise, float64."""
    z = np.asarray(z, dtype=np.float64)
    return np.where(z >= 0, -np.log1p(np.exp(-np.abs(z))), z - np.log1p(np.exp(-np.abs(z))))


def features(t, x_hist, basis):
    """Features ``(A * s)_{t-1}``: float32 ``(..., n, n_basis)`` from spikes ``(T, ..., n)``."""
    depth = min(basis.shape[1], t)
    out = np.zeros(x_hist.shape[1:] + (basis.shape[0],), dtype=np.float32)
    for d in range(depth):
        out += x_hist[t - 1 - d][..., None].astype(np.float32) * basis[:, d]
    return out


def feedback(t, s_hist, fb_kernel):
    """Feedback drive ``(b * s_i)_{t-1}``: ``(..., n)`` float32 from ``(T, ..., n)``."""
    depth = min(fb_kernel.shape[0], t)
    out = np.zeros(s_hist.shape[1:], dtype=np.float32)
    for d in range(depth):
        out += s_hist[t - 1 - d].astype(np.float32) * fb_kernel[d]
    return out


def potentials(t, x, hid, out, theta, basis, fb_kernel):
    """Potentials float64 ``(K, n_post)``, row features float32 ``(K, R - 2)``, fb drive.

    x ``(T, n_in)``; hid ``(T, K, n_hid)``; out ``(T, K, n_out)`` (rows ``< t`` are read).
    """
    n_comp = hid.shape[1]
    phi_in = features(t, x, basis)  # (n_in, n_basis)
    phi_hid = features(t, hid, basis)  # (K, n_hid, n_basis)
    phi = np.concatenate(
        [np.broadcast_to(phi_in, (n_comp,) + phi_in.shape), phi_hid], axis=1
    ).reshape(n_comp, -1)
    drive = np.concatenate([feedback(t, hid, fb_kernel), feedback(t, out, fb_kernel)], axis=1)
    theta64 = theta.astype(np.float64)
    u = theta64[-1] + phi.astype(np.float64) @ theta64[:-2] + theta64[-2] * drive
    return u, phi, drive


def gem_train_example(
    x,
    y,
    clamp_outputs,
    theta,
    basis,
    fb_kernel,
    n_hid,
    rule,
    kappa,
    scale_traces,
    lr,
    per_step,
    beta,
    kl_weight,
    target_rate,
    state,
    record_potentials=False,
):
    """Twin of the fused training kernel. ``theta`` and ``state`` are updated in place.

    Returns a dict with ``update`` ``(R, n_post)``, ``omega``, ``loglik``, ``signal``
    ``(T, K)``, ``hid_spk``, ``out_spk`` and (when asked) ``out_u`` ``(T, K, n_out)``.
    """
    n_steps, n_in = x.shape
    n_comp = state.shape[0]
    n_rows, n_post = theta.shape
    n_out = n_post - n_hid
    n_basis = basis.shape[0]
    f32 = np.float32
    kappa32 = f32(kappa)
    scale = f32(1.0 - kappa) if scale_traces else f32(1.0)
    hid = np.zeros((n_steps, n_comp, n_hid), np.uint8)
    out = np.zeros((n_steps, n_comp, n_out), np.uint8)
    out_u = np.zeros((n_steps, n_comp, n_out), np.float32)
    omega = np.zeros((n_steps, n_comp), np.float32)
    loglik = np.zeros((n_steps, n_comp), np.float32)
    signal = np.zeros((n_steps, n_comp), np.float32)
    update = np.zeros_like(theta)
    traces = np.zeros((n_comp, n_rows, n_post), np.float32)
    n_base = n_comp if rule in (MB, MB1) else 1
    b_num = np.zeros((n_base, n_rows, n_post), np.float32)
    b_den = np.zeros((n_base, n_rows, n_post), np.float32)
    v = np.zeros(n_comp)
    lbar = np.zeros(n_comp)
    # hidden->hidden self-connections are carried by the feedback kernel only
    self_mask = np.ones((n_rows, n_post), np.float32)
    for h in range(n_hid):
        self_mask[(n_in + h) * n_basis : (n_in + h + 1) * n_basis, h] = 0.0
    for t in range(n_steps):
        u, phi, drive = potentials(t, x, hid, out, theta, basis, fb_kernel)
        p = 1.0 / (1.0 + np.exp(-u))
        for i in range(n_hid):
            hid[t, :, i] = uniform_streams(state) < p[:, i]
        if clamp_outputs:
            out[t] = y[t]
        else:
            for i in range(n_out):
                out[t, :, i] = uniform_streams(state) < p[:, n_hid + i]
        s = np.concatenate([hid[t], out[t]], axis=1).astype(np.float64)
        delta = (s - p).astype(np.float32)
        u_out = u[:, n_hid:]
        r = np.where(out[t] != 0, log_sigmoid(u_out), log_sigmoid(-u_out)).sum(axis=1)
        q, u_hid = p[:, :n_hid], u[:, :n_hid]
        kl = (
            q * (log_sigmoid(u_hid) - np.log(target_rate))
            + (1 - q) * (log_sigmoid(-u_hid) - np.log(1 - target_rate))
        ).sum(axis=1)
        out_u[t] = u_out
        loglik[t] = r
        v = kappa * v + float(scale) * r
        lbar = kappa * lbar + float(scale) * (r - kl_weight * kl)
        w = np.exp(v - v.max())
        om = w / w.sum()
        ell = v.max() + np.log(w.sum()) - np.log(n_comp)
        omega[t] = om
        signal[t] = om if rule == GEM else (ell if rule == IW else lbar)

        grad = np.empty((n_comp, n_rows, n_post), np.float32)
        grad[:, :-2] = phi[:, :, None] * delta[:, None, :]
        grad[:, -2] = delta * drive
        grad[:, -1] = delta
        traces = kappa32 * traces + scale * grad
        traces *= self_mask
        step = np.zeros((n_rows, n_post), np.float32)
        if rule in (MB, MB1):
            step[:, n_hid:] = (f32(1.0 / n_comp) * traces[:, :, n_hid:]).sum(axis=0)
            e_h = traces[:, :, :n_hid]
            sig = lbar.astype(np.float32)[:, None, None]
            b_num[:, :, :n_hid] = f32(beta) * b_num[:, :, :n_hid] + e_h * e_h * sig
            b_den[:, :, :n_hid] = f32(beta) * b_den[:, :, :n_hid] + e_h * e_h
            base = b_num[:, :, :n_hid] / (b_den[:, :, :n_hid] + f32(BASELINE_EPS))
            step[:, :n_hid] = (f32(1.0 / n_comp) * ((sig - base) * e_h)).sum(axis=0)
        else:
            om32 = om.astype(np.float32)[:, None, None]
            step[:] = (om32 * traces).sum(axis=0)
            if rule == IW:
                e_sum = traces[:, :, :n_hid].sum(axis=0)
                ell32 = f32(ell)
                b_num[0, :, :n_hid] = f32(beta) * b_num[0, :, :n_hid] + e_sum * e_sum * ell32
                b_den[0, :, :n_hid] = f32(beta) * b_den[0, :, :n_hid] + e_sum * e_sum
                base = b_num[0, :, :n_hid] / (b_den[0, :, :n_hid] + f32(BASELINE_EPS))
                step[:, :n_hid] = (ell32 - base) * e_sum
        update += step
        if per_step:
            theta += f32(lr) * step
    result = {
        "update": update,
        "omega": omega,
        "loglik": loglik,
        "signal": signal,
        "hid_spk": hid,
        "out_spk": out,
    }
    if record_potentials:
        result["out_u"] = out_u
    return result


def glm_infer(x, targets, has_targets, clamp_outputs, theta, basis, fb_kernel, n_hid, state):
    """Twin of the inference kernel: returns ``counts`` int32 ``(B, K, n_out)`` and ``loglik``
    float64 ``(B, K)`` (zeros without targets); ``state`` is advanced in place."""
    n_steps, n_batch, _ = x.shape
    n_comp = state.shape[0]
    n_out = theta.shape[1] - n_hid
    counts = np.zeros((n_batch, n_comp, n_out), np.int32)
    loglik = np.zeros((n_batch, n_comp))
    for b in range(n_batch):
        hid = np.zeros((n_steps, n_comp, n_hid), np.uint8)
        out = np.zeros((n_steps, n_comp, n_out), np.uint8)
        for t in range(n_steps):
            u, _, _ = potentials(t, x[:, b], hid, out, theta, basis, fb_kernel)
            p = 1.0 / (1.0 + np.exp(-u))
            for i in range(n_hid):
                hid[t, :, i] = uniform_streams(state) < p[:, i]
            if clamp_outputs:
                out[t] = targets[t, b]
            else:
                for i in range(n_out):
                    out[t, :, i] = uniform_streams(state) < p[:, n_hid + i]
            if has_targets:
                u_out = u[:, n_hid:]
                loglik[b] += np.where(
                    targets[t, b] != 0, log_sigmoid(u_out), log_sigmoid(-u_out)
                ).sum(axis=1)
        counts[b] = out.sum(axis=0)
    return {"counts": counts, "loglik": loglik}
