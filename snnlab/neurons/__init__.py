"""Neuron models: typed parameters and thin drivers over the Numba kernels.

- :mod:`snnlab.neurons.lif`: current-based LIF in discrete time (event-driven or real currents);
- :mod:`snnlab.neurons.physical_lif`: LIF in physical units with double-exponential synapses
  (the NormAD neuron);
- :mod:`snnlab.neurons.bases`: the raised-cosine and exponential synaptic bases of the GLM/SRM
  neuron, whose network and rule live in the GEM package (:mod:`snnlab.learners.gem.network`).
"""
