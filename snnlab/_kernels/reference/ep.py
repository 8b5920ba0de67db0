"""NumPy twin of :mod:`snnlab._kernels.ep` (same arguments, same buffers, vectorised per layer).

The batch forward and reverse passes are matrix products; the summed updates loop over the
samples of a batch with whole-matrix operations per sample.
"""

import math

import numpy as np
from scipy.special import log_ndtr, ndtr

from snnlab._kernels.ep import LIKELIHOOD_PROBIT, MIN_VARIANCE
from snnlab._kernels.reference.rng import uniform_streams

LOG_2PI = math.log(2.0 * math.pi)


def norm_pdf(x):
    return np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def offsets(widths, bias):
    """Weight, input and unit offsets (see the kernel's layout)."""
    widths = [int(w) for w in widths]
    n_layers = len(widths) - 1
    w_off = np.concatenate(
        [[0], np.cumsum([widths[l + 1] * (widths[l] + bias) for l in range(n_layers)])]
    ).astype(int)
    a_off = np.concatenate([[0], np.cumsum(widths[:-2])]).astype(int)
    p_off = np.concatenate([[0], np.cumsum(widths[1:-1])]).astype(int)
    return widths, w_off, a_off, p_off


def layer_view(flat, widths, bias, layer):
    """``(n_out, K)`` view of ``layer`` in a flat weight array (trailing axes kept)."""
    widths, w_off, _, _ = offsets(widths, bias)
    shape = (widths[layer + 1], widths[layer] + bias) + flat.shape[1:]
    return flat[w_off[layer] : w_off[layer + 1]].reshape(shape)


def layer_inputs(act_mean, act_var, widths, bias, layer):
    """``(B, K)`` means and variances of ``layer``'s inputs, bias column included."""
    widths, _, a_off, _ = offsets(widths, bias)
    a = act_mean[:, a_off[layer] : a_off[layer] + widths[layer]]
    c = act_var[:, a_off[layer] : a_off[layer] + widths[layer]]
    if bias:
        a = np.concatenate([a, np.ones((len(a), 1))], axis=1)
        c = np.concatenate([c, np.zeros((len(c), 1))], axis=1)
    return a, c


def ep_forward(
    w_mean,
    w_var,
    widths,
    bias,
    theta,
    neuron_var,
    act_mean,
    act_var,
    pre_mean,
    pre_var,
    n_threads=1,
):
    widths_l, _, a_off, p_off = offsets(widths, bias)
    n_layers = len(widths_l) - 1
    for layer in range(n_layers):
        mu = layer_view(w_mean, widths, bias, layer)
        s2 = layer_view(w_var, widths, bias, layer)
        a, c = layer_inputs(act_mean, act_var, widths, bias, layer)
        kappa = 1.0 / math.sqrt(a.shape[1])
        m = kappa * a @ mu.T
        v = kappa**2 * ((a * a + c) @ s2.T + c @ (mu * mu).T)
        n_out = widths_l[layer + 1]
        pre_mean[:, p_off[layer] : p_off[layer] + n_out] = m
        pre_var[:, p_off[layer] : p_off[layer] + n_out] = v
        if layer < n_layers - 1:
            p = ndtr((m - theta) / np.sqrt(np.maximum(v + neuron_var, MIN_VARIANCE)))
            act_mean[:, a_off[layer + 1] : a_off[layer + 1] + n_out] = p
            act_var[:, a_off[layer + 1] : a_off[layer + 1] + n_out] = p * (1.0 - p)


def likelihood(
    targets, likelihood_code, tau2, noise_var, widths, pre_mean, pre_var, grad_m, grad_v
):
    """``log Z`` ``(B,)``; fills the output layer's gradients."""
    out = pre_mean.shape[1] - int(widths[-1])
    m, v = pre_mean[:, out:], pre_var[:, out:]
    if likelihood_code == LIKELIHOOD_PROBIT:
        total = v + tau2
        r = np.sqrt(total)
        t = targets * m / r
        log_cdf = log_ndtr(t)
        ratio = np.exp(-0.5 * t * t - 0.5 * LOG_2PI - log_cdf)
        grad_m[:, out:] = ratio * targets / r
        grad_v[:, out:] = -0.5 * ratio * t / total
        return log_cdf.sum(axis=1)
    total = v + noise_var
    e = targets - m
    grad_m[:, out:] = e / total
    grad_v[:, out:] = -0.5 / total + 0.5 * e * e / total**2
    return (-0.5 * (LOG_2PI + np.log(total)) - 0.5 * e * e / total).sum(axis=1)


