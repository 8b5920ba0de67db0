"""The full lab: ``panel serve apps/lab.py`` (or ``snnlab lab``). Set SNNLAB_NMNIST to offer N-MNIST."""

from snnlab.ui.apps import lab_app

lab_app().servable(title="snnlab lab")
