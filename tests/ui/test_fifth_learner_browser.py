"""The test-only fifth learner (``tests/spiking_perceptron``) in the lab, in a real browser: a
link opens it with the link's settings, its own view and the shared ones draw, and the URL the
lab writes opens the same run again."""

import time
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
from browser import WIDE, lab_page, wait_until

from snnlab import warmup

pytestmark = pytest.mark.browser


def test_a_link_opens_it_its_views_draw_and_the_written_url_comes_back(chromium):
    link = "learner=perceptron&margin=4&init_scale=0.1&seed=3"
    with lab_page(chromium, link, viewport=WIDE) as (page, labs, url):
        play = page.get_by_role("button", name="Play")
        lab = labs[0]
        learner = lab.session.learner
        assert (learner.key, learner.margin, learner.init_scale, learner.seed) == (
            "perceptron", 4, 0.1, 3)
        kinds = {type(v).__name__: v for v in lab.views}
        assert {"SpikeCountView", "RasterView", "MembraneView", "WeightHistogramView",
                "LearningCurveView"} <= set(kinds)
        assert wait_until(lambda: warmup.is_warm(learner), timeout=240)
        play.click()
        assert wait_until(lambda: kinds["SpikeCountView"].frames_drawn >= 3, timeout=60)
        page.get_by_role("button", name="Pause").click()
        shown = np.asarray(kinds["SpikeCountView"].source.data["value"])
        assert shown.shape == (10,) and (shown >= 0).all() and (shown == np.round(shown)).all()
        # the page's own URL, as the lab wrote it, carries everything that differs from the preset
        assert wait_until(lambda: "margin=4" in page.url)
        query = {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}
        assert query["learner"] == "perceptron" and query["init_scale"] == "0.1"
        assert query["seed"] == "3" and query["preset"] == "sample-one-pass"

        again = chromium.new_page()
        again.goto(page.url)
        again.get_by_role("button", name="Play").wait_for(timeout=60_000)
        assert wait_until(lambda: len(labs) == 2)
        second = labs[1].session.learner
        assert second.hyperparameters() == learner.hyperparameters()
        time.sleep(0.2)
