"""Cost of watching: steps/s of a session streamed to a browser tab vs the same session headless.

Both measurements run in this process, one after the other, on the same learner, task and seed:

1. headless: ``Session.play()`` for ``seconds``, nothing reads the snapshots;
2. watched: the Lab serves the same session config on 127.0.0.1, headless Chromium opens it
   and presses Play, the tab streams at ``fps`` frames per second for ``seconds``.

The ratio watched/headless is the overhead figure (target: at least 0.85). With ``--minutes``
the watched phase also samples the serving process's resident memory every 10 s and reports
its growth from the first to the last minute (target: within 10 %).

    python benchmarks/ui_overhead.py [--learner ep] [--seconds 20] [--minutes 10]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import sys
import time

LEARNER_PARAMS = {"ep": {"batch_size": 8}, "readout": {}}
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run",
]


def rss_mb() -> float:
    """Resident memory of this process now (MiB), from /proc (Linux)."""
    with open(f"/proc/{os.getpid()}/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def make_session(learner: str, task: str):
    import snnlab

    built = snnlab.learners.make(learner, seed=0, **LEARNER_PARAMS.get(learner, {}))
    return snnlab.Session(built, snnlab.data.load_task(task), eval_every=50)


def headless_rate(learner: str, task: str, seconds: float) -> float:
    session = make_session(learner, task)
    session.step()  # compile and warm caches outside the timed window
    session.play()
    start_steps, start = session.steps_done, time.perf_counter()
    time.sleep(seconds)
    rate = (session.steps_done - start_steps) / (time.perf_counter() - start)
    session.stop()
    return rate


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def watched_rate(learner: str, task: str, seconds: float, fps: int, minutes: float) -> dict:
    import panel as pn
    from playwright.sync_api import sync_playwright

    from snnlab.ui.lab import Lab

    labs = []

    def app():
        lab = Lab(make_session(learner, task), fps=fps)
        labs.append(lab)
        return lab

    port = free_port()
    server = pn.serve(app, port=port, address="127.0.0.1", show=False, threaded=True,
                      websocket_origin=[f"127.0.0.1:{port}"])
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                        args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}/")
            page.get_by_role("button", name="Step").click()
            page.get_by_role("button", name="Play").wait_for(timeout=120_000)
            lab = labs[0]
            while lab.session.learner.step_ < 1:
                time.sleep(0.05)
            page.get_by_role("button", name="Play").click()
            time.sleep(1.0)  # let the stream settle
            start_steps, start_frames = lab.session.steps_done, lab.frames_drawn
            start = time.perf_counter()
            memory = [(0.0, rss_mb())]
            total = max(seconds, minutes * 60)
            while time.perf_counter() - start < total:
                time.sleep(min(10.0, total))
                memory.append((time.perf_counter() - start, rss_mb()))
            elapsed = time.perf_counter() - start
            result = {
                "watched_steps_per_s": (lab.session.steps_done - start_steps) / elapsed,
                "frames_per_s": (lab.frames_drawn - start_frames) / elapsed,
                "snapshots_dropped": lab.session.snapshots_dropped,
                "memory_mb": [round(m, 1) for _, m in memory],
            }
            if minutes:
                first = [m for t, m in memory if t <= 60]
                last = [m for t, m in memory if t >= elapsed - 60]
                result["memory_growth_last_vs_first_minute"] = max(last) / max(first) - 1.0
            browser.close()
    finally:
        server.stop()
    return result


def run(quick: bool = False, learner: str = "ep", task: str = "digits-events",
        seconds: float | None = None, fps: int = 10, minutes: float = 0.0) -> dict:
    seconds = seconds or (8.0 if quick else 20.0)
    headless = headless_rate(learner, task, seconds)
    watched = watched_rate(learner, task, seconds, fps, minutes)
    ratio = watched["watched_steps_per_s"] / headless
    out = {
        "learner": learner,
        "task": task,
        "seconds": seconds,
        "fps_requested": fps,
        "headless_steps_per_s": headless,
        **watched,
        "ratio_watched_over_headless": ratio,
        "target_ratio": 0.85,
        "ratio_met": ratio >= 0.85,
        "load_average": os.getloadavg(),
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if minutes:
        out["memory_flat_within_10_percent"] = abs(watched["memory_growth_last_vs_first_minute"]) <= 0.10
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learner", default="ep")
    parser.add_argument("--task", default="digits-events")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--fps", type=int, default=10)
    parser.add_argument("--minutes", type=float, default=0.0, help="memory soak length")
    args = parser.parse_args(argv)
    print(json.dumps(run(learner=args.learner, task=args.task, seconds=args.seconds, fps=args.fps,
                         minutes=args.minutes), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
