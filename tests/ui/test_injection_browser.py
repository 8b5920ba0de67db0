"""Text from links and records is shown as text: crafted lab links and a record with markup in
every text field run no script and add no element to the page, in a real browser."""

import time
from urllib.parse import quote

import pytest
from benchmark_scripts import load_benchmark
from browser import served, wait_until

from snnlab.record import RunRecord
from snnlab.runs import RunIndex, SweepStatus

pytestmark = pytest.mark.browser

MARKUP = [
    "<script>window.__pwned = 1</script>",
    "<img src=x onerror=\"window.__pwned = 1\" class=injected>",
    "<svg onload=\"window.__pwned = 1\" class=injected></svg>",
    "<b class=injected onmouseover=\"window.__pwned = 1\">bold</b>",
    "**bold** [link](javascript:window.__pwned=1)",
]
# what a payload would add to the page: the crafted-requests benchmark's detector
INJECTED_JS = load_benchmark("crafted_requests").INJECTED_JS
TEXT_JS = """(needle) => {
  const texts = [];
  const walk = (root) => {
    for (const el of root.querySelectorAll("*")) {
      if (el.shadowRoot) walk(el.shadowRoot);
    }
    texts.push((root === document ? document.documentElement : root).textContent || "");
  };
  walk(document);
  return texts.some((t) => t.includes(needle));
}"""


def assert_clean(page, dialogs):
    time.sleep(0.5)  # an onload/onerror handler runs after the element lands
    result = page.evaluate(INJECTED_JS)
    assert not dialogs and not result["pwned"] and not result["found"], (dialogs, result)


@pytest.mark.parametrize("payload", MARKUP)
def test_crafted_lab_links_show_their_text_and_run_nothing(chromium, payload):
    from snnlab.ui.lab import Lab

    with served(lambda: Lab(sync_url=True)) as (url, labs):
        page = chromium.new_page()
        dialogs = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        quoted = quote(payload, safe="")
        page.goto(f"{url}?learner={quoted}&task={quoted}&{quoted}=1&lr={quoted}")
        page.get_by_role("button", name="Play").wait_for(timeout=60_000)
        assert wait_until(lambda: labs and labs[0].notice.visible)
        assert "learner" in labs[0].notice.object
        # the refused value is quoted as text, visibly
        assert wait_until(lambda: page.evaluate(TEXT_JS, payload[:12]))
        assert_clean(page, dialogs)
        page.close()


def test_the_run_browser_shows_markup_in_records_as_text(chromium, tmp_path):
    from snnlab.ui.runs import RunBrowser

    index = RunIndex(tmp_path / "runs.sqlite")
    for i, payload in enumerate(MARKUP):
        # learner and task names are checked by the record schema; every other text field of
        # a valid record may still carry markup
        config = {"learner": "readout", "task": "digits-events", "seed": i,
                  "params": {payload: payload}, "hyperparameters": {payload: payload},
                  "steps": 1, "eval_every": 1, "task_options": {payload: payload},
                  "task_info": {"kind": "classification", "note": payload},
                  "versions": {payload: payload}}
        metrics = [{"step": 1, "loss": 1.0, payload: 0.5}]
        index.add(RunRecord(config=config, metrics=metrics), path=tmp_path / f"r{i}",
                  source=payload, sweep=payload)
        with pytest.raises(ValueError, match="is not a valid run record"):
            index.add(RunRecord(config={**config, "learner": payload}, metrics=metrics))
    index.update_sweep(SweepStatus(id="s", name=MARKUP[1], total=3, done=1, running=0, failed=0,
                                   metric=MARKUP[2], best=0.5, best_run=MARKUP[3]))
    with served(lambda: RunBrowser(index=index)) as (url, apps):
        page = chromium.new_page(viewport={"width": 1600, "height": 1000})
        dialogs = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(url)
        assert wait_until(lambda: apps and len(apps[0].filtered()) == len(MARKUP))
        assert wait_until(lambda: page.evaluate(TEXT_JS, "window.__pwned = 1"), timeout=30)
        page.locator(".tabulator-row input[type=checkbox]").first.click()  # overlay, finals
        assert wait_until(lambda: len(apps[0].selected) == 1)
        page.get_by_role("button", name="Open in lab").click()  # refused: unknown parameters
        assert wait_until(lambda: apps[0].notice.visible
                          and "Could not open the run" in apps[0].notice.object)
        assert_clean(page, dialogs)
        page.close()
