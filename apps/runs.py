"""The run browser over the run index: ``panel serve apps/runs.py`` (or ``snnlab runs --serve``)."""

from snnlab.ui.apps import runs_app

runs_app().servable(title="snnlab runs")
