"""Links that Panel itself could not read (an all-digit value that int() refuses, or one of
thousands of digits) get the page and a notice, never HTTP 500; a bare websocket is one log
line; an app that fails to start says so on its page."""

import logging
import sys
from urllib.request import urlopen

import pytest
from bokeh.protocol.exceptions import ProtocolError
from browser import lab_page, served

from snnlab.ui import apps

CRAFTED = ["?x=%C2%B2", "?x=%E2%91%A0", "?learner=readout&lr=" + "1" * 5000,
           "?learner=readout&lr=%C2%B2&seed=" + "9" * 4400]


def test_values_panel_cannot_read_are_served_as_text():
    def lab():
        from snnlab.ui.lab import Lab

        return Lab(sync_url=True)

    with served(lab) as (url, _):
        for query in CRAFTED:
            with urlopen(url + query, timeout=30) as response:
                assert response.status == 200


@pytest.mark.browser
def test_a_link_panel_cannot_read_gets_the_lab_and_a_notice(chromium):
    link = "learner=readout&lr=%C2%B2&l2=" + "1" * 5000
    with lab_page(chromium, link) as (page, labs, url):
        notice = page.get_by_text("Some link settings were refused")
        notice.wait_for(timeout=10_000)
        assert "'lr'" in notice.inner_text() and "'l2'" in notice.inner_text()
        assert labs[0].session.learner.key == "readout"
        page.close()


@pytest.mark.browser
def test_an_app_that_fails_to_start_says_so_on_its_page(chromium):
    def broken():
        raise ValueError("the sample data is missing <b>here</b>")

    with served(broken) as (url, _):
        page = chromium.new_page()
        page.goto(url)
        page.get_by_text("This page could not start: the sample data is missing <b>here</b>") \
            .wait_for(timeout=30_000)
        assert page.locator("b").count() == 0
        page.close()


def test_a_websocket_without_bokehs_protocol_is_one_line():
    record = logging.LogRecord("tornado.application", logging.ERROR, __file__, 1,
                               "Uncaught exception GET /ws", (), None)
    try:
        raise ProtocolError("Subprotocol header is not 'bokeh'")
    except ProtocolError:
        record.exc_info = sys.exc_info()
    apps._BareWebsocketFilter().filter(record)
    assert record.exc_info is None and record.levelno == logging.WARNING
    assert record.getMessage() == "refused a websocket request: Subprotocol header is not 'bokeh'"
