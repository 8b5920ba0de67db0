"""One LIF neuron and one GLM neuron driven by the same Poisson inputs, for teaching.

Both neurons see ``n_inputs`` Poisson trains of ``input_rate`` Hz through one shared weight
``w`` and filter them with the same leak ``β`` per 1 ms step, so their potentials agree until
the first spike:

- LIF (deterministic threshold): ``v_t = β v_{t-1} + w Σ_j s_{j,t} + σ ξ_t``, spike when
  ``v_t ≥ θ``, then subtract ``θ``; ``ξ_t ~ N(0, 1)`` is current noise of size ``noise``.
- GLM (escape noise): ``u_t = Σ_{d≥1} β^{d-1} w Σ_j s_{j,t-d} - 2θ Σ_{d≥1} β^{d-1} y_{t-d}``
  (the same leaky filter on the inputs, and a refractory feedback of its own spikes ``y``),
  spike with probability ``σ((u_t - θ) / max(noise, 0.02))``: ``noise`` is the temperature
  that turns the hard threshold into a sigmoid.

The LIF runs on the project's Numba kernel (:func:`snnlab.neurons.lif.simulate_lif_currents`);
the single GLM neuron is a 500-step loop, cheap enough in NumPy.
"""

from __future__ import annotations

import math

import numpy as np
import param

from snnlab.encoders import poisson_encode
from snnlab.neurons.lif import LIFParameters, simulate_lif_currents

DT = 1e-3  # seconds per step
MIN_TEMPERATURE = 0.02


class NeuronDemoModel(param.Parameterized):
    """The parameters the demo's sliders move, and the simulation they drive."""

    input_rate = param.Number(default=20.0, bounds=(0.0, 200.0), doc="Rate of each input (Hz).")
    n_inputs = param.Integer(default=50, bounds=(1, 500), doc="Number of Poisson inputs.")
    weight = param.Number(default=0.06, bounds=(-1.0, 1.0), doc="Weight of every input synapse.")
    leak = param.Number(default=0.9, bounds=(0.0, 0.999),
                        doc="Fraction of the potential kept per 1 ms step (β).")
    threshold = param.Number(default=1.0, bounds=(0.05, 10.0), doc="Firing threshold θ.")
    noise = param.Number(default=0.1, bounds=(0.0, 2.0),
                         doc="LIF: current noise σ. GLM: escape-noise temperature.")
    duration = param.Number(default=0.5, bounds=(0.05, 5.0), doc="Simulated seconds.")
    seed = param.Integer(default=0, bounds=(0, 2**31 - 1), doc="Seed of inputs and noise.")

    def simulate(self) -> dict:
        """Arrays ``(T,)``: time (ms), input count per step, LIF potential and spikes, GLM
        potential, firing probability and spikes; plus the input raster ``(T, n_inputs)``."""
        n_steps = int(round(self.duration / DT))
        rng = np.random.default_rng(self.seed)
        rates = np.full((1, self.n_inputs), self.input_rate)
        raster = poisson_encode(rates, n_steps, DT, seed=self.seed)[:, 0, :]
        drive = self.weight * raster.sum(axis=1, dtype=np.float64)
        currents = drive + self.noise * rng.standard_normal(n_steps)
        lif = simulate_lif_currents(
            currents.astype(np.float32).reshape(n_steps, 1, 1),
            np.ones((1, 1), dtype=np.float32),
            LIFParameters(beta=max(self.leak, 1e-6), threshold=self.threshold),
        )
        glm_u, glm_p, glm_spikes = self._glm(drive, rng)
        return {
            "time_ms": np.arange(n_steps) * DT * 1e3,
            "input_count": raster.sum(axis=1),
            "input_raster": raster,
            "lif_v": lif.membrane[:, 0, 0],
            "lif_spikes": lif.spikes[:, 0, 0],
            "glm_u": glm_u,
            "glm_p": glm_p,
            "glm_spikes": glm_spikes,
        }

    def _glm(self, drive: np.ndarray, rng: np.random.Generator):
        n = len(drive)
        temperature = max(self.noise, MIN_TEMPERATURE)
        # plain floats in the loop: a param attribute read per step cost most of the demo's time
        threshold, leak = float(self.threshold), float(self.leak)
        u, p = np.zeros(n), np.zeros(n)
        spikes = np.zeros(n, dtype=np.uint8)
        synaptic = feedback = 0.0
        draws = rng.random(n).tolist()
        drive = np.asarray(drive, dtype=np.float64).tolist()
        for t in range(n):
            u_t = synaptic - 2.0 * threshold * feedback
            z = (u_t - threshold) / temperature
            p_t = 1.0 / (1.0 + math.exp(-z)) if z > -700.0 else 0.0  # exp(700+) overflows
            spike = draws[t] < p_t
            u[t], p[t], spikes[t] = u_t, p_t, spike
            synaptic = leak * synaptic + drive[t]  # filtered input seen from t + 1 on
            feedback = leak * feedback + spike
        return u, p, spikes