def backward(
    w_mean,
    w_var,
    widths,
    bias,
    theta,
    neuron_var,
    act_mean,
    act_var,
    pre_mean,
    pre_var,
    grad_m,
    grad_v,
):
    widths_l, _, a_off, p_off = offsets(widths, bias)
    for layer in range(len(widths_l) - 2, 0, -1):
        n_in = widths_l[layer]
        mu = layer_view(w_mean, widths, bias, layer)[:, :n_in]
        s2 = layer_view(w_var, widths, bias, layer)[:, :n_in]
        kappa = 1.0 / math.sqrt(n_in + bias)
        n_out = widths_l[layer + 1]
        gm = grad_m[:, p_off[layer] : p_off[layer] + n_out]
        gv = grad_v[:, p_off[layer] : p_off[layer] + n_out]
        a = act_mean[:, a_off[layer] : a_off[layer] + n_in]
        ga = kappa * gm @ mu + 2.0 * kappa**2 * a * (gv @ s2)
        gc = kappa**2 * gv @ (s2 + mu * mu)
        below = slice(p_off[layer - 1], p_off[layer - 1] + n_in)
        total = np.maximum(pre_var[:, below] + neuron_var, MIN_VARIANCE)
        r = np.sqrt(total)
        z = (pre_mean[:, below] - theta) / r
        gp = ga + gc * (1.0 - 2.0 * a)
        grad_m[:, below] = gp * norm_pdf(z) / r
        grad_v[:, below] = -0.5 * gp * norm_pdf(z) * z / total


def ep_forward_backward(
    w_mean,
    w_var,
    widths,
    bias,
    theta,
    neuron_var,
    targets,
    likelihood_code,
    tau2,
    noise_var,
    act_mean,
    act_var,
    pre_mean,
    pre_var,
    grad_m,
    grad_v,
    log_z,
    n_threads=1,
):
    ep_forward(w_mean, w_var, widths, bias, theta, neuron_var, act_mean, act_var, pre_mean, pre_var)
    log_z[:] = likelihood(
        targets, likelihood_code, tau2, noise_var, widths, pre_mean, pre_var, grad_m, grad_v
    )
    backward(
        w_mean,
        w_var,
        widths,
        bias,
        theta,
        neuron_var,
        act_mean,
        act_var,
        pre_mean,
        pre_var,
        grad_m,
        grad_v,
    )


def update_layer(
    layer,
    w_mean,
    w_var,
    log_probs,
    support,
    widths,
    bias,
    act_mean,
    act_var,
    grad_m,
    grad_v,
    damping,
    var_floor,
    var_max,
    prob_floor,
):
    """Summed update of one layer from every sample of the buffers."""
    widths_l, _, _, p_off = offsets(widths, bias)
    n_out = widths_l[layer + 1]
    mu = layer_view(w_mean, widths, bias, layer)
    s2 = layer_view(w_var, widths, bias, layer)
    a, c = layer_inputs(act_mean, act_var, widths, bias, layer)
    kappa = 1.0 / math.sqrt(a.shape[1])
    gm = grad_m[:, p_off[layer] : p_off[layer] + n_out]
    gv = grad_v[:, p_off[layer] : p_off[layer] + n_out]
    keep = 1.0 - damping
    if len(support):
        d2 = 2.0 * gv - gm * gm
        lin = kappa * gm.T @ a - kappa**2 * mu * (d2.T @ (a * a))
        quad = kappa**2 * (gv.T @ c + 0.5 * d2.T @ (a * a))
        logits = layer_view(log_probs, widths, bias, layer)
        logits += keep * (support * lin[..., None] + support**2 * quad[..., None])
        p = np.maximum(np.exp(logits - logits.max(axis=2, keepdims=True)), prob_floor)
        p /= p.sum(axis=2, keepdims=True)
        logits[...] = np.log(p)
        mu[...] = p @ support
        s2[...] = np.maximum(p @ support**2 - mu * mu, 0.0)
        return
    acc_prec = np.zeros_like(mu)
    acc_shift = np.zeros_like(mu)
    for b in range(len(a)):
        g = kappa * gm[b, :, None] * a[b] + 2.0 * kappa**2 * gv[b, :, None] * mu * c[b]
        h = kappa**2 * gv[b, :, None] * (a[b] ** 2 + c[b])
        v_new = np.clip(s2 - s2 * s2 * (g * g - 2.0 * h), var_floor, var_max)
        acc_prec += 1.0 / v_new - 1.0 / s2
        acc_shift += s2 * g / v_new
    precision = np.clip(1.0 / s2 + keep * acc_prec, 1.0 / var_max, 1.0 / var_floor)
    mu += keep * acc_shift / precision
    s2[...] = 1.0 / precision


