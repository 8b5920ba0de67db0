"""GLM / spike-response Bernoulli network: the fused GEM training step and free-running inference.

Model (discrete time, one compartment)::

    u_{i,t} = gamma_i + w_fb_i (b * s_i)_{t-1} + sum_{j in pre} sum_a W[j, a, i] (A_a * s_j)_{t-1}
    p(s_{i,t} = 1) = sigma(u_{i,t})

with ``(A_a * s)_{t-1} = sum_{d < memory} A[a, d] s_{t-1-d}`` (basis ``A`` float32
``(n_basis, memory)``, feedback kernel ``b`` float32 ``(memory,)``). Neurons are inputs X
(``n_in``, clamped to ``x``), hidden H (``n_hid``, sampled) and outputs Y (``n_out``, clamped to
``y`` or sampled). Every learnable (postsynaptic) neuron -- hidden and output -- receives from
the same presynaptic set, inputs then hidden (``n_pre = n_in + n_hid``); outputs feed nothing
but their own feedback kernel. A hidden neuron's influence on itself goes through its feedback
kernel only: the hidden->hidden diagonal of ``W`` is held at zero.

Parameter layout: all learnable parameters live in one float32 matrix ``theta`` of shape
``(R, n_post)``, ``n_post = n_hid + n_out`` (hidden columns first), ``R = n_pre * n_basis + 2``:
row ``j * n_basis + a`` is ``W[j, a, :]``, row ``R - 2`` the feedback weights ``w_fb`` and row
``R - 1`` the biases ``gamma``. Every gradient is then an outer product of a postsynaptic error
and a presynaptic feature, one row at a time, which is what the kernels loop over.

Per-step gradients of ``log p(s_{i,t} | u_{i,t})`` (Bernoulli GLM):
``d/dgamma_i = s_i - sigma(u_i)``, ``d/dW[j, a, i] = (s_i - sigma(u_i)) (A_a * s_j)_{t-1}``,
``d/dw_fb_i = (s_i - sigma(u_i)) (b * s_i)_{t-1}``.

K compartments share ``theta``; each sees the same clamped visible spikes and samples its own
hidden spikes from its own RNG stream ``state[k]``. Per step t and compartment k the training
kernel computes the visible log-likelihood ``r^k_t = sum_{i in Y} log p(y_{i,t} | u^k_{i,t})``,
the eligibility traces ``e^k_t = kappa e^k_{t-1} + c grad^k_t`` and the rule's update
``Delta_t``; it adds ``Delta_t`` to ``update`` and, with ``per_step``, applies
``theta += lr Delta_t`` before step t + 1. ``c`` is 1 (the GEM authors' code) or
``1 - kappa`` (``scale_traces``); the same factor scales the smoothed log-weights below.

Rules (``rule`` code; see snnlab/docs/algorithms.md section 2), with ``v^k_t = kappa v^k_{t-1} + c r^k_t``
and ``omega_t = softmax_k(v_t)``:

- ``GEM`` (0): ``Delta = sum_k omega^k e^k`` for hidden and output neurons.
- ``IW`` (1): outputs ``sum_k omega^k e^k``; hidden ``(l_t - B) sum_k e^k`` with
  ``l_t = log mean_k exp(v^k_t)`` and the per-parameter running baseline
  ``B = N / (D + 1e-7)``, ``N = beta N + (sum_k e^k)^2 l_t``, ``D = beta D + (sum_k e^k)^2``.
- ``MB`` (2) / ``MB1`` (3, K = 1): K single-sample variational updates averaged. Learning
  signal ``l^k_t = r^k_t - kl_weight sum_{i in H} KL(sigma(u^k_{i,t}) || target_rate)``, smoothed
  ``lbar^k_t = kappa lbar^k_{t-1} + c l^k_t``; outputs ``mean_k e^k``; hidden
  ``mean_k (lbar^k_t - B^k) e^k`` with a baseline per compartment and parameter as for IW
  (``N^k = beta N^k + (e^k)^2 lbar^k``). The KL enters the learning signal only (its
  pathwise gradient is not added), as in the VLSNN baseline.

Traces, smoothed weights and baselines restart from zero with every example (the authors' code
does the same). The rows of a presynaptic neuron are exactly zero until it first spikes in the
example, and after its last spike its traces only decay by ``kappa`` per step: once
``kappa^n <= 1e-9`` (:func:`rows_kept`) they are below the float32 resolution of what they
already contributed, so the kernel treats them as zero and skips the rows until the neuron is
active again (the baselines of skipped rows get their ``beta`` decays when they come back). The
cost follows the activity, the arithmetic stays clear of slow subnormal floats, and the
workspaces need no clearing between calls. The NumPy twin computes every row densely.

Cost: the input part of the potentials is the same in every compartment and is computed once
per step; each row block's trace and update run as one flat loop over its ``n_basis * n_post``
contiguous entries (a per-row loop of ``n_post`` ~ 26 is too short for the vectoriser); the
kernel runs with subnormal floats flushed to zero (:mod:`snnlab._kernels.subnormals`), which
only changes values below 1.2e-38.

Parallelism: compartments run in parallel (forward pass), then blocks of presynaptic neurons
(traces and update), with ``n_threads`` chunks; every result is independent of the thread count.
"""

