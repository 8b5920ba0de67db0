"""NumPy twin of :mod:`snnlab.learners.ep.kernels` (same arguments, same buffers, vectorised per
layer).

The batch forward and reverse passes are matrix products; the summed updates loop over the
samples of a batch with whole-matrix operations per sample.
"""

import math

import numpy as np
from scipy.special import log_ndtr, ndtr

from snnlab._kernels.reference.rng import uniform_streams
from snnlab.learners.ep.kernels import LIKELIHOOD_PROBIT, MIN_VARIANCE

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


def floored_probabilities(logits, prob_floor):
    """Probabilities over the last axis from unnormalised log-probabilities, each floored at
    ``prob_floor`` before normalising (as
    :func:`snnlab.learners.ep.kernels.normalise_log_probs`)."""
    p = np.maximum(np.exp(logits - logits.max(axis=-1, keepdims=True)), prob_floor)
    p /= p.sum(axis=-1, keepdims=True)
    return p


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
        p = floored_probabilities(logits, prob_floor)
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


def lattice_tilt(a, c, q, support, kappa, y, likelihood_code, tau2, noise_var):
    """``(K, n_support)`` exact ``log Z(w_j = k)`` (up to a constant) of one output unit, or None.

    a, c: ``(K,)`` input means and variances, bias column included; q: ``(K, n_support)``
    cavity probabilities. The potential's lattice distribution is built by convolving the
    terms ``w_j v_j``; leaving term j out and putting ``w_j = k`` in gives ``Z(w_j = k)``.
    """
    if np.any((a < 0) | (a > 1) | (np.abs(c - a * (1 - a)) > 1e-9)):
        return None
    steps = np.rint(support).astype(int)
    s_max = int(np.abs(steps).max())
    active = np.flatnonzero((a != 0) | (c != 0))
    center = s_max * len(active)
    lattice = np.arange(-center, center + 1)
    if likelihood_code == LIKELIHOOD_PROBIT:
        log_lik = log_ndtr(y * kappa * lattice / math.sqrt(tau2))
    else:
        log_lik = (
            -0.5 * (LOG_2PI + math.log(noise_var)) - 0.5 * (y - kappa * lattice) ** 2 / noise_var
        )
    lik = np.exp(log_lik - log_lik.max())

    def term(j):  # distribution of w_j v_j on [-s_max, s_max]
        pmf = np.zeros(2 * s_max + 1)
        pmf[s_max] += 1.0 - a[j]
        np.add.at(pmf, steps + s_max, a[j] * q[j])
        return pmf

    tilt = np.zeros(q.shape)
    for j in active:
        rest = np.array([1.0])
        for other in active:
            if other != j:
                rest = np.convolve(rest, term(other))
        half = (len(rest) - 1) // 2  # rest lives on [-half, half]
        for k, step in enumerate(steps):
            z = 0.0
            for value, weight in ((step, a[j]), (0, 1.0 - a[j])):
                lo = center - half + value
                z += weight * rest @ lik[lo : lo + len(rest)]
            tilt[j, k] = math.log(max(z, 1e-300))
    return tilt


