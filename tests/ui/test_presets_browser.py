"""A link with a preset and rebuild parameters reproduces them in a real browser; choosing
another preset in the lab applies it after asking to rebuild, and the URL follows."""

from urllib.parse import parse_qs, urlparse

import pytest
from browser import lab_page, wait_until

from snnlab import warmup

pytestmark = pytest.mark.browser


def query_of(page) -> dict:
    return {k: v[0] for k, v in parse_qs(urlparse(page.evaluate("window.location.href")).query).items()}


def test_a_link_with_a_preset_and_layer_widths_comes_back_whole(chromium):
    link = "learner=normad&task=spike-xor&preset=xor-hidden&hidden=[32,32]&lr=500&seed=4"
    with lab_page(chromium, link) as (page, labs, url):
        lab = labs[0]
        learner = lab.session.learner
        # a cold cache compiles in the background as the lab opens, slowing the server for a
        # while: interact once that is over
        assert wait_until(lambda: warmup.is_warm(learner), timeout=240)
        assert (lab.preset, lab.session.preset) == ("xor-hidden", "xor-hidden")
        assert learner.hidden == (32, 32) and learner.lr == 500.0 and learner.seed == 4
        assert learner.hidden_lr_scale == 0.3  # from the preset
        assert wait_until(lambda: query_of(page).get("preset") == "xor-hidden")
        query = query_of(page)
        assert query["hidden"] == "[32, 32]" and query["lr"] == "500.0"
        assert "hidden_lr_scale" not in query  # equal to the preset's value

        # the same link, opened again, builds the same network
        page2 = chromium.new_page()
        page2.goto(page.evaluate("window.location.href"))
        page2.get_by_role("button", name="Play").wait_for(timeout=60_000)
        again = labs[1].session.learner
        assert (again.hidden, again.lr, again.seed) == ((32, 32), 500.0, 4)
        page2.close()

        # another preset: its live values apply, its layer widths wait for Rebuild
        page.locator("select").nth(2).select_option("xor-one-layer")
        page.get_by_role("button", name="Rebuild").first.wait_for(timeout=10_000)
        assert wait_until(lambda: lab.session.learner.lr == 1000.0, timeout=60)
        assert lab.session.learner.hidden == (32, 32)
        page.get_by_role("button", name="Rebuild").first.click()
        assert wait_until(lambda: lab.session.learner.hidden == ())
        assert wait_until(lambda: query_of(page).get("preset") == "xor-one-layer"
                          and "hidden" not in query_of(page) and "lr" not in query_of(page))
        assert lab.session.record().config["preset"] == "xor-one-layer"
        page.close()


def test_an_unknown_preset_in_a_link_is_refused_with_a_notice(chromium):
    link = "learner=normad&task=spike-xor&preset=<b>nope</b>"
    with lab_page(chromium, link) as (page, labs, url):
        page.get_by_text("Some link settings were refused").wait_for(timeout=10_000)
        assert page.get_by_text("preset '<b>nope</b>' is not one of").count() == 1
        assert labs[0].session.preset == "xor-hidden"  # the task's default stands
        page.close()