def ep_update(
    w_mean,
    w_var,
    log_probs,
    support,
    widths,
    bias,
    act_mean,
    act_var,
    grad_m,
    grad_v,
    damping,
    var_floor,
    var_max,
    prob_floor,
    n_threads=1,
):
    for layer in range(len(widths) - 1):
        update_layer(
            layer,
            w_mean,
            w_var,
            log_probs,
            support,
            widths,
            bias,
            act_mean,
            act_var,
            grad_m,
            grad_v,
            damping,
            var_floor,
            var_max,
            prob_floor,
        )


def noise_update(y, m, v, alpha, beta):
    """Vectorised twin of the kernel's PBP noise step (unchanged where the match fails)."""
    e2 = (y - m) ** 2
    log_z = [
        -0.5 * np.log(v + beta / (alpha - 1.0 + k)) - 0.5 * e2 / (v + beta / (alpha - 1.0 + k))
        for k in range(3)
    ]
    first = alpha / beta * np.exp(log_z[1] - log_z[0])
    second = alpha * (alpha + 1.0) / beta**2 * np.exp(log_z[2] - log_z[0])
    spread = second - first * first
    with np.errstate(divide="ignore", invalid="ignore"):
        new_alpha = first * first / spread
        new_beta = first / spread
    ok = (spread > 0.0) & (new_alpha > 1.0)
    return np.where(ok, new_alpha, alpha), np.where(ok, new_beta, beta)


def noise_update_batch(targets, pre_mean, pre_var, widths, b_lo, b_hi, damping, alpha, beta):
    out = pre_mean.shape[1] - int(widths[-1])
    new_alpha, new_beta = noise_update(
        targets[b_lo:b_hi], pre_mean[b_lo:b_hi, out:], pre_var[b_lo:b_hi, out:], alpha, beta
    )
    keep = 1.0 - damping
    cand_alpha = alpha + keep * (new_alpha - alpha).sum(axis=0)
    cand_beta = beta + keep * (new_beta - beta).sum(axis=0)
    ok = (cand_alpha > 1.0) & (cand_beta > 0.0)
    alpha[ok] = cand_alpha[ok]
    beta[ok] = cand_beta[ok]


def ep_train_sequential(
    w_mean,
    w_var,
    log_probs,
    support,
    widths,
    bias,
    theta,
    neuron_var,
    targets,
    likelihood_code,
    tau2,
    alpha,
    beta,
    learn_noise,
    damping,
    var_floor,
    var_max,
    prob_floor,
    act_mean,
    act_var,
    pre_mean,
    pre_var,
    grad_m,
    grad_v,
    log_z,
):
    for b in range(len(act_mean)):
        one = slice(b, b + 1)
        ep_forward_backward(
            w_mean,
            w_var,
            widths,
            bias,
            theta,
            neuron_var,
            targets[one],
            likelihood_code,
            tau2,
            beta / (alpha - 1.0),
            act_mean[one],
            act_var[one],
            pre_mean[one],
            pre_var[one],
            grad_m[one],
            grad_v[one],
            log_z[one],
        )
        ep_update(
            w_mean,
            w_var,
            log_probs,
            support,
            widths,
            bias,
            act_mean[one],
            act_var[one],
            grad_m[one],
            grad_v[one],
            damping,
            var_floor,
            var_max,
            prob_floor,
        )
        if learn_noise and likelihood_code != LIKELIHOOD_PROBIT:
            noise_update_batch(targets, pre_mean, pre_var, widths, b, b + 1, damping, alpha, beta)


def spiking_forward(
    x, weights, widths, bias, theta, temperature, stochastic, rng_state, potentials, n_threads=1
):
    v = np.asarray(x, dtype=np.float64)
    n_layers = len(widths) - 1
    for layer in range(n_layers):
        w = layer_view(weights, widths, bias, layer)
        inputs = np.concatenate([v, np.ones((len(v), 1))], axis=1) if bias else v
        u = (inputs @ w.T) / math.sqrt(inputs.shape[1])
        if layer == n_layers - 1:
            potentials[...] = u
        elif stochastic:
            rate = 1.0 / (1.0 + np.exp(-(u - theta) / temperature))
            draws = np.stack([uniform_streams(rng_state) for _ in range(u.shape[1])], axis=1)
            v = (draws < rate).astype(np.float64)
        else:
            v = (u >= theta).astype(np.float64)
