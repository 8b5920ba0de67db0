"""The perceptron's own live view: the output neurons' spike counts for the newest sample."""

from __future__ import annotations

from snnlab.ui.views.probabilities import PerClassBarsView


class SpikeCountView(PerClassBarsView):
    """Bars of ``counts`` ``(n_classes,)``: the class whose neuron fires most wins."""

    arrays = ("counts",)
    value_label = "spikes"

    def __init__(self, **params):
        super().__init__(title=params.pop("title", "Output spike counts (current sample)"),
                         **params)