import numpy as np
from numba import njit, prange

from snnlab._kernels.rng import next_uniform
from snnlab._kernels.subnormals import flush_subnormals, restore_subnormals

GEM = 0
IW = 1
MB = 2
MB1 = 3
BASELINE_EPS = 1e-7
NEGLIGIBLE = 1e-9
# The helpers below allocate nothing and slice rows in their inner loops; compiled without the
# runtime's reference counting a view is free (with it, each costs an atomic pair, which took
# more time than a row's arithmetic). The callers own every array.
HOT_LOOP = {"cache": True, "nogil": True, "_nrt": False}


@njit(**HOT_LOOP)
def log_sigmoid(z):
    """``log sigma(z)`` without overflow (float64)."""
    if z >= 0.0:
        return -np.log1p(np.exp(-z))
    return z - np.log1p(np.exp(z))


@njit(**HOT_LOOP)
def _add_basis(phi, base, basis, d, first):
    """Add a spike ``d + 1`` steps back to a neuron's features ``phi[base:base + n_basis]``
    (starting them from zero on its first spike within the memory)."""
    n_basis = basis.shape[0]
    if first:
        phi[base:base + n_basis] = 0.0
    for a in range(n_basis):
        phi[base + a] += basis[a, d]


@njit(**HOT_LOOP)
def _add_drive(phi, base, n_basis, theta, u):
    """``u += sum_a theta[base + a] phi[base + a]``: one active neuron's drive of every
    learnable neuron."""
    for a in range(n_basis):
        f = phi[base + a]
        if f != 0.0:
            row = theta[base + a]
            for i in range(u.shape[0]):
                u[i] += row[i] * f


@njit(**HOT_LOOP)
def input_potentials(t, x, theta, basis, phi, active, u):
    """The input part of every learnable neuron's potential at step ``t`` (the same in every
    compartment): ``u_i = gamma_i + sum_{j in X} sum_a W[j, a, i] (A_a * x_j)_{t-1}``.

    x uint8 ``(T, n_in)``. Fills the input rows of ``phi`` float32 ``(n_pre * n_basis,)``
    (valid only for active inputs), ``active[:n_in]`` uint8 (1 when the input spiked within the
    memory) and ``u`` float64 ``(n_post,)``.
    """
    n_basis, memory = basis.shape
    n_in = x.shape[1]
    n_post = theta.shape[1]
    depth = min(memory, t)
    bias_row = theta.shape[0] - 1
    for i in range(n_post):
        u[i] = theta[bias_row, i]
    for j in range(n_in):
        hit = False
        for d in range(depth):
            if x[t - 1 - d, j] != 0:
                _add_basis(phi, j * n_basis, basis, d, not hit)
                hit = True
        active[j] = hit
        if hit:
            _add_drive(phi, j * n_basis, n_basis, theta, u)


