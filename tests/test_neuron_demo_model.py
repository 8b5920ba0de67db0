"""The teaching neuron model: LIF and GLM agree below threshold, respond to their sliders."""

import numpy as np

from snnlab.demos.neuron import NeuronDemoModel


def test_lif_and_glm_filter_the_same_input_until_the_first_spike():
    model = NeuronDemoModel(noise=0.0, threshold=10.0, weight=0.01)  # never fires
    d = model.simulate()
    # GLM sees the filtered input of steps before t; LIF includes step t
    assert np.allclose(d["glm_u"][1:], d["lif_v"][:-1], atol=1e-4)
    assert d["lif_spikes"].sum() == 0


def test_rates_follow_the_sliders():
    low = NeuronDemoModel(weight=0.02).simulate()
    high = NeuronDemoModel(weight=0.2).simulate()
    assert high["lif_spikes"].sum() > low["lif_spikes"].sum()
    assert high["glm_spikes"].sum() > low["glm_spikes"].sum()
    a, b = NeuronDemoModel(seed=1).simulate(), NeuronDemoModel(seed=1).simulate()
    assert all(np.array_equal(a[k], b[k]) for k in a)
