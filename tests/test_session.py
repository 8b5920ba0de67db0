"""Session: worker thread, controls, live changes, bounded queue, divergence, shutdown."""

import threading
import time

import numpy as np
import pytest
from toy_tasks import toy_classification

from snnlab import Session, learners, warmup


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


def test_slow_reader_loses_old_rows_not_steps(session):
    session.play()
    assert wait_for(lambda: session.steps_done > 100)
    session.pause()
    frames = session.drain()
    assert len(frames) == 9  # bounded: the newest 8, and the dropped one that carries arrays
    assert frames[0].arrays and not any(f.arrays for f in frames[1:])
    frames = frames[1:]
    assert frames[-1].step == session.learner.step_ == session.steps_done
    assert [f.step for f in frames] == list(range(frames[0].step, frames[-1].step + 1))
    assert session.snapshots_dropped == session.steps_done - 8


def test_arrays_come_once_per_drain_and_scalars_with_every_step():
    session = Session(learners.make("readout", lr=2.0, seed=0), toy_classification())
    for _ in range(5):
        session.step()  # a manual step always carries arrays
    assert all(f.arrays for f in session.drain())
    session.play()
    assert wait_for(lambda: session.steps_done > 30)
    session.pause()
    frames = session.drain()
    with_arrays = [f for f in frames if f.arrays]
    assert len(with_arrays) == 1 and with_arrays[0] is frames[0]
    assert set(with_arrays[0].arrays) == set(session.learner.snapshot_arrays)
    assert all("loss" in f.scalars for f in frames)
    done = session.steps_done
    session.play()
    assert wait_for(lambda: session.steps_done > done + 30)
    session.pause()
    again = session.drain()
    assert again[0].step == frames[-1].step + 1 and again[0].arrays  # wanted again after drain
    session.stop()


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
    # weights corrupted between steps: the next update spreads the NaN
    session.learner.W_[0, 0] = np.nan
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


def test_evaluations_run_beside_the_steps_and_equal_a_headless_run():
    from snnlab.runner import Runner

    learner = learners.make("readout", lr=0.5, seed=3)
    task = toy_classification()
    with Session(learner, task, eval_every=4, eval_samples=16) as s:
        for _ in range(12):
            s.step()
        assert s.evaluator.wait_idle(10)
        live = [e.row() for e in s.runner.history]
    headless = Runner(learners.make("readout", lr=0.5, seed=3), task, eval_every=4,
                      eval_samples=16)
    for _ in range(12):
        headless.advance()
    assert live == [e.row() for e in headless.history]
    assert [r["step"] for r in live] == [4, 8, 12]


def test_a_slow_evaluation_does_not_stop_the_steps(monkeypatch):
    learner = learners.make("readout", seed=0)
    task = toy_classification()
    warmup.warm_up(learner, task)  # compiled first: a cold cache would stall the steps timed
    evaluate = type(learner).evaluate
    started = threading.Event()
    evaluated_steps = []

    def slow(self, split="test", max_samples=None):
        evaluated_steps.append(self.step_)  # the twin holds the state of the step evaluated
        started.set()
        time.sleep(1.5)  # each of the train and the test evaluation
        return evaluate(self, split, max_samples)

    monkeypatch.setattr(type(learner), "evaluate", slow)
    with Session(learner, task, eval_every=10) as s:
        s.play()
        assert started.wait(10)
        # the run goes past the step being evaluated while the evaluation still sleeps (up to
        # the evaluator's backlog, so counted from that step, not from when it began)
        assert wait_for(lambda: s.steps_done >= evaluated_steps[0] + 5, timeout=1.4)
        assert not s.evaluations
        assert wait_for(lambda: len(s.evaluations) >= 1, timeout=10)


def test_an_exception_in_a_step_pauses_keeps_the_state_and_says_why(monkeypatch, session):
    session.step()
    good = session.learner.state_dict()

    def broken(self, batch):
        self.W_[:] = 7.0  # half-done update, then a bug
        raise MemoryError("no room")

    monkeypatch.setattr(type(session.learner), "_update", broken)
    session.play()
    assert wait_for(lambda: session.state == "paused")
    assert "MemoryError" in session.message and "no room" in session.message
    assert all(np.array_equal(good[k], v) for k, v in session.learner.state_dict().items())
    assert session.thread.is_alive()  # the worker waits for the next Play


def test_memory_holds_recent_evaluations_and_the_record_keeps_all(monkeypatch):
    import snnlab.session as session_module

    monkeypatch.setattr(session_module, "HISTORY_ROWS", 3)
    with Session(learners.make("readout", seed=0), toy_classification(), eval_every=1,
                 eval_samples=8) as s:
        for _ in range(10):
            s.step()
        record = s.record()
        assert len(s.evaluations) == 3 and len(s.runner.history.recent()) == 3
    assert [row["step"] for row in record.metrics] == list(range(1, 11))
