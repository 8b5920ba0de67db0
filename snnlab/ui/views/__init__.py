"""Live views, each a ``pn.viewable.Viewer`` fed by the Lab with snapshots and evaluations."""

from snnlab.ui.views.base import LiveView
from snnlab.ui.views.curves import LearningCurveView
from snnlab.ui.views.ep import MarginalsView, PosteriorHistogramView, UncertaintyView
from snnlab.ui.views.gem import (
    CalibrationView,
    CompartmentRasterView,
    ImportanceWeightView,
    LikelihoodBoundView,
)
from snnlab.ui.views.membrane import MembraneView
from snnlab.ui.views.normad import ErrorSignalView, SpikeDistanceView, SpikeOverlayView
from snnlab.ui.views.perturbation import (
    EstimatorDiagnosticsView,
    PointwiseErrorView,
    PredictionView,
)
from snnlab.ui.views.probabilities import ClassProbabilityView
from snnlab.ui.views.raster import RasterView
from snnlab.ui.views.weights import WeightHistogramView

#: the slot each learner fills with views of its own (beside the shared ones)
LEARNER_VIEWS: dict[str, tuple[type[LiveView], ...]] = {
    "readout": (ClassProbabilityView,),
    "normad": (SpikeOverlayView, ErrorSignalView, SpikeDistanceView),
    "ep": (MarginalsView, PosteriorHistogramView, UncertaintyView, ClassProbabilityView),
    "gem": (CompartmentRasterView, ImportanceWeightView, LikelihoodBoundView, CalibrationView),
    "wp": (PredictionView, PointwiseErrorView, EstimatorDiagnosticsView),
}

__all__ = [
    "LEARNER_VIEWS",
    "ClassProbabilityView",
    "EstimatorDiagnosticsView",
    "LearningCurveView",
    "LiveView",
    "MembraneView",
    "PointwiseErrorView",
    "PredictionView",
    "RasterView",
    "WeightHistogramView",
]
