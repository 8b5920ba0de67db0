"""Session: worker thread, controls, live changes, bounded queue, divergence, shutdown."""

import threading
import time

import numpy as np
import pytest

from snnlab import Session, learners
from toy_tasks import toy_classification


def wait_for(condition, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.01)
    return False


@pytest.fixture
def session():
    s = Session(learners.make("readout", lr=2.0, seed=0), toy_classification(), max_snapshots=8)
    yield s
    s.stop()


def test_play_runs_in_worker_and_pause_stops_steps(session):
    session.play()
    assert wait_for(lambda: session.steps_done > 20)
    assert session.thread is not threading.current_thread()
    session.pause()
    done = session.steps_done
    time.sleep(0.2)
    assert session.steps_done == done
    assert session.state == "paused"


def test_slow_reader_loses_frames_not_steps(session):
    session.play()
    assert wait_for(lambda: session.steps_done > 100)
    session.pause()
    frames = session.drain()
    assert len(frames) == 8  # bounded: only the newest survive
    assert frames[-1].step == session.learner.step_ == session.steps_done
    assert [f.step for f in frames] == list(range(frames[0].step, frames[-1].step + 1))
    assert session.snapshots_dropped >= session.steps_done - 8


def test_live_change_applies_at_next_step(session):
    session.play()
    assert wait_for(lambda: session.steps_done > 5)
    session.set_params(lr=0.01)
    assert wait_for(lambda: session.learner.lr == 0.01)
    session.pause()


def test_bad_live_change_is_refused_and_changes_nothing(session):
    with pytest.raises(ValueError, match="lr"):
        session.set_params(lr=float("nan"))
    with pytest.raises(ValueError, match="no parameter"):
        session.set_params(learning_rate=0.1)
    assert session.learner.lr == 2.0


def test_reset_restores_initial_weights_and_new_seed_changes_them(session):
    initial = session.learner.W_.copy()
    for _ in range(3):
        session.step()
    assert not np.array_equal(initial, session.learner.W_)
    session.reset()
    assert np.array_equal(initial, session.learner.W_)
    assert session.learner.step_ == 0
    session.reset(seed=5)
    assert not np.array_equal(initial, session.learner.W_)


def test_rebuild_parameter_rebuilds_the_network(session):
    session.step()
    session.set_params(features="counts")
    assert session.learner.step_ == 0 and session.learner.features == "counts"


def test_diverging_run_pauses_keeps_last_good_state_and_says_why(session):
    session.step()
    good = session.learner.state_dict()
    # weights corrupted between steps: the next update overflows to NaN
    session.learner.W_ *= 1e300
    session.play()
    assert wait_for(lambda: session.state == "paused")
    assert "NaN or inf" in session.message and "learning rate" in session.message
    assert "state after step 1" in session.message
    assert all(np.array_equal(good[k], v) for k, v in session.learner.state_dict().items())
    assert session.learner.is_finite()


def test_stop_ends_the_thread(session):
    session.play()
    assert wait_for(lambda: session.steps_done > 0)
    thread = session.thread
    session.stop()
    assert not thread.is_alive()
    with pytest.raises(RuntimeError, match="stopped"):
        session.play()


def test_no_thread_outlives_stop_across_many_sessions():
    before = threading.active_count()
    for _ in range(5):
        with Session(learners.make("readout"), toy_classification()) as s:
            s.play()
            wait_for(lambda: s.steps_done > 0)
    assert threading.active_count() == before


def test_paused_state_means_no_step_is_in_flight(session):
    for _ in range(5):
        session.play()
        assert wait_for(lambda: session.steps_done > 0)
        session.pause()
        assert session.state == "paused"
        done = session.steps_done
        time.sleep(0.05)
        assert session.steps_done == done
