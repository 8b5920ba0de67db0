"""Expectation Propagation (assumed-density filtering) through layers of static spike-response units.

Model (ALGORITHMS.md, section 1). Layer ``l = 0..L-1`` maps ``widths[l]`` inputs, plus one bias
input fixed at 1 when ``bias``, to ``widths[l+1]`` units. With fan-in ``K_l = widths[l] + bias``
and ``kappa_l = 1 / sqrt(K_l)`` (our choice: keeps potentials O(1) for any fan-in, so one
threshold and one prior suit every layer and ±1 weights need no rescaling)::

    u_i = kappa_l * sum_j w_ij v_j,     v = H(u - theta)  or  v ~ Bernoulli(sigma((u - theta) / T))

The posterior is factorised, ``q(W) = prod q(w_ij)`` with mean ``mu_ij`` and variance ``s2_ij``
(Gaussian weights, or the mean and variance of a categorical over ``support``).

Forward moments. Layer inputs ``v_j`` carry a mean ``a_j`` and a variance ``c_j`` (binary
spikes with P(v=1) = p: ``a = p, c = p(1-p)``; a real input x: ``a = x, c = 0``)::

    m_i  = kappa   * sum_j mu_ij a_j
    s2_i = kappa^2 * sum_j [ s2_ij (a_j^2 + c_j) + mu_ij^2 c_j ]
    p_i  = Phi((m_i - theta) / sqrt(s2_i + nu))     nu = 0 (Heaviside), T^2 8/pi (Bernoulli)

Output likelihood on the last layer's potentials, ``log Z = sum_k log Z_k``:
probit (label ``y_k`` in {-1, +1}) ``Z_k = Phi(y_k m_k / sqrt(s2_k + tau^2))``;
Gaussian ``Z_k = N(y_k; m_k, s2_k + sigma_k^2)`` with ``sigma_k^2 = beta_k / (alpha_k - 1)``.

Reverse pass over the moment graph (hand-written): ``grad_m = dlogZ/dm_i``, ``grad_v =
dlogZ/ds2_i`` per unit; for the inputs of a layer
``dlogZ/da_j = sum_i grad_m_i kappa mu_ij + grad_v_i kappa^2 2 a_j s2_ij``,
``dlogZ/dc_j = sum_i grad_v_i kappa^2 (s2_ij + mu_ij^2)``, then through ``a = p, c = p(1-p)``
and ``p = Phi(z)``. Per weight: ``g = dlogZ/dmu_ij = kappa grad_m a_j + 2 kappa^2 grad_v mu_ij c_j``
and ``h = dlogZ/ds2_ij = kappa^2 grad_v (a_j^2 + c_j)``.

Updates (per sample, then combined):

- Gaussian: ``mu_b = mu + s2 g``, ``s2_b = s2 - s2^2 (g^2 - 2 h)`` clipped to
  ``[var_floor, var_max]``. ``sequential`` applies each sample at once (ADF);
  otherwise the natural-parameter increments of the batch are summed:
  ``lam' = 1/s2 + (1-damping) sum_b (1/s2_b - 1/s2)`` (clipped to ``[1/var_max, 1/var_floor]``),
  ``mu' = mu + (1-damping) sum_b (mu_b - mu) / s2_b / lam'``.
- Discrete: ``log q(k) += (1-damping) [log Z(w_ij = k) - log Z]`` with the second-order expansion
  ``log Z(k) ~ log Z + dm gm + ds2 gv + 1/2 dm^2 d2``, ``dm = kappa (k - mu) a``,
  ``ds2 = kappa^2 [(k^2 - mu^2) c - s2 (a^2 + c)]`` and ``d2 = d^2 logZ/dm^2 ~ 2 gv - gm^2``
  (exact for a Gaussian-smoothed likelihood). Dropping terms constant in ``k`` leaves
  ``log q(k) += k * lin + k^2 * quad`` with ``lin = kappa a gm - kappa^2 a^2 mu d2`` and
  ``quad = kappa^2 (c gv + a^2 d2 / 2)``, summed over the batch. Probabilities are floored at
  ``prob_floor``; mean and variance are refreshed from them.
- Gaussian noise precision (regression, PBP): ``Gamma(alpha, beta)`` moment-matched to
  ``Gamma * N(y; m, s2 + 1/lambda)`` with the plug-in ``N(y; m, s2 + beta/(alpha-1))``.

Layout (flat arrays, so one kernel serves any depth): weights of layer ``l`` are rows ``i``
(``widths[l+1]``) by columns ``j`` (``K_l``, bias last), row-major from
``weight_offsets(widths, bias)[l]``. Per-sample buffers, batch first:
``act_mean``, ``act_var`` ``(B, sum(widths[:-1]))`` hold ``a``, ``c`` of each layer's inputs (the
caller fills the first ``widths[0]`` columns with the network input);
``pre_mean``, ``pre_var``, ``grad_m``, ``grad_v`` ``(B, sum(widths[1:]))`` hold ``m``, ``s2`` and
the gradients of every layer's potentials. Everything is float64: posterior natural parameters
are sums of many small increments.

Parallel kernels split samples (forward/backward) or weight rows (updates) into ``n_threads``
contiguous parts; each sample and row is computed the same way for any ``n_threads``.
"""

