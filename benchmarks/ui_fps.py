"""Frames per second that reach the browser, per plot, for every dashboard; prints JSON.

Each dashboard is served in-process on 127.0.0.1 and opened in headless Chromium (1600x1000):
the lab with each learner's default (``/lab?learner=NAME``), ``compare`` with as many learners
as one task allows, up to four (digits-events: ep, gem, readout; no task has four learners yet),
and the neuron demo with "Run (fresh inputs)" on. One dashboard at a time, one page each.

What is listened to: once the page has Bokeh documents, a callback is registered with
``doc.on_change`` on every ``window.Bokeh.documents[i]``. BokehJS calls it for changes the
server pushes too (``sync == false``): ``source.data = ...`` arrives as a ``ModelChanged`` event
with ``attr == "data"``, ``source.stream`` as ``ColumnsStreamed``, ``source.patch`` as
``ColumnsPatched``. Each such event on a ``ColumnDataSource`` is stamped with
``performance.now()`` when BokehJS applies it (a busy page applies late). Other changes (ranges,
layout, widgets) are ignored, and so are sources that no plot draws.

A frame of a plot is a burst of data changes to any of the sources its glyph renderers draw:
a change more than 15 ms after the previous one starts a new frame. Plots are the ``Plot``
models in the page at the end of the listening window. Per dashboard, after Play (the lab and
compare) or Run (the demo), a warm-up and ``seconds`` of listening:

- median_fps_per_plot: median over plots of frames in the window / window length;
- share_plots_updated: plots with at least one frame / plots;
- longest_gap_s: the page's longest freeze, the longest interval in the window with no frame
  in any plot (the window's start and end count as bounds);
- first_frame_s: from the click on Play to the first data change of any plot, with warm
  caches (the learners' kernels are compiled in this process before the page opens);
- steps_ratio: steps/s watched over steps/s headless for the same session, alternating
  ``rounds`` phases of each (headless: the lab's ``live`` switch off, or the periodic callback
  idle where a dashboard has no such switch); null for the demo, which has no session;
- stop_latency_s: from the click on Pause (dispatched in the page) to the last data change of any plot but the
  evaluation plots (results of steps before the pause may still arrive there), once the page
  has been still for 2 s: how far the page lags behind the run; null for the demo.

The reference: for each dashboard a page of plain Bokeh figures served the same way, one per
plot of the dashboard, of the same size, with the same glyph kinds on sources of the row counts
seen there (synthetic values). Every source that changed on the dashboard during its window is
changed in every frame (streamed with rollover where the dashboard streamed, replaced
otherwise), inside one ``pn.io.hold()``, by a periodic callback at the dashboard's requested
frame rate; where the dashboard runs a learner a thread keeps one core busy beside it. It is
measured exactly like the dashboard; ratio_to_reference = dashboard median fps / reference
median fps. The dashboards send a frame only once the page has painted all but two of those
before (a frame clock); the reference sends at its rate whatever the page does, so its figure
counts messages applied, an upper bound on frames painted.

Targets (2-core machine; every lab dashboard and compare; none for the demo): median fps per
plot >= 10, ratio to reference >= 0.7, longest freeze <= 0.5 s, steps ratio >= 0.9, first frame
<= 3 s after Play, the page still within 0.5 s of Pause.

    python benchmarks/ui_fps.py [--seconds 20] [--dashboards lab-readout,compare,neuron]
                                [--out docs/results/benchmarks/ui_fps.json [--force]]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import socket
import statistics
import sys
import threading
import time
from pathlib import Path

TARGETS = {
    "median_fps_per_plot_min": 10.0,
    "ratio_to_reference_min": 0.7,
    "longest_gap_s_max": 0.5,
    "steps_ratio_min": 0.9,
    "first_frame_s_max": 3.0,
    "stop_latency_s_max": 0.5,
}
BURST_S = 0.015  # data changes closer than this are one frame
VIEWPORT = {"width": 1600, "height": 1000}
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run",
]
COMPARE_SIZE = 4  # learners asked for in compare
QUICK_DASHBOARDS = ("lab-readout", "compare", "neuron")


# -- pure helpers: frames, gaps, summaries ------------------------------------------------------
def frame_starts(times: list[float], burst: float = BURST_S) -> list[float]:
    """Start times of the frames in ``times`` (seconds): a change more than ``burst`` after the
    previous change starts a new frame."""
    starts, last = [], None
    for t in sorted(times):
        if last is None or t - last > burst:
            starts.append(t)
        last = t
    return starts


def longest_gap(times: list[float], start: float, end: float) -> float:
    """Longest interval in [start, end] without any of ``times`` (the bounds count as times)."""
    points = [start, *sorted(t for t in times if start <= t <= end), end]
    return max(b - a for a, b in itertools.pairwise(points))


def plot_frames(changes: dict[str, list[float]], plots_of: dict[str, list[str]],
                plots: list[str], start: float, end: float) -> dict[str, list[float]]:
    """Frame start times in [start, end] per plot, from change times per source id."""
    per_plot: dict[str, list[float]] = {p: [] for p in plots}
    for source, times in changes.items():
        for plot in plots_of.get(source, []):
            if plot in per_plot:
                per_plot[plot].extend(times)
    return {p: [t for t in frame_starts(ts) if start <= t <= end] for p, ts in per_plot.items()}


def summarize(frames: dict[str, list[float]], start: float, end: float) -> dict:
    """The page's figures from its frames per plot over the window [start, end]."""
    window = end - start
    rates = [len(ts) / window for ts in frames.values()]
    every = [t for ts in frames.values() for t in ts]
    return {
        "plots": len(frames),
        "median_fps_per_plot": statistics.median(rates) if rates else None,
        "share_plots_updated": (sum(1 for ts in frames.values() if ts) / len(frames)
                                if frames else None),
        "longest_gap_s": longest_gap(every, start, end),
        "window_s": window,
    }


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def targets_met(result: dict) -> dict:
    """One boolean per target (False where the figure is missing)."""
    def at_least(key, bound):
        return result.get(key) is not None and result[key] >= bound

    def at_most(key, bound):
        return result.get(key) is not None and result[key] <= bound

    met = {
        "median_fps_per_plot": at_least("median_fps_per_plot", TARGETS["median_fps_per_plot_min"]),
        "ratio_to_reference": at_least("ratio_to_reference", TARGETS["ratio_to_reference_min"]),
        "longest_gap_s": at_most("longest_gap_s", TARGETS["longest_gap_s_max"]),
        "steps_ratio": at_least("steps_ratio", TARGETS["steps_ratio_min"]),
        "first_frame_s": at_most("first_frame_s", TARGETS["first_frame_s_max"]),
        "stop_latency_s": at_most("stop_latency_s", TARGETS["stop_latency_s_max"]),
    }
    met["all"] = all(met.values())
    return met


