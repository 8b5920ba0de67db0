"""The base of every live view: a Viewer fed with snapshots and evaluations by the Lab's feed.

A view never touches the learner or the session: it sees copied snapshot arrays and evaluation
rows only, in the Bokeh document's thread (the periodic callback), at the frame rate the user
chose. ``push`` gets every snapshot drained since the last frame (oldest first) so views that
append rows (curves) lose nothing, while views that redraw whole frames use the newest only.
"""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param

from snnlab.learners.snapshot import Snapshot
from snnlab.runner import Evaluation

BUFFER_ROWS = 20_000  # rows an appending view keeps (the oldest fall out)
PLOT_OPTS = dict(
    responsive=True,
    min_height=220,
    toolbar="above",
    default_tools=["save", "pan", "wheel_zoom", "box_zoom", "reset", "hover"],
)


class LiveView(pn.viewable.Viewer):
    """A live view; subclasses declare ``arrays`` they read and implement ``_draw``."""

    title = param.String(default="", doc="Heading shown above the view.")
    frames_drawn = param.Integer(default=0, doc="Frames drawn since the last reset (for tests).")

    #: snapshot array names (or prefixes ending in "_") this view needs; [] reads only scalars
    arrays: tuple[str, ...] = ()

    @classmethod
    def for_task(cls, task) -> "LiveView":
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

    def _layout(self, *objects) -> pn.Column:
        return pn.Column(
            pn.pane.Markdown(f"#### {self.title}", margin=(0, 10)),
            *objects,
            sizing_mode="stretch_width",
        )


class ScalarHistoryView(LiveView):
    """Appends ``(step, *scalars)`` of every snapshot that carries all of ``scalars`` to a
    Buffer of the newest ``BUFFER_ROWS`` rows; subclasses give the ``plots`` drawn from it,
    side by side."""

    #: snapshot scalars, one column each
    scalars: tuple[str, ...] = ()

    rows_shown = param.Integer(default=0, doc="Rows received (for tests).")

    def __init__(self, **params):
        super().__init__(**params)
        self.buffer = hv.streams.Buffer(
            pd.DataFrame({"step": np.zeros(0, int), **{s: np.zeros(0) for s in self.scalars}}),
            length=BUFFER_ROWS,
            index=False,
        )

    def plots(self) -> tuple:
        """Callbacks ``data -> element`` over the buffer's DataFrame."""
        raise NotImplementedError

    def _draw(self, frames, evaluations):
        rows = [(f.step, *(f.scalars[s] for s in self.scalars))
                for f in frames if all(s in f.scalars for s in self.scalars)]
        if rows:
            self.buffer.send(pd.DataFrame(rows, columns=["step", *self.scalars]))
            self.rows_shown += len(rows)

    def reset(self):
        super().reset()
        self.buffer.clear()
        self.rows_shown = 0

    def __panel__(self):
        return self._layout(pn.Row(
            *[pn.pane.HoloViews(dynamic(plot, self.buffer), sizing_mode="stretch_width")
              for plot in self.plots()],
            sizing_mode="stretch_width"))


def latest(frames: list[Snapshot], name: str):
    """Newest array ``name`` among ``frames`` (None when no frame carries it)."""
    for frame in reversed(frames):
        if name in frame.arrays:
            return frame.arrays[name]
    return None


def dynamic(callback, stream) -> hv.DynamicMap:
    return hv.DynamicMap(callback, streams=[stream])
