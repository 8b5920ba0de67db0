"""The run browser: the run index as a table to filter, overlay, compare and reopen in the lab.

- Filters: learners, tasks, one sweep, and a range per numeric hyperparameter that varies.
- Runs ticked in the table are overlaid (one learning curve each, metric chosen) and their final
  metrics compared in a second table.
- A scatter of one hyperparameter against one final metric shows a sweep at a glance (one colour
  per learner, a log axis where the values span more than a decade and a half).
- Running sweeps show trials done / running / failed and the best so far, refreshed from the
  index every couple of seconds (a sweep writes its progress there as trials finish).
- "Open in lab" rebuilds the first ticked run's learner, task, task options, hyperparameters and
  seed as a live session in the Lab tab.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import holoviews as hv
import pandas as pd
import panel as pn
import param

from snnlab.metrics import HEADLINE
from snnlab.runs import RunEntry, RunIndex
from snnlab.ui.plain_text import PlainText, choice_labels, column_titles, notice_pane
from snnlab.ui.serving import in_served_session
from snnlab.ui.static_plots import PLOT_OPTS

ALL = "(all runs)"
META_COLUMNS = ["id", "learner", "task", "seed", "sweep", "status"]
CURVE_AXES = ("step", "epoch")
STALE_SECONDS = 30.0


def runs_frame(entries: list[RunEntry]) -> pd.DataFrame:
    """One row per run: id, learner, task, seed, sweep name, status, every hyperparameter and
    every final metric (lists shown as text); ``sweep_id`` holds the sweep's folder."""
    rows = []
    for e in entries:
        row = {
            "id": e.id, "learner": e.learner, "task": e.task, "seed": e.seed,
            "sweep": Path(e.sweep).name if e.sweep else "", "status": e.status,
            "sweep_id": e.sweep or "",
        }
        for key, value in e.hyperparameters.items():
            if key != "seed":
                row[key] = str(value) if isinstance(value, (list, tuple)) else value
        for key, value in e.final.items():
            if key not in CURVE_AXES:
                row[key] = value
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=[*META_COLUMNS, "sweep_id"])
    return frame


def _numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _varies(series: pd.Series, count_missing: bool = False) -> bool:
    values = series if count_missing else series.dropna()
    return values.map(str).nunique() > 1


