"""Shared helpers for browser tests: an app served in-process on 127.0.0.1 and Debian's chromium."""

from __future__ import annotations

import shutil
import socket
import time
from contextlib import contextmanager

import panel as pn

from snnlab.ui.apps import SESSION_CLEANUP, built_on_open

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run",
]


#: a window wide enough that every view of a learner is laid out side by side
WIDE = {"width": 1600, "height": 1000}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served(factory, *, timeout: float = 30.0):
    """Serve ``factory`` on a free loopback port, built as the served apps are (when the page's
    websocket opens); yields (url, created apps)."""
    created = []

    def build():
        obj = factory()
        created.append(obj)
        return obj

    def app():
        return built_on_open(build)

    port = free_port()
    server = pn.serve(app, port=port, address="127.0.0.1", show=False, threaded=True,
                      websocket_origin=[f"127.0.0.1:{port}"], **SESSION_CLEANUP)
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


# Records, per plot, the times (performance.now(), ms) its sources' data changed in the page:
# `source.data = ...` arrives as a ModelChanged event on "data", `stream` as ColumnsStreamed,
# `patch` as ColumnsPatched. Returns false until the page has Bokeh documents.
WATCH_PLOTS_JS = """() => {
  if (window.__plotChanges) return true;
  if (!window.Bokeh || !Bokeh.documents || Bokeh.documents.length === 0) return false;
  const changes = {};
  const listener = (ev) => {
    const data = ev.kind === "ModelChanged" ? ev.attr === "data"
      : ["ColumnsStreamed", "ColumnsPatched", "ColumnDataChanged"].includes(ev.kind);
    if (!data || !(ev.model instanceof Bokeh.Models.ColumnDataSource)) return;
    for (const doc of Bokeh.documents)
      for (const m of doc.all_models)
        if (m instanceof Bokeh.Models.Plot && m.renderers.some((r) => r.data_source === ev.model))
          (changes[m.id] = changes[m.id] || []).push(performance.now());
  };
  for (const doc of Bokeh.documents) doc.on_change(listener);
  window.__plotChanges = changes;
  return true;
}"""

# {plot id: {"tags": [...], "title": str, "changes": [ms, ...]}} for every plot with a glyph.
PLOT_CHANGES_JS = """() => {
  const out = {};
  for (const doc of Bokeh.documents)
    for (const m of doc.all_models)
      if (m instanceof Bokeh.Models.Plot && m.visible && m.renderers.some((r) => r.data_source))
        out[m.id] = {tags: m.tags, title: m.title ? m.title.text : "",
                     changes: (window.__plotChanges || {})[m.id] || [],
                     sources: m.renderers.filter((r) => r.data_source)
                       .map((r) => Object.keys(r.data_source.data).join(","))};
  return out;
}"""

NOW_JS = "() => performance.now()"


def watch_plots(page, timeout: float = 60.0) -> None:
    """Start recording data changes per plot in ``page``."""
    assert wait_until(lambda: page.evaluate(WATCH_PLOTS_JS), timeout=timeout)


def plots_changed_since(page, since_ms: float) -> dict[str, bool]:
    """Per plot id: whether its data changed after ``since_ms`` (page time)."""
    return {pid: any(t > since_ms for t in plot["changes"])
            for pid, plot in page.evaluate(PLOT_CHANGES_JS).items()}


@contextmanager
def lab_page(chromium, query: str = "", **page_options):
    """The lab served as ``snnlab lab`` serves it (links kept in the URL), opened in a new page at
    ``?query`` and ready (Play shown); yields (page, the labs built so far, the app's URL)."""
    from snnlab.ui.lab import Lab

    with served(lambda: Lab(sync_url=True)) as (url, labs):
        page = chromium.new_page(**page_options)
        page.goto(f"{url}?{query}" if query else url)
        page.get_by_role("button", name="Play").wait_for(timeout=60_000)
        yield page, labs, url
