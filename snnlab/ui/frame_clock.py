"""Backpressure between the server's frames and the page that draws them.

A periodic callback that sends a frame every ``1/fps`` seconds, whatever the page does, fills
the WebSocket when the page draws slower than that: the page then shows frames that are
seconds old and keeps moving for seconds after Pause. The clock counts frames both ways:

- the server numbers every frame it sends (``sent``, the last change of the frame's message);
- the page, once it has painted a frame (``requestAnimationFrame`` after applying it), writes
  that number back (``shown``), a change Bokeh syncs to the server like any widget value.

A frame is sent only while fewer than ``in_flight`` frames are unacknowledged, so the page is
never more than ``in_flight`` frames behind; the server skips ticks instead and the next frame
carries everything since (appended series lose nothing, whole-frame arrays are the newest).
Until the page has acknowledged a first frame (a static notebook output never does), frames
go out unthrottled; while it does not answer (a hidden tab stops painting), one goes out every
``patience_s``.
"""

from __future__ import annotations

import time

from bokeh.models import ColumnDataSource, CustomJS, Model

# after the page has painted the frame that carried it, report its number to the server
_REPORT_SHOWN_JS = """
const frame = cb_obj.data.frame[0];
requestAnimationFrame(() => { shown.data = {frame: [frame]}; });
"""


class FrameClock:
    """Frames sent vs frames the page has painted; ``ready()`` says whether to send another."""

    def __init__(self, in_flight: int = 2, patience_s: float = 1.0):
        self.in_flight = in_flight
        self.patience_s = patience_s
        self.sent = 0
        self.skipped = 0  # ticks that found the page behind
        self.waiting = False  # a tick was skipped and no frame has gone out since
        self._sent_at = 0.0
        self._sent_source = ColumnDataSource({"frame": [0]})
        self._shown_source = ColumnDataSource({"frame": [0]})
        self._sent_source.js_on_change(
            "data", CustomJS(args={"shown": self._shown_source}, code=_REPORT_SHOWN_JS))

    def on_shown(self, callback) -> None:
        """Call ``callback()`` (on the server's event loop) each time the page reports a frame
        painted: a tick skipped while waiting can then be made up at once."""
        self._shown_source.on_change("data", lambda _attr, _old, _new: callback())

    def attach(self, model: Model) -> None:
        """Put the clock's sources in the page through ``model`` (any model the page shows)."""
        model.tags = [*model.tags, self._sent_source, self._shown_source]

    @property
    def shown(self) -> int:
        """The number of the newest frame the page reports painted (0: none reported)."""
        return int(self._shown_source.data["frame"][0])

    def ready(self) -> bool:
        """Whether a frame may go out now (when not, ``waiting`` is set until one goes out)."""
        shown = self.shown
        if (shown == 0 or self.sent - shown < self.in_flight
                or time.perf_counter() - self._sent_at > self.patience_s):
            return True
        if not self.waiting:
            self.skipped += 1
        self.waiting = True
        return False

    def sent_frame(self) -> None:
        """Number the frame being sent; call inside the frame's ``pn.io.hold()``, last."""
        self.sent += 1
        self.waiting = False
        self._sent_at = time.perf_counter()
        self._sent_source.data = {"frame": [self.sent]}
