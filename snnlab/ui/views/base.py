"""The base of every live view: a Viewer fed with snapshots and evaluations by the Lab's feed.

A view never touches the learner or the session: it sees copied snapshot arrays and evaluation
rows only, in the Bokeh document's thread (the periodic callback), at the frame rate the user
chose. ``push`` gets every snapshot drained since the last frame (oldest first) so views that
append rows (curves) lose nothing, while views that redraw whole frames use the newest only.
"""

from __future__ import annotations

import holoviews as hv
import panel as pn
import param

from snnlab.learners.snapshot import Snapshot
from snnlab.runner import Evaluation

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


def latest(frames: list[Snapshot], name: str):
    """Newest array ``name`` among ``frames`` (None when no frame carries it)."""
    for frame in reversed(frames):
        if name in frame.arrays:
            return frame.arrays[name]
    return None


def dynamic(callback, stream) -> hv.DynamicMap:
    return hv.DynamicMap(callback, streams=[stream])
