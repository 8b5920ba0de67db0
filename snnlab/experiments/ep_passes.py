"""``snnlab experiment ep-passes``: how EP learns with passes over the data.

Classification (N-MNIST or any event task): test accuracy, predictive log-likelihood and ECE
after each pass in ``--passes`` for Gaussian and binary weights, a direct network (no hidden
layer) and one hidden layer with both neuron kinds, mean ± std over ``--seeds`` seeds (the seed
sets the initial weights and the training order), against the ``readout`` baseline. Regression
on ``regression-diabetes``: RMSE and predictive log-likelihood against ordinary least squares
(Gaussian noise from the training residuals) and against ``wp`` when that learner is
registered (WP learns regression and PDE tasks only, and gives no predictive distribution).

The EP settings are EP's presets (``snnlab list presets``), chosen on a held-out fifth of the
N-MNIST training split (never the test split). Writes ``results.md``, ``results.csv``
and ``ep_passes.png`` under ``--out``.
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

def classification_configs() -> list[tuple[str, str, dict]]:
    """(label, learner name, hyperparameters) for the classification rows: EP's nmnist presets
    (the default, hidden-gaussian, with both neuron kinds), their binary-weight twins, the
    direct probit preset, and the readout's one-pass preset."""
    from snnlab.learners.presets import find_preset

    configs = []
    direct = dict(find_preset("ep", "probit-direct").params)
    for preset in ("hidden-gaussian", "hidden-binary"):
        params = dict(find_preset("ep", preset).params)
        kind = params.get("weight_kind", "gaussian")
        weights = {"weight_kind": kind, "prior_var": params.get("prior_var", 1.0)}
        configs.append((f"EP {kind}, direct (neuron n/a)", "ep",
                        {**direct, **weights, "hidden": ()}))
        for neuron in ("heaviside", "bernoulli"):
            configs.append((f"EP {kind}, {params['hidden'][0]} hidden {neuron} ({preset})",
                            "ep", {**params, "neuron": neuron}))
    configs.append(("readout (one-pass preset)", "readout",
                    dict(find_preset("readout", "one-pass").params)))
    return configs


def run_passes(name: str, params: dict, task, seed: int, passes: list[int]) -> list[dict]:
    """Metrics on the test split after each pass in ``passes`` (one learner, one seed)."""
    learner = learners.make(name, seed=seed, **params)
    runner = Runner(learner, task, eval_every=0)
    rows, done = [], 0
    start = time.perf_counter()
    for n_pass in passes:
        for _ in range((n_pass - done) * runner.steps_per_epoch):
            runner.advance()
        done = n_pass
        rows.append(
            {"passes": n_pass, **learner.evaluate("test"), "seconds": time.perf_counter() - start}
        )
    return rows


def summarise(label: str, runs: list[list[dict]], metrics: list[str]) -> list[dict]:
    summary = []
    for k, first in enumerate(runs[0]):
        row = {"model": label, "passes": first["passes"], "seeds": len(runs)}
        for metric in metrics + ["seconds"]:
            values = np.array([run[k][metric] for run in runs])
            row[f"{metric}_mean"], row[f"{metric}_std"] = values.mean(), values.std()
        summary.append(row)
    return summary


def linear_regression_row(task) -> dict:
    """Least squares with Gaussian noise estimated from the training residuals."""
    from sklearn.linear_model import LinearRegression

    model = LinearRegression().fit(task.train.x, task.train.y)
    noise = np.mean((model.predict(task.train.x) - task.train.y) ** 2, axis=0)
    error = model.predict(task.test.x) - task.test.y
    log_lik = -0.5 * (np.log(2 * np.pi * noise) + error**2 / noise)
    return {
        "model": "linear regression (least squares)",
        "passes": "closed form",
        "seeds": 1,
        "rmse_mean": float(np.sqrt(np.mean(error**2))),
        "rmse_std": 0.0,
        "test_log_likelihood_mean": float(log_lik.sum(axis=1).mean()),
        "test_log_likelihood_std": 0.0,
        "seconds_mean": 0.0,
        "seconds_std": 0.0,
    }


def fmt(row: dict, metric: str) -> str:
    if f"{metric}_mean" not in row:
        return "n/a"
    return f"{row[f'{metric}_mean']:.3f} ± {row[f'{metric}_std']:.3f}"