@njit(**HOT_LOOP)
def recurrent_potentials(t, n_in, hid_hist, out_hist, n_hist, theta, basis, fb_kernel, phi,
                         active, fb_drive, u):
    """Add the hidden and feedback parts to ``u`` (which holds :func:`input_potentials`):
    ``u_i += sum_{j in H} sum_a W[j, a, i] (A_a * s_j)_{t-1} + w_fb_i (b * s_i)_{t-1}``.

    hid_hist, out_hist: uint8 ``(n_hist, n_hid)`` and ``(n_hist, n_out)`` spike histories
    indexed by ``step % n_hist`` (full rasters with ``n_hist = T``, or ring buffers with
    ``n_hist >= memory``). Fills the hidden rows of ``phi`` and ``active`` and ``fb_drive``
    float32 ``(n_post,)`` (``(b * s_i)_{t-1}``).
    """
    n_basis, memory = basis.shape
    n_hid = hid_hist.shape[1]
    n_post = theta.shape[1]
    fb_row = theta.shape[0] - 2
    depth = min(memory, t)
    for h in range(n_hid):
        j = n_in + h
        hit = False
        for d in range(depth):
            if hid_hist[(t - 1 - d) % n_hist, h] != 0:
                _add_basis(phi, j * n_basis, basis, d, not hit)
                hit = True
        active[j] = hit
        if hit:
            _add_drive(phi, j * n_basis, n_basis, theta, u)
    for i in range(n_post):
        g = np.float32(0.0)
        for d in range(depth):
            if i < n_hid:
                s = hid_hist[(t - 1 - d) % n_hist, i]
            else:
                s = out_hist[(t - 1 - d) % n_hist, i - n_hid]
            if s != 0:
                g += fb_kernel[d]
        fb_drive[i] = g
        u[i] += theta[fb_row, i] * g


@njit(**HOT_LOOP)
def _forward_compartment(t, k, y, clamp_outputs, hid_spk, out_spk, theta, basis, fb_kernel,
                         n_in, target_rate, state, u_in, phi, active, fb_drive, u, delta, out_u,
                         loglik, kl):
    """One step of compartment ``k`` in training: potentials, spikes, errors, r^k_t and KL^k_t.

    The input part of the potentials, ``u_in`` with its features in ``phi[0]`` and
    ``active[0]``, is shared by all compartments (computed once per step).
    """
    n_basis = basis.shape[0]
    n_hid = hid_spk.shape[2]
    if k > 0:
        for j in range(n_in):
            active[k, j] = active[0, j]
            if active[0, j] != 0:
                for r in range(j * n_basis, (j + 1) * n_basis):
                    phi[k, r] = phi[0, r]
    for i in range(u_in.shape[0]):
        u[k, i] = u_in[i]
    recurrent_potentials(t, n_in, hid_spk[:, k, :], out_spk[:, k, :], hid_spk.shape[0], theta,
                         basis, fb_kernel, phi[k], active[k], fb_drive[k], u[k])
    n_post = theta.shape[1]
    log_rate = np.log(target_rate)
    log_silence = np.log(1.0 - target_rate)
    kl_sum = 0.0
    for i in range(n_hid):
        v = u[k, i]
        p = 1.0 / (1.0 + np.exp(-v))
        s = 1 if next_uniform(state, k) < p else 0
        hid_spk[t, k, i] = s
        delta[k, i] = s - p
        kl_sum += p * (log_sigmoid(v) - log_rate) + (1.0 - p) * (log_sigmoid(-v) - log_silence)
    r = 0.0
    for i in range(n_hid, n_post):
        v = u[k, i]
        p = 1.0 / (1.0 + np.exp(-v))
        if clamp_outputs:
            s = y[t, i - n_hid]
        else:
            s = 1 if next_uniform(state, k) < p else 0
        out_spk[t, k, i - n_hid] = s
        delta[k, i] = s - p
        r += log_sigmoid(v) if s != 0 else log_sigmoid(-v)
        if out_u.shape[0] > 0:
            out_u[t, k, i - n_hid] = v
    loglik[k] = r
    kl[k] = kl_sum


