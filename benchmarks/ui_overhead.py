"""Cost of watching: steps/s of a session streamed to a browser tab vs the same session unread.

One session runs in the Lab served on 127.0.0.1 and opened in headless Chromium. The benchmark
alternates two phases of ``seconds`` each, ``rounds`` times, on the same running session:

- watched: the tab's periodic callback drains the session and streams ``fps`` frames per
  second to the browser;
- headless: the Lab's ``live`` switch is off, so its callback reads nothing and sends nothing,
  and the browser is idle.

Alternating cancels slow drifts of machine load; the figure is median(watched steps/s) /
median(headless steps/s) (target: at least 0.85). With ``--minutes`` the run ends with a soak
that streams for that long and samples the serving process's resident memory every 10 s,
reporting the growth from the first to the last minute (target: within 10 %).

    python benchmarks/ui_overhead.py [--learner gem] [--seconds 10] [--rounds 3] [--minutes 10]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import sys
import time

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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def steps_per_second(session, seconds: float) -> float:
    start_steps, start = session.steps_done, time.perf_counter()
    time.sleep(seconds)
    return (session.steps_done - start_steps) / (time.perf_counter() - start)


def lab_opening(learner: str) -> tuple[str, dict, dict]:
    """The task, settings and task options the lab opens ``learner`` with (its starting task's
    default preset), on single-threaded kernels: the other core serves the UI."""
    from snnlab.learners import default_preset, learner_class
    from snnlab.ui.url_state import starting_task

    task = starting_task(learner)
    preset = default_preset(learner, task)
    params = dict(preset.params) if preset else {}
    if "n_threads" in learner_class(learner).param:
        params["n_threads"] = 1
    return task, params, dict(preset.task_options) if preset else {}


def run(quick: bool = False, learner: str = "gem", seconds: float | None = None, rounds: int = 3,
        fps: int = 10, minutes: float = 0.0) -> dict:
    import panel as pn
    from playwright.sync_api import sync_playwright

    import snnlab
    from snnlab.ui.apps import SESSION_CLEANUP, built_on_open
    from snnlab.ui.lab import Lab

    seconds = seconds or (4.0 if quick else 10.0)
    task_name, params, options = lab_opening(learner)
    labs = []

    def build():
        built = snnlab.learners.make(learner, seed=0, **params)
        # evaluations would make the step rate lumpy; they cost the same watched or not
        session = snnlab.Session(built, snnlab.data.load_task(task_name, **options), eval_every=0)
        lab = Lab(session, fps=fps)
        labs.append(lab)
        return lab

    port = free_port()
    # verbose=False: stdout carries the JSON report only
    server = pn.serve(lambda: built_on_open(build), port=port, address="127.0.0.1", show=False,
                      threaded=True, verbose=False, websocket_origin=[f"127.0.0.1:{port}"],
                      **SESSION_CLEANUP)  # served as the apps are
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=shutil.which("chromium") or "/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}/")
            play = page.get_by_role("button", name="Play")
            play.wait_for(timeout=180_000)
            play.click()
            lab = labs[0]
            while lab.session.steps_done < 3:  # compiled and running
                time.sleep(0.05)
            time.sleep(1.0)
            watched, headless, frame_rates = [], [], []
            for _ in range(rounds):
                frames = lab.frames_drawn
                watched.append(steps_per_second(lab.session, seconds))
                frame_rates.append((lab.frames_drawn - frames) / seconds)
                lab.live = False
                headless.append(steps_per_second(lab.session, seconds))
                lab.live = True
            result = {
                "learner": learner,
                "task": task_name,
                "params": params,
                "seconds_per_phase": seconds,
                "rounds": rounds,
                "fps_requested": fps,
                "watched_steps_per_s": watched,
                "headless_steps_per_s": headless,
                "frames_per_s": frame_rates,
                "ratio_watched_over_headless": statistics.median(watched) / statistics.median(headless),
                "target_ratio": 0.85,
            }
            result["ratio_met"] = result["ratio_watched_over_headless"] >= 0.85
            if minutes:
                memory = [(0.0, rss_mb())]
                start = time.perf_counter()
                while time.perf_counter() - start < minutes * 60:
                    time.sleep(10.0)
                    memory.append((time.perf_counter() - start, rss_mb()))
                end = memory[-1][0]
                first = max(m for t, m in memory if t <= 60)
                last = max(m for t, m in memory if t >= end - 60)
                result.update(
                    soak_minutes=minutes,
                    memory_mb=[round(m, 1) for _, m in memory],
                    memory_growth_last_vs_first_minute=last / first - 1.0,
                    memory_flat_within_10_percent=abs(last / first - 1.0) <= 0.10,
                    soak_steps=lab.session.steps_done,
                    soak_frames=lab.frames_drawn,
                )
            browser.close()
    finally:
        server.stop()
    result["load_average"] = os.getloadavg()
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learner", default="gem", help="a registered learner's name")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each phase")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--fps", type=int, default=10)
    parser.add_argument("--minutes", type=float, default=0.0, help="memory soak length")
    args = parser.parse_args(argv)
    print(json.dumps(run(learner=args.learner, seconds=args.seconds, rounds=args.rounds,
                         fps=args.fps, minutes=args.minutes), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
