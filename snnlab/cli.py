"""``snnlab`` on the command line: train, sweep, replay, bench, the run index, listing what exists.

Every failure a user can cause (unknown learner, bad parameter, missing folder) ends with exit
code 2 and one line on stderr saying what was wrong and what is allowed.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

#: benchmarks with ``run(quick=False) -> dict``: modules of snnlab.benchmarks (shipped), and
#: browser ones that need Playwright and Chromium, scripts under the source tree's benchmarks/
ENGINE_BENCHMARKS = ("engine", "sweep")  # snnlab.benchmarks.<name>
BROWSER_BENCHMARKS = ("ui", "ui_overhead")  # benchmarks/<name>.py in a source checkout


def _key_values(pairs: list[str], flag: str) -> dict[str, str]:
    out = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise ValueError(f"{flag} takes key=value, got {pair!r}")
        key, value = pair.split("=", 1)
        out[key.strip()] = value.strip()
    return out


def _task_options(name: str, text: dict[str, str], data: str | None) -> dict:
    from snnlab.data import task_options
    from snnlab.learners.values import read_option

    allowed = task_options(name)
    unknown = sorted(set(text) - set(allowed))
    if unknown:
        raise ValueError(f"task {name!r} has no option {', '.join(unknown)}; "
                         f"its options are {', '.join(sorted(allowed)) or 'none'}")
    options = {k: read_option(k, allowed[k], v) for k, v in text.items()}
    if data is not None:
        if "root" not in allowed:
            raise ValueError(f"task {name!r} reads no data folder; --data applies to nmnist")
        if not Path(data).is_dir():
            raise ValueError(f"data folder {data} does not exist")
        options["root"] = str(Path(data).resolve())
    return options


def _out_folder(args) -> Path:
    """Where a run record goes: ``--out``, or a new ``runs/<learner>-<task>-<time>`` folder.

    A folder that already holds a record is refused unless ``--force`` (checked before any
    training, so nothing is overwritten by accident and no run is wasted)."""
    import time

    from snnlab.record import RECORD_FILES

    if args.out is None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        out = Path("runs") / f"{args.learner}-{args.task}-{stamp}"
        suffix = 1
        while out.exists():
            suffix += 1
            out = Path("runs") / f"{args.learner}-{args.task}-{stamp}-{suffix}"
        return out
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file, not a folder")
    held = [name for name in RECORD_FILES if (out / name).exists()]
    if held and not args.force:
        raise ValueError(f"{out} already holds a run record ({', '.join(held)}); pass --force "
                         "to overwrite it or choose another --out")
    return out


def cmd_train(args) -> int:
    from snnlab.training import config_from_preset, train

    out = _out_folder(args)

    config = config_from_preset(
        args.learner,
        args.task,
        preset=args.preset,
        params=_key_values(args.param, "--param"),
        task_options=_task_options(args.task, _key_values(args.option, "--option"), args.data),
        seed=args.seed,
        steps=args.steps,
        epochs=args.epochs,
        eval_every=args.eval_every,
        eval_samples=args.eval_samples,
    )
    record = train(config, out, progress=not args.quiet)
    print(json.dumps({"out": str(out.resolve()), "preset": config.preset,
                      **record.final()}))
    return 0


def cmd_replay(args) -> int:
    from snnlab.training import replay

    same, detail = replay(args.folder, progress=not args.quiet)
    print(("reproduced: " if same else "NOT reproduced: ") + detail)
    return 0 if same else 1


def cmd_bench(args) -> int:
    import importlib
    import importlib.util

    from snnlab.learners import learner_names, learner_spec

    if args.name in ENGINE_BENCHMARKS:
        run = importlib.import_module(f"snnlab.benchmarks.{args.name}").run
    elif args.name in learner_names() and learner_spec(args.name).benchmark:
        module, function = learner_spec(args.name).benchmark.split(":")
        run = getattr(importlib.import_module(module), function)
    elif args.name in BROWSER_BENCHMARKS:
        path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{args.name}.py"
        if not path.is_file():
            raise ValueError(f"the browser benchmark {args.name!r} runs from a source checkout "
                             f"(benchmarks/{args.name}.py), with the dev extras installed")
        spec = importlib.util.spec_from_file_location(f"snnlab_bench_{args.name}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        run = module.run
    else:
        learners = [n for n in learner_names() if learner_spec(n).benchmark]
        known = ", ".join(sorted([*ENGINE_BENCHMARKS, *learners, *BROWSER_BENCHMARKS]))
        raise ValueError(f"no benchmark {args.name!r}; the benchmarks are {known}")
    print(json.dumps(run(quick=args.quick), indent=2))
    return 0


def cmd_experiment(args) -> int:
    from snnlab.experiments import run_experiment

    return run_experiment(args.name, args.args)


def cmd_serve(args) -> int:
    from snnlab.ui.apps import check_port_free, serve

    if args.data is not None and not Path(args.data).is_dir():
        raise ValueError(f"data folder {args.data} does not exist")
    app = getattr(args, "app", None) or args.command
    check_port_free(args.address, args.port)
    print(f"snnlab {app}: serving on http://{args.address}:{args.port}/ (Ctrl-C stops)")
    serve(app, port=args.port, address=args.address, show=not args.no_browser, data=args.data,
          max_sessions=getattr(args, "max_sessions", 8))
    return 0


def cmd_list(args) -> int:
    from snnlab.data import task_names, task_options

    if args.what == "learners":
        print(_learners_listing())
    elif args.what == "presets":
        print(_presets_listing())
    else:
        for name in task_names():
            options = ", ".join(f"{k}={v!r}" for k, v in task_options(name).items())
            print(f"{name}: {options}")
    return 0


def _learners_listing() -> str:
    """Each learner: its parameters with default, bounds or choices (``*``: changing it rebuilds
    the network), and its presets (``[default]`` on the task's default one)."""
    from snnlab.learners import learner_class, learner_names
    from snnlab.learners.presets import presets_of

    lines = []
    for name in learner_names():
        cls = learner_class(name)
        lines.append(f"{name} ({cls.__doc__.strip().splitlines()[0]}); learns "
                     f"{', '.join(cls.task_kinds)} tasks; * = changing it rebuilds the network")
        for key in (k for k in cls.param if k != "name"):
            declared = cls.param[key]
            allowed = _allowed(declared)
            mark = "*" if key in cls.rebuild_params else " "
            lines.append(f"  {mark} {key} = {declared.default!r}{allowed}")
        presets = presets_of(name)
        if presets:
            lines.append("  presets: " + ", ".join(
                f"{p.name} ({p.task}{', default' if p.default else ''})" for p in presets))
    return "\n".join(lines)


def _allowed(declared) -> str:
    objects = getattr(declared, "objects", None)
    if objects:
        return f"  one of {', '.join(map(str, objects))}"
    bounds = getattr(declared, "bounds", None)
    if bounds:
        low, high = ("-inf" if bounds[0] is None else bounds[0],
                     "inf" if bounds[1] is None else bounds[1])
        return f"  in [{low}, {high}]"
    return ""


def _presets_listing() -> str:
    """Every preset: learner, task, name, budget, what it sets, how it was chosen, its result."""
    from snnlab.learners.presets import all_presets, measured_result

    lines = []
    for p in all_presets():
        lines.append(f"{p.learner} / {p.name}{'  [default for ' + p.task + ']' if p.default else ''}")
        lines.append(f"    task {p.task}, {p.budget}: {p.description}")
        settings = ", ".join(f"{k}={_setting(v)}" for k, v in {**p.params}.items())
        options = ", ".join(f"{k}={_setting(v)}" for k, v in {**p.task_options}.items())
        lines.append(f"    params: {settings or '(learner defaults)'}")
        if options:
            lines.append(f"    task options: {options}")
        lines.append(f"    chosen: {p.chosen}")
        lines.append(f"    result: {measured_result(p)}")
    return "\n".join(lines)


def _setting(value) -> str:
    if isinstance(value, (tuple, list)):
        return "[" + ",".join(map(str, value)) + "]"
    return str(value)


def cmd_sweep(args) -> int:
    from snnlab.sweep import expand, load_spec, run_sweep

    out = None
    try:  # Ctrl-C at any point: one line, no traceback (the local workers are stopped by then)
        spec = load_spec(args.spec)
        out = Path(args.out) if args.out else Path("sweeps") / spec.name
        if args.dry_run:
            for trial in expand(spec, args.max_trials):
                c = trial.config
                print(f"{trial.id}  {c.learner} on {c.task}  seed {c.seed}  "
                      f"{json.dumps(c.params, default=list)}")
            return 0
        result = run_sweep(
            spec, out, workers=args.workers, scheduler=args.scheduler, progress=not args.quiet,
            max_trials=args.max_trials,
        )
    except KeyboardInterrupt:
        kept = (f"; finished trials are kept in {out.resolve()}, run the same command to resume"
                if out is not None and not args.dry_run else "")
        print(f"snnlab sweep: interrupted{kept}", file=sys.stderr)
        return 130
    print(json.dumps(result.summary()))
    return 1 if result.failed else 0


def cmd_runs(args) -> int:
    from snnlab import runs

    if args.serve:
        return cmd_serve(args)
    index = runs.RunIndex()
    what = args.runs_command or "list"
    if what == "add":
        refused = 0
        for folder in args.folders:  # one bad record is reported and skipped, the rest indexed
            try:
                print(index.add_folder(folder, source="train"))
            except (ValueError, OSError) as err:
                refused += 1
                print(f"snnlab runs: error: {err} (skipped {folder})", file=sys.stderr)
        return 2 if refused else 0  # as any refused input
    if what == "show":
        entry = index.get(args.run_id)
        print(json.dumps(_strict(_run_summary(entry, full=True)), indent=2, default=list))
        return 0
    if what == "compare":
        entries = [index.get(run_id) for run_id in args.run_ids]
        print(_runs_table(entries, all_metrics=True))
        return 0
    conditions = [runs.parse_condition(text) for text in args.where or []]
    entries = index.query(
        learner=args.learner, task=args.task, sweep=_sweep_id(args.sweep), status=args.status,
        conditions=conditions,
    )
    for line in index.skipped:
        print(f"snnlab runs: skipped {line}", file=sys.stderr)
    entries = entries[-args.limit:] if args.limit else entries
    if args.json:
        for entry in entries:
            print(json.dumps(_strict(_run_summary(entry)), default=list))
    elif entries:
        print(_runs_table(entries))
    else:
        print(f"no runs match (index: {index.path})", file=sys.stderr)
    return 0


def _sweep_id(sweep: str | None) -> str | None:
    return str(Path(sweep).resolve()) if sweep else None


def _strict(value):
    """``value`` with non-finite floats as ``None``: strict JSON has no NaN or Infinity."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict(v) for v in value]
    return value


def _run_summary(entry, full: bool = False) -> dict:
    summary = {
        "id": entry.id, "learner": entry.learner, "task": entry.task, "seed": entry.seed,
        "params": entry.params, "final": entry.final, "status": entry.status,
        "path": entry.path, "source": entry.source, "sweep": entry.sweep,
    }
    if full:
        summary.update(config=entry.config, versions=entry.versions, error=entry.error,
                       evaluations=len(entry.metrics))
    return summary


def _runs_table(entries, all_metrics: bool = False) -> str:
    """Runs as a text table: id, learner, task, seed, the parameters that differ, metrics."""
    from snnlab.metrics import HEADLINE
    from snnlab.record import metric_columns

    varied = sorted({k for e in entries for k in e.hyperparameters if k != "seed" and len({
        json.dumps(x.hyperparameters[k], default=list) for x in entries if k in x.hyperparameters
    }) > 1})
    if all_metrics:
        metrics = [m for m in metric_columns([e.final for e in entries]) if m not in ("step", "epoch")]
    else:
        metrics = sorted({HEADLINE[e.kind] for e in entries if e.kind in HEADLINE})
    header = ["id", "learner", "task", "seed", *varied, *metrics, "status"]
    rows = [[e.id, e.learner, e.task, e.seed, *[e.hyperparameters.get(k) for k in varied],
             *[e.final.get(m) for m in metrics], e.status] for e in entries]
    cells = [header] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells)


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="snnlab", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train headless and write a run record")
    train.add_argument("--learner", required=True)
    train.add_argument("--task", required=True)
    train.add_argument("--data", help="data folder for tasks that read one (nmnist)")
    train.add_argument("--preset", help="a preset of the learner for this task (default: the "
                       "task's default preset; see `snnlab list presets`)")
    train.add_argument("--param", action="append", metavar="K=V",
                       help="hyperparameter, on top of the preset")
    train.add_argument("--option", action="append", metavar="K=V",
                       help="task option, on top of the preset")
    budget = train.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=int, help="learner updates (default: the preset's budget)")
    budget.add_argument("--epochs", type=int,
                        help="passes over the training split (default: the preset's budget)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--max-memory", metavar="SIZE",
                       help="most memory the learner may take, like 4G (default: a quarter of RAM)")
    train.add_argument("--eval-every", type=int, default=None,
                       help="steps between evaluations (default: the preset's, else 50)")
    train.add_argument("--eval-samples", type=int, default=None)
    train.add_argument("--out", help="record folder (default: a new runs/<learner>-<task>-<time>)")
    train.add_argument("--force", action="store_true", help="overwrite a record already in --out")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(func=cmd_train)

    replay = sub.add_parser("replay", help="re-run a record and check it reproduces")
    replay.add_argument("folder")
    replay.add_argument("--quiet", action="store_true")
    replay.set_defaults(func=cmd_replay)

    bench = sub.add_parser("bench", help="run a benchmark, print JSON")
    bench.add_argument("name", help=f"{', '.join(ENGINE_BENCHMARKS)}, a learner's name (its "
                       f"benchmark), or {', '.join(BROWSER_BENCHMARKS)} (browser; source checkout)")
    bench.add_argument("--quick", action="store_true", help="fewer repeats")
    bench.set_defaults(func=cmd_bench)

    experiment = sub.add_parser("experiment", help="run a full experiment (tables, plots)")
    experiment.add_argument("name")
    experiment.add_argument("args", nargs=argparse.REMAINDER, help="the experiment's options")
    experiment.set_defaults(func=cmd_experiment)

    def add_serve_options(p):
        p.add_argument("--port", type=int, default=5006)
        p.add_argument(
            "--address", default="127.0.0.1", help="interface to bind (default loopback only)"
        )
        p.add_argument("--no-browser", action="store_true", help="do not open a browser")
        p.add_argument("--data", help="N-MNIST folder to offer as the nmnist task")
        p.add_argument("--max-sessions", type=int, default=8,
                       help="training tabs open at once; past it a tab is told the lab is full")
        p.add_argument("--max-memory", metavar="SIZE",
                       help="most memory one learner may take, like 4G (default: a quarter of RAM)")
        p.set_defaults(func=cmd_serve)

    add_serve_options(sub.add_parser("lab", help="serve the lab (live dashboards)"))
    add_serve_options(sub.add_parser("compare", help="serve learners side by side"))
    demo = sub.add_parser("demo", help="serve a teaching demo")
    demo.add_argument("app", choices=["neuron"])
    add_serve_options(demo)

    sweep = sub.add_parser("sweep", help="run a sweep spec on dask (resumable)")
    sweep.add_argument("spec", help="YAML sweep spec (see examples/sweep.yaml)")
    sweep.add_argument("--workers", type=int, help="local worker processes (default: one per core)")
    sweep.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="use a running dask scheduler")
    sweep.add_argument("--out", help="folder of the trial records (default sweeps/<spec name>)")
    sweep.add_argument("--dry-run", action="store_true", help="list the trials, run nothing")
    sweep.add_argument("--max-trials", type=int, default=10_000,
                       help="refuse a spec of more trials, before anything runs (default 10,000)")
    sweep.add_argument("--quiet", action="store_true", help="no progress bar")
    sweep.set_defaults(func=cmd_sweep)

    runs = sub.add_parser("runs", help="the run index: list, show, compare; --serve the browser")
    runs.add_argument("--serve", action="store_true", help="serve the run browser")
    runs.add_argument("--port", type=int, default=5006)
    runs.add_argument("--address", default="127.0.0.1", help="interface to bind (default loopback only)")
    runs.add_argument("--no-browser", action="store_true", help="do not open a browser")
    runs.set_defaults(func=cmd_runs, data=None, runs_command=None)
    runs_sub = runs.add_subparsers(dest="runs_command")
    runs_list = runs_sub.add_parser("list", help="indexed runs (oldest first)")
    runs_list.add_argument("--learner", action="append", help="only this learner (repeatable)")
    runs_list.add_argument("--task", action="append", help="only this task (repeatable)")
    runs_list.add_argument("--sweep", help="only the runs of the sweep in this folder")
    runs_list.add_argument("--status", choices=["done", "failed"])
    runs_list.add_argument("--where", action="append", metavar="COND",
                           help="NAME=V, NAME>=V, NAME<=V or NAME=LO..HI on a hyperparameter or final metric")
    runs_list.add_argument("--limit", type=int, help="only the newest N")
    runs_list.add_argument("--json", action="store_true", help="one JSON object per line")
    runs_show = runs_sub.add_parser("show", help="one run: config, versions, final metrics")
    runs_show.add_argument("run_id", help="a run id or a unique prefix")
    runs_compare = runs_sub.add_parser("compare", help="runs side by side")
    runs_compare.add_argument("run_ids", nargs="+", metavar="run_id")
    runs_add = runs_sub.add_parser("add", help="index run record folders written elsewhere")
    runs_add.add_argument("folders", nargs="+")

    listing = sub.add_parser("list", help="list learners, presets or tasks")
    listing.add_argument("what", choices=["learners", "presets", "tasks"])
    listing.set_defaults(func=cmd_list)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if getattr(args, "max_memory", None) is not None:
            from snnlab.learners.memory import parse_size, set_budget

            set_budget(parse_size(args.max_memory))
        return args.func(args)
    except (ValueError, FileNotFoundError) as err:
        print(f"snnlab {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