@njit(**HOT_LOOP)
def rows_kept(kappa):
    """Steps a row block stays live after its last active step: the least ``n`` with
    ``kappa^n <= NEGLIGIBLE``. By then its traces are below the float32 resolution of what the
    block already added to the update, so the kernel treats them as zero and skips the block
    (which also keeps the arithmetic clear of slow subnormal floats)."""
    if kappa <= 0.0:
        return 0
    return int(np.ceil(np.log(NEGLIGIBLE) / np.log(kappa)))


@njit(**HOT_LOOP)
def _restart_baseline(baseline_num, baseline_den, b, row0, n_sub, previous, t, keep, beta):
    """Bring baseline block ``b`` back into use at step ``t``: zero when it is new in this
    example (``previous < 0``), else apply the ``beta`` decays of the steps it was skipped."""
    factor = 0.0
    if previous >= 0:
        factor = np.float64(beta) ** (t - 1 - previous - keep)
    if factor < 1e-30:
        baseline_num[b, row0:row0 + n_sub, :] = 0.0
        baseline_den[b, row0:row0 + n_sub, :] = 0.0
    else:
        f32 = np.float32(factor)
        for r in range(row0, row0 + n_sub):
            for i in range(baseline_num.shape[2]):
                baseline_num[b, r, i] *= f32
                baseline_den[b, r, i] *= f32


@njit(**HOT_LOOP)
def _update_block(lo, hi, t, n_pre, n_basis, n_hid, rule, kappa, scale, lr, per_step, beta, keep,
                  weights, ell, lbar, phi, active, fb_drive, delta, last, last_any, theta, traces,
                  baseline_num, baseline_den, update, acc, esum, live, dm, drive):
    """Traces, baselines and the update for presynaptic indices ``lo <= jj < hi``.

    Index ``jj < n_pre`` covers the ``n_basis`` weight rows of presynaptic neuron ``jj``;
    ``jj == n_pre`` covers the feedback and bias rows (always active). ``weights`` float32
    ``(K,)`` is the per-compartment factor of output columns (omega for GEM/IW, 1/K for MB), and
    of hidden columns for GEM. ``last`` int64 ``(K, n_pre + 1)`` and ``last_any``
    ``(n_pre + 1,)``: the step each row block was last active in a compartment / in any
    (-1: not yet in this example). A block is live while ``t - last <= keep``. Scratch:
    acc float32 ``(max(n_basis, 2) * n_post,)``, esum ``(n_post,)``, live int64 ``(K,)``, dm
    ``(n_post,)``, drive ``(max(n_basis, 2) * n_post,)``.
    """
    n_comp, n_rows, n_post = traces.shape
    traces_flat = traces.reshape(n_comp, n_rows * n_post)
    theta_flat = theta.reshape(n_rows * n_post)
    update_flat = update.reshape(n_rows * n_post)
    mb = rule == MB or rule == MB1
    inv_k = np.float32(1.0 / n_comp)
    eps = np.float32(BASELINE_EPS)
    for jj in range(lo, hi):
        if jj < n_pre:
            row0 = jj * n_basis
            n_sub = n_basis
        else:
            row0 = n_rows - 2
            n_sub = 2
        any_active = False
        for k in range(n_comp):
            if jj < n_pre and active[k, jj] == 0:
                continue
            previous = last[k, jj]
            if previous < 0 or t - previous > keep:
                # traces were zero (or negligible): start them again from zero
                traces[k, row0:row0 + n_sub, :] = 0.0
                if mb:
                    _restart_baseline(baseline_num, baseline_den, k, row0, n_sub, previous, t,
                                      keep, beta)
            if rule == IW and not any_active and (last_any[jj] < 0 or t - last_any[jj] > keep):
                _restart_baseline(baseline_num, baseline_den, 0, row0, n_sub, last_any[jj], t,
                                  keep, beta)
            last[k, jj] = t
            any_active = True
        if any_active:
            last_any[jj] = t
        if last_any[jj] < 0 or t - last_any[jj] > keep:
            continue
        self_col = jj - (n_pre - n_hid) if jj < n_pre else -1
        if rule == GEM:
            _gem_block(jj, row0, n_sub, t, n_pre, kappa, scale, keep, self_col, weights, phi,
                       active, fb_drive, delta, last, traces_flat, lr, per_step, theta_flat,
                       update_flat, live, dm, drive, acc)
            continue
        for r in range(row0, row0 + n_sub):
            _variational_row(r, jj, t, n_pre, n_rows, n_hid, rule, kappa, scale, beta, keep,
                             self_col, weights, ell, lbar, phi, active, fb_drive, delta, last,
                             traces, baseline_num, baseline_den, acc, esum, inv_k, eps)
            up = update[r]
            if per_step:
                th = theta[r]
                for i in range(n_post):
                    a = acc[i]
                    up[i] += a
                    th[i] += lr * a
            else:
                for i in range(n_post):
                    up[i] += acc[i]