import math

import numpy as np
from numba import njit, prange

from snnlab._kernels.rng import next_uniform

SQRT2 = math.sqrt(2.0)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
LOG_2PI = math.log(2.0 * math.pi)
PROBIT_MATCH = 8.0 / math.pi  # sigma(x) ~ Phi(x sqrt(pi/8))
MIN_VARIANCE = 1e-12  # keeps sqrt(s2) > 0 when a unit has no input variance at all

LIKELIHOOD_PROBIT = 0
LIKELIHOOD_GAUSSIAN = 1


@njit(cache=True, nogil=True)
def norm_pdf(x):
    return INV_SQRT_2PI * math.exp(-0.5 * x * x)


@njit(cache=True, nogil=True)
def norm_cdf(x):
    return 0.5 * math.erfc(-x / SQRT2)


@njit(cache=True, nogil=True)
def log_cdf_and_ratio(t):
    """``(log Phi(t), phi(t) / Phi(t))``, stable far into the lower tail."""
    if t > -30.0:
        cdf = norm_cdf(t)
        return math.log(cdf), norm_pdf(t) / cdf
    # Mills-ratio asymptotics: Phi(t) ~ phi(t) / -t (1 - 1/t^2)
    ratio = -t / (1.0 - 1.0 / (t * t))
    return -0.5 * t * t - 0.5 * LOG_2PI - math.log(ratio), ratio


@njit(cache=True, nogil=True)
def weight_offsets(widths, bias):
    """``(L + 1,)`` start of each layer's weights in the flat arrays (last entry: total)."""
    n_layers = widths.shape[0] - 1
    offsets = np.zeros(n_layers + 1, dtype=np.int64)
    for layer in range(n_layers):
        offsets[layer + 1] = offsets[layer] + widths[layer + 1] * (widths[layer] + bias)
    return offsets


@njit(cache=True, nogil=True)
def input_offsets(widths):
    """``(L,)`` start of each layer's inputs in ``act_mean`` / ``act_var``."""
    n_layers = widths.shape[0] - 1
    offsets = np.zeros(n_layers, dtype=np.int64)
    for layer in range(1, n_layers):
        offsets[layer] = offsets[layer - 1] + widths[layer - 1]
    return offsets


@njit(cache=True, nogil=True)
def unit_offsets(widths):
    """``(L,)`` start of each layer's units in ``pre_mean`` / ``grad_m``."""
    n_layers = widths.shape[0] - 1
    offsets = np.zeros(n_layers, dtype=np.int64)
    for layer in range(1, n_layers):
        offsets[layer] = offsets[layer - 1] + widths[layer]
    return offsets


