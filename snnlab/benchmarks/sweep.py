"""Sweep throughput: trials per minute of one fixed small sweep on 1 and on 2 local workers.

Both clusters are started and warmed up (imports, a first load of the task) before the clock
starts; the timed part is ``run_sweep`` from expansion to the last record written and indexed,
into a fresh folder and a throwaway index. Target: 2 workers at least 1.7x the trials per minute
of 1 (the trials are independent; what is lost goes to scheduling, the per-sweep data check and
writing records in this process). ``concurrency`` and ``seconds_per_trial`` tell a busy machine
(trials slow down) from scheduling overhead (fewer trials at once than workers).
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from snnlab.runs import RunIndex
from snnlab.sweep import WORKER_ENV, check_tasks, parse_spec, run_sweep


def spec(quick: bool):
    return parse_spec({
        "learners": ["readout"],
        "tasks": ["digits-events"],
        "seeds": [0, 1] if quick else [0, 1, 2, 3],
        "steps": 60,
        "eval_every": 0,
        "grid": {"lr": [0.5, 1.0, 2.0, 4.0]},
        "name": "bench",
    })


def trials_per_minute(workers: int, quick: bool) -> dict:
    from distributed import Client, LocalCluster

    sweep = spec(quick)
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None, host="127.0.0.1", env=dict(WORKER_ENV)) as cluster:
        with Client(cluster) as client:
            client.run(check_tasks, [("digits-events", {})])  # imports and file cache, untimed
        with tempfile.TemporaryDirectory() as folder:
            start = time.perf_counter()
            result = run_sweep(sweep, Path(folder) / "out", scheduler=cluster.scheduler_address,
                               index=RunIndex(Path(folder) / "runs.sqlite"))
            seconds = time.perf_counter() - start
            busy = [json.loads(m.read_text())["seconds"] for m in (Path(folder) / "out").glob("*/done")]
    if result.done != result.total:
        raise RuntimeError(f"the benchmark sweep finished {result.done} of {result.total} trials")
    return {"workers": workers, "trials": result.total, "seconds": round(seconds, 2),
            "trials_per_minute": round(60.0 * result.total / seconds, 1),
            # trials running at once on average, and how long one took: a shared or busy machine
            # shows as longer trials, scheduling overhead as concurrency below the worker count
            "concurrency": round(sum(busy) / seconds, 2),
            "seconds_per_trial": round(sum(busy) / len(busy), 3)}


def run(quick: bool = False) -> dict:
    one = trials_per_minute(1, quick)
    two = trials_per_minute(2, quick)
    return {
        "sweep": "readout on digits-events, 60 steps, 4 learning rates x "
                 f"{len(spec(quick).seeds)} seeds",
        "one_worker": one,
        "two_workers": two,
        "speedup_2_vs_1": round(two["trials_per_minute"] / one["trials_per_minute"], 2),
        "target": 1.7,
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
