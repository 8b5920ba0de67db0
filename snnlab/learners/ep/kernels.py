"""Expectation Propagation (assumed-density filtering) through layers of static spike-response units.

Model (snnlab/docs/algorithms.md, section 1). Layer ``l = 0..L-1`` maps ``widths[l]`` inputs, plus one bias
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

Full EP (:func:`ep_train_sites`): the posterior is the initial ``q_0`` times one site per
training sample, ``q = q_0 prod_n t_n``, sites in natural parameters (Gaussian: precision and
precision-times-mean increments; discrete: log-potential increments per support value). A visit
divides the site out (cavity), runs the moment and reverse passes at the cavity, matches the
tilted marginals with the updates above (for discrete output units ``log Z(w_ij = k)`` exactly
on the integer lattice of ``sum_j w_ij v_j`` when the inputs are spikes) and stores
``tilted / cavity`` as the new site.

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
def moments_and_gradients(
    b, w_mean, w_var, widths, bias, theta, neuron_var, targets, likelihood, tau2, noise_var,
    act_mean, act_var, pre_mean, pre_var, grad_m, grad_v, scratch,
):
    """Sample ``b``: the forward moment pass, ``log Z`` (returned) and the reverse pass filling
    ``grad_m``/``grad_v`` — what every update mode (summed, sequential, full EP) starts from."""
    forward_sample(
        b, w_mean, w_var, widths, bias, theta, neuron_var, act_mean, act_var, pre_mean, pre_var
    )
    log_z = likelihood_sample(
        b, targets, likelihood, tau2, noise_var, widths, pre_mean, pre_var, grad_m, grad_v
    )
    backward_sample(
        b, w_mean, w_var, widths, bias, theta, neuron_var, act_mean, act_var, pre_mean, pre_var,
        grad_m, grad_v, scratch,
    )
    return log_z


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


@njit(cache=True, nogil=True, inline="always")  # per weight, in hot loops
def normalise_log_probs(log_probs, w, top, support, prob_floor, w_mean, w_var):
    """Normalise discrete weight ``w``'s log-probabilities ``log_probs[w]`` in place (given
    unnormalised, largest value ``top``; each probability floored at ``prob_floor`` before
    normalising) and set its mean ``w_mean[w]`` and variance ``w_var[w]``."""
    n_support = support.shape[0]
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
        normalise_log_probs(log_probs, w, top, support, prob_floor, w_mean, w_var)


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
            log_z[b] = moments_and_gradients(
                b, w_mean, w_var, widths, bias, theta, neuron_var, targets, likelihood,
                tau2, noise_var, act_mean, act_var, pre_mean, pre_var, grad_m, grad_v, scratch,
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
        log_z[b] = moments_and_gradients(
            b, w_mean, w_var, widths, bias, theta, neuron_var, targets, likelihood,
            tau2, noise_var, act_mean, act_var, pre_mean, pre_var, grad_m, grad_v, scratch,
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


# -- full Expectation Propagation: one stored site per training sample --------------------------


@njit(cache=True, nogil=True)
def unit_log_lik(y, u, likelihood, tau2, noise_var):
    """``log p(y | u)`` of one output unit at a known potential ``u``."""
    if likelihood == LIKELIHOOD_PROBIT:
        return log_cdf_and_ratio(y * u / math.sqrt(tau2))[0]
    e = y - u
    return -0.5 * (LOG_2PI + math.log(noise_var)) - 0.5 * e * e / noise_var


@njit(cache=True, nogil=True)
def unit_log_z(y, m, v, likelihood, tau2, noise_var):
    """``log Z`` of one output unit whose potential is ``N(m, v)``."""
    if likelihood == LIKELIHOOD_PROBIT:
        return log_cdf_and_ratio(y * m / math.sqrt(max(v, 0.0) + tau2))[0]
    total = max(v, 0.0) + noise_var
    e = y - m
    return -0.5 * (LOG_2PI + math.log(total)) - 0.5 * e * e / total


@njit(cache=True, nogil=True)
def lattice_tilt(
    a,
    c,
    n_in,
    bias,
    cav_logp,
    row,
    support,
    kappa,
    y,
    likelihood,
    tau2,
    noise_var,
    order,
    table,
    forward,
    tilt,
):
    """Exact ``log Z(w_j = k)`` (up to one constant) of an output unit with spiking inputs.

    The unit's potential is ``u = kappa s``, ``s = sum_j w_j v_j`` with independent spikes
    ``v_j ~ Bernoulli(a_j)`` (the bias input is 1) and independent categorical weights
    ``q(w_j)`` (``exp(cav_logp[row + j])``) over an integer ``support``, so ``s`` lives on the
    integer lattice ``[-S n, S n]`` (``S = max |support|``, ``n`` active inputs). A backward
    table ``table[t, s] = E[p(y | kappa (s + terms t..n-1))]`` and a forward distribution of
    the first terms give ``Z(w_j = k) = sum_s P(s_<j) [a_j table[t+1, s + k] + (1 - a_j)
    table[t+1, s]]`` for every input in ``O(n * lattice * n_support)``.

    a, c: ``(n_in,)`` input means and variances; order: ``(n_in + bias,)`` int64 work space;
    table: ``(n_in + bias + 1, 2 S (n_in + bias) + 1)`` and forward ``(2, same)`` float64 work
    space;
    tilt: ``(n_in + bias, n_support)`` filled (0 for silent inputs). Returns False, leaving
    ``tilt`` unspecified, when an input is not a spike probability (``c != a (1 - a)``).
    """
    n_support = support.shape[0]
    s_max = 0
    for k in range(n_support):
        s_max = max(s_max, abs(math.floor(support[k] + 0.5)))
    n_act = 0
    for j in range(n_in + bias):
        aj = a[j] if j < n_in else 1.0
        cj = c[j] if j < n_in else 0.0
        if aj == 0.0 and cj == 0.0:
            for k in range(n_support):
                tilt[j, k] = 0.0
            continue
        if aj < 0.0 or aj > 1.0 or abs(cj - aj * (1.0 - aj)) > 1e-9:
            return False
        order[n_act] = j
        n_act += 1
    center = s_max * n_act
    size = 2 * center + 1
    top = -np.inf
    for s in range(size):
        value = unit_log_lik(y, kappa * (s - center), likelihood, tau2, noise_var)
        table[n_act, s] = value
        top = max(top, value)
    for s in range(size):
        table[n_act, s] = math.exp(table[n_act, s] - top)  # scaled: only ratios in k matter
    for t in range(n_act - 1, -1, -1):
        j = order[t]
        aj = a[j] if j < n_in else 1.0
        for s in range(size):
            value = (1.0 - aj) * table[t + 1, s]
            for k in range(n_support):
                shifted = s + math.floor(support[k] + 0.5)
                if 0 <= shifted < size:
                    value += aj * math.exp(cav_logp[row + j, k]) * table[t + 1, shifted]
            table[t, s] = value
    now = forward[0]
    nxt = forward[1]
    now[:size] = 0.0
    now[center] = 1.0
    for t in range(n_act):
        j = order[t]
        aj = a[j] if j < n_in else 1.0
        lo = center - s_max * t
        hi = center + s_max * t + 1  # the first t terms reach [lo, hi)
        for k in range(n_support):
            step = math.floor(support[k] + 0.5)
            z = 0.0
            for s in range(lo, hi):
                z += now[s] * (aj * table[t + 1, s + step] + (1.0 - aj) * table[t + 1, s])
            tilt[j, k] = math.log(max(z, 1e-300))
        for s in range(size):
            value = (1.0 - aj) * now[s]
            for k in range(n_support):
                source = s - math.floor(support[k] + 0.5)
                if 0 <= source < size:
                    value += aj * math.exp(cav_logp[row + j, k]) * now[source]
            nxt[s] = value
        now, nxt = nxt, now
    return True


@njit(cache=True, nogil=True)
def cavity_weights(n, w_mean, w_var, log_probs, support, sites, cav_mean, cav_var, cav_logp, skip):
    """Divide site ``n`` out of the posterior: the cavity ``q / t_n`` of every weight.

    Gaussian (``support`` empty): precision ``1/s2 - sites[n, w, 0]``, precision-times-mean
    ``mu/s2 - sites[n, w, 1]``; a weight whose cavity precision is not positive keeps its
    posterior as cavity and is flagged in ``skip`` (its site is left as it is). Discrete:
    ``log q(k) - sites[n, w, k]``, normalised, with its mean and variance.
    """
    n_support = support.shape[0]
    for w in range(w_mean.shape[0]):
        skip[w] = 0
        if n_support == 0:
            precision = 1.0 / w_var[w] - sites[n, w, 0]
            if precision > 0.0:
                cav_var[w] = 1.0 / precision
                cav_mean[w] = (w_mean[w] / w_var[w] - sites[n, w, 1]) / precision
            else:
                cav_var[w] = w_var[w]
                cav_mean[w] = w_mean[w]
                skip[w] = 1
            continue
        top = -np.inf
        for k in range(n_support):
            cav_logp[w, k] = log_probs[w, k] - sites[n, w, k]
            top = max(top, cav_logp[w, k])
        total = 0.0
        for k in range(n_support):
            total += math.exp(cav_logp[w, k] - top)
        norm = top + math.log(total)
        mean = 0.0
        second = 0.0
        for k in range(n_support):
            cav_logp[w, k] -= norm
            p = math.exp(cav_logp[w, k])
            mean += p * support[k]
            second += p * support[k] * support[k]
        cav_mean[w] = mean
        cav_var[w] = max(second - mean * mean, 0.0)


@njit(cache=True, nogil=True)
def gaussian_site_update(
    n, w, g, h, w_mean, w_var, sites, cav_mean, cav_var, damping, var_floor, var_max
):
    """New site ``n`` of Gaussian weight ``w`` from ``g = dlogZ/dmu``, ``h = dlogZ/ds2`` at the cavity.

    Tilted moments ``mu_t = mu_c + s2_c g``, ``s2_t = s2_c - s2_c^2 (g^2 - 2 h)`` (clipped to
    ``[var_floor, var_max]``); the site is their natural parameters minus the cavity's, mixed
    with the old site by ``damping``; the posterior is cavity times site, its precision clipped
    to ``[1/var_max, 1/var_floor]`` (the site then absorbs the clip, so ``q = prior * prod t_n``
    stays exact).
    """
    v = cav_var[w]
    cav_precision = 1.0 / v
    cav_shift = cav_mean[w] * cav_precision
    v_tilted = min(max(v - v * v * (g * g - 2.0 * h), var_floor), var_max)
    mu_tilted = cav_mean[w] + v * g
    keep = 1.0 - damping
    site_precision = keep * (1.0 / v_tilted - cav_precision) + damping * sites[n, w, 0]
    site_shift = keep * (mu_tilted / v_tilted - cav_shift) + damping * sites[n, w, 1]
    precision = min(max(cav_precision + site_precision, 1.0 / var_max), 1.0 / var_floor)
    sites[n, w, 0] = precision - cav_precision
    sites[n, w, 1] = site_shift
    w_mean[w] = (cav_shift + site_shift) / precision
    w_var[w] = 1.0 / precision


@njit(cache=True, nogil=True)
def discrete_site_update(
    n, w, tilt, w_mean, w_var, log_probs, support, sites, cav_logp, damping, prob_floor
):
    """New site ``n`` of discrete weight ``w`` from the tilt ``log Z(w = k)`` (``(n_support,)``).

    The tilted distribution is ``q_c(k) Z(w = k)``, so the new site is ``log Z(w = k)``; mixed
    with the old site by ``damping``, the posterior ``q_c(k) exp(site(k))`` is normalised and
    floored at ``prob_floor``, and the site is reset to ``log q(k) - log q_c(k)``.
    """
    n_support = support.shape[0]
    keep = 1.0 - damping
    top = -np.inf
    for k in range(n_support):
        value = cav_logp[w, k] + keep * tilt[k] + damping * sites[n, w, k]
        log_probs[w, k] = value
        top = max(top, value)
    normalise_log_probs(log_probs, w, top, support, prob_floor, w_mean, w_var)
    for k in range(n_support):
        sites[n, w, k] = log_probs[w, k] - cav_logp[w, k]


@njit(cache=True, nogil=True)
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
    likelihood,
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
    """Full EP, one sample at a time: cavity, moment pass, tilt, new site (``inference="ep"``).

    sites: ``(n_sites, n_weights, 2)`` Gaussian (precision and precision-times-mean increments)
    or ``(n_sites, n_weights, n_support)`` discrete (log-potential increments), one per
    training sample; index: ``(B,)`` site of each sample of the batch. noise_sites: ``(n_sites,
    n_outputs, 2)`` increments of the Gamma noise posterior ``(alpha, beta)`` (used with a
    learned Gaussian likelihood). For sample ``b`` with site ``n``:

    1. cavity ``q_c = q / t_n`` of every weight (:func:`cavity_weights`) and of the noise;
    2. moment pass, ``log Z`` (into ``log_z[b]``, the cavity's evidence) and reverse pass
       through the cavity;
    3. per weight, the tilted marginal ``q_c(w) Z(w)`` is matched: Gaussian weights from
       ``g``, ``h`` (:func:`gaussian_site_update`); discrete weights from ``log Z(w_ij = k)``:
       exactly on the integer lattice for output units with spiking inputs when
       ``exact_tilt`` (:func:`lattice_tilt`), else by evaluating the output unit's ``log Z``
       at the moments shifted by ``w_ij = k`` (output layer) or by the second-order
       expansion of the ADF update (hidden layers); then :func:`discrete_site_update`;
    4. the noise site from PBP's Gamma step at the cavity.
    """
    n_layers = widths.shape[0] - 1
    n_weights = w_mean.shape[0]
    n_support = support.shape[0]
    n_out = widths[n_layers]
    w_off = weight_offsets(widths, bias)
    a_off = input_offsets(widths)
    out = unit_offsets(widths)[n_layers - 1]
    cav_mean = np.empty(n_weights)
    cav_var = np.empty(n_weights)
    cav_logp = np.empty((n_weights, n_support))
    skip = np.zeros(n_weights, dtype=np.uint8)
    scratch = np.empty((2, widths.max()))
    tilt = np.empty((widths.max() + 1, max(n_support, 1)))
    s_max = 0
    for k in range(n_support):
        s_max = max(s_max, abs(math.floor(support[k] + 0.5)))
    last_fan = widths[n_layers - 1] + bias
    lattice = 2 * s_max * last_fan + 1 if exact_tilt and n_support > 0 else 1
    table = np.empty((last_fan + 1, lattice))
    forward = np.empty((2, lattice))
    order = np.empty(last_fan, dtype=np.int64)
    noise_var = np.empty(n_out)
    cav_alpha = np.empty(n_out)
    cav_beta = np.empty(n_out)
    noise_ok = np.zeros(n_out, dtype=np.uint8)
    learned_noise = learn_noise and likelihood == LIKELIHOOD_GAUSSIAN
    keep = 1.0 - damping
    for b in range(act_mean.shape[0]):
        n = index[b]
        cavity_weights(
            n, w_mean, w_var, log_probs, support, sites, cav_mean, cav_var, cav_logp, skip
        )
        for k in range(n_out):
            cav_alpha[k] = alpha[k]
            cav_beta[k] = beta[k]
            noise_ok[k] = 0
            if learned_noise:
                ca = alpha[k] - noise_sites[n, k, 0]
                cb = beta[k] - noise_sites[n, k, 1]
                if ca > 1.0 and cb > 0.0:
                    cav_alpha[k] = ca
                    cav_beta[k] = cb
                    noise_ok[k] = 1
            noise_var[k] = cav_beta[k] / (cav_alpha[k] - 1.0)
        log_z[b] = moments_and_gradients(
            b, cav_mean, cav_var, widths, bias, theta, neuron_var, targets, likelihood,
            tau2, noise_var, act_mean, act_var, pre_mean, pre_var, grad_m, grad_v, scratch,
        )
        for layer in range(n_layers):
            n_in = widths[layer]
            fan_in = n_in + bias
            kappa = 1.0 / math.sqrt(fan_in)
            kappa2 = kappa * kappa
            a = act_mean[b, a_off[layer] : a_off[layer] + n_in]
            c = act_var[b, a_off[layer] : a_off[layer] + n_in]
            unit0 = unit_offsets(widths)[layer]
            is_output = layer == n_layers - 1
            for i in range(widths[layer + 1]):
                row = w_off[layer] + i * fan_in
                gm = grad_m[b, unit0 + i]
                gv = grad_v[b, unit0 + i]
                if n_support == 0:
                    for j in range(fan_in):
                        w = row + j
                        if skip[w]:
                            continue
                        aj = a[j] if j < n_in else 1.0
                        cj = c[j] if j < n_in else 0.0
                        g = kappa * gm * aj + 2.0 * kappa2 * gv * cav_mean[w] * cj
                        h = kappa2 * gv * (aj * aj + cj)
                        gaussian_site_update(
                            n,
                            w,
                            g,
                            h,
                            w_mean,
                            w_var,
                            sites,
                            cav_mean,
                            cav_var,
                            damping,
                            var_floor,
                            var_max,
                        )
                    continue
                exact = False
                if is_output and exact_tilt:
                    exact = lattice_tilt(
                        a,
                        c,
                        n_in,
                        bias,
                        cav_logp,
                        row,
                        support,
                        kappa,
                        targets[b, i],
                        likelihood,
                        tau2,
                        noise_var[i],
                        order,
                        table,
                        forward,
                        tilt,
                    )
                if not exact:
                    m = pre_mean[b, unit0 + i]
                    v = pre_var[b, unit0 + i]
                    d2 = 2.0 * gv - gm * gm
                    for j in range(fan_in):
                        aj = a[j] if j < n_in else 1.0
                        cj = c[j] if j < n_in else 0.0
                        mu = cav_mean[row + j]
                        s2 = cav_var[row + j]
                        for k in range(n_support):
                            sk = support[k]
                            if is_output:
                                dm = kappa * (sk - mu) * aj
                                dv = kappa2 * ((sk * sk - mu * mu) * cj - s2 * (aj * aj + cj))
                                tilt[j, k] = unit_log_z(
                                    targets[b, i], m + dm, v + dv, likelihood, tau2, noise_var[i]
                                )
                            else:
                                lin = kappa * aj * gm - kappa2 * aj * aj * mu * d2
                                quad = kappa2 * (cj * gv + 0.5 * aj * aj * d2)
                                tilt[j, k] = sk * lin + sk * sk * quad
                for j in range(fan_in):
                    discrete_site_update(
                        n,
                        row + j,
                        tilt[j],
                        w_mean,
                        w_var,
                        log_probs,
                        support,
                        sites,
                        cav_logp,
                        damping,
                        prob_floor,
                    )
        if learned_noise:
            for k in range(n_out):
                if not noise_ok[k]:
                    continue
                new_alpha, new_beta = noise_update(
                    targets[b, k],
                    pre_mean[b, out + k],
                    pre_var[b, out + k],
                    cav_alpha[k],
                    cav_beta[k],
                )
                site_alpha = keep * (new_alpha - cav_alpha[k]) + damping * noise_sites[n, k, 0]
                site_beta = keep * (new_beta - cav_beta[k]) + damping * noise_sites[n, k, 1]
                if cav_alpha[k] + site_alpha > 1.0 and cav_beta[k] + site_beta > 0.0:
                    noise_sites[n, k, 0] = site_alpha
                    noise_sites[n, k, 1] = site_beta
                    alpha[k] = cav_alpha[k] + site_alpha
                    beta[k] = cav_beta[k] + site_beta