@njit(cache=True, nogil=True)
def forward_sample(
    b, w_mean, w_var, widths, bias, theta, neuron_var, act_mean, act_var, pre_mean, pre_var
):
    """Moment pass of sample ``b``: fills ``pre_mean/pre_var[b]`` and the hidden ``act_*[b]``."""
    n_layers = widths.shape[0] - 1
    w_off = weight_offsets(widths, bias)
    a_off = input_offsets(widths)
    p_off = unit_offsets(widths)
    for layer in range(n_layers):
        n_in = widths[layer]
        n_out = widths[layer + 1]
        fan_in = n_in + bias
        kappa = 1.0 / math.sqrt(fan_in)
        a = act_mean[b, a_off[layer] : a_off[layer] + n_in]
        c = act_var[b, a_off[layer] : a_off[layer] + n_in]
        for i in range(n_out):
            row = w_off[layer] + i * fan_in
            mu = w_mean[row : row + n_in]
            s2 = w_var[row : row + n_in]
            m = 0.0
            v = 0.0
            for j in range(n_in):
                aj = a[j]
                cj = c[j]
                if aj == 0.0 and cj == 0.0:
                    continue  # silent inputs (most of an event frame) add nothing
                m += mu[j] * aj
                v += s2[j] * (aj * aj + cj) + mu[j] * mu[j] * cj
            if bias:
                m += w_mean[row + n_in]
                v += w_var[row + n_in]
            m *= kappa
            v *= kappa * kappa
            pre_mean[b, p_off[layer] + i] = m
            pre_var[b, p_off[layer] + i] = v
            if layer < n_layers - 1:
                p = norm_cdf((m - theta) / math.sqrt(max(v + neuron_var, MIN_VARIANCE)))
                act_mean[b, a_off[layer + 1] + i] = p
                act_var[b, a_off[layer + 1] + i] = p * (1.0 - p)


@njit(cache=True, nogil=True)
def likelihood_sample(
    b, targets, likelihood, tau2, noise_var, widths, pre_mean, pre_var, grad_m, grad_v
):
    """``log Z`` of sample ``b``; fills the output layer's ``grad_m/grad_v[b]``."""
    n_layers = widths.shape[0] - 1
    out = unit_offsets(widths)[n_layers - 1]
    log_z = 0.0
    for k in range(widths[n_layers]):
        m = pre_mean[b, out + k]
        v = pre_var[b, out + k]
        y = targets[b, k]
        if likelihood == LIKELIHOOD_PROBIT:
            total = v + tau2
            r = math.sqrt(total)
            t = y * m / r
            log_cdf, ratio = log_cdf_and_ratio(t)
            log_z += log_cdf
            grad_m[b, out + k] = ratio * y / r
            grad_v[b, out + k] = -0.5 * ratio * t / total
        else:
            total = v + noise_var[k]
            e = y - m
            log_z += -0.5 * (LOG_2PI + math.log(total)) - 0.5 * e * e / total
            grad_m[b, out + k] = e / total
            grad_v[b, out + k] = -0.5 / total + 0.5 * e * e / (total * total)
    return log_z


@njit(cache=True, nogil=True)
def backward_sample(
    b,
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
    scratch,
):
    """Reverse pass of sample ``b`` from the output gradients down to the first hidden layer.

    scratch: ``(2, max(widths))`` float64 work space (one per concurrent sample).
    """
    n_layers = widths.shape[0] - 1
    w_off = weight_offsets(widths, bias)
    a_off = input_offsets(widths)
    p_off = unit_offsets(widths)
    for layer in range(n_layers - 1, 0, -1):
        n_in = widths[layer]
        fan_in = n_in + bias
        kappa = 1.0 / math.sqrt(fan_in)
        kappa2 = kappa * kappa
        a = act_mean[b, a_off[layer] : a_off[layer] + n_in]
        ga = scratch[0, :n_in]
        gc = scratch[1, :n_in]
        ga[:] = 0.0
        gc[:] = 0.0
        for i in range(widths[layer + 1]):
            gm = grad_m[b, p_off[layer] + i]
            gv = grad_v[b, p_off[layer] + i]
            row = w_off[layer] + i * fan_in
            mu = w_mean[row : row + n_in]
            s2 = w_var[row : row + n_in]
            for j in range(n_in):
                ga[j] += kappa * gm * mu[j] + 2.0 * kappa2 * gv * a[j] * s2[j]
                gc[j] += kappa2 * gv * (s2[j] + mu[j] * mu[j])
        below = p_off[layer - 1]
        for j in range(n_in):
            m = pre_mean[b, below + j]
            total = max(pre_var[b, below + j] + neuron_var, MIN_VARIANCE)
            r = math.sqrt(total)
            z = (m - theta) / r
            p = a[j]
            gp = ga[j] + gc[j] * (1.0 - 2.0 * p)
            pdf = norm_pdf(z)
            grad_m[b, below + j] = gp * pdf / r
            grad_v[b, below + j] = -0.5 * gp * pdf * z / total


