"""``ep``: Expectation Propagation for networks of static spike-response units (Yao et al. 2025).

Bayesian learning of a factorised posterior ``q(W) = prod q(w_ij)`` by assumed-density
filtering through the moments of the network (snnlab/docs/algorithms.md, section 1; the kernels and their
equations are in :mod:`snnlab.learners.ep.kernels`). Gradient-free in the sense of the paper: the
network's spikes are never differentiated, only the smooth moment map is.

Network: ``hidden`` fully connected layers of units ``v = H(u - threshold)`` (``neuron=
"heaviside"``) or ``v ~ Bernoulli(sigma((u - threshold) / temperature))`` (``"bernoulli"``),
then one output unit per class (probit, ``P(y_k = 1 | u) = Phi(u_k / tau)``, one-vs-rest) or per
regression target (Gaussian noise, variance learned with a Gamma posterior on the precision or
fixed). Potentials are ``u = W v / sqrt(fan_in)``, the bias being an input fixed at 1.

Weights (``weight_kind``; ``weights()`` is the protocol's method): ``"gaussian"`` (prior ``N(0, prior_var)``), ``"binary"`` (support {-1, +1}, prior
``P(+1) = prior_p_plus``) or ``"ternary"`` (support {-1, 0, +1}, ``P(0) = prior_p_zero``, the rest
split evenly). The output layer starts at the prior; hidden layers start with random means
(``init_scale``) so their units differ (our choice, as in PBP and EBP).

Input representation (our choice, ``input_encoding``) for event tasks, from the per-sample spike
counts ``x`` ``(T, n_inputs)``:

- ``"binary"``: ``v_j = 1[sum_t x_tj > 0]`` — did input j spike at all;
- ``"rate"``: ``v_j ~ Bernoulli(r_j)`` with ``r_j`` the share of time bins in which j spiked, so the
  inputs carry variance ``r(1-r)`` into the moment pass;
- ``"log-counts"``: the real input ``log(1 + sum_t x_tj)``;
- ``"windows"``: one binary input per (time bin, input), ``T * n_inputs`` inputs.

A plain 2-D array ``(n_samples, n_features)`` given to ``partial_fit``/``predict*`` is taken as the
input vector itself (binary spikes or real values); ``partial_fit`` on an un-set-up learner builds
an in-memory task from it.

Batches: ``batch_mode="sum"`` computes every sample's update from the same posterior and sums
the natural-parameter increments (as Expectation Backpropagation does; samples run in parallel,
but a large batch takes one big step and may need ``damping``); ``"sequential"`` is plain ADF,
one sample after the other (exact order dependence, one thread).

Inference (``inference``): ``"adf"`` (the default) is assumed-density filtering: each visit of a
sample multiplies its likelihood into the posterior again, so the posterior keeps sharpening over
epochs. ``"ep"`` is full Expectation Propagation: the learner stores one site (an approximate
likelihood factor, in natural parameters) per training sample, ``q(W) = q_0(W) prod_n t_n(W)``;
a visit divides the sample's site out (the cavity), matches the tilted distribution
``cavity x likelihood`` with the same moment machinery and replaces the site. Revisiting a sample
refines its factor instead of counting it twice, and sweeps over the data converge to EP's fixed
point (``ep_sweeps`` passes over each batch per step, stopping early below ``ep_tol``;
``damping`` mixes each new site with the old one). For discrete weights the output units' tilt
``log Z(w_ij = k)`` is computed exactly on the integer lattice of ``sum_j w_ij v_j`` when their
inputs are spikes (``output_tilt="exact"``), otherwise by evaluating ``log Z`` at the moments
shifted by ``w_ij = k``; hidden layers use the second-order expansion of the ADF update. EP
ignores ``batch_mode`` (samples are processed one after the other). Memory: ``n_train x n_weights
x (2 | n_support)`` float64 site values (plus ``n_train x n_outputs x 2`` for a learned noise);
setup refuses more than ``MAX_SITE_VALUES`` (50 million, 400 MB), so EP is meant for small
networks and data sets. Factorised EP is not exact: where the posterior couples weights strongly
(near-deterministic outputs, several weight settings explaining the data equally well) its
marginals can lock onto one of them.

Prediction: ``prediction="probabilistic"`` pushes moments through the posterior (class
probabilities from ``Phi(m_k / sqrt(s2_k + tau^2))``, normalised one-vs-rest odds; regression mean ``m`` and
variance ``s2 + noise``); ``"deterministic"`` runs real spikes through the posterior-mean
(Gaussian) or most probable (discrete) weights and reads the output potentials.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import param
from scipy.special import log_ndtr

from snnlab._kernels.rng import PREDICTION_STREAMS, make_streams
from snnlab.data.task import Batch, Task
from snnlab.learners.base import Learner
from snnlab.learners.ep import kernels
from snnlab.learners.ep.inputs import array_task, input_moments
from snnlab.learners.values import LayerWidths

SUPPORTS = {"binary": (-1.0, 1.0), "ternary": (-1.0, 0.0, 1.0)}
ENCODINGS = ("binary", "rate", "log-counts", "windows")
MAX_SNAPSHOT_VALUES = 20_000
NOISE_ALPHA0 = 6.0  # initial Gamma shape of the noise precision (PBP's choice)
PREDICT_CHUNK = 256
MAX_SITE_VALUES = 50_000_000  # float64 site values EP may store (400 MB)

CLASSIFICATION_SCALARS = ("loss", "train_accuracy", "mean_posterior_std")
REGRESSION_SCALARS = ("loss", "train_rmse", "mean_posterior_std", "noise_var")
COMMON_ARRAYS = (
    "raster_input",
    "spike_prob_hidden",
    "output_mean",
    "output_var",
    "weights_hidden",
    "weights_output",
    "posterior_mean",
    "posterior_std",
    "posterior_probs",
    "marginal_mean",
    "marginal_std",
    "marginal_probs",
    "test_uncertainty",
    "test_error",
)
MARGINAL_NEURONS = 10  # first-layer neurons whose incoming marginals every snapshot carries
UNCERTAINTY_SAMPLES = 100  # test samples whose predictive uncertainty the views show
UNCERTAINTY_EVERY = 10  # steps between two uncertainty passes (a moment pass over the samples)


class EP(Learner):
    """Expectation Propagation / ADF learner (see module docstring)."""

    key = "ep"
    task_kinds = ("classification", "regression")
    rebuild_params = (
        "hidden",
        "weight_kind",
        "prior_var",
        "prior_p_plus",
        "prior_p_zero",
        "bias",
        "input_encoding",
        "init_scale",
        "likelihood",
        "inference",
    )
    snapshot_scalars = CLASSIFICATION_SCALARS
    snapshot_arrays = COMMON_ARRAYS + ("proba",)
    state_names = (
        "w_mean_",
        "w_var_",
        "log_probs_",
        "noise_alpha_",
        "noise_beta_",
        "sites_",
        "noise_sites_",
    )

    hidden = LayerWidths(default=(), doc="Widths of the hidden layers, e.g. (100,); () for none.")
    weight_kind = param.Selector(
        default="gaussian",
        objects=["gaussian", "binary", "ternary"],
        doc="Weight kind: Gaussian, binary {-1, +1} or ternary {-1, 0, +1}.",
    )
    prior_var = param.Number(
        default=1.0,
        bounds=(1e-4, 100.0),
        doc="Prior variance of Gaussian weights (also the largest posterior variance allowed).",
    )
    prior_p_plus = param.Number(
        default=0.5,
        bounds=(0.01, 0.99),
        doc="Binary weights: prior probability of +1.",
    )
    prior_p_zero = param.Number(
        default=1.0 / 3.0,
        bounds=(0.01, 0.98),
        doc="Ternary weights: prior probability of 0.",
    )
    neuron = param.Selector(
        default="heaviside",
        objects=["heaviside", "bernoulli"],
        doc="Hidden units: deterministic Heaviside or stochastic Bernoulli(sigma) spikes.",
    )
    threshold = param.Number(default=0.0, bounds=(-10.0, 10.0), doc="Firing threshold theta.")
    temperature = param.Number(
        default=1.0,
        bounds=(1e-3, 100.0),
        doc="Bernoulli neurons: noise temperature T of sigma((u - theta) / T).",
    )
    batch_mode = param.Selector(
        default="sum",
        objects=["sum", "sequential"],
        doc="Sum the per-sample updates of a batch, or apply them one after the other (ADF).",
    )
    inference = param.Selector(
        default="adf",
        objects=["adf", "ep"],
        doc="Assumed-density filtering, or full EP with one stored site per training sample.",
    )
    ep_sweeps = param.Integer(
        default=1,
        bounds=(1, 1000),
        doc="EP: passes over the batch's samples per step (stops early below ep_tol).",
    )
    ep_tol = param.Number(
        default=1e-4,
        bounds=(0.0, 1.0),
        doc="EP: stop the sweeps of a step when no posterior mean or probability moved more.",
    )
    output_tilt = param.Selector(
        default="exact",
        objects=["exact", "moments"],
        doc="EP, discrete weights: output tilt log Z(w = k) exact on the spike lattice, or "
        "from the shifted potential moments.",
    )
    likelihood = param.Selector(
        default="auto",
        objects=["auto", "probit", "gaussian"],
        doc="Output likelihood: probit (classification), Gaussian (regression), auto by task.",
    )
    tau = param.Number(
        default=1.0,
        bounds=(1e-3, 100.0),
        doc="Probit output noise: P(y=1 | u) = Phi(u / tau).",
    )
    noise_var = param.Number(
        default=0.1,
        bounds=(1e-6, 100.0),
        doc="Gaussian likelihood: noise variance (the initial value when it is learned).",
    )
    learn_noise = param.Boolean(
        default=True,
        doc="Gaussian likelihood: learn the noise variance (Gamma posterior).",
    )
    bias = param.Boolean(default=True, doc="Give every unit a bias weight (an input fixed at 1).")
    damping = param.Number(
        default=0.0,
        bounds=(0.0, 0.99),
        doc="Share of each update withheld: natural parameters move by (1 - damping) x step "
        "(EP: each new site is mixed with the old one).",
    )
    var_floor = param.Number(
        default=1e-6,
        bounds=(1e-12, 1.0),
        doc="Smallest posterior variance of a Gaussian weight.",
    )
    prob_floor = param.Number(
        default=1e-4,
        bounds=(1e-12, 0.1),
        doc="Smallest probability of a support value of a discrete weight.",
    )
    init_scale = param.Number(
        default=1.0,
        bounds=(0.0, 10.0),
        doc="Spread of the random initial posterior means of "
        "hidden layers (prior std units for Gaussian weights, logit units for discrete ones).",
    )
    input_encoding = param.Selector(
        default="binary",
        objects=list(ENCODINGS),
        doc="How event counts become inputs: binary, rate, log-counts or windows.",
    )
    prediction = param.Selector(
        default="probabilistic",
        objects=["probabilistic", "deterministic"],
        doc="Predict through the moment pass or with a spiking pass on MAP/mean weights.",
    )
    n_threads = param.Integer(default=1, bounds=(1, 256), doc="Threads of the Numba kernels.")

    # -- building ---------------------------------------------------------------------------
    def _likelihood_code(self, task: Task) -> int:
        wanted = {"classification": "probit", "regression": "gaussian"}[task.kind]
        if self.likelihood not in ("auto", wanted):
            raise ValueError(
                f"likelihood {self.likelihood!r} does not fit {task.kind} task {task.name!r}; "
                f"use {wanted!r} or 'auto'"
            )
        return kernels.LIKELIHOOD_PROBIT if wanted == "probit" else kernels.LIKELIHOOD_GAUSSIAN

    def _n_features(self, task: Task) -> int:
        if task.event_based and self.input_encoding == "windows":
            return task.n_steps * task.n_inputs
        return task.n_inputs

    def estimated_bytes(self, task: Task) -> int:
        """Weights x (2 moments, or one log-probability per support value) x float64, twice
        (the posterior and a working copy), plus one site per weight and training sample for
        full EP."""
        widths = [self._n_features(task), *self.hidden, task.n_outputs]
        n_weights = sum((a + int(self.bias)) * b for a, b in zip(widths, widths[1:]))
        values = {"gaussian": 2, "binary": 2, "ternary": 3}[self.weight_kind]
        sites = len(task.train) if self.inference == "ep" else 0
        return 8 * values * n_weights * (2 + sites)

    def _init_state(self, task: Task) -> None:
        self.likelihood_code_ = self._likelihood_code(task)
        classification = task.kind == "classification"
        self.snapshot_scalars = CLASSIFICATION_SCALARS if classification else REGRESSION_SCALARS
        self.snapshot_scalars += ("marginal_change",) if self.inference == "ep" else ()
        self.snapshot_arrays = COMMON_ARRAYS + (("proba",) if classification else ())
        bias = int(self.bias)
        self.widths_ = np.array(
            [self._n_features(task), *self.hidden, task.n_outputs], dtype=np.int64
        )
        offsets = kernels.weight_offsets(self.widths_, bias)
        n_weights = int(offsets[-1])
        is_hidden = np.zeros(n_weights, dtype=bool)
        is_hidden[: offsets[-2]] = True
        rng = np.random.default_rng(self.seed)
        self.support_ = np.array(SUPPORTS.get(self.weight_kind, ()), dtype=np.float64)
        if self.weight_kind == "gaussian":
            self.w_mean_ = np.where(
                is_hidden,
                rng.normal(0.0, self.init_scale * math.sqrt(self.prior_var), n_weights),
                0.0,
            )
            self.w_var_ = np.full(n_weights, float(self.prior_var))
            self.log_probs_ = np.zeros((0, 0))
        else:
            if self.weight_kind == "binary":
                prior = np.array([1.0 - self.prior_p_plus, self.prior_p_plus])
            else:
                rest = 0.5 * (1.0 - self.prior_p_zero)
                prior = np.array([rest, self.prior_p_zero, rest])
            logits = np.log(prior) + np.where(
                is_hidden[:, None],
                self.init_scale * rng.normal(size=(n_weights, len(prior))),
                0.0,
            )
            probs = np.exp(logits - logits.max(axis=1, keepdims=True))
            probs /= probs.sum(axis=1, keepdims=True)
            self.log_probs_ = np.log(probs)
            self.w_mean_ = probs @ self.support_
            self.w_var_ = np.maximum(probs @ self.support_**2 - self.w_mean_**2, 0.0)
        self._init_sites(len(task.train), n_weights, task.n_outputs)
        self.noise_alpha_ = np.full(task.n_outputs, NOISE_ALPHA0)
        self.noise_beta_ = np.full(task.n_outputs, (NOISE_ALPHA0 - 1.0) * float(self.noise_var))
        self._uncertainty = None
        self._uncertainty_step = 0
        n_show = min(n_weights, MAX_SNAPSHOT_VALUES)
        self.snapshot_index_ = np.linspace(0, n_weights - 1, n_show).astype(np.int64)

    def _init_sites(self, n_sites: int, n_weights: int, n_outputs: int) -> None:
        """Zero sites (EP) for ``n_sites`` training samples; empty arrays for ADF."""
        if self.inference != "ep":
            self.sites_ = np.zeros((0, 0, 0))
            self.noise_sites_ = np.zeros((0, 0, 0))
            return
        n_params = len(self.support_) or 2
        n_values = n_sites * n_weights * n_params
        if n_values > MAX_SITE_VALUES:
            raise ValueError(
                f"inference='ep' stores one site per training sample: {n_sites} samples x "
                f"{n_weights} weights x {n_params} = {n_values} values, more than the "
                f"{MAX_SITE_VALUES} allowed; use inference='adf', a smaller network or fewer "
                "training samples"
            )
        self.sites_ = np.zeros((n_sites, n_weights, n_params))
        self.noise_sites_ = np.zeros((n_sites, n_outputs, 2))

    # -- inputs -----------------------------------------------------------------------------
    def _inputs(self, X, time_first: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Input means and variances ``(n, n_features)`` from event counts or a 2-D array."""
        X = np.asarray(X)
        n_features = int(self.widths_[0])
        if X.ndim == 3 and self.task_.event_based:
            counts = np.swapaxes(X, 0, 1) if time_first else X
            mean, var = input_moments(counts, self.input_encoding)
        elif X.ndim == 2:
            mean = X.astype(np.float64)
            var = np.zeros_like(mean)
        else:
            raise ValueError(
                f"ep takes event counts (n_samples, T, n_inputs) or a 2-D array (n_samples, "
                f"{n_features}), got shape {X.shape}"
            )
        if mean.shape[1] != n_features:
            raise ValueError(
                f"ep's network takes {n_features} input features (input_encoding "
                f"{self.input_encoding!r}); the inputs give {mean.shape[1]}"
            )
        return np.ascontiguousarray(mean), np.ascontiguousarray(var)

    def _targets(self, y) -> np.ndarray:
        n_out = int(self.widths_[-1])
        if self.likelihood_code_ == kernels.LIKELIHOOD_PROBIT:
            labels = np.asarray(y, dtype=np.int64)
            targets = -np.ones((len(labels), n_out))
            targets[np.arange(len(labels)), labels] = 1.0
            return targets
        return np.asarray(y, dtype=np.float64).reshape(-1, n_out)

    def _threads(self) -> int:
        return max(1, min(self.n_threads, numba.config.NUMBA_NUM_THREADS))

    def _neuron_var(self) -> float:
        return (
            float(self.temperature) ** 2 * kernels.PROBIT_MATCH
            if self.neuron == "bernoulli"
            else 0.0
        )

    def _buffers(self, mean: np.ndarray, var: np.ndarray):
        n = len(mean)
        widths = self.widths_
        act_mean = np.zeros((n, int(widths[:-1].sum())))
        act_var = np.zeros_like(act_mean)
        act_mean[:, : widths[0]] = mean
        act_var[:, : widths[0]] = var
        pre_mean = np.zeros((n, int(widths[1:].sum())))
        return act_mean, act_var, pre_mean, np.zeros_like(pre_mean)

    # The kernels take their arguments in groups, always in this order: the posterior, the
    # discrete weights' log-probabilities and support, the units, the output likelihood, the
    # scalars of an update, then the per-sample buffers (see snnlab.learners.ep.kernels).
    def _posterior(self) -> tuple:
        """``w_mean_``, ``w_var_`` ``(n_weights,)``."""
        return self.w_mean_, self.w_var_

    def _discrete(self) -> tuple:
        """``log_probs_`` ``(n_weights, n_support)``, ``support_`` ``(n_support,)``."""
        return self.log_probs_, self.support_

    def _units(self) -> tuple:
        """Layer widths, bias flag, threshold and the units' potential noise variance."""
        return self.widths_, int(self.bias), float(self.threshold), self._neuron_var()

    def _output(self, targets: np.ndarray) -> tuple:
        """Targets ``(B, n_out)``, likelihood code, squared probit noise."""
        return targets, self.likelihood_code_, float(self.tau) ** 2

    def _update_scalars(self) -> tuple[float, ...]:
        """Damping, variance floor, prior variance and probability floor of every update."""
        return tuple(float(v) for v in (self.damping, self.var_floor, self.prior_var,
                                        self.prob_floor))

    def noise_variance(self) -> np.ndarray:
        """``(n_outputs,)`` noise variance the Gaussian likelihood uses now."""
        if self.learn_noise:
            return self.noise_beta_ / (self.noise_alpha_ - 1.0)
        return np.full(len(self.noise_alpha_), self.noise_var)

    # -- learning ---------------------------------------------------------------------------
    def _update(self, batch: Batch) -> tuple[dict, dict]:
        mean, var = self._inputs(batch.x, time_first=batch.x.ndim == 3)
        raster = batch.x[:, 0, :] if batch.x.ndim == 3 else (mean[:1] != 0)
        index = batch.index if batch.split == "train" else None
        return self._learn(mean, var, batch.y, np.asarray(raster, dtype=np.uint8), index)

    def _learn(self, mean, var, y, raster, index=None) -> tuple[dict, dict]:
        widths, bias = self.widths_, int(self.bias)
        targets = self._targets(y)
        act_mean, act_var, pre_mean, pre_var = self._buffers(mean, var)
        grad_m, grad_v = np.zeros_like(pre_mean), np.zeros_like(pre_mean)
        log_z = np.zeros(len(mean))
        gaussian_lik = self.likelihood_code_ == kernels.LIKELIHOOD_GAUSSIAN
        if self.learn_noise:
            alpha, beta = self.noise_alpha_, self.noise_beta_
        else:
            alpha = np.full_like(self.noise_alpha_, NOISE_ALPHA0)
            beta = (NOISE_ALPHA0 - 1.0) * self.noise_variance()
        moments = (act_mean, act_var, pre_mean, pre_var, grad_m, grad_v, log_z)
        change = None
        if self.inference == "ep":
            change = self._ep_sweeps(index, targets, alpha, beta, moments)
        elif self.batch_mode == "sequential":
            kernels.ep_train_sequential(
                *self._posterior(), *self._discrete(), *self._units(), *self._output(targets),
                alpha, beta, self.learn_noise, *self._update_scalars(), *moments)
        else:
            kernels.ep_forward_backward(
                *self._posterior(), *self._units(), *self._output(targets),
                beta / (alpha - 1.0), *moments, self._threads())
            kernels.ep_update(
                *self._posterior(), *self._discrete(), widths, bias,
                act_mean, act_var, grad_m, grad_v, *self._update_scalars(), self._threads())
            if gaussian_lik and self.learn_noise:
                kernels.noise_update_batch(
                    targets, pre_mean, pre_var, widths, 0, len(mean), self.damping, alpha, beta
                )
        n_out = int(widths[-1])
        out_mean, out_var = pre_mean[:, -n_out:], pre_var[:, -n_out:]
        scalars = {
            "loss": -float(log_z.mean()),
            "mean_posterior_std": float(np.sqrt(self.w_var_).mean()),
        }
        if change is not None:
            scalars["marginal_change"] = change
        proba = None
        if gaussian_lik:
            error = out_mean - targets
            scalars["train_rmse"] = float(np.sqrt(np.mean(error**2)))
            scalars["noise_var"] = float(self.noise_variance().mean())
        else:
            proba = self._class_proba(out_mean, out_var)
            scalars["train_accuracy"] = float(np.mean(proba.argmax(axis=1) == np.asarray(y)))

        def arrays():  # built only when the screen wants them
            return {
                "raster_input": raster,
                "spike_prob_hidden": act_mean[0, widths[0] :].astype(np.float32),
                "output_mean": out_mean[0].astype(np.float32),
                "output_var": out_var[0].astype(np.float32),
                **self._weight_arrays(),
                **({} if proba is None else {"proba": proba[0].astype(np.float32)}),
            }
        return scalars, arrays

    def _ep_sweeps(self, index, targets, alpha, beta, moments) -> float:
        """Full EP over the batch: up to ``ep_sweeps`` passes; the last pass's largest change.

        The change is the largest move of a posterior mean (Gaussian weights) or probability
        (discrete weights) during the pass; sweeping stops once it falls below ``ep_tol``.
        ``log_z`` (the last of ``moments``) holds the cavity evidence of each sample's last visit.
        """
        n_sites = len(self.sites_)
        if index is None or len(index) != len(targets):
            raise ValueError("inference='ep' learns from training samples identified by index")
        index = np.ascontiguousarray(index, dtype=np.int64)
        if len(index) and (index.min() < 0 or index.max() >= n_sites):
            raise ValueError(
                f"inference='ep' keeps sites for {n_sites} training samples; got sample "
                f"indices in [{index.min()}, {index.max()}]"
            )
        discrete = len(self.support_) > 0
        change = 0.0
        for _ in range(self.ep_sweeps):
            before = np.exp(self.log_probs_) if discrete else self.w_mean_.copy()
            kernels.ep_train_sites(
                *self._posterior(), *self._discrete(), self.sites_, index, *self._units(),
                *self._output(targets), alpha, beta, self.noise_sites_, self.learn_noise,
                self.output_tilt == "exact", *self._update_scalars(), *moments)
            after = np.exp(self.log_probs_) if discrete else self.w_mean_
            change = float(np.max(np.abs(after - before), initial=0.0))
            if change < self.ep_tol:
                break
        return change

    def _weight_arrays(self) -> dict:
        layers = self.marginals()
        hidden = layers[0]["mean"] if len(layers) > 1 else np.zeros((0, 0))
        index = self.snapshot_index_
        probs = np.exp(self.log_probs_[index]) if len(self.support_) else np.zeros((len(index), 0))
        first = layers[0]
        rows = np.linspace(0, len(first["mean"]) - 1, min(MARGINAL_NEURONS, len(first["mean"])))
        rows = rows.astype(np.int64)
        n_support = len(self.support_)
        marginal_probs = (first["probs"][rows] if n_support
                          else np.zeros((len(rows), first["mean"].shape[1], 0)))
        return {
            "marginal_mean": first["mean"][rows].astype(np.float32),
            "marginal_std": np.sqrt(first["var"][rows]).astype(np.float32),
            "marginal_probs": marginal_probs.astype(np.float32),
            **self._uncertainty_arrays(),
            "weights_hidden": _rows_within(hidden).astype(np.float32),
            "weights_output": _rows_within(layers[-1]["mean"]).astype(np.float32),
            "posterior_mean": self.w_mean_[index].astype(np.float32),
            "posterior_std": np.sqrt(self.w_var_[index]).astype(np.float32),
            "posterior_probs": probs.astype(np.float32),
        }

    def _uncertainty_arrays(self) -> dict:
        """Predictive uncertainty and error of the first test samples, refreshed now and then.

        Classification: entropy of the predictive class distribution (nats) and 1 where the
        prediction is wrong. Regression: predictive standard deviation and absolute error.
        """
        if self._uncertainty is None or self.step_ - self._uncertainty_step >= UNCERTAINTY_EVERY:
            self._uncertainty_step = self.step_
            data = self.task_.test
            x, y = data.x[:UNCERTAINTY_SAMPLES], np.asarray(data.y[:UNCERTAINTY_SAMPLES])
            if self.task_.kind == "classification":
                proba = self.predict_proba(x)
                uncertainty = -(proba * np.log(np.clip(proba, 1e-12, 1.0))).sum(axis=1)
                error = (proba.argmax(axis=1) != y).astype(np.float32)
            else:
                mean, var = self.predict_distribution(x)
                uncertainty = np.sqrt(var).mean(axis=1)
                error = np.abs(mean - y.reshape(mean.shape)).mean(axis=1)
            self._uncertainty = {"test_uncertainty": uncertainty.astype(np.float32),
                                 "test_error": np.asarray(error, dtype=np.float32)}
        return self._uncertainty

    def partial_fit(self, X, y, classes=None) -> EP:
        """One update on sample-first ``X``: event counts of the task, or a 2-D input array.

        A 2-D ``X`` ``(n_samples, n_features)`` holds the network's inputs directly (binary
        spikes or real values); with integer ``y`` the learner classifies (``classes`` or
        ``max(y) + 1`` classes), with real ``y`` it regresses. When the learner has no task yet,
        one is built around the arrays.
        """
        X = np.asarray(X)
        if X.ndim != 2 or (self.task_ is not None and not self.task_.event_based):
            return super().partial_fit(X, y)
        if self.task_ is None:
            self.setup(array_task(X, y, classes))
        mean, var = self._inputs(X)
        self._learn(mean, var, y, (mean[:1] != 0).astype(np.uint8), np.arange(len(X)))
        self.step_ += 1
        self.n_seen_ += len(X)
        return self

    # -- predicting -------------------------------------------------------------------------
    def predict_moments(self, X) -> tuple[np.ndarray, np.ndarray]:
        """Output potential means and variances ``(n, n_outputs)`` from the moment pass."""
        self._require_setup()
        mean, var = self._inputs(X)
        n_out = int(self.widths_[-1])
        out_mean = np.empty((len(mean), n_out))
        out_var = np.empty((len(mean), n_out))
        for start in range(0, len(mean), PREDICT_CHUNK):
            part = slice(start, start + PREDICT_CHUNK)
            act_mean, act_var, pre_mean, pre_var = self._buffers(mean[part], var[part])
            kernels.ep_forward(*self._posterior(), *self._units(), act_mean, act_var, pre_mean,
                               pre_var, self._threads())
            out_mean[part], out_var[part] = pre_mean[:, -n_out:], pre_var[:, -n_out:]
        return out_mean, out_var

    def point_weights(self) -> np.ndarray:
        """Flat weights of the deterministic network: posterior mean (Gaussian) or MAP value."""
        if len(self.support_):
            return self.support_[self.log_probs_.argmax(axis=1)]
        return self.w_mean_.copy()

    def spiking_potentials(self, X) -> np.ndarray:
        """Output potentials ``(n, n_outputs)`` of a spiking pass with :meth:`point_weights`.

        Real-valued inputs (``rate``/``log-counts`` encodings, real arrays) enter as they are.
        Bernoulli hidden units draw their spikes from streams seeded by ``seed`` (the same X
        gives the same answer).
        """
        self._require_setup()
        mean, _ = self._inputs(X)
        potentials = np.empty((len(mean), int(self.widths_[-1])))
        streams = make_streams(self.seed, len(mean), PREDICTION_STREAMS)
        kernels.spiking_forward(
            mean, self.point_weights(), self.widths_, int(self.bias), float(self.threshold),
            float(self.temperature), self.neuron == "bernoulli", streams, potentials,
            self._threads())
        return potentials

    def _class_proba(self, out_mean, out_var) -> np.ndarray:
        """Probability that unit k alone says "yes": ``p_k prod_{j != k} (1 - p_j)``, normalised.

        ``p_k = Phi(m_k / sqrt(s2_k + tau^2))``; the normalised product is a softmax of the
        log-odds ``log p_k - log(1 - p_k)`` (sharper and better calibrated, on held-out
        N-MNIST, than normalising the ``p_k`` themselves).
        """
        t = out_mean / np.sqrt(out_var + float(self.tau) ** 2)
        log_odds = log_ndtr(t) - log_ndtr(-t)
        e = np.exp(log_odds - log_odds.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities ``(n, n_classes)`` from the per-class probit units (see ``_class_proba``)."""
        self._require_setup()
        if self.prediction == "deterministic":
            u = self.spiking_potentials(X)
            return self._class_proba(u, np.zeros_like(u))
        return self._class_proba(*self.predict_moments(X))

    def predict_distribution(self, X) -> tuple[np.ndarray, np.ndarray]:
        """Regression: predictive mean and variance ``(n, n_outputs)`` (noise included)."""
        if self.prediction == "deterministic":
            u = self.spiking_potentials(X)
            return u, np.broadcast_to(self.noise_variance(), u.shape).copy()
        mean, var = self.predict_moments(X)
        return mean, var + self.noise_variance()

    def _predict_values(self, X) -> np.ndarray:
        return self.predict_distribution(X)[0]

    def evaluate(self, split: str = "test", max_samples: int | None = None) -> dict:
        """The base metrics, plus the Gaussian predictive log-likelihood for regression."""
        report = super().evaluate(split, max_samples)
        if self.task_.kind == "regression" and split == "test":
            data = self.task_.test
            n = len(data) if max_samples is None else min(max_samples, len(data))
            mean, var = self.predict_distribution(data.x[:n])
            y = np.asarray(data.y[:n], dtype=np.float64).reshape(mean.shape)
            log_density = -0.5 * (np.log(2 * np.pi * var) + (y - mean) ** 2 / var)
            report["test_log_likelihood"] = float(log_density.sum(axis=1).mean())
        return report

    # -- inspecting -------------------------------------------------------------------------
    def layer_names(self) -> list[str]:
        n_hidden = len(self.widths_) - 2
        return [f"hidden{k + 1}" for k in range(n_hidden)] + ["output"]

    def marginals(self) -> list[dict]:
        """Posterior marginals per layer, input layer first.

        Each dict: ``name``; ``mean``, ``var`` ``(n_out, n_in)``; with ``bias``, ``bias_mean``,
        ``bias_var`` ``(n_out,)``; for discrete weights ``support`` ``(n_support,)`` ascending and
        ``probs`` ``(n_out, n_in, n_support)`` (and ``bias_probs`` ``(n_out, n_support)``).
        """
        self._require_setup()
        bias = int(self.bias)
        offsets = kernels.weight_offsets(self.widths_, bias)
        layers = []
        for layer, name in enumerate(self.layer_names()):
            n_in, n_out = int(self.widths_[layer]), int(self.widths_[layer + 1])
            part = slice(offsets[layer], offsets[layer + 1])
            mean = self.w_mean_[part].reshape(n_out, n_in + bias)
            var = self.w_var_[part].reshape(n_out, n_in + bias)
            entry = {"name": name, "mean": mean[:, :n_in].copy(), "var": var[:, :n_in].copy()}
            if bias:
                entry["bias_mean"], entry["bias_var"] = mean[:, n_in].copy(), var[:, n_in].copy()
            if len(self.support_):
                probs = np.exp(self.log_probs_[part]).reshape(n_out, n_in + bias, -1)
                entry["support"] = self.support_.copy()
                entry["probs"] = probs[:, :n_in].copy()
                if bias:
                    entry["bias_probs"] = probs[:, n_in].copy()
            layers.append(entry)
        return layers

    def weights(self) -> dict[str, np.ndarray]:
        """Posterior means ``(n_out, n_in)`` by layer name (biases in :meth:`marginals`)."""
        return {entry["name"]: entry["mean"] for entry in self.marginals()}


def _rows_within(matrix: np.ndarray, limit: int = MAX_SNAPSHOT_VALUES) -> np.ndarray:
    """Evenly spaced rows of ``matrix`` holding at most ``limit`` values in all."""
    if matrix.size <= limit:
        return matrix
    n_rows = max(1, limit // matrix.shape[1])
    return matrix[np.linspace(0, len(matrix) - 1, n_rows).astype(np.int64)]
