"""Neuron models: typed parameters and thin drivers over the Numba kernels.

- :mod:`snnlab.neurons.lif`: current-based LIF in discrete time (event-driven or real currents);
- :mod:`snnlab.neurons.physical_lif`: LIF in physical units with double-exponential synapses
  (the NormAD neuron);
- :mod:`snnlab.neurons.glm`: GLM/SRM Bernoulli neurons with raised-cosine bases and K
  compartments (the GEM neuron); :mod:`snnlab.neurons.bases` builds the bases.
"""
