"""The one-line speed readout of the lab and compare (steps/s, frames/s, state)."""

from __future__ import annotations

import time

import panel as pn
from bokeh.models import Div

SPEED_READOUT_HZ = 2  # text changes a second, at most


class SpeedReadout:
    """A Bokeh ``Div`` of fixed size whose text changes at most ``SPEED_READOUT_HZ`` times a
    second: a Panel text pane adds style models on every change, and a box sized to its
    content makes the browser lay the page out again (text costs it more than a plot's data)."""

    def __init__(self, width: int, height: int):
        self.div = Div(text="", render_as_text=True, width=width, height=height)
        self.shown_at = 0.0

    @property
    def text(self) -> str:
        return self.div.text

    def due(self) -> bool:
        """Whether the text may change now (then the next change waits its turn)."""
        now = time.perf_counter()
        if now - self.shown_at < 1.0 / SPEED_READOUT_HZ:
            return False
        self.shown_at = now
        return True

    def show(self, text: str) -> None:
        if text != self.div.text:
            self.div.text = text

    def pane(self) -> pn.pane.Bokeh:
        return pn.pane.Bokeh(self.div, sizing_mode="stretch_width")
