"""Live views, each a ``pn.viewable.Viewer`` that owns Bokeh figures and data sources.

The shared views (raster, membrane, learning curves, weights, class probabilities) are here;
each learner's own views are found through :func:`learner_views`.
"""

from __future__ import annotations

import importlib

from snnlab.ui.views.base import LiveView
from snnlab.ui.views.curves import LearningCurveView
from snnlab.ui.views.membrane import MembraneView
from snnlab.ui.views.probabilities import ClassProbabilityView
from snnlab.ui.views.raster import RasterView
from snnlab.ui.views.weights import WeightHistogramView

#: the views each learner adds beside the shared ones, as "module:Class" (imported on use)
LEARNER_VIEWS: dict[str, tuple[str, ...]] = {
    "readout": ("probabilities:ClassProbabilityView",),
    "normad": ("normad:SpikeOverlayView", "normad:ErrorSignalView", "normad:SpikeDistanceView"),
    "ep": ("ep:MarginalsView", "ep:PosteriorHistogramView", "ep:UncertaintyView",
           "probabilities:ClassProbabilityView"),
    "gem": ("gem:CompartmentRasterView", "gem:ImportanceWeightView", "gem:LikelihoodBoundView",
            "gem:CalibrationView"),
    "wp": ("perturbation:PredictionView", "perturbation:PointwiseErrorView",
           "perturbation:EstimatorDiagnosticsView"),
}


def learner_views(key: str) -> list[type[LiveView]]:
    """The view classes learner ``key`` adds to the shared ones."""
    classes = []
    for spec in LEARNER_VIEWS.get(key, ()):
        module, name = spec.split(":")
        classes.append(getattr(importlib.import_module(f"snnlab.ui.views.{module}"), name))
    return classes


__all__ = [
    "LEARNER_VIEWS",
    "ClassProbabilityView",
    "LearningCurveView",
    "LiveView",
    "MembraneView",
    "RasterView",
    "WeightHistogramView",
    "learner_views",
]
