"""``snnlab experiment gem-samples``: GEM with K = 1, 2, 5, 10 compartments (the paper's figure).

For each K in ``--samples`` and each of ``--seeds`` seeds (the seed sets the initial weights,
the training order and every spike drawn), a ``gem`` learner makes one online pass over the
training split, then is scored on the test split: accuracy (``--decision``), per-step visible
log-likelihood of the outputs ``(1/T) log mean_k p(y | x, h^k)`` and the ECE (10 bins) of the
compartments' votes -- twice: with ``--test-samples`` compartments at inference whatever K was
(the effect of training with K alone), and with K compartments at inference too (the GEM
paper's protocol: the same K compartments learn and predict). The log-likelihood estimate is a
bound that tightens with more compartments and the votes of more compartments are finer, so the
second protocol adds the inference effect of K to the training effect. Accuracy is also taken
at the stopping points in ``--stops`` (training examples seen) to show the shape of the pass.

Defaults: GEM's nmnist preset (``snnlab list presets``; chosen on a held-out fifth of the
training split, never on the test split). Writes ``results.md``, ``results.csv`` and
``gem_samples.png`` under ``--out``.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np

from snnlab import learners
from snnlab.data import load_task
from snnlab.runner import Runner

METRICS = ("test_accuracy", "test_log_likelihood", "ece")
SAME_K = "same_k_"  # prefix of the metrics with K compartments at inference


def preset_defaults() -> tuple[dict, dict]:
    """GEM's nmnist preset: its hyperparameters (class defaults under them) and task options,
    the defaults of this experiment's options."""
    from snnlab.learners import learner_class
    from snnlab.learners.presets import find_preset

    preset = find_preset("gem", "one-pass")
    cls = learner_class("gem")
    params = {k: preset.params.get(k, cls.param[k].default) for k in cls.param if k != "name"}
    options = {"n_steps": 30, "pooling": 1, "polarity": "split", "binary": False,
               **preset.task_options}
    return params, options


def load(args):
    options = {"n_steps": args.n_steps, "pooling": args.pooling, "polarity": args.polarity,
               "binary": args.binary}
    if args.task == "nmnist":
        options["root"] = args.data
    return load_task(args.task, **options)


def learner_params(args, n_samples: int, n_train: int) -> dict:
    return {
        "rule": args.rule,
        "n_samples": n_samples,
        "n_samples_test": args.test_samples,
        "n_hidden": args.hidden,
        "lr": args.lr,
        "lr_decay": args.lr_decay,
        "average_start": args.average_start,
        "memory": args.memory,
        "n_basis": args.bases,
        "decision": args.decision,
        "batch_size": 8,
    }


def one_pass(task, params: dict, seed: int, stops: list[int]) -> dict:
    """Train one pass; test metrics at the end and accuracy at each stopping point."""
    learner = learners.make("gem", seed=seed, **params)
    runner = Runner(learner, task, eval_every=0)
    row: dict = {}
    train_s = 0.0
    while learner.n_seen_ < len(task.train):
        start = time.perf_counter()
        runner.advance()
        train_s += time.perf_counter() - start
        for stop in stops:
            if learner.n_seen_ - learner.batch_size < stop <= learner.n_seen_:
                row[f"accuracy@{stop}"] = learner.evaluate("test")["test_accuracy"]
    row["train_s"] = train_s
    row["ms_per_sample"] = 1e3 * train_s / len(task.train)
    row.update(learner.evaluate("test"))
    learner.n_samples_test = params["n_samples"]
    row.update({SAME_K + key: value for key, value in learner.evaluate("test").items()})
    return row


def summarise(n_samples: int, runs: list[dict]) -> dict:
    out = {"K": n_samples, "seeds": len(runs)}
    for key in runs[0]:
        values = np.array([r[key] for r in runs], dtype=float)
        out[f"{key}_mean"] = float(values.mean())
        out[f"{key}_std"] = float(values.std())
    return out


