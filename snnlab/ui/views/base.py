"""The base of every live view: a Viewer that owns Bokeh figures and data sources.

A view builds its figures and ``ColumnDataSource``\\s once, in ``__init__``. After that a frame
changes data only: ``source.stream(rows, rollover=BUFFER_ROWS)`` for series that grow (losses,
metrics), ``source.data = {...}`` for whole frames (raster window, traces, histograms). No model
is created, replaced or re-laid out while the lab plays, so the browser applies each frame as a
small data patch instead of re-rendering the page. The Lab calls every view's ``push`` inside one
``pn.io.hold()``, so one frame of the whole dashboard reaches the browser as one message.

A view never touches the learner or the session: it sees snapshots and evaluation rows only, in
the Bokeh document's thread (the periodic callback), at the frame rate the user chose. ``push``
gets every snapshot drained since the last frame (oldest first; only the newest carries arrays),
so views that append rows (curves) lose nothing while views that redraw whole frames use the
newest arrays only.
"""

from __future__ import annotations

import html
from typing import ClassVar

import numpy as np
import panel as pn
import param
from bokeh.models import ColumnDataSource
from bokeh.plotting import figure

from snnlab.learners.snapshot import Snapshot
from snnlab.runner import Evaluation

#: tag of figures fed by evaluations (they change at the evaluation cadence, not every frame)
EVALUATION_TAG = "evaluation"
BUFFER_ROWS = 20_000  # rows an appending plot keeps (the oldest fall out)
PLOT_HEIGHT = 220
TOOLS = "pan,wheel_zoom,box_zoom,reset,save"
PALETTE = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3",
           "#8c8c8c", "#ccb974", "#64b5cd")


def make_figure(title: str = "", x_label: str = "", y_label: str = "", **options):
    """A figure that fills its column's width; ranges follow the data unless ``options`` pin them.

    Canvas rendering: WebGL falls back to slow software rendering in browsers without a GPU
    (headless CI, many classroom laptops), and these plots are small.
    """
    options = {"height": PLOT_HEIGHT, "sizing_mode": "stretch_width", "tools": TOOLS,
               "toolbar_location": "above", "output_backend": "canvas", **options}
    fig = figure(title=title, **options)
    fig.xaxis.axis_label = x_label
    fig.yaxis.axis_label = y_label
    fig.min_border_left = 40
    return fig


def empty_columns(*names: str) -> dict[str, np.ndarray]:
    return {name: np.zeros(0) for name in names}


def source_of(*columns: str) -> ColumnDataSource:
    """An empty data source with float columns ``columns``."""
    return ColumnDataSource(empty_columns(*columns))


def bokeh_pane(obj) -> pn.pane.Bokeh:
    return pn.pane.Bokeh(obj, sizing_mode="stretch_width")


def histogram_columns(values: np.ndarray, bins: int, value_range=None) -> dict[str, np.ndarray]:
    """``{"left", "right", "top"}`` of a histogram of the finite entries of ``values``."""
    values = np.asarray(values, dtype=np.float64).ravel()
    values = values[np.isfinite(values)]
    if values.size == 0:
        return empty_columns("left", "right", "top")
    counts, edges = np.histogram(values, bins=bins, range=value_range)
    return {"left": edges[:-1], "right": edges[1:], "top": counts.astype(np.float64)}


class LiveView(pn.viewable.Viewer):
    """A live view; subclasses declare ``arrays`` they read and implement ``_draw``."""

    title = param.String(default="", doc="Heading shown above the view.")
    frames_drawn = param.Integer(default=0, doc="Frames drawn since the last reset (for tests).")

    #: snapshot array names (or prefixes ending in "_") this view needs; [] reads only scalars
    arrays: tuple[str, ...] = ()

    @classmethod
    def for_task(cls, task) -> LiveView:
        """The view for a session on ``task`` (views that need its shapes override this)."""
        return cls()

    @classmethod
    def applies_to(cls, snapshot_arrays: tuple[str, ...]) -> bool:
        """Whether a learner declaring ``snapshot_arrays`` feeds this view."""
        return all(
            any(a == need or (need.endswith("_") and a.startswith(need)) for a in snapshot_arrays)
            for need in cls.arrays
        )

    def push(self, frames: list[Snapshot], evaluations: list[Evaluation]) -> None:
        """Take what the session produced since the last frame."""
        if frames or evaluations:
            self._draw(frames, evaluations)
            self.frames_drawn += 1

    def _draw(self, frames: list[Snapshot], evaluations: list[Evaluation]) -> None:
        raise NotImplementedError

    def reset(self) -> None:
        """Forget everything shown (a new run starts)."""
        self.frames_drawn = 0

    def sources(self) -> list[ColumnDataSource]:
        """Every data source this view updates (for tests: what lands where)."""
        return [v for v in vars(self).values() if isinstance(v, ColumnDataSource)] + [
            s for v in vars(self).values() if isinstance(v, dict)
            for s in v.values() if isinstance(s, ColumnDataSource)]

    def _layout(self, *objects) -> pn.Column:
        return pn.Column(
            pn.pane.Markdown("#### " + html.escape(self.title), margin=(0, 10)),
            *objects,
            sizing_mode="stretch_width",
        )


class ScalarHistoryView(LiveView):
    """Appends ``(step, *scalars)`` of every snapshot that carries all of ``scalars`` to one
    source of the newest ``BUFFER_ROWS`` rows; one figure per scalar, side by side."""

    #: snapshot scalars, one column (and one figure) each
    scalars: tuple[str, ...] = ()
    #: per scalar: (figure title, line colour, extra figure options)
    plot_styles: ClassVar[dict[str, tuple[str, str, dict]]] = {}

    rows_shown = param.Integer(default=0, doc="Rows received (for tests).")

    def __init__(self, **params):
        super().__init__(**params)
        self.source = source_of("step", *self.scalars)
        self.figures = []
        for name in self.scalars:
            title, colour, options = self.plot_styles.get(name, (name, PALETTE[0], {}))
            fig = make_figure(title, "step", name, **options)
            fig.line("step", name, source=self.source, color=colour, line_width=1.5)
            self.figures.append(fig)

    def _draw(self, frames, evaluations):
        rows = [(f.step, *(f.scalars[s] for s in self.scalars))
                for f in frames if all(s in f.scalars for s in self.scalars)]
        if rows:
            columns = np.array(rows, dtype=np.float64).T
            self.source.stream({"step": columns[0], **{
                s: self._shown(s, columns[i + 1]) for i, s in enumerate(self.scalars)}},
                rollover=BUFFER_ROWS)
            self.rows_shown += len(rows)

    def _shown(self, name: str, values: np.ndarray) -> np.ndarray:
        """Values as plotted (subclasses blank out what a log axis cannot show)."""
        return values

    def reset(self):
        super().reset()
        self.source.data = empty_columns("step", *self.scalars)
        self.rows_shown = 0

    def __panel__(self):
        return self._layout(pn.Row(*map(bokeh_pane, self.figures), sizing_mode="stretch_width"))


def latest(frames: list[Snapshot], name: str):
    """Newest array ``name`` among ``frames`` (None when no frame carries it)."""
    for frame in reversed(frames):
        if name in frame.arrays:
            return frame.arrays[name]
    return None
