"""Past --max-sessions a tab gets a "lab is full" page, and a closed tab frees its slot; a GET
that never opens a websocket builds nothing and takes no slot."""

from urllib.request import urlopen

import pytest
from browser import served, wait_until

pytestmark = pytest.mark.browser


def test_the_lab_is_full_past_the_limit_and_a_closed_tab_frees_a_slot(chromium, monkeypatch):
    from snnlab.ui import apps

    monkeypatch.setattr(apps, "SESSIONS", apps.SessionLimit(limit=1))
    with served(apps.lab_app) as (url, created):
        for _ in range(3):  # a crawler or a link preview: the page shell only
            with urlopen(url, timeout=30) as response:
                assert response.status == 200
        assert apps.SESSIONS.open == 0 and created == []
        first = chromium.new_page()
        first.goto(url)
        first.get_by_role("button", name="Play").wait_for(timeout=60_000)
        second = chromium.new_page()
        second.goto(url)
        second.get_by_text("The lab is full").wait_for(timeout=30_000)
        assert second.get_by_role("button", name="Play").count() == 0
        assert apps.SESSIONS.open == 1
        first.close()
        assert wait_until(lambda: apps.SESSIONS.open == 0, timeout=10)
        second.reload()
        second.get_by_role("button", name="Play").wait_for(timeout=60_000)
        second.close()
