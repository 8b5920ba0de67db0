"""Panel objects as ipywidgets (jupyter_bokeh) that fetch nothing from the internet.

``pn.ipywidget`` renders outside Panel's notebook path, so its component stylesheets stay links
to cdn.holoviz.org even after ``pn.extension(inline=True)``; and it fails on an object whose
Bokeh figures were already shown in a cell output ("Models must be owned by only a single
document"). :func:`ipywidget` inlines the stylesheets as Panel does for cell outputs and gives
the widget a document of its own (the figures move to it: the earlier output stops updating).
"""

from __future__ import annotations

import panel as pn
from bokeh.document import Document
from bokeh.models import UIElement
from panel.io.notebook import patch_inline_stylesheets
from panel.io.resources import set_resource_mode


def ipywidget(obj):
    """``obj`` (anything ``pn.panel`` takes) as a jupyter_bokeh ``BokehModel`` widget."""
    from jupyter_bokeh.widgets import BokehModel

    doc = Document()
    inline = pn.config.inline
    with set_resource_mode("inline" if inline else None):
        root = pn.panel(obj).get_root(doc)
    if inline:
        for model in root.select({"type": UIElement}):
            patch_inline_stylesheets(model)
    doc.add_root(root)
    return BokehModel(root, combine_events=True)