@njit(**HOT_LOOP)
def _gem_block(jj, row0, n_sub, t, n_pre, kappa, scale, keep, self_col, weights, phi, active,
               fb_drive, delta, last, traces_flat, lr, per_step, theta_flat, update_flat, live,
               dm, drive, acc):
    """GEM on the ``n_sub`` rows of block ``jj``: advance each live compartment's trace,
    ``e^k = kappa e^k + c delta^k feature^k``, and add ``Delta = sum_k omega^k e^k`` to
    ``update`` (``lr Delta`` to ``theta`` when ``per_step``).

    The block's rows are contiguous, so each compartment's pass is one flat loop over
    ``n_sub * n_post`` entries (with ``n_post`` ~ 26 a per-row loop is too short for the
    vectoriser): ``drive`` float32 ``(n_basis * n_post,)`` first takes the new term
    ``c delta^k_i feature^k_r`` of every entry and ``acc`` ``(n_basis * n_post,)`` sums
    ``omega^k e^k`` over the live compartments. ``dm`` float32 ``(n_post,)``: the
    compartment's errors with the block's own column zeroed (a hidden neuron reaches itself
    only through its feedback kernel). Flat arrays: traces ``(K, R * n_post)``, theta and update
    ``(R * n_post,)``.
    """
    n_comp = traces_flat.shape[0]
    n_post = delta.shape[1]
    n_live = 0
    for k in range(n_comp):
        if last[k, jj] >= 0 and t - last[k, jj] <= keep:
            live[n_live] = k
            n_live += 1
    size = n_sub * n_post
    start = row0 * n_post
    for q in range(n_live):
        k = live[q]
        for i in range(n_post):
            dm[i] = delta[k, i]
        if self_col >= 0:
            dm[self_col] = 0.0
        if jj == n_pre:
            # feedback row (feature: each neuron's own feedback drive), then the bias row
            for i in range(n_post):
                drive[i] = (dm[i] * fb_drive[k, i]) * scale
                drive[n_post + i] = dm[i] * scale
        else:
            for s in range(n_sub):
                f = scale * phi[k, row0 + s] if active[k, jj] != 0 else np.float32(0.0)
                row = drive[s * n_post:(s + 1) * n_post]
                for i in range(n_post):
                    row[i] = dm[i] * f
        wk = weights[k]
        e = traces_flat[k, start:start + size]
        if q == 0:
            for m in range(size):
                ei = kappa * e[m] + drive[m]
                e[m] = ei
                acc[m] = wk * ei
        else:
            for m in range(size):
                ei = kappa * e[m] + drive[m]
                e[m] = ei
                acc[m] = acc[m] + wk * ei
    if n_live == 0:
        return
    up = update_flat[start:start + size]
    if per_step:
        th = theta_flat[start:start + size]
        for m in range(size):
            up[m] += acc[m]
            th[m] += lr * acc[m]
    else:
        for m in range(size):
            up[m] += acc[m]


