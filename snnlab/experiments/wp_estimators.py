"""``snnlab experiment wp-estimators``: which WP gradient estimator learns best per forward pass.

Grid: estimator (forward, central, smoothing) x K in ``--k`` (1, 4, 16, 64) x scope (global,
layer) on ``regression-sine`` and ``pde-poisson1d`` (``sin(pi x)``), ``--seeds`` seeds each
(the seed sets the initial weights, the directions and the training order). Every run trains
until it has spent ``--budget`` perturbed forward passes (one pass = one network evaluated
over every point of one estimate: a batch of training points, or a batch of collocation
points with their stencils and the boundary points) and reports the test relative L2 error
(fine-grid exact solution for the PDE). Other settings are the ``wp`` defaults (Adam,
lr 0.005, epsilon = sigma = 0.02, one hidden layer of 64 LIF neurons, T = 16), chosen on
training data; nothing is tuned on the test split.

``--criteria`` instead trains the reference runs (sine regression, Poisson ``sin(pi x)``,
heat equation, and viscous Burgers, which has no target) on one thread for at most
``--cpu-minutes`` of CPU time each and reports their test relative L2 and times.

Writes ``results.md``, ``results.csv`` and ``wp_estimators.png`` (or ``criteria.md``,
``criteria.csv``, ``criteria.png``) under ``--out``.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import time
from pathlib import Path

import numpy as np

from snnlab import learners
from snnlab.data import load_task
from snnlab.learners.presets import find_preset
from snnlab.runner import Runner

TASKS = {"regression-sine": {}, "pde-poisson1d": {"solution": "sin"}}
ESTIMATORS = ("forward", "central", "smoothing")
SCOPES = ("global", "layer")
# the reference runs of --criteria: (label, task, task options, wp settings, target rel L2)
# A learning-rate half-life lets the noisy Adam steps settle. 2000 steps was fixed in advance
# (not tuned on the test split); with it Poisson stalled at 0.061 after ~20k steps while its
# residual was still falling, so its half-life was chosen among 10k, 30k and 100k steps by the
# final training (residual) loss of 5-CPU-minute runs, never by the error against the exact
# solution; Burgers (no target in the issue) likewise between 2000 and 30000.
# The half-lives are the presets' (see snnlab.learners.wp.presets).
def _preset(name: str) -> dict:
    return {"lr_half_life": find_preset("wp", name).params["lr_half_life"]}


LONG = _preset("poisson")
CRITERIA = (
    ("sine regression", "regression-sine", {}, _preset("sine"), 0.05),
    ("Poisson 1-D, sin(pi x)", "pde-poisson1d", {"solution": "sin"}, _preset("poisson"), 0.05),
    ("heat equation", "pde-heat1d", {}, _preset("heat"), 0.10),
    ("viscous Burgers, nu 0.05", "pde-burgers1d", {"nu": 0.05}, LONG, None),
)
COMMON = {"n_threads": 1, "diagnostic_every": 0, "snapshot_every": 1000}


def run_budget(task, params: dict, seed: int, budget: int) -> dict:
    """Train one learner until ``budget`` forward passes are spent; its test metrics."""
    learner = learners.make("wp", seed=seed, **COMMON, **params)
    runner = Runner(learner, task, eval_every=0)
    start = time.perf_counter()
    while int(learner.passes_) < budget:
        runner.advance()
    report = learner.evaluate("test")
    return {"rel_l2": report["rel_l2"], "steps": learner.step_,
            "passes": int(learner.passes_), "seconds": time.perf_counter() - start}


def estimator_grid(args) -> list[dict]:
    rows = []
    for task_name, options in TASKS.items():
        task = load_task(task_name, **options)
        for estimator, k, scope in itertools.product(ESTIMATORS, args.k, SCOPES):
            runs = [run_budget(task, {"estimator": estimator, "n_directions": k,
                                      "scope": scope}, seed, args.budget)
                    for seed in range(args.seeds)]
            errors = np.array([r["rel_l2"] for r in runs])
            rows.append({
                "task": task_name, "estimator": estimator, "K": k, "scope": scope,
                "rel_l2_mean": float(errors.mean()), "rel_l2_std": float(errors.std()),
                "steps": runs[0]["steps"], "passes": args.budget,
                "seconds_per_run": float(np.mean([r["seconds"] for r in runs])),
            })
            print(rows[-1], flush=True)
    return rows


def criteria_runs(args) -> list[dict]:
    rows = []
    for label, task_name, options, params, target in CRITERIA:
        task = load_task(task_name, **options)
        learner = learners.make("wp", seed=0, **{**COMMON, **params})
        runner = Runner(learner, task, eval_every=0)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        curve = []
        while time.process_time() - cpu0 < args.cpu_minutes * 60:
            runner.advance()
            if learner.step_ % 250 == 0:
                curve.append((time.process_time() - cpu0, learner.evaluate("test")["rel_l2"]))
        rows.append({
            "run": label, "task": task_name, "target": target,
            "lr_half_life": params["lr_half_life"],
            "rel_l2": learner.evaluate("test")["rel_l2"], "steps": learner.step_,
            "cpu_seconds": time.process_time() - cpu0,
            "wall_seconds": time.perf_counter() - wall0,
            "first_cpu_seconds_at_target": None if target is None else next(
                (round(c, 1) for c, e in curve if e <= target), None),
            "curve": curve,
        })
        print({k: v for k, v in rows[-1].items() if k != "curve"}, flush=True)
    return rows


def write_csv(path: Path, rows: list[dict]) -> None:
    keys = [k for k in rows[0] if k != "curve"]
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=keys, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def write_grid(out: Path, rows: list[dict], args) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    write_csv(out / "results.csv", rows)
    lines = [
        "# wp-estimators: relative L2 after a fixed budget of forward passes",
        "",
        (f"Budget {args.budget} perturbed forward passes per run, mean ± std over {args.seeds} "
         "seeds; test split (PDE: exact solution on a 1001-point grid). wp defaults otherwise "
         "(Adam lr 0.005, epsilon = sigma = 0.02, 1 -> 64 LIF -> 1, T = 16, batch 32)."),
        "",
        "| task | estimator | K | scope | steps | rel L2 |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['task']} | {r['estimator']} | {r['K']} | {r['scope']} | "
                     f"{r['steps']} | {r['rel_l2_mean']:.4f} ± {r['rel_l2_std']:.4f} |")
    (out / "results.md").write_text("\n".join(lines) + "\n")
    fig, axes = plt.subplots(1, len(TASKS), figsize=(11, 4))
    for ax, task in zip(np.atleast_1d(axes), TASKS):
        for estimator, scope in itertools.product(ESTIMATORS, SCOPES):
            sel = [r for r in rows if r["task"] == task and r["estimator"] == estimator
                   and r["scope"] == scope]
            ax.errorbar([r["K"] for r in sel], [r["rel_l2_mean"] for r in sel],
                        [r["rel_l2_std"] for r in sel], marker="o", capsize=3,
                        linestyle="-" if scope == "global" else "--",
                        label=f"{estimator}, {scope}")
        ax.set(xscale="log", yscale="log", xlabel="directions K", ylabel="test relative L2",
               title=task)
    np.atleast_1d(axes)[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "wp_estimators.png", dpi=120)


def write_criteria(out: Path, rows: list[dict], args) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    write_csv(out / "criteria.csv", rows)
    lines = [
        "# wp reference runs: relative L2 within a CPU-time budget on one thread",
        "",
        (f"wp defaults with the learning-rate half-life below, seed 0, one thread, at most "
         f"{args.cpu_minutes} CPU minutes per run; test relative L2 (PDE: exact solution on the "
         "fine test grid)."),
        "",
        ("| run | lr half-life (steps) | target | rel L2 at the end | steps | CPU s | wall s | "
         "first CPU s at target |"),
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        target = "—" if r["target"] is None else f"≤ {r['target']}"
        lines.append(f"| {r['run']} | {r['lr_half_life']} | {target} | {r['rel_l2']:.4f} | "
                     f"{r['steps']} | "
                     f"{r['cpu_seconds']:.0f} | {r['wall_seconds']:.0f} | "
                     f"{r['first_cpu_seconds_at_target']} |")
    (out / "criteria.md").write_text("\n".join(lines) + "\n")
    fig, ax = plt.subplots(figsize=(6, 4))
    for r in rows:
        if r["curve"]:
            c, e = zip(*r["curve"])
            ax.plot(c, e, label=r["run"])
    ax.set(yscale="log", xlabel="CPU seconds", ylabel="test relative L2")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "criteria.png", dpi=120)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="snnlab experiment wp-estimators",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=8000, help="forward passes per run")
    parser.add_argument("--k", type=int, nargs="+", default=[1, 4, 16, 64])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--criteria", action="store_true", help="the three reference runs")
    parser.add_argument("--cpu-minutes", type=float, default=10.0)
    parser.add_argument("--out", default="docs/results/wp-estimators")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.criteria:
        write_criteria(out, criteria_runs(args), args)
    else:
        write_grid(out, estimator_grid(args), args)
    return 0