# -- in the page --------------------------------------------------------------------------------
# Registers the listener once the page has Bokeh documents; returns whether it is registered.
LISTEN_JS = """() => {
  if (window.__uiFps) return true;
  if (!window.Bokeh || !Bokeh.documents || Bokeh.documents.length === 0) return false;
  const Plot = Bokeh.Models.Plot, Source = Bokeh.Models.ColumnDataSource;
  const rec = {times: {}, plots: {}, kinds: {}, streamed: {}, marks: {}};
  // source id -> ids of the plots drawing it; rebuilt after the model graph changed
  let plotsOf = null;
  const rebuild = () => {
    plotsOf = new Map();
    for (const doc of Bokeh.documents)
      for (const m of doc.all_models)
        if (m instanceof Plot)
          for (const r of m.renderers)
            if (r.data_source) {
              const id = r.data_source.id;
              if (!plotsOf.has(id)) plotsOf.set(id, []);
              if (!plotsOf.get(id).includes(m.id)) plotsOf.get(id).push(m.id);
            }
  };
  const GRAPH_ATTRS = ["renderers", "data_source", "children", "center", "above", "below"];
  const DATA_EVENTS = ["ColumnsStreamed", "ColumnsPatched", "ColumnDataChanged"];
  const listener = (ev) => {
    const now = performance.now();
    if (ev.kind === "RootAdded" || ev.kind === "RootRemoved" ||
        (ev.kind === "ModelChanged" && GRAPH_ATTRS.includes(ev.attr))) {
      plotsOf = null;
      return;
    }
    const isData = ev.kind === "ModelChanged" ? ev.attr === "data" : DATA_EVENTS.includes(ev.kind);
    if (!isData || !(ev.model instanceof Source)) return;
    const id = ev.model.id;
    if (plotsOf === null || !plotsOf.has(id)) {
      rebuild();
      if (!plotsOf.has(id)) plotsOf.set(id, []);  // drawn by no plot: not looked up again
    }
    if (!(id in rec.times)) {
      rec.times[id] = []; rec.kinds[id] = {}; rec.streamed[id] = 0;
    }
    rec.plots[id] = plotsOf.get(id) || [];
    rec.times[id].push(now);
    rec.kinds[id][ev.kind] = (rec.kinds[id][ev.kind] || 0) + 1;
    if (ev.kind === "ColumnsStreamed") {
      const first = Object.values(ev.data instanceof Map ? Object.fromEntries(ev.data) : ev.data)[0];
      rec.streamed[id] += first ? first.length : 0;
    }
  };
  for (const doc of Bokeh.documents) doc.on_change(listener);
  window.__uiFps = rec;
  return true;
}"""

