"""The frame clock: the server sends a frame only while the page is at most ``in_flight``
frames behind, and the lab makes up a skipped tick as soon as the page catches up."""

import time

import numpy as np
from bokeh.models import Div, LinearColorMapper

from snnlab.ui.frame_clock import FrameClock
from snnlab.ui.views.ep import rescale


def page_shows(clock: FrameClock, frame: int) -> None:
    # what the page's CustomJS writes back after painting frame ``frame``
    clock._shown_source.data = {"frame": [frame]}


def test_frames_flow_until_the_page_reports_then_wait_for_it():
    clock = FrameClock(in_flight=2, patience_s=60.0)
    for _ in range(5):  # no report yet (a static notebook output never reports): unthrottled
        assert clock.ready()
        clock.sent_frame()
    page_shows(clock, 3)  # two frames in flight
    assert not clock.ready() and clock.waiting and clock.skipped == 1
    assert not clock.ready() and clock.skipped == 1  # one wait counts once
    page_shows(clock, 4)
    assert clock.ready()
    clock.sent_frame()
    assert not clock.waiting and clock.sent == 6


def test_a_silent_page_gets_a_frame_every_patience_period():
    clock = FrameClock(in_flight=1, patience_s=0.05)
    clock.sent_frame()
    page_shows(clock, 1)
    clock.sent_frame()
    assert not clock.ready()
    time.sleep(0.06)
    assert clock.ready()


def test_the_clock_travels_with_a_model_of_the_page():
    clock, div = FrameClock(), Div()
    clock.attach(div)
    assert clock._sent_source in div.references() and clock._shown_source in div.references()


def test_the_lab_skips_ticks_while_the_page_is_behind_and_catches_up_on_its_report():
    from snnlab.ui.lab import Lab

    lab = Lab(learner="readout")
    lab.start_streaming = lambda: None
    lab._callback = object()  # as if served: a report may trigger a frame
    lab.session.step()
    lab.draw_frame()
    lab.session.step()
    lab.draw_frame()
    assert lab.clock.sent == 2
    page_shows(lab.clock, 1)  # the page painted frame 1 of 2 ...
    lab.clock.in_flight = 1
    lab.session.step()
    lab.draw_frame()  # ... so with one frame in flight allowed, this tick waits
    assert lab.clock.sent == 2 and lab.clock.waiting
    page_shows(lab.clock, 2)  # the report makes up the skipped tick at once
    assert lab.clock.sent == 3 and not lab.clock.waiting
    lab._callback = None
    lab.close()


def test_colour_range_moves_only_when_the_image_leaves_it_or_shrinks_to_under_half():
    mapper = LinearColorMapper(low=0.0, high=1.0)
    assert rescale(mapper, np.array([[0.0, 10.0]]))  # out of range: fit with a tenth of padding
    assert (mapper.low, mapper.high) == (-1.0, 11.0)
    assert not rescale(mapper, np.array([[0.5, 9.0]]))  # drifts inside: no change
    assert rescale(mapper, np.array([[2.0, 3.0]]))  # fills under half: fit again
    assert mapper.low < 2.0 < 3.0 < mapper.high
    assert rescale(mapper, np.array([[4.0, 4.0]])) and mapper.low < 4.0 < mapper.high  # flat
    assert not rescale(mapper, np.array([[np.nan]]))
