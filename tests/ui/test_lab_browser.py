"""The lab in headless Chromium, served on 127.0.0.1: play, live change, pause, reset, bad URL."""

import time

import numpy as np
import pytest
from browser import ROWS_JS, lab_page, served, wait_until

pytestmark = pytest.mark.browser


def rows(page, *columns):
    return page.evaluate(ROWS_JS, list(columns))


def test_lab_plays_changes_live_pauses_and_resets(chromium):
    with lab_page(chromium) as (page, labs, url):
        play = page.get_by_role("button", name="Play")
        lab = labs[0]
        initial = lab.session.learner.state_dict()
        assert rows(page, "loss") == 0

        play.click()
        assert wait_until(lambda: rows(page, "time", "neuron") > 0 and rows(page, "loss") > 5)
        assert lab.session.state == "playing"

        # a live change while running reaches the session's learner, the run goes on
        lr_input = page.get_by_label("Lr").first
        lr_input.fill("0.01")
        lr_input.press("Enter")
        assert wait_until(lambda: lab.session.learner.lr == 0.01)
        steps = lab.session.learner.step_
        assert wait_until(lambda: lab.session.learner.step_ > steps)
        assert wait_until(lambda: "lr=0.01" in page.evaluate("window.location.href"))

        page.get_by_role("button", name="Pause").click()
        assert wait_until(lambda: lab.session.state == "paused")
        paused_at = lab.session.learner.step_
        time.sleep(0.5)
        assert lab.session.learner.step_ == paused_at

        page.get_by_role("button", name="Reset").click()
        def back_to_initial():
            state = lab.session.learner.state_dict()
            return all(np.array_equal(initial[k], state[k]) for k in initial)

        assert wait_until(back_to_initial)
        assert lab.session.state == "paused"
        page.close()


def test_crafted_bad_url_shows_notice_and_defaults(chromium):
    link = "learner=readout&lr=1e9&seed=-4&batch_size=abc"
    with lab_page(chromium, link) as (page, labs, url):
        notice = page.get_by_text("Some link settings were refused")
        notice.wait_for(timeout=10_000)
        text = notice.inner_text()
        assert "lr" in text and "seed" in text and "batch_size" in text
        learner = labs[0].session.learner
        assert learner.lr == type(learner).param["lr"].default
        assert learner.seed == 0
        page.close()


def test_closing_the_tab_stops_the_session_thread(chromium):
    from snnlab.ui.lab import Lab

    with served(lambda: Lab()) as (url, labs):
        page = chromium.new_page()
        page.goto(url)
        page.get_by_role("button", name="Play").click()
        lab = labs[0]
        assert wait_until(lambda: lab.session.learner.step_ > 0)
        page.close()
        assert wait_until(lambda: lab.session.state == "stopped", timeout=5)
        assert wait_until(lambda: not lab.session.thread.is_alive())


def test_a_cold_learner_says_it_is_compiling_then_runs(chromium, monkeypatch):
    from snnlab import warmup
    from snnlab.learners.readout.learner import Readout
    from snnlab.ui.lab import Lab

    # a learner whose kernels are cold: no background warm-up, a first step that takes a while
    monkeypatch.setattr(warmup, "warm_up_in_background", lambda *args: None)
    monkeypatch.setattr(warmup, "_warm", set())
    update = Readout._update
    calls = []

    def first_step_compiles(self, batch):
        calls.append(1)
        if len(calls) == 1:
            time.sleep(3.0)
        return update(self, batch)

    monkeypatch.setattr(Readout, "_update", first_step_compiles)
    with served(lambda: Lab()) as (url, labs):
        page = chromium.new_page()
        page.goto(url)
        page.get_by_role("button", name="Play").click()
        page.get_by_text("compiling kernels (first use)").wait_for(timeout=2_500)
        page.get_by_text("steps/s").wait_for(timeout=15_000)
        assert warmup.is_warm("readout") and labs[0].session.steps_done > 1
        page.close()