# Change times (ms, performance.now()) at or after `since`, with each source's plots and kinds.
CHANGES_JS = """(since) => {
  const rec = window.__uiFps, times = {};
  for (const [id, ts] of Object.entries(rec.times)) times[id] = ts.filter((t) => t >= since);
  return {times, plots: rec.plots, kinds: rec.kinds, streamed: rec.streamed};
}"""

# The plots in the page: id, title, and per glyph renderer its glyph kind and source's shape.
DESCRIBE_JS = """() => {
  const Plot = Bokeh.Models.Plot, Source = Bokeh.Models.ColumnDataSource;
  const nans = (source) => {
    let most = 0;
    for (const column of Object.values(source.data)) {
      if (!column || typeof column.length !== "number" || typeof column[0] !== "number") continue;
      let n = 0;
      for (let i = 0; i < column.length; i++) if (Number.isNaN(column[i])) n++;
      most = Math.max(most, n);
    }
    return most;
  };
  const imageShape = (source) => {
    const images = source.data.image;
    if (!images || images.length === 0) return null;
    const img = images[0];
    if (img.shape) return Array.from(img.shape);
    return Array.isArray(img) && Array.isArray(img[0]) ? [img.length, img[0].length] : null;
  };
  const plots = [];
  for (const doc of Bokeh.documents)
    for (const m of doc.all_models) {
      if (!(m instanceof Plot)) continue;
      const renderers = m.renderers
        .filter((r) => r.glyph && r.data_source instanceof Source)
        .map((r) => ({glyph: r.glyph.type, source: r.data_source.id,
                      rows: r.data_source.get_length() || 0, nan_rows: nans(r.data_source),
                      image_shape: r.glyph.type === "Image" ? imageShape(r.data_source) : null}));
      if (renderers.length)
        plots.push({id: m.id, title: m.title ? m.title.text : "", renderers,
                    width: Math.round(m.outer_width || m.width || 0),
                    height: Math.round(m.outer_height || m.height || 0)});
    }
  return plots;
}"""

NOW_JS = "() => performance.now()"
CLICK_JS = "(button) => { const t = performance.now(); button.click(); return t; }"
EVALUATION_PLOTS_JS = """() => Bokeh.documents.flatMap((d) => [...d.all_models])
  .filter((m) => m instanceof Bokeh.Models.Plot && m.tags.includes("evaluation")).map((m) => m.id)"""
MARK_JS = "(name) => { window.__uiFps.marks[name] = performance.now(); return window.__uiFps.marks[name]; }"


