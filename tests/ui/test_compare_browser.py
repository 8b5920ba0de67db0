"""The compare app in headless Chromium: two learners advance on the same input stream."""

import numpy as np
import pytest
from browser import ROWS_JS, served, wait_until

pytestmark = pytest.mark.browser


def test_two_learners_advance_on_the_same_input(chromium):
    from snnlab.ui.compare import Compare

    with served(lambda: Compare(chosen=["readout", "ep"], task="digits-events")) as (url, apps):
        page = chromium.new_page()
        page.goto(url)
        page.get_by_role("button", name="Play").click()
        compare = apps[0]
        sessions = compare.sessions
        assert set(sessions) == {"readout", "ep"}
        assert wait_until(lambda: all(s.learner.step_ >= 3 for s in sessions.values()), timeout=60)
        assert wait_until(lambda: page.evaluate(ROWS_JS, ["step", "loss"]) >= 4)
        page.get_by_role("button", name="Pause").click()
        assert wait_until(lambda: all(s.state == "paused" for s in sessions.values()))
        a, b = (dict(s.runner.recent_batches) for s in sessions.values())
        shared = set(a) & set(b)
        assert len(shared) >= 3
        assert all(np.array_equal(a[step], b[step]) for step in shared)
        page.close()
