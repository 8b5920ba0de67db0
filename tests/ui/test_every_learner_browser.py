"""Every registered learner, served in the lab: every plot moves in a real browser soon after
Play, evaluation plots at their cadence, and nothing moves after Pause."""

import time

import pytest
from browser import (
    NOW_JS,
    PLOT_CHANGES_JS,
    WIDE,
    lab_page,
    plots_changed_since,
    wait_until,
    watch_plots,
)

from snnlab import warmup
from snnlab.learners import learner_names

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("learner", learner_names())
def test_every_plot_moves_after_play_and_stops_on_pause(chromium, learner):
    with lab_page(chromium, f"learner={learner}", viewport=WIDE) as (page, labs, url):
        play = page.get_by_role("button", name="Play")
        lab = labs[0]
        assert lab.session.learner.key == learner
        # the lab warms the learner's kernels as it opens (a cold cache compiles for a while)
        assert wait_until(lambda: warmup.is_warm(lab.session.learner), timeout=240)
        watch_plots(page)
        pressed = page.evaluate(NOW_JS)
        play.click()
        time.sleep(5.0)
        changed = plots_changed_since(page, pressed)
        plots = page.evaluate("() => Object.keys(window.__plotChanges).length") or len(changed)
        evaluation = {pid for pid, tags in page.evaluate(
            "() => Object.fromEntries(Bokeh.documents.flatMap((d) => [...d.all_models])"
            ".filter((m) => m instanceof Bokeh.Models.Plot).map((m) => [m.id, m.tags]))").items()
            if "evaluation" in tags}
        live = {pid for pid in changed if pid not in evaluation}
        described = page.evaluate(PLOT_CHANGES_JS)
        assert plots and all(changed[pid] for pid in live), [
            (described[pid]["title"], described[pid]["sources"]) for pid in live
            if not changed[pid]]
        # evaluation plots move once the first evaluation (computed beside the run) is back
        assert wait_until(lambda: all(plots_changed_since(page, pressed)[p] for p in evaluation),
                          timeout=90)

        page.get_by_role("button", name="Pause").click()
        assert wait_until(lambda: lab.session.state == "paused")
        # evaluations of steps before the pause may still land; then nothing moves
        assert lab.session.evaluator.wait_idle(60)
        time.sleep(0.5)
        paused = page.evaluate(NOW_JS)
        time.sleep(1.5)
        late = {plot["title"] or pid: [round(t - paused) for t in plot["changes"] if t > paused]
                for pid, plot in page.evaluate(PLOT_CHANGES_JS).items()}
        assert not any(late.values()), late
        assert not lab.notice.visible, lab.notice.object
        page.close()
