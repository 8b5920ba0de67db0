"""The contract every registered learner keeps (snnlab/docs/architecture.md, "Public API")."""

import math

import numpy as np
import param
import pytest
from toy_tasks import TOY_TASKS

from snnlab import learners
from snnlab.data.task import Task
from snnlab.runner import Runner

NAMES = learners.learner_names()


def make(name, **extra):
    # quick_settings: what makes it learn its toy task within a few dozen steps
    return learners.make(name, **{**learners.learner_spec(name).quick_settings, **extra})


def toy_task(name) -> Task:
    return TOY_TASKS[learners.learner_class(name).task_kinds[0]]()


def run_steps(learner, task, n, seed_offset=0):
    runner = Runner(learner, task, eval_every=0)
    return [runner.advance() for _ in range(n)]


def states_equal(a, b):
    return set(a) == set(b) and all(np.array_equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_run(name):
    task = toy_task(name)
    runs = [run_steps(make(name, seed=3), task, 5) for _ in range(2)]
    for a, b in zip(*runs):
        assert a.scalars == b.scalars
    other = run_steps(make(name, seed=4), task, 5)
    assert any(a.scalars != b.scalars for a, b in zip(runs[0], other))


@pytest.mark.parametrize("name", NAMES)
def test_reset_restores_initial_weights(name):
    task = toy_task(name)
    learner = make(name, seed=7).setup(task)
    initial = learner.state_dict()
    run_steps(learner, task, 3)
    assert not states_equal(initial, learner.state_dict())
    learner.reset()
    assert states_equal(initial, learner.state_dict())


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_round_trip_continues_identically(name):
    task = toy_task(name)
    a = make(name, seed=1).setup(task)
    run_steps(a, task, 2)
    saved = a.state_dict()
    b = make(name, seed=1).setup(task)
    b.load_state_dict(saved)
    assert states_equal(saved, b.state_dict())
    batch = task.batch(np.arange(min(4, len(task.train))))
    assert a.step(batch).scalars == b.step(batch).scalars
    assert states_equal(a.state_dict(), b.state_dict())


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_refuses_wrong_shapes(name):
    task = toy_task(name)
    learner = make(name).setup(task)
    state = learner.state_dict()
    key = next(k for k in learner.state_names if np.ndim(state[k]) > 0)
    state[key] = np.zeros(np.shape(state[key]) + (2,))
    with pytest.raises(ValueError, match=key):
        learner.load_state_dict(state)


@pytest.mark.parametrize("name", NAMES)
def test_loss_falls_on_toy_task(name):
    task = toy_task(name)
    snaps = run_steps(make(name, seed=0), task, 40)
    losses = [s.scalars["loss"] for s in snaps]
    assert np.mean(losses[-5:]) < 0.8 * np.mean(losses[:5])


@pytest.mark.parametrize("name", NAMES)
def test_snapshot_carries_declared_fields(name):
    task = toy_task(name)
    learner = make(name).setup(task)
    snap = learner.step(task.batch(np.arange(min(4, len(task.train)))))
    assert set(snap.scalars) == set(learner.snapshot_scalars)
    assert set(snap.arrays) == set(learner.snapshot_arrays)
    assert snap.step == 1
    # snapshots are copies: learning on does not change them
    before = {k: v.copy() for k, v in snap.arrays.items()}
    run_steps(learner, task, 2)
    assert all(np.array_equal(before[k], snap.arrays[k]) for k in before)


@pytest.mark.parametrize("name", NAMES)
def test_bad_hyperparameters_refused_with_clear_message(name):
    cls = learners.learner_class(name)
    numbers = [
        (k, p) for k, p in cls.param.objects().items()
        if isinstance(p, param.Number) and p.bounds and p.bounds[1] is not None
    ]
    assert numbers, f"{name} declares no bounded numeric hyperparameter"
    key, declared = numbers[0]
    with pytest.raises(ValueError, match=key):
        learners.make(name, **{key: declared.bounds[1] + 1})
    for bad in (math.nan, math.inf):
        with pytest.raises(ValueError, match=key):
            learners.make(name, **{key: bad})
    with pytest.raises(ValueError, match="no parameter"):
        learners.make(name, not_a_parameter=1)
    learner = make(name)
    with pytest.raises(ValueError, match=key):
        learner.set_hyperparameters(**{key: math.nan})
    assert not math.isnan(getattr(learner, key))


@pytest.mark.parametrize("name", NAMES)
def test_weights_and_evaluation(name):
    task = toy_task(name)
    learner = make(name).setup(task)
    run_steps(learner, task, 3)
    weights = learner.weights()
    assert weights and all(np.isfinite(w).all() for w in weights.values())
    report = learner.evaluate("test")
    assert report and all(math.isfinite(v) for v in report.values())


def _full_state(learner) -> dict:
    """Every array and scalar the learner holds (learned attributes and private buffers), so an
    evaluation that touches anything at all shows up."""
    out = {}
    for key, value in vars(learner).items():
        if isinstance(value, np.ndarray):
            out[key] = value.copy()
        elif isinstance(value, (int, float, str, bool, tuple)) or value is None:
            out[key] = value
    return out


def _same(a, b) -> bool:
    if set(a) != set(b):
        return False
    for k in a:
        if isinstance(a[k], np.ndarray):
            if a[k].dtype != b[k].dtype or a[k].tobytes() != b[k].tobytes():
                return False
        elif a[k] != b[k]:
            return False
    return True


@pytest.mark.parametrize("name", NAMES)
def test_evaluate_leaves_the_learner_byte_identical(name):
    task = toy_task(name)
    learner = make(name, seed=2).setup(task)
    run_steps(learner, task, 3)
    before = _full_state(learner)
    learner.evaluate("test")
    learner.evaluate("train", max_samples=4)
    after = _full_state(learner)
    changed = [k for k in before if k not in after or not _same({k: before[k]}, {k: after[k]})]
    assert changed == []
    # and training goes on exactly as if nothing had been evaluated
    twin = make(name, seed=2).setup(task)
    run_steps(twin, task, 3)
    assert [s.scalars for s in run_steps(learner, task, 2)] == \
        [s.scalars for s in run_steps(twin, task, 2)]


def _stream_words(learner) -> set:
    """Every uint64 RNG stream word the learner holds after setup (Numba streams)."""
    words = set()
    for value in vars(learner).values():
        if isinstance(value, np.ndarray) and value.dtype == np.uint64:
            words.update(value.ravel().tolist())
    return words


@pytest.mark.parametrize("name", NAMES)
def test_neighbouring_seeds_share_no_stream(name):
    task = toy_task(name)
    a, b = (make(name, seed=s).setup(task) for s in (11, 12))
    assert not (_stream_words(a) & _stream_words(b))
    # initial weights differ as well (no shared draws)
    wa, wb = a.weights(), b.weights()
    assert all(not np.array_equal(wa[k], wb[k]) for k in wa if np.ptp(wa[k]) > 0)


def replay_task(name) -> tuple[str, dict]:
    """The task the learner starts on in the lab, cut to 40 training and 20 test samples."""
    from snnlab.data import task_options
    from snnlab.ui.url_state import starting_task

    task = starting_task(name)
    small = {"max_train": 40, "max_test": 20}
    return task, {k: v for k, v in small.items() if k in task_options(task)}


def _live_numbers(name) -> list[str]:
    """Real-valued hyperparameters a schedule may change (not rebuilds, not bookkeeping)."""
    cls = learners.learner_class(name)
    return [k for k, p in cls.param.objects().items()
            if type(p) is param.Number and k not in cls.rebuild_params
            and not k.endswith("_every") and p.bounds is not None][:3]


@pytest.mark.parametrize("name", NAMES)
def test_live_changes_at_one_step_and_at_many_replay_exactly(name):
    from snnlab.training import RunConfig, run

    task, options = replay_task(name)
    cls = learners.learner_class(name)
    keys = _live_numbers(name)
    assert len(keys) >= 2, keys

    def moved(key, fraction):
        low, high = cls.param[key].bounds
        value = getattr(cls, key)
        target = value * 0.5 if low is None or value * 0.5 >= low else (value + (high or value)) / 2
        return value + fraction * (target - value)

    schedule = [{"step": 2, "params": {keys[0]: moved(keys[0], 1.0)}},
                {"step": 2, "params": {keys[1]: moved(keys[1], 1.0)}},  # same step
                *({"step": s, "params": {keys[0]: moved(keys[0], 1.0 / s)}} for s in (3, 4, 5))]
    config = RunConfig(learner=name, task=task, task_options=options, steps=6, eval_every=3,
                       seed=5, schedule=schedule)
    record = run(config)
    assert record.config["hyperparameters"][keys[1]] == pytest.approx(moved(keys[1], 1.0))
    again = run(RunConfig.from_dict(record.config))
    assert set(record.state) == set(again.state)
    assert all(np.array_equal(record.state[k], again.state[k]) for k in record.state)
    assert record.metrics == again.metrics
