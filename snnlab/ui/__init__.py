"""Dashboards: the only package that imports panel, holoviews and bokeh.

``Lab`` (one session, controls and live views), ``Compare`` (learners side by side on one input
stream), ``NeuronDemo`` (one LIF and one GLM neuron under sliders, for teaching).
"""

import holoviews as hv
import panel as pn

from snnlab.ui.lab import Lab

# Software rendering in browsers without a GPU (headless CI, many classroom laptops) makes WebGL
# plots slow; these plots are small, so canvas rendering is the default. See snnlab.ui.use_webgl.
hv.extension("bokeh", logo=False)
hv.renderer("bokeh").webgl = False


def use_webgl(enabled: bool = True) -> None:
    """Draw with WebGL (faster for large rasters on machines with a GPU)."""
    hv.renderer("bokeh").webgl = enabled


__all__ = ["Lab", "pn", "use_webgl"]
