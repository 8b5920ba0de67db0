"""Dashboards: the only package that imports panel, holoviews and bokeh.

``Lab`` (one session, controls and live views), ``Compare`` (learners side by side on one input
stream), ``NeuronDemo`` (one LIF and one GLM neuron under sliders, for teaching). Live views
draw on Bokeh data sources; HoloViews serves the static plots only (:mod:`snnlab.ui.static_plots`).
"""

from snnlab.ui.lab import Lab

__all__ = ["Lab"]