@njit(**HOT_LOOP)
def _variational_row(r, jj, t, n_pre, n_rows, n_hid, rule, kappa, scale, beta, keep, self_col,
                     weights, ell, lbar, phi, active, fb_drive, delta, last, traces, baseline_num,
                     baseline_den, acc, esum, inv_k, eps):
    """IW / MB / MB1 on row ``r``: traces, baselines and ``acc`` (see :func:`_update_block`)."""
    n_comp, _, n_post = traces.shape
    for i in range(n_post):
        acc[i] = 0.0
        esum[i] = 0.0
    for k in range(n_comp):
        if last[k, jj] < 0 or t - last[k, jj] > keep:
            continue
        e = traces[k, r]
        dk = delta[k]
        if jj == n_pre:
            if r == n_rows - 2:
                for i in range(n_post):
                    e[i] = kappa * e[i] + scale * (dk[i] * fb_drive[k, i])
            else:
                for i in range(n_post):
                    e[i] = kappa * e[i] + scale * dk[i]
        elif active[k, jj] != 0:
            f = phi[k, r]
            for i in range(n_post):
                e[i] = kappa * e[i] + scale * (dk[i] * f)
        else:
            for i in range(n_post):
                e[i] = kappa * e[i]
        if self_col >= 0:
            e[self_col] = 0.0
        wk = weights[k]
        for i in range(n_hid, n_post):
            acc[i] += wk * e[i]
        if rule == IW:
            for i in range(n_hid):
                esum[i] += e[i]
        else:
            sig = lbar[k]
            bn = baseline_num[k, r]
            bd = baseline_den[k, r]
            for i in range(n_hid):
                sq = e[i] * e[i]
                bn[i] = beta * bn[i] + sq * sig
                bd[i] = beta * bd[i] + sq
                acc[i] += inv_k * ((sig - bn[i] / (bd[i] + eps)) * e[i])
    if rule == IW:
        bn = baseline_num[0, r]
        bd = baseline_den[0, r]
        for i in range(n_hid):
            sq = esum[i] * esum[i]
            bn[i] = beta * bn[i] + sq * ell
            bd[i] = beta * bd[i] + sq
            acc[i] = (ell - bn[i] / (bd[i] + eps)) * esum[i]


