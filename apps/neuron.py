"""Teaching demo: ``panel serve apps/neuron.py`` (or ``snnlab demo neuron``)."""

from snnlab.ui.apps import neuron_app

neuron_app().servable(title="snnlab neuron demo")
