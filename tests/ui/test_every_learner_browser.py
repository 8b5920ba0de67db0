"""Every registered learner, served in the lab, streams data into its plots in a real browser."""

import pytest

from browser import SOURCE_ROWS_JS, served, wait_until
from snnlab.learners import learner_names

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("learner", learner_names())
def test_lab_plots_fill_for_every_learner(chromium, learner):
    from snnlab.ui.lab import Lab

    with served(lambda: Lab(sync_url=True)) as (url, labs):
        page = chromium.new_page()
        page.goto(f"{url}?learner={learner}")
        play = page.get_by_role("button", name="Play")
        play.wait_for(timeout=180_000)  # a cold Numba cache compiles the learner's kernels first
        play.click()
        lab = labs[0]
        assert lab.session.learner.key == learner
        # every view drew frames, and the browser received data for most of its glyphs
        assert wait_until(lambda: all(v.frames_drawn >= 2 for v in lab.views), timeout=90)
        assert wait_until(
            lambda: sum(r > 0 for r in page.evaluate(SOURCE_ROWS_JS)) >= len(lab.views), timeout=60)
        assert not lab.notice.visible, lab.notice.object
        page.close()