@njit(cache=True, nogil=True, parallel=True)
def gem_train_example(x, y, clamp_outputs, theta, basis, fb_kernel, n_hid, rule, kappa,
                      scale_traces, lr, per_step, beta, kl_weight, target_rate, state, traces,
                      baseline_num, baseline_den, update, omega, loglik, signal, hid_spk, out_spk,
                      out_u, n_threads):
    """Run one example through K compartments and learn from it online (the fused GEM step).

    Inputs: x uint8 ``(T, n_in)``; y uint8 ``(T, n_out)`` (read when ``clamp_outputs``);
    theta float32 ``(R, n_post)`` (see the module docstring; updated in place when
    ``per_step``); basis float32 ``(n_basis, memory)``; fb_kernel float32 ``(memory,)``;
    rule in {GEM, IW, MB, MB1}; kappa, lr, beta (baseline decay), kl_weight, target_rate
    (in (0, 1)) floats; scale_traces: traces and smoothed weights take ``(1 - kappa)`` times the
    new term; state uint64 ``(K,)`` RNG streams, advanced.
    Workspaces (contents ignored on entry): traces float32 ``(K, R, n_post)``;
    baseline_num, baseline_den float32 ``(K, R, n_post)`` for MB/MB1, ``(1, R, n_post)`` for IW,
    ``(0, R, n_post)`` for GEM.
    Outputs: update float32 ``(R, n_post)``, *added to*: ``sum_t Delta_t`` (no learning rate);
    omega, loglik float32 ``(T, K)``: importance weights and ``r^k_t``; signal float32
    ``(T, K)``: the hidden neurons' learning signal (GEM omega^k, IW l_t, MB lbar^k);
    hid_spk ``(T, K, n_hid)`` and out_spk ``(T, K, n_out)`` uint8 rasters; out_u float32
    ``(T, K, n_out)`` output potentials, or shape ``(0, K, n_out)`` to skip them.
    """
    n_steps = x.shape[0]
    n_comp = state.shape[0]
    n_post = theta.shape[1]
    n_basis = basis.shape[0]
    n_pre = x.shape[1] + n_hid
    kappa32 = np.float32(kappa)
    scale = np.float32(1.0 - kappa) if scale_traces else np.float32(1.0)
    lr32 = np.float32(lr)
    beta32 = np.float32(beta)
    phi = np.zeros((n_comp, n_pre * n_basis), dtype=np.float32)
    active = np.zeros((n_comp, n_pre), dtype=np.uint8)
    fb_drive = np.zeros((n_comp, n_post), dtype=np.float32)
    u = np.zeros((n_comp, n_post), dtype=np.float64)
    u_in = np.zeros(n_post, dtype=np.float64)
    delta = np.zeros((n_comp, n_post), dtype=np.float32)
    r_t = np.zeros(n_comp, dtype=np.float64)
    kl_t = np.zeros(n_comp, dtype=np.float64)
    v = np.zeros(n_comp, dtype=np.float64)
    lbar = np.zeros(n_comp, dtype=np.float64)
    w = np.zeros(n_comp, dtype=np.float64)
    weights = np.zeros(n_comp, dtype=np.float32)
    lbar32 = np.zeros(n_comp, dtype=np.float32)
    keep = rows_kept(kappa)
    last = np.full((n_comp, n_pre + 1), -1, dtype=np.int64)
    last_any = np.full(n_pre + 1, -1, dtype=np.int64)
    # per-thread scratch of the update
    block = max(n_basis, 2) * n_post
    acc = np.empty((n_threads, block), dtype=np.float32)
    esum = np.empty((n_threads, n_post), dtype=np.float32)
    live = np.empty((n_threads, n_comp), dtype=np.int64)
    dm = np.empty((n_threads, n_post), dtype=np.float32)
    drive = np.empty((n_threads, block), dtype=np.float32)
    caller_mode = flush_subnormals()
    for t in range(n_steps):
        input_potentials(t, x, theta, basis, phi[0], active[0], u_in)
        for c in prange(n_threads):
            mode = flush_subnormals()
            for k in range(c, n_comp, n_threads):
                _forward_compartment(t, k, y, clamp_outputs, hid_spk, out_spk, theta, basis,
                                     fb_kernel, x.shape[1], target_rate, state, u_in, phi,
                                     active, fb_drive, u, delta, out_u, r_t, kl_t)
            restore_subnormals(mode)
        # importance weights and learning signals (K scalars)
        v_max = -np.inf
        for k in range(n_comp):
            v[k] = kappa * v[k] + scale * r_t[k]
            lbar[k] = kappa * lbar[k] + scale * (r_t[k] - kl_weight * kl_t[k])
            v_max = max(v_max, v[k])
        total = 0.0
        for k in range(n_comp):
            w[k] = np.exp(v[k] - v_max)
            total += w[k]
        ell = v_max + np.log(total) - np.log(n_comp)
        for k in range(n_comp):
            omega[t, k] = w[k] / total
            loglik[t, k] = r_t[k]
            lbar32[k] = lbar[k]
            if rule == MB or rule == MB1:
                weights[k] = 1.0 / n_comp
                signal[t, k] = lbar[k]
            else:
                weights[k] = w[k] / total
                signal[t, k] = w[k] / total if rule == GEM else ell
        n_index = n_pre + 1
        for c in prange(n_threads):
            mode = flush_subnormals()
            lo = (c * n_index) // n_threads
            hi = ((c + 1) * n_index) // n_threads
            _update_block(lo, hi, t, n_pre, n_basis, n_hid, rule, kappa32, scale, lr32, per_step,
                          beta32, keep, weights, np.float32(ell), lbar32, phi, active, fb_drive,
                          delta, last, last_any, theta, traces, baseline_num, baseline_den, update,
                          acc[c], esum[c], live[c], dm[c], drive[c])
            restore_subnormals(mode)
    restore_subnormals(caller_mode)