def write_outputs(out: Path, cls_rows, reg_rows, notes: list[str], task_name: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    fields = sorted(
        {k for row in cls_rows + reg_rows for k in row}, key=lambda k: (k != "model", k)
    )
    with open(out / "results.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(cls_rows + reg_rows)
    lines = [f"# EP: test metrics after passes over the training data ({task_name})", ""]
    lines += [f"- {note}" for note in notes] + [""]
    lines += [
        "| model | passes | accuracy | log-likelihood | ECE | seconds |",
        "|---|---|---|---|---|---|",
    ]
    for row in cls_rows:
        lines.append(
            f"| {row['model']} | {row['passes']} | {fmt(row, 'test_accuracy')} | "
            f"{fmt(row, 'test_log_likelihood')} | {fmt(row, 'ece')} | "
            f"{row['seconds_mean']:.1f} |"
        )
    lines += [
        "",
        "## Regression: regression-diabetes (standardised target)",
        "",
        "| model | passes | RMSE | log-likelihood |",
        "|---|---|---|---|",
    ]
    for row in reg_rows:
        lines.append(
            f"| {row['model']} | {row['passes']} | {fmt(row, 'rmse')} | "
            f"{fmt(row, 'test_log_likelihood')} |"
        )
    (out / "results.md").write_text("\n".join(lines) + "\n")

    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for label in dict.fromkeys(row["model"] for row in cls_rows):
        rows = [r for r in cls_rows if r["model"] == label]
        x = [r["passes"] for r in rows]
        for ax, metric in zip(axes[:2], ("test_accuracy", "test_log_likelihood")):
            ax.errorbar(
                x,
                [r[f"{metric}_mean"] for r in rows],
                yerr=[r[f"{metric}_std"] for r in rows],
                marker="o",
                label=label,
            )
            ax.set_xlabel("passes")
            ax.set_title(metric.replace("_", " "))
    axes[0].legend(fontsize=7)
    ep_rows = [r for r in reg_rows if isinstance(r["passes"], int)]
    for label in dict.fromkeys(r["model"] for r in ep_rows):
        rows = [r for r in ep_rows if r["model"] == label]
        axes[2].errorbar(
            [r["passes"] for r in rows],
            [r["rmse_mean"] for r in rows],
            yerr=[r["rmse_std"] for r in rows],
            marker="o",
            label=label,
        )
    for row in reg_rows:
        if not isinstance(row["passes"], int):
            axes[2].axhline(row["rmse_mean"], color="k", linestyle="--", label=row["model"])
    axes[2].set_title("diabetes test RMSE")
    axes[2].set_xlabel("passes")
    axes[2].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "ep_passes.png", dpi=110)
    plt.close(fig)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="snnlab experiment ep-passes",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--task", default="nmnist", help="classification task name")
    parser.add_argument("--data", default=None, help="root folder of the task's recordings")
    parser.add_argument("--n-steps", type=int, default=None,
                        help="time windows per recording (default: the EP preset's)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--passes", type=int, nargs="+", default=[1, 2, 5])
    parser.add_argument("--out", default="docs/results/ep-passes")
    args = parser.parse_args(argv)
    passes = sorted(set(args.passes))
    from snnlab.learners.presets import find_preset

    options = dict(find_preset("ep", "hidden-gaussian").task_options)
    if args.n_steps is not None:
        options["n_steps"] = args.n_steps
    if args.data is not None:
        options["root"] = args.data
    task = load_task(args.task, **options)
    seeds = list(range(args.seeds))
    notes = [
        (f"{len(task.train)} training / {len(task.test)} test samples, "
         f"{options['n_steps']} windows; mean ± std over seeds {seeds}."),
        ("EP: the presets named in each row (`snnlab list presets`), one with the other "
         "neuron kind; direct rows are probit-direct with the row's weight kind."),
    ]
    has_wp = "wp" in learners.learner_names()
    notes.append("WP learns regression and PDE tasks only: it is compared on the diabetes "
                 "regression." if has_wp else "WP: not registered in this build, skipped.")
    cls_rows = []
    for label, name, params in classification_configs():
        runs = [run_passes(name, params, task, seed, passes) for seed in seeds]
        cls_rows += summarise(label, runs, ["test_accuracy", "test_log_likelihood", "ece"])
        print(cls_rows[-1], flush=True)
    diabetes = load_task("regression-diabetes")
    reg_rows = []
    for hidden in ((), (50,)):
        params = {"batch_mode": "sequential", "hidden": hidden}
        runs = [run_passes("ep", params, diabetes, seed, passes) for seed in seeds]
        label = f"EP gaussian, {'direct' if not hidden else f'{hidden[0]} hidden heaviside'}"
        reg_rows += summarise(label, runs, ["rmse", "test_log_likelihood"])
    if has_wp:
        runs = [run_passes("wp", {}, diabetes, seed, passes) for seed in seeds]
        reg_rows += summarise("WP (defaults: central estimator, K=16)", runs, ["rmse"])
    reg_rows.append(linear_regression_row(diabetes))
    write_outputs(Path(args.out), cls_rows, reg_rows, notes, args.task)
    print((Path(args.out) / "results.md").read_text())
    return 0
