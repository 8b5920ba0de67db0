"""The lab in a notebook, in a real JupyterLab page driven by headless Chromium.

A JupyterLab server on 127.0.0.1 (no token, every Jupyter folder in tmp_path) opens a notebook
that follows the README: ``pn.extension(inline=True)``, a ``Lab`` shown as a cell output, Play,
then ``lab.ipywidget()``. The data sources in the page must keep growing while the lab plays,
first in the cell output, then in the ipywidget; and no request of the page (scripts,
stylesheets, fonts, websockets) may leave 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from urllib.parse import urlsplit

import pytest
from browser import free_port, wait_until

pytestmark = pytest.mark.browser

pytest.importorskip("jupyterlab")
pytest.importorskip("jupyter_bokeh")

CELLS = [
    "import panel as pn\n\npn.extension(inline=True)",
    'from snnlab.ui import Lab\n\nlab = Lab(learner="readout", task="digits-events")\nlab',
    "lab.play()",
    "lab.ipywidget()",
    "lab.close()",
]
SETUP, SHOW, PLAY, WIDGET, CLOSE = range(len(CELLS))

# Rows of the ("step", "loss") sources of each Bokeh document in the page that has one, in the
# order the documents were made (a cell output, then the ipywidget).
LOSS_ROWS_JS = """() => {
  const out = [];
  for (const doc of (window.Bokeh ? window.Bokeh.documents : [])) {
    let rows = null;
    for (const model of doc.all_models) {
      const names = model.data && model.selected ? Object.keys(model.data) : [];
      if (names.includes("step") && names.includes("loss")) rows = (rows || 0) + model.get_length();
    }
    if (rows !== null) out.push(rows);
  }
  return out;
}"""

NOTEBOOK_READY_JS = """() => {
  const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const kernel = panel && panel.sessionContext && panel.sessionContext.session
    && panel.sessionContext.session.kernel;
  return Boolean(kernel && kernel.connectionStatus === "connected" && kernel.status === "idle"
    && panel.content.widgets.length > 0);
}"""

# Starts cell i; window.cellsRun[i] is set once the kernel has finished it.
RUN_CELL_JS = """(i) => {
  const app = window.jupyterapp;
  window.cellsRun = window.cellsRun || {};
  app.shell.currentWidget.content.activeCellIndex = i;
  app.commands.execute("notebook:run-cell").then(
    () => { window.cellsRun[i] = "done"; }, (err) => { window.cellsRun[i] = String(err); });
}"""
CELL_RUN_JS = "(i) => window.cellsRun && window.cellsRun[i]"

# Errors in the outputs of the notebook's cells, as "cell i: name: value".
ERRORS_JS = """() => {
  const cells = window.jupyterapp.shell.currentWidget.content.model.cells;
  const errors = [];
  for (let i = 0; i < cells.length; i++) {
    for (const o of cells.get(i).outputs.toJSON()) {
      if (o.output_type === "error") errors.push(`cell ${i}: ${o.ename}: ${o.evalue}`);
    }
  }
  return errors;
}"""


def notebook(cells: list[str]) -> dict:
    return {
        "cells": [{"cell_type": "code", "execution_count": None, "id": f"cell{i}",
                   "metadata": {}, "outputs": [], "source": source}
                  for i, source in enumerate(cells)],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                    "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


@pytest.fixture
def jupyterlab(tmp_path):
    """A JupyterLab server on 127.0.0.1 serving tmp_path/notebooks; yields its base URL."""
    root = tmp_path / "notebooks"
    root.mkdir()
    (root / "lab.ipynb").write_text(json.dumps(notebook(CELLS)))
    env = {
        **os.environ,
        # nothing written outside tmp_path; kernelspecs still come from the venv (sys.prefix)
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "JUPYTER_DATA_DIR": str(tmp_path / "data"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces"),
        "IPYTHONDIR": str(tmp_path / "ipython"),
        "MPLCONFIGDIR": str(tmp_path / "matplotlib"),
        "SNNLAB_HOME": str(tmp_path / "snnlab_home"),
    }
    port = free_port()
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        f"--ServerApp.root_dir={root}", "--IdentityProvider.token=", "--ServerApp.password=",
        "--LabApp.expose_app_in_browser=True",  # window.jupyterapp: run cells, read outputs
        # the server itself stays offline too: no news feed, update check or PyPI listing
        "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    with open(tmp_path / "jupyterlab.log", "wb") as log:
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"

    def up():
        assert server.poll() is None, (tmp_path / "jupyterlab.log").read_text()[-3000:]
        try:
            with urllib.request.urlopen(f"{url}/api/status", timeout=2):
                return True
        except OSError:
            return False

    try:
        assert wait_until(up, timeout=60, interval=0.25), "JupyterLab did not start"
        yield url
    finally:
        server.terminate()  # shuts its kernels down
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def outside(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return False
    return parts.hostname != "127.0.0.1"


def test_lab_in_jupyterlab_updates_live_and_stays_on_loopback(chromium, jupyterlab):
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    requested: list[str] = []
    failed: list[str] = []
    page.context.on("request", lambda request: requested.append(request.url))
    page.context.on("requestfailed", lambda request: failed.append(request.url))
    page.on("websocket", lambda socket: requested.append(socket.url))

    def loss_rows() -> list[int]:
        return page.evaluate(LOSS_ROWS_JS)

    def run(cell: int, timeout: float = 60) -> None:
        page.evaluate(RUN_CELL_JS, cell)
        page.wait_for_function(CELL_RUN_JS, arg=cell, timeout=timeout * 1000)
        assert page.evaluate(CELL_RUN_JS, cell) == "done"
        errors = page.evaluate(ERRORS_JS)
        assert not errors, errors

    try:
        page.goto(f"{jupyterlab}/lab/tree/lab.ipynb")
        page.wait_for_function(NOTEBOOK_READY_JS, timeout=60_000)

        # the lab as a cell output: its loss curve grows while it plays
        run(SETUP)
        run(SHOW, timeout=120)  # imports, builds the lab, warms its kernels up
        assert wait_until(lambda: len(loss_rows()) == 1, timeout=30), loss_rows()
        assert loss_rows() == [0]
        run(PLAY)
        assert wait_until(lambda: loss_rows()[-1] > 0, timeout=60), "no frame reached the page"
        first = loss_rows()[-1]
        assert wait_until(lambda: loss_rows()[-1] > first, timeout=20), "the output froze"

        # lab.ipywidget(): a document of its own that goes on growing
        run(WIDGET)
        assert wait_until(lambda: len(loss_rows()) == 2, timeout=30), loss_rows()
        assert wait_until(lambda: loss_rows()[-1] > 0, timeout=30), "the widget got no frame"
        first = loss_rows()[-1]
        assert wait_until(lambda: loss_rows()[-1] > first, timeout=20), "the widget froze"

        run(CLOSE)
        outside_urls = sorted({u for u in requested if outside(u)})
        assert not outside_urls, f"requests outside 127.0.0.1: {outside_urls}"
        assert not [u for u in failed if outside(u)]
        assert any(urlsplit(u).path.startswith("/api/kernels/") for u in requested)
    finally:
        page.close()