@njit(cache=True, nogil=True, parallel=True)
def glm_infer(x, targets, has_targets, clamp_outputs, theta, basis, fb_kernel, n_hid, state,
              counts, loglik, n_threads):
    """Run K compartments over a batch of examples; count output spikes, score targets.

    x uint8 ``(T, B, n_in)``; targets uint8 ``(T, B, n_out)`` (read when ``has_targets`` or
    ``clamp_outputs``); outputs are sampled (free) unless ``clamp_outputs``; state uint64
    ``(K,)``, compartment k draws from stream k, examples in order. Fills counts int32
    ``(B, K, n_out)`` (output spikes per compartment) and, with ``has_targets``, loglik float64
    ``(B, K)``: ``sum_t sum_{i in Y} log p(y_{i,t} | u^k_{i,t})``. With clamped outputs this is
    ``log p(y | x, h^k)`` for hidden spikes h^k drawn from the network, so
    ``log mean_k exp(loglik[b, k])`` estimates ``log p(y | x)`` from below (in expectation).
    """
    n_steps, n_batch, n_in = x.shape
    n_comp = state.shape[0]
    n_post = theta.shape[1]
    n_out = n_post - n_hid
    n_basis, memory = basis.shape
    for c in prange(n_threads):
        phi = np.zeros((n_in + n_hid) * n_basis, dtype=np.float32)
        active = np.zeros(n_in + n_hid, dtype=np.uint8)
        fb_drive = np.zeros(n_post, dtype=np.float32)
        u = np.zeros(n_post, dtype=np.float64)
        hid_hist = np.zeros((memory, n_hid), dtype=np.uint8)
        out_hist = np.zeros((memory, n_out), dtype=np.uint8)
        for k in range(c, n_comp, n_threads):
            for b in range(n_batch):
                xb = x[:, b, :]
                ll = 0.0
                for i in range(n_out):
                    counts[b, k, i] = 0
                for t in range(n_steps):
                    input_potentials(t, xb, theta, basis, phi, active, u)
                    recurrent_potentials(t, n_in, hid_hist, out_hist, memory, theta, basis,
                                         fb_kernel, phi, active, fb_drive, u)
                    slot = t % memory
                    for i in range(n_hid):
                        p = 1.0 / (1.0 + np.exp(-u[i]))
                        hid_hist[slot, i] = 1 if next_uniform(state, k) < p else 0
                    for i in range(n_out):
                        v = u[n_hid + i]
                        if clamp_outputs:
                            s = targets[t, b, i]
                        else:
                            p = 1.0 / (1.0 + np.exp(-v))
                            s = 1 if next_uniform(state, k) < p else 0
                        out_hist[slot, i] = s
                        counts[b, k, i] += s
                        if has_targets:
                            ll += log_sigmoid(v) if targets[t, b, i] != 0 else log_sigmoid(-v)
                if has_targets:
                    loglik[b, k] = ll
