"""Live views, each a ``pn.viewable.Viewer`` that owns Bokeh figures and data sources.

The shared views (raster, membrane, learning curves, weights, class probabilities) are here;
each learner's own views are found through :func:`learner_views`.
"""

from __future__ import annotations

import importlib

from snnlab.learners.registry import learner_spec
from snnlab.ui.views.base import LiveView
from snnlab.ui.views.curves import LearningCurveView
from snnlab.ui.views.membrane import MembraneView
from snnlab.ui.views.probabilities import ClassProbabilityView
from snnlab.ui.views.raster import RasterView
from snnlab.ui.views.weights import WeightHistogramView


def learner_views(key: str) -> list[type[LiveView]]:
    """The view classes learner ``key`` declares (its spec's ``views``) beside the shared ones."""
    classes = []
    for path in learner_spec(key).views:
        module, name = path.split(":")
        classes.append(getattr(importlib.import_module(module), name))
    return classes


__all__ = [
    "ClassProbabilityView",
    "LearningCurveView",
    "LiveView",
    "MembraneView",
    "RasterView",
    "WeightHistogramView",
    "learner_views",
]