@njit(cache=True, nogil=True)
def update_gaussian_row(
    layer,
    i,
    b_lo,
    b_hi,
    w_mean,
    w_var,
    widths,
    bias,
    act_mean,
    act_var,
    grad_m,
    grad_v,
    damping,
    var_floor,
    var_max,
    acc_prec,
    acc_shift,
):
    """Gaussian update of row ``i`` of ``layer`` from samples ``[b_lo, b_hi)`` (summed)."""
    n_in = widths[layer]
    fan_in = n_in + bias
    kappa = 1.0 / math.sqrt(fan_in)
    kappa2 = kappa * kappa
    row = weight_offsets(widths, bias)[layer] + i * fan_in
    a_start = input_offsets(widths)[layer]
    unit = unit_offsets(widths)[layer] + i
    acc_prec[:fan_in] = 0.0
    acc_shift[:fan_in] = 0.0
    mu = w_mean[row : row + fan_in]
    s2 = w_var[row : row + fan_in]
    for b in range(b_lo, b_hi):
        gm = grad_m[b, unit]
        gv = grad_v[b, unit]
        if gm == 0.0 and gv == 0.0:
            continue
        a = act_mean[b, a_start : a_start + n_in]
        c = act_var[b, a_start : a_start + n_in]
        for j in range(fan_in):
            if j < n_in:
                aj = a[j]
                cj = c[j]
            else:
                aj = 1.0
                cj = 0.0
            if aj == 0.0 and cj == 0.0:
                continue  # a silent input leaves its weight's posterior unchanged
            g = kappa * gm * aj + 2.0 * kappa2 * gv * mu[j] * cj
            h = kappa2 * gv * (aj * aj + cj)
            v = s2[j]
            v_new = min(max(v - v * v * (g * g - 2.0 * h), var_floor), var_max)
            acc_prec[j] += 1.0 / v_new - 1.0 / v
            acc_shift[j] += v * g / v_new
    keep = 1.0 - damping
    for j in range(fan_in):
        precision = 1.0 / s2[j] + keep * acc_prec[j]
        precision = min(max(precision, 1.0 / var_max), 1.0 / var_floor)
        mu[j] += keep * acc_shift[j] / precision
        s2[j] = 1.0 / precision


@njit(cache=True, nogil=True)
def update_discrete_row(
    layer,
    i,
    b_lo,
    b_hi,
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
    prob_floor,
    acc_lin,
    acc_quad,
):
    """Categorical update of row ``i`` of ``layer`` from samples ``[b_lo, b_hi)`` (summed)."""
    n_in = widths[layer]
    fan_in = n_in + bias
    kappa = 1.0 / math.sqrt(fan_in)
    kappa2 = kappa * kappa
    row = weight_offsets(widths, bias)[layer] + i * fan_in
    a_start = input_offsets(widths)[layer]
    unit = unit_offsets(widths)[layer] + i
    acc_lin[:fan_in] = 0.0
    acc_quad[:fan_in] = 0.0
    for b in range(b_lo, b_hi):
        gm = grad_m[b, unit]
        gv = grad_v[b, unit]
        if gm == 0.0 and gv == 0.0:
            continue
        d2 = 2.0 * gv - gm * gm
        a = act_mean[b, a_start : a_start + n_in]
        c = act_var[b, a_start : a_start + n_in]
        for j in range(fan_in):
            if j < n_in:
                aj = a[j]
                cj = c[j]
            else:
                aj = 1.0
                cj = 0.0
            acc_lin[j] += kappa * aj * gm - kappa2 * aj * aj * w_mean[row + j] * d2
            acc_quad[j] += kappa2 * (cj * gv + 0.5 * aj * aj * d2)
    keep = 1.0 - damping
    n_support = support.shape[0]
    for j in range(fan_in):
        w = row + j
        top = -np.inf
        for k in range(n_support):
            value = log_probs[w, k] + keep * (
                support[k] * acc_lin[j] + support[k] * support[k] * acc_quad[j]
            )
            log_probs[w, k] = value
            top = max(top, value)
        total = 0.0
        for k in range(n_support):
            p = max(math.exp(log_probs[w, k] - top), prob_floor)
            log_probs[w, k] = p
            total += p
        mean = 0.0
        second = 0.0
        for k in range(n_support):
            p = log_probs[w, k] / total
            log_probs[w, k] = math.log(p)
            mean += p * support[k]
            second += p * support[k] * support[k]
        w_mean[w] = mean
        w_var[w] = max(second - mean * mean, 0.0)