def write_outputs(out: Path, rows: list[dict], args, task, stops: list[int]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    fields = list(rows[0])
    with open(out / "results.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)

    def pm(row, key, digits=3):
        return f"{row[key + '_mean']:.{digits}f} ± {row[key + '_std']:.{digits}f}"

    lines = [
        f"# GEM: one online pass with K compartments ({task.name})",
        "",
        (
            f"{len(task.train)} training / {len(task.test)} test recordings, "
            f"{task.n_inputs} inputs "
        f"({args.pooling}x{args.pooling} pooling, polarity {args.polarity}"
        f"{', binary' if args.binary else ''}), "
        f"T = {task.n_steps}, {args.hidden} hidden neurons, {task.n_outputs} outputs, rule "
        f"`{args.rule}`, lr {args.lr} / (1 + {args.lr_decay} n), Polyak average from "
        f"training example {args.average_start}, {args.bases} bases over {args.memory} steps, "
        f"decision `{args.decision}`. Mean ± std over {args.seeds} seeds."
        ),
        "",
        (
            "Log-likelihood: per step, of the target output spikes, "
            "(1/T) log mean_k p(y | x, h^k) over the inference compartments; ECE from the "
            "compartments' votes (10 bins)."
        ),
        "",
        "## K compartments in training and at inference (the paper's protocol)",
        "",
        "| K | test accuracy | log-likelihood / step | ECE |",
        "|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['K']} | {pm(row, SAME_K + 'test_accuracy')} | "
            f"{pm(row, SAME_K + 'test_log_likelihood')} | {pm(row, SAME_K + 'ece')} |"
        )
    lines += [
        "",
        f"## K compartments in training, {args.test_samples} at inference (training effect alone)",
        "",
        "| K | test accuracy | log-likelihood / step | ECE | "
        + "".join(f"acc. after {s} | " for s in stops) + "ms / training sample |",
        "|---|---|---|---|" + "---|" * len(stops) + "---|",
    ]
    for row in rows:
        stop_cells = "".join(pm(row, f"accuracy@{s}", 2) + " | " for s in stops)
        lines.append(
            f"| {row['K']} | {pm(row, 'test_accuracy')} | {pm(row, 'test_log_likelihood')} | "
            f"{pm(row, 'ece')} | {stop_cells}{row['ms_per_sample_mean']:.1f} |"
        )
    lines += ["", "![GEM with K compartments](gem_samples.png)", ""]
    (out / "results.md").write_text("\n".join(lines))

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ks = [r["K"] for r in rows]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    protocols = ((SAME_K, "K at inference"), ("", f"{args.test_samples} at inference"))
    for ax, metric, label in zip(axes, METRICS, ("test accuracy", "log-likelihood / step",
                                                 "ECE (votes)")):
        for prefix, name in protocols:
            mean = np.array([r[f"{prefix}{metric}_mean"] for r in rows])
            std = np.array([r[f"{prefix}{metric}_std"] for r in rows])
            ax.errorbar(ks, mean, yerr=std, marker="o", capsize=3, label=name)
        ax.legend(fontsize=8)
        ax.set_xscale("log")
        ax.set_xticks(ks, [str(k) for k in ks])
        ax.set_xlabel("compartments K (training)")
        ax.set_title(label)
        ax.grid(alpha=0.3)
    fig.suptitle(f"GEM, one pass over {len(task.train)} {task.name} recordings "
                 f"(mean ± std, {args.seeds} seeds)")
    fig.tight_layout()
    fig.savefig(out / "gem_samples.png", dpi=110)
    plt.close(fig)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="snnlab experiment gem-samples", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", default="nmnist", choices=["nmnist", "digits-events"])
    parser.add_argument("--data", default="../shared/data/nmnist", help="N-MNIST folder")
    parser.add_argument("--samples", default="1,2,5,10", help="K values, comma-separated")
    parser.add_argument("--seeds", type=int, default=3)
    # every default is GEM's nmnist preset (`snnlab list presets`)
    params, options = preset_defaults()
    parser.add_argument("--rule", default=params["rule"], choices=["gem", "iw", "mb", "mb1"])
    parser.add_argument("--hidden", type=int, default=params["n_hidden"])
    parser.add_argument("--lr", type=float, default=params["lr"])
    parser.add_argument("--lr-decay", type=float, default=params["lr_decay"])
    parser.add_argument("--average-start", type=int, default=params["average_start"],
                        help="training example from which parameters are averaged (-1: off)")
    parser.add_argument("--memory", type=int, default=params["memory"])
    parser.add_argument("--bases", type=int, default=params["n_basis"])
    parser.add_argument("--test-samples", type=int, default=params["n_samples_test"])
    parser.add_argument("--decision", default=params["decision"], choices=["sum", "majority"])
    parser.add_argument("--n-steps", type=int, default=options["n_steps"])
    parser.add_argument("--pooling", type=int, default=options["pooling"])
    parser.add_argument("--polarity", default=options["polarity"], choices=["merge", "split"])
    parser.add_argument("--binary", action=argparse.BooleanOptionalAction,
                        default=options["binary"], help="clip counts to one event per bin")
    parser.add_argument("--stops", default="200,400,600", help="examples seen at which to score")
    parser.add_argument("--out", default="docs/results/gem-samples")
    args = parser.parse_args(argv)
    task = load(args)
    samples = [int(k) for k in args.samples.split(",")]
    stops = [int(s) for s in args.stops.split(",") if s and 0 < int(s) < len(task.train)]
    # compile the kernels first, so the first run's time per sample is not the compiler's
    warm = learners.make("gem", seed=0, **learner_params(args, 1, len(task.train)))
    Runner(warm, task, eval_every=0).advance()
    warm.evaluate("test", max_samples=1)
    rows = []
    for k in samples:
        runs = []
        for seed in range(args.seeds):
            runs.append(one_pass(task, learner_params(args, k, len(task.train)), seed, stops))
            print(f"K={k} seed={seed}: " + ", ".join(
                f"{p}{m}={runs[-1][p + m]:.3f}" for p in ("", SAME_K) for m in METRICS)
                + f", {runs[-1]['ms_per_sample']:.1f} ms/sample", flush=True)
        rows.append(summarise(k, runs))
    write_outputs(Path(args.out), rows, args, task, stops)
    print((Path(args.out) / "results.md").read_text())
    return 0
