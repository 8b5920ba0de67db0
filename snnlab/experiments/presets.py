"""``snnlab experiment presets``: train every default preset as ``snnlab train`` does, write the
table of results the README shows.

Each default preset, and each other preset with a target (see ``snnlab list presets``), runs
from its declared hyperparameters, task
options and budget -- exactly the run of ``snnlab train --learner L --task T [--data D]`` --
for several seeds (``--seeds``; 10 for NormAD, whose result is a share of converging seeds),
scored at the end on the test split (evaluated as ``snnlab train`` does, every
``eval_every`` steps of the preset, so a converging learner stops when it has converged) (``--validation``: on the held-out fifth of the
training split instead, the split settings are chosen on). Writes ``results.md`` and
``results.json`` under ``--out`` (default ``docs/results/presets``); ``snnlab list presets``
reads the JSON.
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from snnlab.data import task_options
from snnlab.learners.presets import Preset, all_presets
from snnlab.metrics import HIGHER_IS_BETTER

#: seeds per preset whose headline is a share of seeds (converged) rather than a score
SHARE_SEEDS = 10


def run_one(job: tuple) -> dict:
    """Train one preset with one seed as ``snnlab train`` would; its final metrics."""
    learner, task, preset, seed, extra_options = job
    from snnlab.training import config_from_preset, run

    config = config_from_preset(learner, task, preset=preset, seed=seed,
                                task_options=extra_options)
    start, cpu = time.perf_counter(), time.process_time()
    final = run(config).final()
    return {"learner": learner, "task": task, "preset": config.preset, "seed": seed, **final,
            "wall_s": time.perf_counter() - start, "cpu_s": time.process_time() - cpu}


def chosen_presets(learners: list[str] | None, data: str | None) -> tuple[list[Preset], list[str]]:
    """Default presets and presets with a target, and a line for each one left out (no data
    folder for it)."""
    chosen, skipped = [], []
    for preset in all_presets():
        if not (preset.default or preset.target is not None):
            continue
        if learners and preset.learner not in learners:
            continue
        if "root" in task_options(preset.task) and data is None:
            skipped.append(f"{preset.learner}/{preset.name}: task {preset.task} needs --data")
            continue
        chosen.append(preset)
    return chosen, skipped


def summarise(preset: Preset, rows: list[dict]) -> dict:
    values = np.array([row[preset.headline] for row in rows], dtype=float)
    entry = {
        "learner": preset.learner, "task": preset.task, "preset": preset.name,
        "default": preset.default,
        "headline": preset.headline, "target": preset.target, "budget": preset.budget,
        "seeds": len(rows), "mean": float(values.mean()), "std": float(values.std()),
        "values": [float(v) for v in values],
        "cpu_s_max": float(max(row["cpu_s"] for row in rows)),
    }
    for extra in ("test_log_likelihood", "ece", "epochs_to_converge"):
        if all(extra in row for row in rows):
            entry[f"{extra}_mean"] = float(np.mean([row[extra] for row in rows]))
    return entry


def meets(entry: dict) -> str:
    if entry["target"] is None:
        return "—"
    higher = entry["headline"] in HIGHER_IS_BETTER
    ok = entry["mean"] >= entry["target"] if higher else entry["mean"] <= entry["target"]
    return ("≥ " if higher else "≤ ") + f"{entry['target']:g}: " + ("yes" if ok else "**no**")


def calibration(entry: dict) -> str:
    """Mean test log-likelihood and ECE, where the task gives them."""
    parts = [f"{entry[k]:.3f}" for k in ("test_log_likelihood_mean", "ece_mean") if k in entry]
    return ", ".join(parts) or "—"


def write_results(out: Path, entries: list[dict], skipped: list[str], split: str,
                  minutes: float) -> None:
    out.mkdir(parents=True, exist_ok=True)
    payload = {"split": split, "minutes": round(minutes, 1),
               "presets": {f"{e['learner']}/{e['preset']}": e for e in entries}}
    (out / "results.json").write_text(json.dumps(payload, indent=1) + "\n")
    lines = [
        "# Presets: what `snnlab train --learner L --task T [--preset P]` reaches",
        "",
        f"Scored on the {split} split at the end of the preset's budget (or when an evaluation finds the run converged, as `snnlab train` stops); mean ± std over "
        f"seeds 0..n-1. CPU s: the slowest seed, one thread. Made by `snnlab experiment presets"
        f"{' --validation' if split != 'test' else ''}` in {minutes:.1f} min.",
        "",
        "| learner | task | preset | budget | measure | result | seeds | target | "
        "log-likelihood, ECE | CPU s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for e in entries:
        measure = "converged seeds" if e["headline"] == "converged" else e["headline"]
        result = (f"{round(e['mean'] * e['seeds'])}/{e['seeds']}" if e["headline"] == "converged"
                  else f"{e['mean']:.3f} ± {e['std']:.3f}")
        name = f"{e['preset']}{' (default)' if e['default'] else ''}"
        lines.append(f"| {e['learner']} | {e['task']} | {name} | {e['budget']} | "
                     f"{measure} | {result} | {e['seeds']} | {meets(e)} | {calibration(e)} | "
                     f"{e['cpu_s_max']:.0f} |")
    if skipped:
        lines += ["", "Not run: " + "; ".join(skipped) + "."]
    (out / "results.md").write_text("\n".join(lines) + "\n")


def merged(path: Path, entries: list[dict], minutes: float) -> tuple[list[dict], float]:
    """``entries`` with the earlier results of every other preset in ``path`` (same split),
    in declaration order; the minutes add up."""
    try:
        earlier = json.loads(path.read_text())
    except (OSError, ValueError):
        return entries, minutes
    by_key = {**earlier.get("presets", {}),
              **{f"{e['learner']}/{e['preset']}": e for e in entries}}
    order = [f"{p.learner}/{p.name}" for p in all_presets()]
    kept = [by_key[k] for k in order if k in by_key]
    return kept, minutes + float(earlier.get("minutes", 0.0))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="snnlab experiment presets", description=__doc__)
    parser.add_argument("--data", help="N-MNIST folder (presets on nmnist are skipped without)")
    parser.add_argument("--learner", action="append", help="only this learner (repeatable)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per preset (NormAD: 10)")
    parser.add_argument("--validation", action="store_true",
                        help="score on the held-out fifth of the training split, not on test")
    parser.add_argument("--workers", type=int, default=2, help="processes")
    parser.add_argument("--out", default="docs/results/presets")
    parser.add_argument("--merge", action="store_true",
                        help="keep the results of presets not run now from the existing JSON")
    args = parser.parse_args(argv)
    if args.data is not None and not Path(args.data).is_dir():
        raise ValueError(f"data folder {args.data} does not exist")

    presets, skipped = chosen_presets(args.learner, args.data)
    jobs = []
    for preset in presets:
        options = {}
        if "root" in task_options(preset.task):
            options["root"] = str(Path(args.data).resolve())
        if args.validation:
            if "validation" not in task_options(preset.task):
                skipped.append(f"{preset.learner}/{preset.name}: {preset.task} has no "
                               "validation split")
                continue
            options["validation"] = True
        n_seeds = SHARE_SEEDS if preset.headline == "converged" else args.seeds
        jobs += [(preset.learner, preset.task, preset.name, seed, options)
                 for seed in range(n_seeds)]
    start = time.perf_counter()
    with ProcessPoolExecutor(args.workers, mp_context=get_context("spawn")) as pool:
        rows = []
        for row in pool.map(run_one, jobs):
            rows.append(row)
            print(f"{row['learner']}/{row['preset']} seed {row['seed']}: "
                  f"{ {k: round(v, 4) for k, v in row.items() if isinstance(v, float)} }",
                  flush=True)
    ran = [p for p in presets if any(r["preset"] == p.name and r["learner"] == p.learner
                                      for r in rows)]
    entries = [summarise(p, [r for r in rows if r["preset"] == p.name
                             and r["learner"] == p.learner]) for p in ran]
    minutes = (time.perf_counter() - start) / 60
    if args.merge:
        entries, minutes = merged(Path(args.out) / "results.json", entries, minutes)
    write_results(Path(args.out), entries, skipped, "validation" if args.validation else "test",
                  minutes)
    print((Path(args.out) / "results.md").read_text())
    return 0
