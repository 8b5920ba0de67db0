"""The served apps, as factories: one fresh app per browser tab.

``apps/*.py`` are a few lines over these (for ``panel serve apps/lab.py``); ``snnlab lab``,
``snnlab compare``, ``snnlab demo neuron`` and ``snnlab runs --serve`` serve the same factories
on 127.0.0.1.
"""

from __future__ import annotations

import logging
import os
import threading

import panel as pn

from snnlab.ui.plain_text import PlainText
from snnlab.ui.serving import in_served_session

APPS = ("lab", "compare", "neuron", "runs")

log = logging.getLogger(__name__)
#: Panel extensions the apps' widgets need (the run browser's table)
EXTENSIONS = ("tabulator",)


def data_root() -> str | None:
    """The N-MNIST folder the apps offer (``$SNNLAB_NMNIST``), if any."""
    return os.environ.get("SNNLAB_NMNIST") or None


class SessionLimit:
    """How many training tabs (lab, compare) may be open at once; past it a tab gets a short
    page saying the lab is full instead of a session (each holds a learner, its data and a
    thread: tens of MB and a share of the CPU)."""

    def __init__(self, limit: int = 8):
        self.limit = limit
        self.open = 0
        self._lock = threading.Lock()

    def acquire(self) -> bool:
        with self._lock:
            if self.open >= self.limit:
                return False
            self.open += 1
            return True

    def release(self) -> None:
        with self._lock:
            self.open = max(self.open - 1, 0)


SESSIONS = SessionLimit()


def full_page() -> pn.viewable.Viewable:
    return pn.pane.Markdown(
        f"## The lab is full\n\n{SESSIONS.limit} sessions are open, the most this server "
        "takes (`--max-sessions`). Close a tab, or try again in a moment.")


def _closed_socket_handler(loop, context) -> None:
    """asyncio's handler for unretrieved task errors, less the one a closed tab causes: a frame
    already on its way to a socket that has just closed fails with WebSocketClosedError, and
    asyncio would log its traceback (a known Tornado/Bokeh behaviour). That gets one line."""
    from tornado.iostream import StreamClosedError
    from tornado.websocket import WebSocketClosedError

    if isinstance(context.get("exception"), (WebSocketClosedError, StreamClosedError)):
        log.info("a frame was not sent: its tab had closed")
    else:
        loop.default_exception_handler(context)


class _BareWebsocketFilter(logging.Filter):
    """A websocket opened without Bokeh's subprotocol (any stranger can send one) makes Tornado
    log Bokeh's ProtocolError with a traceback; it is a refused request: one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        from bokeh.protocol.exceptions import ProtocolError

        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, ProtocolError):
            record.msg, record.args = "refused a websocket request: %s", (error,)
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def _read_link_values_as_text() -> None:
    """Keep a strange link from failing the page before the app sees it.

    Panel reads every query value of a new page (``panel.util.parse_query``, through
    ``Location.query_params``) and turns all-digit values into ``int``: ``?x=%C2%B2`` (``'²'``
    passes ``str.isdigit``) or a value of more than 4300 digits raised in ``int()``, and the GET
    answered HTTP 500 with a traceback in the log. Values it cannot read stay text here; the
    apps read links from the raw search text anyway (``url_state.query_from_search``).
    tests/ui/test_crafted_links.py fails if Panel's parser changes so that this stops holding.
    """
    from urllib.parse import parse_qsl, urlencode

    from panel.io import location

    parse = location.parse_query
    if getattr(parse, "reads_bad_values_as_text", False):
        return

    def tolerant(query: str) -> dict:
        try:
            return parse(query)
        except ValueError:
            parsed = {}
            for key, value in parse_qsl(query[1:]):
                try:
                    parsed.update(parse("?" + urlencode({key: value})))
                except ValueError:
                    parsed[key] = value
            return parsed

    tolerant.reads_bad_values_as_text = True
    location.parse_query = tolerant


def harden_server() -> None:
    """What a server of these apps needs against strangers' requests (idempotent; done when
    this module is imported, before any app is served)."""
    _read_link_values_as_text()
    tornado_log = logging.getLogger("tornado.application")
    if not any(isinstance(f, _BareWebsocketFilter) for f in tornado_log.filters):
        tornado_log.addFilter(_BareWebsocketFilter())


harden_server()


def _quiet_closed_sockets() -> None:
    """Install :func:`_closed_socket_handler` on the server's event loop (this thread's)."""
    import asyncio

    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    if loop.get_exception_handler() is None:
        loop.set_exception_handler(_closed_socket_handler)


def built_on_open(build, *, waiting: str = "Starting…") -> pn.Column:
    """A page that calls ``build()`` once the browser's websocket has opened, not on the GET.

    A GET alone (a crawler, a link preview, a tab that never connects) then costs a page shell,
    not a learner, its data and a thread. It also keeps one tab to one build: Bokeh discards a
    session whose websocket has not opened within ``SESSION_CLEANUP``'s lifetime and makes a
    new one when it does, so an app built on the GET could be built twice, the first copy
    orphaned. Outside a server (a notebook) ``build()`` runs at once.
    """
    shell = pn.Column(pn.pane.Str(waiting), sizing_mode="stretch_width")

    def fill():
        _quiet_closed_sockets()
        try:
            shell[:] = [build()]
        except Exception as err:  # the tab says so instead of "Starting…" for ever
            log.exception("an app could not start")
            shell[:] = [PlainText(f"This page could not start: {err}",
                                  styles={"color": "#842029", "white-space": "pre-wrap"})]

    if in_served_session():
        # the page is drawn before the app exists: declare the extensions the apps use
        pn.extension(*EXTENSIONS)
        pn.state.onload(fill)
    else:
        fill()
    return shell


def _limited(build):
    """``build()`` in a new slot of :data:`SESSIONS`, freed when the tab's session ends."""
    if not SESSIONS.acquire():
        return full_page()
    try:
        app = build()
    except BaseException:
        SESSIONS.release()
        raise
    if in_served_session():
        pn.state.on_session_destroyed(lambda _context: SESSIONS.release())
    else:  # not served (a notebook): nothing will end the session, so hold no slot
        SESSIONS.release()
    return app