@njit(cache=True, nogil=True)
def noise_update(y, m, v, alpha, beta):
    """``(alpha', beta')`` of the noise precision after one observation (PBP's ADF step).

    Tilted moments of ``Gamma(lambda; alpha, beta) N(y; m, v + 1/lambda)`` with the plug-in
    ``Z(alpha, beta) = N(y; m, v + beta / (alpha - 1))``:
    ``E[lambda] = alpha/beta Z(alpha+1)/Z(alpha)``,
    ``E[lambda^2] = alpha(alpha+1)/beta^2 Z(alpha+2)/Z(alpha)``. Returns the inputs unchanged
    when the matched variance is not positive.
    """
    e2 = (y - m) * (y - m)
    log_z = np.empty(3)
    for k in range(3):
        total = v + beta / (alpha - 1.0 + k)
        log_z[k] = -0.5 * math.log(total) - 0.5 * e2 / total
    first = alpha / beta * math.exp(log_z[1] - log_z[0])
    second = alpha * (alpha + 1.0) / (beta * beta) * math.exp(log_z[2] - log_z[0])
    spread = second - first * first
    if not spread > 0.0:
        return alpha, beta
    new_alpha = first * first / spread
    if new_alpha <= 1.0:
        return alpha, beta
    return new_alpha, first / spread


@njit(cache=True, nogil=True)
def noise_update_batch(targets, pre_mean, pre_var, widths, b_lo, b_hi, damping, alpha, beta):
    """Sum of the per-sample Gamma natural-parameter increments of ``[b_lo, b_hi)``, in place."""
    n_layers = widths.shape[0] - 1
    out = unit_offsets(widths)[n_layers - 1]
    keep = 1.0 - damping
    for k in range(widths[n_layers]):
        d_alpha = 0.0
        d_beta = 0.0
        for b in range(b_lo, b_hi):
            new_alpha, new_beta = noise_update(
                targets[b, k], pre_mean[b, out + k], pre_var[b, out + k], alpha[k], beta[k]
            )
            d_alpha += new_alpha - alpha[k]
            d_beta += new_beta - beta[k]
        new_alpha = alpha[k] + keep * d_alpha
        new_beta = beta[k] + keep * d_beta
        if new_alpha > 1.0 and new_beta > 0.0:
            alpha[k] = new_alpha
            beta[k] = new_beta


@njit(cache=True, nogil=True)
def noise_variances(alpha, beta, noise_var):
    for k in range(alpha.shape[0]):
        noise_var[k] = beta[k] / (alpha[k] - 1.0)


