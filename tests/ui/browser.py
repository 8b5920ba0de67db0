"""Shared helpers for browser tests: an app served in-process on 127.0.0.1 and Debian's chromium."""

from __future__ import annotations

import shutil
import socket
import time
from contextlib import contextmanager

import panel as pn

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served(factory, *, timeout: float = 30.0):
    """Serve ``factory`` on a free loopback port; yields (url, created apps)."""
    created = []

    def app():
        obj = factory()
        created.append(obj)
        return obj

    port = free_port()
    server = pn.serve(app, port=port, address="127.0.0.1", show=False, threaded=True,
                      websocket_origin=[f"127.0.0.1:{port}"],
                      # discard closed tabs within about a second (default: up to 17 s)
                      check_unused_sessions=500, unused_session_lifetime=500)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.1)
    try:
        yield f"http://127.0.0.1:{port}/", created
    finally:
        server.stop()


def wait_until(condition, timeout: float = 30.0, interval: float = 0.1):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(interval)
    return False


# Counts the rows of every Bokeh ColumnDataSource on the page that has all the given columns.
ROWS_JS = """(columns) => {
  let total = 0;
  for (const doc of window.Bokeh.documents) {
    for (const model of doc.all_models) {
      if (model.type !== "ColumnDataSource" && !(model.data && model.selected)) continue;
      const names = Object.keys(model.data || {});
      if (!columns.every((c) => names.includes(c))) continue;
      total += model.get_length ? (model.get_length() || 0) : model.data[columns[0]].length;
    }
  }
  return total;
}"""


# Row counts of every ColumnDataSource on the page (one per drawn glyph).
SOURCE_ROWS_JS = """() => {
  const rows = [];
  for (const doc of window.Bokeh.documents) {
    for (const model of doc.all_models) {
      if (model.type === "ColumnDataSource" || (model.data && model.selected && model.get_length)) {
        rows.push(model.get_length() || 0);
      }
    }
  }
  return rows;
}"""
