"""Whether the code runs for a page a Panel server serves (not a notebook or a script)."""

from __future__ import annotations

import panel as pn


def in_served_session() -> bool:
    """True while building or updating a page of a server session: one that has a websocket,
    ends when its tab closes, and so needs its own cleanup."""
    return pn.state.curdoc is not None and pn.state.curdoc.session_context is not None