def ep_train_sites(
    w_mean,
    w_var,
    log_probs,
    support,
    sites,
    index,
    widths,
    bias,
    theta,
    neuron_var,
    targets,
    likelihood_code,
    tau2,
    alpha,
    beta,
    noise_sites,
    learn_noise,
    exact_tilt,
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
    widths_l, _, _, p_off = offsets(widths, bias)
    n_layers = len(widths_l) - 1
    keep = 1.0 - damping
    learned_noise = learn_noise and likelihood_code != LIKELIHOOD_PROBIT
    for b, n in enumerate(index):
        one = slice(b, b + 1)
        if len(support):
            cav_logp = log_probs - sites[n]
            cav_logp -= np.logaddexp.reduce(cav_logp, axis=1, keepdims=True)
            p = np.exp(cav_logp)
            cav_mean = p @ support
            cav_var = np.maximum(p @ support**2 - cav_mean**2, 0.0)
            skip = np.zeros(len(w_mean), dtype=bool)
        else:
            precision = 1.0 / w_var - sites[n, :, 0]
            skip = ~(precision > 0)
            safe = np.where(skip, 1.0, precision)
            cav_var = np.where(skip, w_var, 1.0 / safe)
            cav_mean = np.where(skip, w_mean, (w_mean / w_var - sites[n, :, 1]) / safe)
        cav_alpha, cav_beta = alpha.copy(), beta.copy()
        noise_ok = np.zeros(len(alpha), dtype=bool)
        if learned_noise:
            ca, cb = alpha - noise_sites[n, :, 0], beta - noise_sites[n, :, 1]
            noise_ok = (ca > 1.0) & (cb > 0.0)
            cav_alpha, cav_beta = np.where(noise_ok, ca, alpha), np.where(noise_ok, cb, beta)
        ep_forward_backward(
            cav_mean,
            cav_var,
            widths,
            bias,
            theta,
            neuron_var,
            targets[one],
            likelihood_code,
            tau2,
            cav_beta / (cav_alpha - 1.0),
            act_mean[one],
            act_var[one],
            pre_mean[one],
            pre_var[one],
            grad_m[one],
            grad_v[one],
            log_z[one],
        )
        for layer in range(n_layers):
            a, c = layer_inputs(act_mean[one], act_var[one], widths, bias, layer)
            a, c = a[0], c[0]
            kappa = 1.0 / math.sqrt(len(a))
            n_out = widths_l[layer + 1]
            units = slice(p_off[layer], p_off[layer] + n_out)
            gm, gv = grad_m[b, units][:, None], grad_v[b, units][:, None]
            mu = layer_view(cav_mean, widths, bias, layer)
            s2 = layer_view(cav_var, widths, bias, layer)
            post_mean = layer_view(w_mean, widths, bias, layer)
            post_var = layer_view(w_var, widths, bias, layer)
            site = layer_view(sites[n], widths, bias, layer)
            if not len(support):
                g = kappa * gm * a + 2.0 * kappa**2 * gv * mu * c
                h = kappa**2 * gv * (a * a + c)
                v_tilted = np.clip(s2 - s2 * s2 * (g * g - 2.0 * h), var_floor, var_max)
                mu_tilted = mu + s2 * g
                site_prec = keep * (1.0 / v_tilted - 1.0 / s2) + damping * site[..., 0]
                site_shift = keep * (mu_tilted / v_tilted - mu / s2) + damping * site[..., 1]
                precision = np.clip(1.0 / s2 + site_prec, 1.0 / var_max, 1.0 / var_floor)
                update = ~layer_view(skip, widths, bias, layer)
                site[..., 0] = np.where(update, precision - 1.0 / s2, site[..., 0])
                site[..., 1] = np.where(update, site_shift, site[..., 1])
                post_mean[...] = np.where(update, (mu / s2 + site_shift) / precision, post_mean)
                post_var[...] = np.where(update, 1.0 / precision, post_var)
                continue
            sk = support[None, None, :]
            if layer == n_layers - 1:
                m, v = pre_mean[b, units][:, None, None], pre_var[b, units][:, None, None]
                dm = kappa * (sk - mu[..., None]) * a[None, :, None]
                dv = kappa**2 * (
                    (sk**2 - mu[..., None] ** 2) * c[None, :, None]
                    - s2[..., None] * (a * a + c)[None, :, None]
                )
                y = targets[b][:, None, None]
                total = np.maximum(v + dv, 0.0)
                if likelihood_code == LIKELIHOOD_PROBIT:
                    tilt = log_ndtr(y * (m + dm) / np.sqrt(total + tau2))
                else:
                    noise = (cav_beta / (cav_alpha - 1.0))[:, None, None]
                    tilt = -0.5 * (LOG_2PI + np.log(total + noise)) - 0.5 * (y - m - dm) ** 2 / (
                        total + noise
                    )
                if exact_tilt:
                    q = np.exp(layer_view(cav_logp, widths, bias, layer))
                    for i in range(n_out):
                        exact = lattice_tilt(
                            a,
                            c,
                            q[i],
                            support,
                            kappa,
                            targets[b, i],
                            likelihood_code,
                            tau2,
                            cav_beta[i] / (cav_alpha[i] - 1.0),
                        )
                        if exact is not None:
                            tilt[i] = exact
            else:
                d2 = 2.0 * gv - gm * gm
                lin = kappa * a * gm - kappa**2 * a * a * mu * d2
                quad = kappa**2 * (c * gv + 0.5 * a * a * d2)
                tilt = sk * lin[..., None] + sk**2 * quad[..., None]
            cav = layer_view(cav_logp, widths, bias, layer)
            logits = cav + keep * tilt + damping * site
            probs = floored_probabilities(logits, prob_floor)
            layer_view(log_probs, widths, bias, layer)[...] = np.log(probs)
            site[...] = np.log(probs) - cav
            post_mean[...] = probs @ support
            post_var[...] = np.maximum(probs @ support**2 - post_mean**2, 0.0)
        if learned_noise:
            new_alpha, new_beta = noise_update(
                targets[b],
                pre_mean[b, -len(alpha) :],
                pre_var[b, -len(alpha) :],
                cav_alpha,
                cav_beta,
            )
            site_alpha = keep * (new_alpha - cav_alpha) + damping * noise_sites[n, :, 0]
            site_beta = keep * (new_beta - cav_beta) + damping * noise_sites[n, :, 1]
            ok = noise_ok & (cav_alpha + site_alpha > 1.0) & (cav_beta + site_beta > 0.0)
            noise_sites[n, ok, 0], noise_sites[n, ok, 1] = site_alpha[ok], site_beta[ok]
            alpha[ok], beta[ok] = cav_alpha[ok] + site_alpha[ok], cav_beta[ok] + site_beta[ok]