def lab_app():
    from snnlab.ui.lab import Lab

    return built_on_open(lambda: _limited(
        lambda: Lab(sync_url=True, data_root=data_root())), waiting="Starting the lab…")


def compare_app():
    from snnlab.ui.compare import Compare

    return built_on_open(lambda: _limited(
        lambda: Compare(sync_url=True, data_root=data_root())), waiting="Starting the lab…")


def neuron_app():
    from snnlab.ui.neuron_demo import NeuronDemo

    return built_on_open(NeuronDemo)


def runs_app():
    from snnlab.ui.runs import RunBrowser

    return built_on_open(RunBrowser, waiting="Reading the runs…")


FACTORIES = {"lab": lab_app, "compare": compare_app, "neuron": neuron_app, "runs": runs_app}


#: a closed tab's session (and its training thread) is discarded within about a second; Bokeh's
#: defaults check every 17 s for sessions unused for 15 s, so a closed tab trained on for ~25 s
SESSION_CLEANUP = {"check_unused_sessions_milliseconds": 250,
                   "unused_session_lifetime_milliseconds": 500}


def check_port_free(address: str, port: int) -> None:
    """``ValueError`` saying which port is busy and how to pick another (instead of the
    server's traceback when it cannot bind)."""
    import socket

    with socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET) as probe:
        try:
            probe.bind((address, port))
        except OSError as err:
            raise ValueError(
                f"cannot listen on {address}:{port} ({err.strerror or err}); another program "
                f"may be using port {port}: choose another with --port, e.g. --port {port + 1}"
            ) from None


def serve(
    app: str,
    *,
    port: int = 5006,
    address: str = "127.0.0.1",
    show: bool = True,
    data: str | None = None,
    threaded: bool = False,
    max_sessions: int = 8,
):
    """Serve ``app`` at http://ADDRESS:PORT/ (loopback unless asked otherwise), with at most
    ``max_sessions`` training tabs open at once."""
    if max_sessions < 1:
        raise ValueError(f"--max-sessions must be at least 1, not {max_sessions}")
    SESSIONS.limit = max_sessions
    if app not in FACTORIES:
        raise ValueError(f"unknown app {app!r}; apps: {', '.join(APPS)}")
    if data is not None:
        os.environ["SNNLAB_NMNIST"] = str(data)
    check_port_free(address, port)
    return pn.serve(
        FACTORIES[app],
        port=port,
        address=address,
        show=show,
        threaded=threaded,
        title=f"snnlab {app}",
        websocket_origin=[f"{address}:{port}", f"localhost:{port}"],
        **SESSION_CLEANUP,
    )
