"""HoloViews for static plots (the run browser, result figures): never on the live path.

Importing HoloViews' Bokeh plotting module registers the backend without ``hv.extension``,
which in a notebook would inject script tags pointing at a CDN: the lab stays offline.
"""

from __future__ import annotations

import holoviews as hv
import holoviews.plotting.bokeh  # noqa: F401  (registers the Bokeh backend)

hv.Store.set_current_backend("bokeh")
# canvas, not WebGL: browsers without a GPU fall back to slow software rendering
hv.renderer("bokeh").webgl = False

PLOT_OPTS = dict(
    responsive=True,
    min_height=220,
    toolbar="above",
    default_tools=["save", "pan", "wheel_zoom", "box_zoom", "reset", "hover"],
)