def install_listener(page, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while not page.evaluate(LISTEN_JS):
        if time.monotonic() > deadline:
            raise RuntimeError("the page has no Bokeh document")
        time.sleep(0.1)


def changes_since(page, since_ms: float) -> dict:
    """Change times in seconds per source id, with each source's plots, kinds and rows streamed."""
    raw = page.evaluate(CHANGES_JS, since_ms)
    return {"times": {k: [t / 1000.0 for t in v] for k, v in raw["times"].items()},
            "plots": raw["plots"], "kinds": raw["kinds"], "streamed": raw["streamed"]}


def first_change_after(page, since_ms: float, timeout: float) -> float | None:
    """Seconds from ``since_ms`` to the first data change of a plot, or None within ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = changes_since(page, since_ms)
        firsts = [min(ts) for sid, ts in seen["times"].items() if ts and seen["plots"].get(sid)]
        if firsts:
            return min(firsts) - since_ms / 1000.0
        time.sleep(0.05)
    return None


def stop_latency(page, quiet_s: float = 2.0, timeout: float = 60.0) -> float | None:
    """Click Pause; seconds to the last data change of a plot other than the evaluation plots,
    once nothing has changed for ``quiet_s`` (None if the page never keeps still).

    The click is dispatched in the page and stamped there (Playwright's own click first waits
    for the button to keep still over animation frames, which a busy page delays)."""
    evaluation = set(page.evaluate(EVALUATION_PLOTS_JS))
    button = page.get_by_role("button", name="Pause", exact=True).element_handle()
    clicked = page.evaluate(CLICK_JS, button) / 1000.0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(quiet_s / 4)
        seen = changes_since(page, clicked * 1000.0)
        live = [t for sid, ts in seen["times"].items() for t in ts
                if set(seen["plots"].get(sid) or []) - evaluation]
        last = max(live, default=clicked)
        if page.evaluate(NOW_JS) / 1000.0 - last >= quiet_s:
            return last - clicked
    return None


def listen(page, seconds: float) -> dict:
    """Listen ``seconds``; the page's summary, plots described, and what its sources received."""
    start = page.evaluate(NOW_JS)
    time.sleep(seconds)
    end = page.evaluate(NOW_JS)
    plots = page.evaluate(DESCRIBE_JS)
    seen = changes_since(page, start)
    frames = plot_frames(seen["times"], seen["plots"], [p["id"] for p in plots],
                         start / 1000.0, end / 1000.0)
    summary = summarize(frames, start / 1000.0, end / 1000.0)
    window = summary["window_s"]
    for plot in plots:
        ts = frames[plot["id"]]
        plot["fps"] = len(ts) / window
        plot["longest_gap_s"] = longest_gap(ts, start / 1000.0, end / 1000.0)
        for r in plot["renderers"]:
            kinds = seen["kinds"].get(r["source"], {})
            r["streamed"] = bool(kinds.get("ColumnsStreamed"))
            r["rows_per_stream"] = (seen["streamed"][r["source"]] / kinds["ColumnsStreamed"]
                                    if r["streamed"] else 0)
            r["updated"] = bool(seen["times"].get(r["source"]))
    summary["plot_details"] = plots
    return summary


# -- serving ------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One in-process Panel server on loopback; routes name -> factory; ``created`` per route."""

    def __init__(self, factories: dict):
        import panel as pn

        self.factories = factories
        self.created: dict[str, list] = {name: [] for name in factories}
        self.port = free_port()

        from snnlab.ui.apps import SESSION_CLEANUP, built_on_open

        def collecting(name, factory):
            def build():
                obj = factory()
                self.created[name].append(obj)
                return obj
            return lambda: built_on_open(build)  # as the served apps are

        # verbose=False: stdout carries the JSON report only; closed tabs end within a second
        self.server = pn.serve({name: collecting(name, f) for name, f in factories.items()},
                               port=self.port, address="127.0.0.1", show=False, threaded=True,
                               verbose=False, websocket_origin=[f"127.0.0.1:{self.port}"],
                               **SESSION_CLEANUP)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    break
            time.sleep(0.1)

    def url(self, route: str, query: str = "") -> str:
        return f"http://127.0.0.1:{self.port}/{route}{query}"

    def stop(self) -> None:
        self.server.stop()


# -- the dashboards -----------------------------------------------------------------------------
def dashboard_names() -> list[str]:
    from snnlab.learners import learner_names

    return [f"lab-{n}" for n in learner_names()] + ["compare", "neuron"]


def compare_choice() -> tuple[str, list[str]]:
    """The task with the most learners (digits-events on ties) and up to four of them."""
    from snnlab.data import task_names
    from snnlab.ui.compare import learners_for

    tasks = [t for t in task_names() if t != "nmnist"]
    task = max(tasks, key=lambda t: (len(learners_for(t)), t == "digits-events"))
    return task, learners_for(task)[:COMPARE_SIZE]


def factories() -> dict:
    """Route -> factory of a fresh app per tab (the apps' own defaults; the lab reads its URL)."""
    def lab():
        from snnlab.ui.lab import Lab

        return Lab(sync_url=True)

    def compare():
        from snnlab.ui.compare import Compare

        task, chosen = compare_choice()
        return Compare(task=task, chosen=chosen)

    def neuron():
        from snnlab.ui.neuron_demo import NeuronDemo

        return NeuronDemo()

    return {"lab": lab, "compare": compare, "neuron": neuron, "reference": ReferenceRoute()}


def warm_caches(name: str) -> None:
    """Compile the kernels the dashboard's learners use (Numba's in-process dispatchers)."""
    import snnlab
    from snnlab.data import load_task
    from snnlab.learners.presets import default_preset
    from snnlab.ui.url_state import starting_task

    if name == "neuron":
        from snnlab.demos.neuron import NeuronDemoModel

        NeuronDemoModel().simulate()
        return
    if name == "compare":
        task, chosen = compare_choice()
        runs = [(n, task, {}, {"batch_size": 32}) for n in chosen]
    else:
        learner = name.removeprefix("lab-")
        task = starting_task(learner)
        preset = default_preset(learner, task)  # what the lab starts with
        runs = [(learner, task, dict(preset.task_options) if preset else {},
                 preset.resolved_params() if preset else {})]
    for learner, task, options, params in runs:
        session = snnlab.Session(snnlab.learners.make(learner, seed=0, **params),
                                 load_task(task, **options), eval_every=0)
        try:
            session.step()
            session.step()
            session.runner.evaluate()
        finally:
            session.stop()


def route_of(name: str) -> tuple[str, str]:
    if name.startswith("lab-"):
        return "lab", f"?learner={name.removeprefix('lab-')}"
    return name, ""


def start_button(page, name: str):
    label = "Run (fresh inputs)" if name == "neuron" else "Play"
    return page.get_by_role("button", name=label, exact=True)


def sessions_of(app) -> list:
    if hasattr(app, "sessions"):
        return list(app.sessions.values())
    return [app.session] if hasattr(app, "session") else []


def steps_done(app) -> int:
    return sum(s.steps_done for s in sessions_of(app))


def fps_requested(app) -> float | None:
    """The frame rate the app asks for: its ``fps``, else its periodic callback's period."""
    if "fps" in app.param:
        return float(app.fps)
    callback = getattr(app, "_callback", None)
    return 1000.0 / callback.period if callback is not None else None


def set_live(app, on: bool, saved: dict) -> bool:
    """Drawing on or off: the app's ``live`` switch, else its periodic callback made idle."""
    if "live" in app.param:
        app.live = on
        return True
    callback = getattr(app, "_callback", None)
    if callback is None:
        return False
    if not on:
        saved.setdefault("callback", callback.callback)
        callback.callback = lambda: None
    elif "callback" in saved:
        callback.callback = saved.pop("callback")
    return True


def steps_per_second(app, seconds: float) -> float:
    start_steps, start = steps_done(app), time.perf_counter()
    time.sleep(seconds)
    return (steps_done(app) - start_steps) / (time.perf_counter() - start)


def steps_phases(app, rounds: int, seconds: float) -> dict:
    """Alternate watched and headless phases on the running session(s)."""
    if not sessions_of(app):
        return {"steps_per_s_watched": None, "steps_per_s_headless": None, "steps_ratio": None}
    watched, headless, saved = [], [], {}
    for _ in range(rounds):
        watched.append(steps_per_second(app, seconds))
        if not set_live(app, False, saved):
            return {"steps_per_s_watched": statistics.median(watched),
                    "steps_per_s_headless": None, "steps_ratio": None}
        headless.append(steps_per_second(app, seconds))
        set_live(app, True, saved)
    w, h = statistics.median(watched), statistics.median(headless)
    return {"steps_per_s_watched": w, "steps_per_s_headless": h, "steps_ratio": ratio(w, h),
            "steps_per_s_watched_phases": watched, "steps_per_s_headless_phases": headless}


def stop_app(app) -> None:
    """No more drawing and no more steps (before its tab closes, so nothing is sent to it)."""
    set_live(app, False, {})
    for session in sessions_of(app):
        session.stop()


def open_page(browser, url: str, errors: list):
    page = browser.new_page(viewport=VIEWPORT)
    page.on("pageerror", lambda exc: errors.append(str(exc)[:200]))
    page.goto(url)
    install_listener(page)
    return page


def measure_dashboard(server: Server, browser, name: str, seconds: float, warmup: float,
                      rounds: int, phase_seconds: float) -> dict:
    warm_caches(name)
    route, query = route_of(name)
    before = len(server.created[route])
    errors: list[str] = []
    page = open_page(browser, server.url(route, query), errors)
    try:
        button = start_button(page, name)
        button.wait_for(timeout=180_000)
        app = server.created[route][before]
        time.sleep(1.0)  # the page's first layout settles
        played = page.evaluate(MARK_JS, "play")
        button.click()
        first = first_change_after(page, played, timeout=120.0)
        paused = changes_since(page, played - 1000.0)["times"]  # the last second before Play
        changes_while_paused = sum(1 for ts in paused.values() for t in ts if t < played / 1000.0)
        deadline = time.monotonic() + 180.0
        while sessions_of(app) and steps_done(app) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(warmup)
        result = {"dashboard": name, "fps_requested": fps_requested(app), "first_frame_s": first,
                  "changes_in_last_second_before_play": changes_while_paused}
        if hasattr(app, "sessions"):
            result["learners"] = list(app.sessions)
            result["task"] = next(iter(app.sessions.values())).task.name if app.sessions else None
        elif hasattr(app, "session"):
            result["learners"] = [app.session.learner.key]
            result["task"] = app.session.task.name
        result.update(listen(page, seconds))
        result.update(steps_phases(app, rounds, phase_seconds))
        result["stop_latency_s"] = stop_latency(page) if name != "neuron" else None
        result["page_errors"] = errors
        return result
    finally:
        if len(server.created[route]) > before:
            stop_app(server.created[route][before])
        page.close()
        time.sleep(1.0)  # the server discards the closed tab


# -- the plain Bokeh reference ------------------------------------------------------------------
class ReferenceRoute:
    """Factory of the reference page; ``plots``, ``fps`` and ``compute`` (a busy thread beside
    it, for dashboards that run a learner) are set before a tab opens."""

    def __init__(self):
        self.plots: list[dict] = []
        self.fps = 10.0
        self.compute = True
        self.loads: list[ComputeLoad] = []
        self.errors: list[str] = []  # exceptions of frame updates, reported with the result

    def __call__(self):
        import panel as pn

        layout, updates = reference_layout(self.plots)
        document = pn.state.curdoc
        load = ComputeLoad()

        def frame():
            if load.stopped:  # the benchmark is done with this tab
                return
            # one hold: one message per frame, as the dashboards do. (Adding
            # document.models.freeze() inside it stopped every write at 20 fps with 11 plots.)
            try:
                with pn.io.hold():
                    for update in updates:
                        update()
            except Exception as err:  # noqa: BLE001 - reported, not raised, in the server's thread
                if len(self.errors) < 5:
                    self.errors.append(f"{type(err).__name__}: {err}"[:300])

        callback = pn.state.add_periodic_callback(frame, period=int(1000 / self.fps))
        if self.compute:
            load.start()
        self.loads.append(load)
        if document is not None and document.session_context is not None:
            pn.state.on_session_destroyed(lambda _context: (callback.stop(), load.stop()))
        return layout

    def stop(self) -> None:
        """Stop every tab's compute thread and updates."""
        for load in self.loads:
            load.stop()
        self.loads = []


class ComputeLoad(threading.Thread):
    """A thread keeping one core busy as a learner's worker does: NumPy element-wise passes over
    2**19 floats, a few milliseconds each with the GIL released (a thread that took and dropped
    the GIL every few microseconds would starve the server's I/O, which no learner does)."""

    def __init__(self):
        super().__init__(daemon=True, name="ui-fps-reference-load")
        self._stop_event = threading.Event()

    def run(self):
        import numpy as np

        x = np.random.default_rng(0).standard_normal(2**19)
        while not self._stop_event.is_set():
            np.tanh(x, out=x)
            np.multiply(x, 3.0, out=x)

    @property
    def stopped(self) -> bool:
        return self._stop_event.is_set()

    def stop(self):
        self._stop_event.set()


#: the columns each glyph kind of the reference reads (unknown kinds are drawn as Scatter)
GLYPH_COLUMNS = {
    "Line": ("x", "y"), "Step": ("x", "y"), "Scatter": ("x", "y"), "Circle": ("x", "y"),
    "Rect": ("x", "y"), "Quad": ("left", "right", "top", "bottom"), "VBar": ("x", "top"),
    "HBar": ("x", "top"), "Segment": ("x0", "y0", "x1", "y1"), "MultiLine": ("xs", "ys"),
    "Patches": ("xs", "ys"), "Image": ("image",), "VArea": ("x", "y0", "y1"),
}


LINE_KINDS = {"Line", "Step", "MultiLine", "VArea"}


def synthetic_columns(kinds, rows: int, nan_rows: int, image_shape, rng, offset: int = 0) -> dict:
    """The columns glyphs ``kinds`` read, ``rows`` long, x from ``offset``; NaN breaks in ``y``."""
    import numpy as np

    names = {c for kind in kinds for c in GLYPH_COLUMNS.get(kind, GLYPH_COLUMNS["Scatter"])}
    x = np.arange(offset, offset + rows, dtype=float)
    # values in [0, 1], so the axes keep their range from frame to frame: smooth curves for
    # lines (as traces and learning curves are), scattered points for everything else
    if LINE_KINDS & set(kinds):
        y = 0.5 + 0.4 * np.sin(0.05 * x + 6.28 * rng.random()) + 0.05 * rng.random(rows)
    else:
        y = rng.random(rows)
    if nan_rows and rows:
        y[:: max(rows // nan_rows, 2)] = np.nan
    columns = {"x": x, "y": y, "x0": x, "x1": x + 0.5, "y0": y, "y1": y + 1.0,
               "left": x, "right": x + 1.0, "top": np.nan_to_num(y),
               "bottom": np.zeros(rows)}
    if "image" in names:
        columns["image"] = [rng.random(tuple(image_shape or (16, 16))) for _ in range(rows)]
    if "xs" in names:
        columns["xs"] = [np.arange(50.0) for _ in range(rows)]
        columns["ys"] = [rng.standard_normal(50) for _ in range(rows)]
    return {name: columns[name] for name in names}


def add_glyph(fig, kind: str, source):
    """A renderer of glyph ``kind`` on ``source``'s synthetic columns (scatter if unknown)."""
    from bokeh.models import LinearColorMapper

    makers = {
        "Line": lambda: fig.line("x", "y", source=source),
        "Step": lambda: fig.step("x", "y", source=source),
        "Scatter": lambda: fig.scatter("x", "y", source=source, marker="square", size=3),
        "Circle": lambda: fig.circle("x", "y", radius=0.5, source=source),
        "Rect": lambda: fig.rect("x", "y", width=1.0, height=0.8, source=source),
        "Quad": lambda: fig.quad(left="left", right="right", top="top", bottom="bottom",
                                 source=source),
        "VBar": lambda: fig.vbar(x="x", top="top", width=0.8, source=source),
        "HBar": lambda: fig.hbar(y="x", right="top", height=0.8, source=source),
        "Segment": lambda: fig.segment("x0", "y0", "x1", "y1", source=source),
        "MultiLine": lambda: fig.multi_line("xs", "ys", source=source),
        "Patches": lambda: fig.patches("xs", "ys", source=source),
        "VArea": lambda: fig.varea(x="x", y1="y0", y2="y1", source=source),
        "Image": lambda: fig.image(image="image", x=0, y=0, dw=10, dh=10, source=source,
                                   color_mapper=LinearColorMapper(palette="Viridis256")),
    }
    return makers.get(kind, makers["Scatter"])()


def reference_layout(plots: list[dict]):
    """Plain Bokeh figures like ``plots`` (DESCRIBE_JS: glyphs, rows, size on the page), each in
    its own pane as the dashboards place them, and one update callable per source that changed
    on the dashboard (every source if none did); the others stay as they are."""
    import numpy as np
    import panel as pn
    from bokeh.models import ColumnDataSource
    from bokeh.plotting import figure

    rng = np.random.default_rng(0)
    any_updated = any(r.get("updated") for plot in plots for r in plot["renderers"])
    panes, updates = [], []
    for i, plot in enumerate(plots):
        fig = figure(title=f"reference {i}: {plot.get('title') or ''}",
                     width=plot.get("width") or 700, height=plot.get("height") or 220,
                     tools="pan,wheel_zoom,box_zoom,reset,save", output_backend="canvas")
        by_source: dict[str, list[dict]] = {}
        for r in plot["renderers"]:
            by_source.setdefault(r["source"], []).append(r)
        for renderers in by_source.values():
            first, kinds = renderers[0], [r["glyph"] for r in renderers]
            source = ColumnDataSource(synthetic_columns(kinds, first["rows"], first["nan_rows"],
                                                        first["image_shape"], rng))
            for kind in kinds:
                add_glyph(fig, kind, source)
            if first.get("updated") or not any_updated:
                updates.append(source_update(source, kinds, first, rng))
        panes.append(pn.pane.Bokeh(fig))
    return pn.FlexBox(*panes), updates


def source_update(source, kinds: list[str], seen: dict, rng):
    """A callable that changes ``source`` the way the dashboard changed the one it copies:
    ``rows_per_stream`` rows streamed with rollover at the rows seen, else all rows replaced."""
    rows, nan_rows, shape = seen["rows"], seen["nan_rows"], seen["image_shape"]
    if seen.get("streamed"):
        k = max(1, round(seen.get("rows_per_stream") or 1))
        count = [rows]

        def stream():
            source.stream(synthetic_columns(kinds, k, 0, shape, rng, offset=count[0]),
                          rollover=max(rows, k))
            count[0] += k
        return stream

    def replace():
        source.data = synthetic_columns(kinds, max(rows, 1), nan_rows, shape, rng)
    return replace


def measure_reference(server: Server, browser, plots: list[dict], fps: float, compute: bool,
                      seconds: float, warmup: float) -> dict:
    reference: ReferenceRoute = server.factories["reference"]
    reference.plots, reference.fps, reference.compute = plots, fps, compute
    reference.errors = []
    errors: list[str] = []
    page = open_page(browser, server.url("reference"), errors)
    try:
        time.sleep(warmup)
        result = listen(page, seconds)
        result.pop("plot_details")
        result["fps_requested"] = fps
        result["compute_thread"] = compute
        result["server_errors"] = list(reference.errors)
        result["page_errors"] = errors
        return result
    finally:
        reference.stop()
        page.close()
        time.sleep(1.0)  # the server discards the closed tab


# -- the run ------------------------------------------------------------------------------------
def machine() -> dict:
    """CPU count and load average; ``busy`` when other work had more than half the cores."""
    load = os.getloadavg()
    return {"cpu_count": os.cpu_count(), "load_average": list(load),
            "busy": load[0] > 0.5 * (os.cpu_count() or 1)}


def dashboard_report(measured: dict, reference: dict | None) -> dict:
    """The per-dashboard record: figures, reference, ratio, targets (none for the demo)."""
    out = {k: measured.get(k) for k in (
        "dashboard", "learners", "task", "plots", "median_fps_per_plot", "share_plots_updated",
        "longest_gap_s", "first_frame_s", "steps_per_s_watched", "steps_per_s_headless",
        "steps_ratio", "stop_latency_s", "fps_requested", "window_s",
        "changes_in_last_second_before_play")}
    out["reference_median_fps"] = reference["median_fps_per_plot"] if reference else None
    out["ratio_to_reference"] = ratio(out["median_fps_per_plot"], out["reference_median_fps"])
    out["reference"] = reference
    if measured["dashboard"] == "neuron":
        out["targets"], out["targets_met"] = None, None
    else:
        out["targets"], out["targets_met"] = TARGETS, targets_met(out)
    out["steps_phases"] = {k: measured.get(k) for k in (
        "steps_per_s_watched_phases", "steps_per_s_headless_phases")}
    out["page_errors"] = measured.get("page_errors", [])
    out["plot_details"] = [
        {"title": p["title"], "fps": round(p["fps"], 2), "longest_gap_s": round(p["longest_gap_s"], 3),
         "glyphs": [r["glyph"] for r in p["renderers"]],
         "rows": [r["rows"] for r in p["renderers"]],
         "streamed": [r["streamed"] for r in p["renderers"]],
         "updated": [r["updated"] for r in p["renderers"]]}
        for p in measured.get("plot_details", [])]
    return out


def run(quick: bool = False, seconds: float | None = None, dashboards=None,
        warmup: float | None = None, rounds: int | None = None,
        phase_seconds: float | None = None) -> dict:
    """Measure ``dashboards`` (all; three with ``quick``) and their references; the report."""
    from playwright.sync_api import sync_playwright

    seconds = seconds or (5.0 if quick else 20.0)
    warmup = warmup if warmup is not None else (2.0 if quick else 5.0)
    rounds = rounds or (1 if quick else 2)
    phase_seconds = phase_seconds or (3.0 if quick else 5.0)
    names = list(dashboards or (QUICK_DASHBOARDS if quick else dashboard_names()))
    unknown = [n for n in names if n not in dashboard_names()]
    if unknown:
        raise ValueError(f"unknown dashboards {unknown}; known: {', '.join(dashboard_names())}")
    report = {
        "benchmark": "ui_fps",
        "method": [" ".join(p.split()) for p in __doc__.split("\n\n")[1:-1]],
        "settings": {"seconds": seconds, "warmup_s": warmup, "rounds": rounds,
                     "phase_seconds": phase_seconds, "burst_s": BURST_S, "viewport": VIEWPORT},
        "targets": TARGETS,
        "machine_at_start": machine(),
        "dashboards": [],
    }
    # Panel logs to stdout (e.g. "Failed sending message as connection was closed" when a tab
    # closes mid-frame); stdout carries the JSON report only
    from panel.io.logging import panel_log_handler

    stdout = panel_log_handler.setStream(sys.stderr)
    server = Server(factories())
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=shutil.which("chromium") or "/usr/bin/chromium", args=CHROMIUM_ARGS)
            try:
                for name in names:
                    measured = measure_dashboard(server, browser, name, seconds, warmup, rounds,
                                                 phase_seconds)
                    plots = measured["plot_details"]
                    reference = None
                    if plots:
                        reference = measure_reference(
                            server, browser, plots, measured["fps_requested"] or 10.0,
                            compute=bool(measured.get("learners")), seconds=seconds, warmup=warmup)
                    report["dashboards"].append(dashboard_report(measured, reference))
            finally:
                browser.close()
    finally:
        server.stop()
        panel_log_handler.setStream(stdout)
    report["machine_at_end"] = machine()
    judged = [d["targets_met"]["all"] for d in report["dashboards"] if d["targets_met"]]
    report["all_targets_met"] = all(judged) if judged else None
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=None,
                        help="listening window per page (default 20; 5 with --quick)")
    parser.add_argument("--dashboards", default=None,
                        help="comma list of: " + ", ".join(dashboard_names()))
    parser.add_argument("--warmup", type=float, default=None, help="seconds after the first steps")
    parser.add_argument("--rounds", type=int, default=None, help="watched/headless phase pairs")
    parser.add_argument("--phase-seconds", type=float, default=None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=None, help="also write the JSON report here")
    parser.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    args = parser.parse_args(argv)
    if args.out and Path(args.out).exists() and not args.force:
        print(f"ui_fps: {args.out} exists; pass --force to overwrite it", file=sys.stderr)
        return 2
    dashboards = [d.strip() for d in args.dashboards.split(",") if d.strip()] if args.dashboards else None
    try:
        report = run(quick=args.quick, seconds=args.seconds, dashboards=dashboards,
                     warmup=args.warmup, rounds=args.rounds, phase_seconds=args.phase_seconds)
    except ValueError as err:
        print(f"ui_fps: {err}", file=sys.stderr)
        return 2
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
