"""Screenshots of the three apps for the README: ``python docs/make_screenshots.py``.

Serves each app on 127.0.0.1, opens it in headless Chromium, lets it run a few seconds and
writes ``docs/lab.png``, ``docs/compare.png`` and ``docs/neuron.png``.
"""

import shutil
import socket
import sys
import time
from pathlib import Path

import panel as pn
from playwright.sync_api import sync_playwright

from snnlab.ui.apps import FACTORIES

HERE = Path(__file__).resolve().parent
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run"]
SHOTS = {  # app: (query, seconds to run, press play)
    "lab": ("?learner=ep&task=digits-events&seed=0", 12, True),
    "compare": ("", 12, True),
    "neuron": ("", 3, False),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(names) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=ARGS)
        for name in names:
            query, seconds, play = SHOTS[name]
            port = free_port()
            server = pn.serve(FACTORIES[name], port=port, address="127.0.0.1", show=False,
                              threaded=True, websocket_origin=[f"127.0.0.1:{port}"])
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.goto(f"http://127.0.0.1:{port}/{query}")
            page.wait_for_timeout(4000)
            if play:
                page.get_by_role("button", name="Play").click()
            time.sleep(seconds)
            page.screenshot(path=str(HERE / f"{name}.png"), full_page=True)
            page.close()
            server.stop()
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1:] or list(SHOTS))
