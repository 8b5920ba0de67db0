"""Views of the ``wp`` learner: prediction vs target (or exact PDE solution), pointwise error,
and the per-step estimator diagnostics (relative L2, cosine with the reference, variance).

They read the snapshot arrays ``prediction``, ``target``, ``plot_x``, ``plot_t`` (``(G,)`` each;
``plot_t`` is constant for 1-D tasks and holds a few times for ``(x, t)`` tasks, one curve per
time) and the scalars ``rel_l2``, ``estimator_cosine``, ``estimator_variance``.
"""

from __future__ import annotations

import holoviews as hv
import numpy as np
import panel as pn

from snnlab.ui.views.base import PLOT_OPTS, LiveView, ScalarHistoryView, dynamic, latest

CURVE_ARRAYS = ("prediction", "target", "plot_x", "plot_t")
DIAGNOSTICS = ("rel_l2", "estimator_cosine", "estimator_variance")


def curves_by_time(frames) -> dict | None:
    """``{t: (x, prediction, target)}`` from the newest frame carrying the curve arrays."""
    arrays = [latest(frames, name) for name in CURVE_ARRAYS]
    if any(a is None for a in arrays):
        return None
    prediction, target, x, t = (np.asarray(a, dtype=float) for a in arrays)
    return {float(time): (x[t == time], prediction[t == time], target[t == time])
            for time in np.unique(t)}


def _label(time: float, n_times: int) -> str:
    return "" if n_times == 1 else f" t={time:.2f}"


class CurvesByTimeView(LiveView):
    """Redraws whole from the newest snapshot's curves ``{t: (x, prediction, target)}``;
    subclasses give ``_plot``."""

    arrays = CURVE_ARRAYS

    def __init__(self, **params):
        super().__init__(**params)
        self.pipe = hv.streams.Pipe(data={})

    def _plot(self, data):
        raise NotImplementedError

    def _draw(self, frames, evaluations):
        data = curves_by_time(frames)
        if data is not None:
            self.pipe.send(data)

    def __panel__(self):
        return self._layout(
            pn.pane.HoloViews(dynamic(self._plot, self.pipe), sizing_mode="stretch_width")
        )


class PredictionView(CurvesByTimeView):
    """Model output (solid) over the target or exact solution (dashed), one colour per time."""

    def __init__(self, **params):
        super().__init__(title=params.pop("title", "Prediction vs target"), **params)

    def _plot(self, data):
        colours = hv.Cycle("Category10").values
        layers = []
        for i, (time, (x, prediction, target)) in enumerate(sorted(data.items())):
            colour = colours[i % len(colours)]
            label = _label(time, len(data))
            layers.append(hv.Curve((x, target), "x", "u", label=f"target{label}").opts(
                color=colour, line_dash="dashed"))
            layers.append(hv.Curve((x, prediction), "x", "u", label=f"model{label}").opts(
                color=colour, line_width=2))
        if not layers:
            layers = [hv.Curve(([], []), "x", "u")]
        return hv.Overlay(layers).opts(legend_position="top_right", framewise=True, **PLOT_OPTS)


class PointwiseErrorView(CurvesByTimeView):
    """``prediction - target`` along x, one curve per time."""

    def __init__(self, **params):
        super().__init__(title=params.pop("title", "Pointwise error"), **params)

    def _plot(self, data):
        curves = [
            hv.Curve((x, prediction - target), "x", "error", label=_label(time, len(data)) or "error")
            for time, (x, prediction, target) in sorted(data.items())
        ] or [hv.Curve(([], []), "x", "error")]
        zero = hv.HLine(0.0).opts(color="gray", line_dash="dotted")
        return (hv.Overlay(curves) * zero).opts(framewise=True, **PLOT_OPTS)



class EstimatorDiagnosticsView(ScalarHistoryView):
    """Per-step relative L2 on the plotting points, cosine with the reference gradient and
    the variance of the estimate (log scale), appended as rows."""

    arrays = CURVE_ARRAYS
    scalars = DIAGNOSTICS

    def __init__(self, **params):
        super().__init__(title=params.pop("title", "Estimator diagnostics"), **params)

    def plots(self):
        return (self._error_plot, self._cosine_plot, self._variance_plot)

    def _error_plot(self, data):
        return hv.Curve(data, "step", "rel_l2").opts(
            logy=True, color="#4c72b0", title="relative L2 (plotting points)", **PLOT_OPTS)

    def _cosine_plot(self, data):
        return hv.Curve(data, "step", "estimator_cosine").opts(
            ylim=(-1.05, 1.05), color="#55a868", title="cosine with reference", **PLOT_OPTS)

    def _variance_plot(self, data):
        positive = data[data["estimator_variance"] > 0]
        return hv.Curve(positive, "step", "estimator_variance").opts(
            logy=True, color="#c44e52", title="estimator variance", **PLOT_OPTS)