@njit(cache=True, nogil=True, parallel=True)
def ep_forward(
    w_mean, w_var, widths, bias, theta, neuron_var, act_mean, act_var, pre_mean, pre_var, n_threads
):
    """Moment pass of every sample (see module docstring for the buffers)."""
    n_batch = act_mean.shape[0]
    for worker in prange(n_threads):
        for b in range(worker * n_batch // n_threads, (worker + 1) * n_batch // n_threads):
            forward_sample(
                b,
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
            )


@njit(cache=True, nogil=True, parallel=True)
def ep_forward_backward(
    w_mean,
    w_var,
    widths,
    bias,
    theta,
    neuron_var,
    targets,
    likelihood,
    tau2,
    noise_var,
    act_mean,
    act_var,
    pre_mean,
    pre_var,
    grad_m,
    grad_v,
    log_z,
    n_threads,
):
    """Moment pass, ``log Z`` ``(B,)`` and the reverse pass of every sample."""
    n_batch = act_mean.shape[0]
    for worker in prange(n_threads):
        scratch = np.empty((2, widths.max()))
        for b in range(worker * n_batch // n_threads, (worker + 1) * n_batch // n_threads):
            forward_sample(
                b,
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
            )
            log_z[b] = likelihood_sample(
                b, targets, likelihood, tau2, noise_var, widths, pre_mean, pre_var, grad_m, grad_v
            )
            backward_sample(
                b,
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
                scratch,
            )


@njit(cache=True, nogil=True)
def update_layer_rows(
    layer,
    r_lo,
    r_hi,
    b_lo,
    b_hi,
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
    acc_a,
    acc_b,
):
    discrete = support.shape[0] > 0
    for i in range(r_lo, r_hi):
        if discrete:
            update_discrete_row(
                layer,
                i,
                b_lo,
                b_hi,
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
                prob_floor,
                acc_a,
                acc_b,
            )
        else:
            update_gaussian_row(
                layer,
                i,
                b_lo,
                b_hi,
                w_mean,
                w_var,
                widths,
                bias,
                act_mean,
                act_var,
                grad_m,
                grad_v,
                damping,
                var_floor,
                var_max,
                acc_a,
                acc_b,
            )


@njit(cache=True, nogil=True, parallel=True)
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
    n_threads,
):
    """Summed update of every weight from every sample of the batch (``batch_mode="sum"``).

    Gaussian weights when ``support`` is empty (``log_probs`` unused), categorical otherwise
    (``log_probs`` ``(n_weights, n_support)``; ``w_mean``/``w_var`` refreshed from it).
    """
    n_layers = widths.shape[0] - 1
    n_batch = act_mean.shape[0]
    for layer in range(n_layers):
        n_rows = widths[layer + 1]
        for worker in prange(n_threads):
            acc_a = np.empty(widths[layer] + bias)
            acc_b = np.empty(widths[layer] + bias)
            update_layer_rows(
                layer,
                worker * n_rows // n_threads,
                (worker + 1) * n_rows // n_threads,
                0,
                n_batch,
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
                acc_a,
                acc_b,
            )


@njit(cache=True, nogil=True)
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
    likelihood,
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
    """ADF one sample at a time (``batch_mode="sequential"``); ``log Z`` before each update."""
    n_layers = widths.shape[0] - 1
    scratch = np.empty((2, widths.max()))
    acc_a = np.empty(widths.max() + 1)
    acc_b = np.empty(widths.max() + 1)
    noise_var = np.empty(alpha.shape[0])
    for b in range(act_mean.shape[0]):
        noise_variances(alpha, beta, noise_var)
        forward_sample(
            b, w_mean, w_var, widths, bias, theta, neuron_var, act_mean, act_var, pre_mean, pre_var
        )
        log_z[b] = likelihood_sample(
            b, targets, likelihood, tau2, noise_var, widths, pre_mean, pre_var, grad_m, grad_v
        )
        backward_sample(
            b,
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
            scratch,
        )
        for layer in range(n_layers):
            update_layer_rows(
                layer,
                0,
                widths[layer + 1],
                b,
                b + 1,
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
                acc_a,
                acc_b,
            )
        if learn_noise and likelihood == LIKELIHOOD_GAUSSIAN:
            noise_update_batch(targets, pre_mean, pre_var, widths, b, b + 1, damping, alpha, beta)


@njit(cache=True, nogil=True, parallel=True)
def spiking_forward(
    x, weights, widths, bias, theta, temperature, stochastic, rng_state, potentials, n_threads
):
    """A real spiking pass with fixed weights (MAP or mean): output potentials ``(B, n_out)``.

    x: ``(B, widths[0])`` float64 input spikes or values. Hidden units spike ``H(u - theta)`` or,
    when ``stochastic``, with probability ``sigma((u - theta) / temperature)`` drawn from
    ``rng_state[b]`` (one stream per sample). potentials: ``(B, widths[-1])`` filled.
    """
    n_layers = widths.shape[0] - 1
    w_off = weight_offsets(widths, bias)
    n_batch = x.shape[0]
    for worker in prange(n_threads):
        v = np.empty(widths.max())
        u = np.empty(widths.max())
        for b in range(worker * n_batch // n_threads, (worker + 1) * n_batch // n_threads):
            v[: widths[0]] = x[b]
            for layer in range(n_layers):
                n_in = widths[layer]
                fan_in = n_in + bias
                kappa = 1.0 / math.sqrt(fan_in)
                for i in range(widths[layer + 1]):
                    row = w_off[layer] + i * fan_in
                    total = weights[row + n_in] if bias else 0.0
                    for j in range(n_in):
                        total += weights[row + j] * v[j]
                    u[i] = kappa * total
                if layer == n_layers - 1:
                    potentials[b, :] = u[: widths[layer + 1]]
                else:
                    for i in range(widths[layer + 1]):
                        if stochastic:
                            rate = 1.0 / (1.0 + math.exp(-(u[i] - theta) / temperature))
                            v[i] = 1.0 if next_uniform(rng_state, b) < rate else 0.0
                        else:
                            v[i] = 1.0 if u[i] >= theta else 0.0