class RunBrowser(pn.viewable.Viewer):
    """The run index in a browser tab (see module docstring); ``index`` defaults to the user's."""

    learners = param.ListSelector(default=[], objects=[], doc="Learners shown (none chosen: all).")
    tasks = param.ListSelector(default=[], objects=[], doc="Tasks shown (none chosen: all).")
    sweep = param.Selector(default=ALL, objects=[ALL], doc="Only the runs of one sweep.")
    selected = param.List(default=[], item_type=str, doc="Ids of the runs overlaid and compared.")
    curve_metric = param.Selector(default="loss", objects=["loss"], doc="Metric of the overlaid curves.")
    x = param.Selector(default=None, objects=[], allow_None=True, doc="Scatter: hyperparameter.")
    y = param.Selector(default=None, objects=[], allow_None=True, doc="Scatter: final metric.")
    refresh_seconds = param.Number(default=2.0, bounds=(0.5, 60.0), doc="Index polling period.")

    def __init__(self, index: RunIndex | None = None, **params):
        super().__init__(**params)
        self.index = index if index is not None else RunIndex()
        self.ranges: dict[str, tuple[float, float]] = {}
        self.entries: dict[str, RunEntry] = {}
        self.frame = runs_frame([])
        self.lab = None
        self._version = None
        self._range_keys = None
        self._syncing = False
        self._callback = None
        # records and sweep specs come from strangers: their text is shown as text
        self.notice = notice_pane()
        self.table = pn.widgets.Tabulator(
            pd.DataFrame(columns=META_COLUMNS), selectable="checkbox", disabled=True,
            show_index=False, pagination="local", page_size=15, sizing_mode="stretch_width",
            hidden_columns=["sweep_id"],
        )
        self.table.param.watch(self._on_table_selection, "selection")
        self.count = pn.pane.Markdown("")
        self.range_widgets = pn.Column()
        self.progress = pn.Column()
        self.curves = pn.pane.HoloViews(self.curve_plot(), sizing_mode="stretch_width")
        self.finals = pn.widgets.Tabulator(
            pd.DataFrame(), disabled=True, show_index=False, sizing_mode="stretch_width"
        )
        self.scatter = pn.pane.HoloViews(self.scatter_plot(), sizing_mode="stretch_width")
        self.lab_holder = pn.Column(pn.pane.Markdown("Tick a run and press **Open in lab**."),
                                    sizing_mode="stretch_width")
        self.param.watch(self._refilter, ["learners", "tasks", "sweep"])
        self.param.watch(self._draw_selection, ["selected", "curve_metric"])
        self.param.watch(self._draw_scatter, ["x", "y"])
        self.reload()

    # -- data -------------------------------------------------------------------------------
    def reload(self, force: bool = False) -> None:
        """Re-read the index if it changed (the periodic callback), and the sweeps' progress."""
        version = self.index.version()
        if force or version != self._version:
            self._version = version
            entries = self.index.query()
            if self.index.skipped:  # one bad record is reported, never breaks the listing
                self.notice.object = (f"{len(self.index.skipped)} run(s) skipped: "
                                      + "; ".join(self.index.skipped[:5]))
                self.notice.visible = True
            self.entries = {e.id: e for e in entries}
            self.frame = runs_frame(entries)
            with param.parameterized.discard_events(self):
                self._offer_choices()
            self._refilter()
        self._draw_progress()

    def _offer_choices(self) -> None:
        frame = self.frame
        # Choices.js (the multi-choice widget) reads its labels as HTML: labels are escaped
        self.param.learners.objects = choice_labels(frame["learner"] if len(frame) else [])
        self.learners = [n for n in self.learners if n in self.param.learners.objects]
        self.param.tasks.objects = choice_labels(frame["task"] if len(frame) else [])
        self.tasks = [n for n in self.tasks if n in self.param.tasks.objects]
        sweeps = sorted(s for s in frame["sweep_id"].unique() if s) if len(frame) else []
        self.param.sweep.objects = [ALL, *sweeps]
        if self.sweep not in self.param.sweep.objects:
            self.sweep = ALL
        metrics = sorted({k for e in self.entries.values() for row in e.metrics for k in row}
                         - set(CURVE_AXES))
        self.param.curve_metric.objects = metrics or ["loss"]
        if self.curve_metric not in self.param.curve_metric.objects:
            self.curve_metric = self.param.curve_metric.objects[0]

    def _scoped(self) -> pd.DataFrame:
        """Runs passing the learner, task and sweep filters (not the parameter ranges)."""
        f = self.frame
        if self.learners:
            f = f[f["learner"].isin(self.learners)]
        if self.tasks:
            f = f[f["task"].isin(self.tasks)]
        if self.sweep != ALL:
            f = f[f["sweep_id"] == self.sweep]
        return f

    def filtered(self) -> pd.DataFrame:
        """Runs passing every filter, with the columns the table shows."""
        f = self._scoped()
        for name, (low, high) in self.ranges.items():
            if name in f:
                values = pd.to_numeric(f[name], errors="coerce")
                f = f[(values >= low) & (values <= high)]
        return f[self._columns(f)].reset_index(drop=True)

    def _columns(self, f: pd.DataFrame) -> list[str]:
        params = [c for c in self._param_names(f) if _varies(f[c])]
        metrics = [c for c in self._metric_names(f) if f[c].notna().any()]
        return [*META_COLUMNS, *params, *metrics, "sweep_id"]

    def _metric_names(self, f: pd.DataFrame) -> list[str]:
        names = {k for e in self.entries.values() for k in e.final} - set(CURVE_AXES)
        return sorted(c for c in names if c in f)

    def _param_names(self, f: pd.DataFrame) -> list[str]:
        names = {k for e in self.entries.values() for k in e.hyperparameters} - {"seed"}
        return sorted(c for c in names if c in f and c not in self._metric_names(f))

    def set_range(self, name: str, low: float, high: float) -> None:
        """Keep only runs whose ``name`` lies in ``[low, high]``."""
        if name not in self.frame:
            raise ValueError(f"no indexed run has a parameter {name!r}")
        self.ranges[name] = (float(low), float(high))
        self._refilter()

    def clear_range(self, name: str) -> None:
        self.ranges.pop(name, None)
        self._refilter()

    def select(self, ids: list[str]) -> None:
        """Overlay and compare the runs ``ids`` (those that pass the filters)."""
        unknown = [i for i in ids if i not in self.entries]
        if unknown:
            raise ValueError(f"no indexed run has id {', '.join(unknown)}")
        self.selected = list(ids)
        self._sync_table_selection()

    # -- drawing ----------------------------------------------------------------------------
    def _refilter(self, *_):
        shown = self.filtered()
        self.table.titles = column_titles(shown)
        self.table.value = shown
        self.count.object = f"**{len(shown)}** of {len(self.frame)} runs"
        visible = set(shown["id"])
        kept = [i for i in self.selected if i in visible]
        if kept != self.selected:
            self.selected = kept
        self._sync_table_selection()
        self._build_range_widgets()
        self._offer_axes(shown)
        self._draw_scatter()

    def _sync_table_selection(self) -> None:
        ids = list(self.table.value["id"]) if len(self.table.value) else []
        self._syncing = True
        try:
            self.table.selection = [ids.index(i) for i in self.selected if i in ids]
        finally:
            self._syncing = False

    def _on_table_selection(self, event) -> None:
        if self._syncing:
            return
        ids = list(self.table.value["id"])
        self.selected = [ids[i] for i in event.new if i < len(ids)]

    def _build_range_widgets(self) -> None:
        scoped = self._scoped()
        numeric = [(c, float(scoped[c].min()), float(scoped[c].max()))
                   for c in self._param_names(scoped) if _numeric(scoped[c]) and _varies(scoped[c])]
        if numeric == self._range_keys:
            return
        self._range_keys = numeric
        widgets = []
        for name, low, high in numeric:
            value = self.ranges.get(name, (low, high))
            slider = pn.widgets.EditableRangeSlider(
                label=name, start=low, end=high, value=(max(value[0], low), min(value[1], high)),
                step=(high - low) / 200 if high > low else 1.0, sizing_mode="stretch_width",
            )
            slider.param.watch(lambda e, n=name, lo=low, hi=high: self._on_range(n, lo, hi, e.new),
                               "value")
            widgets.append(slider)
        self.range_widgets[:] = widgets

    def _on_range(self, name: str, low: float, high: float, value) -> None:
        if value[0] <= low and value[1] >= high:
            self.clear_range(name)
        else:
            self.set_range(name, *value)

    def _offer_axes(self, shown: pd.DataFrame) -> None:
        params = [c for c in self._param_names(shown) if c in shown]
        metrics = [c for c in self._metric_names(shown) if c in shown]
        with param.parameterized.discard_events(self):
            self.param.x.objects = params
            if self.x not in params:
                self.x = "lr" if "lr" in params else (params[0] if params else None)
            self.param.y.objects = metrics
            if self.y not in metrics:
                kinds = [e.kind for e in self.entries.values() if e.id in set(shown["id"])]
                preferred = HEADLINE.get(max(set(kinds), key=kinds.count)) if kinds else None
                self.y = preferred if preferred in metrics else (metrics[0] if metrics else None)

    def curve_plot(self):
        """The ticked runs' learning curves of ``curve_metric``, one line each."""
        metric = self.curve_metric
        curves = []
        for run_id in self.selected:
            e = self.entries[run_id]
            points = [(row["step"], row[metric]) for row in e.metrics
                      if metric in row and isinstance(row[metric], (int, float))]
            curves.append(hv.Curve(points, "step", metric, label=f"{e.learner} s{e.seed} {run_id[:6]}"))
        if not curves:
            curves = [hv.Curve([], "step", metric)]
        return hv.Overlay(curves).opts(
            hv.opts.Curve(**PLOT_OPTS), hv.opts.Overlay(title=f"{metric} of the ticked runs",
                                                         legend_position="right"))

    def final_frame(self) -> pd.DataFrame:
        """The ticked runs side by side: the parameters that differ, then every final metric."""
        f = self.frame[self.frame["id"].isin(self.selected)]
        if f.empty:
            return pd.DataFrame()
        params = [c for c in self._param_names(f) if _varies(f[c], count_missing=True)]
        metrics = [c for c in self._metric_names(f) if f[c].notna().any()]
        order = {i: k for k, i in enumerate(self.selected)}
        f = f.assign(_order=f["id"].map(order)).sort_values("_order")
        return f[["id", "learner", "task", "seed", *params, *metrics]].reset_index(drop=True)

    def scatter_plot(self):
        """Hyperparameter ``x`` against final metric ``y`` over the filtered runs."""
        shown = self.filtered() if self.entries else runs_frame([])
        x, y = self.x, self.y
        if x is None or y is None or x not in shown or y not in shown:
            return hv.Scatter([], "parameter", "metric").opts(
                title="no varying parameter and metric to plot", **PLOT_OPTS)
        data = shown[[x, y, "learner", "id", "seed"]].dropna(subset=[x, y])
        logx = False
        if _numeric(data[x]):
            values = data[x].to_numpy(dtype=float)
            logx = bool(len(values) and values.min() > 0 and values.max() / values.min() > 30)
        else:
            data = data.assign(**{x: data[x].astype(str)})
        return hv.Scatter(data, x, [y, "learner", "id", "seed"]).opts(
            color="learner", cmap="Category10", size=9, logx=logx, title=f"{y} against {x}",
            show_legend=True, **PLOT_OPTS)

    def _draw_selection(self, *_):
        self.curves.object = self.curve_plot()
        finals = self.final_frame()
        self.finals.titles = column_titles(finals)
        self.finals.value = finals

    def _draw_scatter(self, *_):
        self.scatter.object = self.scatter_plot()

    def progress_rows(self) -> list[dict]:
        """The sweeps the index knows, newest first: counts, best so far, whether still live."""
        rows = []
        now = time.time()
        for s in self.index.sweeps()[:5]:
            live = s.state == "running" and now - s.updated < STALE_SECONDS
            state = s.state if s.state != "running" or live else "no news (stopped?)"
            rows.append({"sweep": s.name, "id": s.id, "total": s.total, "done": s.done,
                         "running": s.running, "failed": s.failed, "metric": s.metric,
                         "best": s.best, "best_run": s.best_run, "state": state})
        return rows

    def _draw_progress(self) -> None:
        items = []
        for r in self.progress_rows():
            best = (f" · best {r['metric']} {r['best']:.4g} ({r['best_run']})"
                    if r["best"] is not None and math.isfinite(r["best"]) else "")
            items.append(PlainText(
                f"{r['sweep']} · {r['state']} · done {r['done']} / running "
                f"{r['running']} / failed {r['failed']} of {r['total']}{best}"))
            items.append(pn.indicators.Progress(value=r["done"] + r["failed"], max=max(r["total"], 1),
                                                sizing_mode="stretch_width", height=12))
        self.progress[:] = items or [pn.pane.Markdown("No sweep has been run yet.")]

    # -- the lab ----------------------------------------------------------------------------
    def open_in_lab(self, run_id: str | None = None):
        """A live :class:`~snnlab.ui.lab.Lab` with the run's config and seed (shown in the Lab tab)."""
        from snnlab import learners
        from snnlab.data import load_task
        from snnlab.learners.base import parse_hyperparameters
        from snnlab.session import Session
        from snnlab.ui.lab import Lab

        if run_id is None:
            if not self.selected:
                raise ValueError("tick a run first")
            run_id = self.selected[0]
        e = self.entries[run_id]
        params = parse_hyperparameters(learners.learner_class(e.learner), e.params)
        options = dict(e.config.get("task_options") or {})
        session = Session(
            learners.make(e.learner, seed=int(e.seed or 0), **params),
            load_task(e.task, **options),
            eval_every=int(e.config.get("eval_every") or 20),
        )
        if self.lab is not None:
            self.lab.close()
        self.lab = Lab(session=session, data_root=options.get("root"))
        note = " (its live hyperparameter changes are not replayed)" if e.config.get("schedule") else ""
        self.lab_holder[:] = [PlainText(f"Run {run_id}: {e.learner} on {e.task}, seed "
                                          f"{e.seed}{note}"), self.lab]
        return self.lab

    def _open_clicked(self, *_):
        try:
            self.open_in_lab()
            self.tabs.active = 1
            self.notice.visible = False
        except (ValueError, FileNotFoundError) as err:
            self.notice.object = f"Could not open the run: {err}"
            self.notice.visible = True

    # -- layout -----------------------------------------------------------------------------
    def close(self) -> None:
        if self._callback is not None:
            self._callback.stop()
            self._callback = None
        if self.lab is not None:
            self.lab.close()

    def __panel__(self):
        if self._callback is None:
            self._callback = pn.state.add_periodic_callback(
                self.reload, period=int(1000 * self.refresh_seconds))
            if in_served_session():
                pn.state.on_session_destroyed(lambda _context: self.close())
        open_button = pn.widgets.Button(label="Open in lab", button_type="primary")
        open_button.on_click(self._open_clicked)
        refresh = pn.widgets.Button(label="Refresh")
        refresh.on_click(lambda *_: self.reload(force=True))
        filters = pn.Column(
            pn.pane.Markdown("## snnlab runs"),
            self.notice,
            pn.pane.Markdown("### Sweeps"),
            self.progress,
            pn.pane.Markdown("### Filters"),
            pn.widgets.MultiChoice.from_param(self.param.learners, name="Learners"),
            pn.widgets.MultiChoice.from_param(self.param.tasks, name="Tasks"),
            pn.widgets.Select.from_param(self.param.sweep, name="Sweep"),
            self.range_widgets,
            pn.Row(open_button, refresh),
            width=340,
        )
        runs = pn.Column(
            self.count,
            self.table,
            pn.Row(
                pn.Column(pn.widgets.Select.from_param(self.param.curve_metric, name="Curve"),
                          self.curves, sizing_mode="stretch_width"),
                pn.Column(pn.Row(pn.widgets.Select.from_param(self.param.x, name="Parameter"),
                                 pn.widgets.Select.from_param(self.param.y, name="Metric")),
                          self.scatter, sizing_mode="stretch_width"),
                sizing_mode="stretch_width",
            ),
            pn.pane.Markdown("#### Final metrics of the ticked runs"),
            self.finals,
            sizing_mode="stretch_width",
        )
        self.tabs = pn.Tabs(("Runs", runs), ("Lab", self.lab_holder), sizing_mode="stretch_width")
        return pn.Row(filters, self.tabs, sizing_mode="stretch_width")
