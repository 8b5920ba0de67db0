"""Compare and NeuronDemo driven without a server: frames stream data into sources built once."""

import numpy as np
import panel as pn
import pytest
from toy_tasks import TOY_TASKS

from snnlab.data.registry import TASK_KINDS
from snnlab.demos.neuron import NeuronDemoModel
from snnlab.ui import compare as compare_module
from snnlab.ui.compare import Compare
from snnlab.ui.lab import Lab
from snnlab.ui.neuron_demo import NeuronDemo, input_points
from snnlab.ui.views.raster import MAX_POINTS


@pytest.fixture
def toy_tasks(monkeypatch):
    """Every task name loads a small in-memory task of its kind."""
    monkeypatch.setattr(compare_module, "load_task",
                        lambda name, **options: TOY_TASKS[TASK_KINDS[name]]())


@pytest.fixture
def compare(toy_tasks):
    app = Compare(chosen=["readout", "gem"], task="digits-events", batch_size=8)
    yield app
    app.close()


def count_models(root) -> int:
    return len(list(root.references()))


def test_compare_streams_rows_per_learner_and_keeps_its_models(compare):
    root = pn.Row(compare._controls(), compare.main).get_root()
    before = count_models(root)
    assert set(compare.loss_sources) == {"readout", "gem"}
    assert all(set(s.data) == {"step", "loss"} for s in compare.loss_sources.values())
    compare.step()
    compare.step()
    for name in ("readout", "gem"):
        assert compare.loss_sources[name].data["step"].tolist() == [1.0, 2.0]
        assert len(compare.raster_sources[name].data["time"]) > 0
    for _ in range(60):
        for session in compare.sessions.values():
            session.step()
        compare.draw_frame()
    for session in compare.sessions.values():
        assert session.evaluator.wait_idle(30)  # evaluations come from a background thread
    compare.speed.shown_at = 0.0  # the readout changes at most twice a second
    compare.draw_frame()
    assert count_models(root) == before
    for name, session in compare.sessions.items():
        assert len(compare.loss_sources[name].data["step"]) == 62
        evaluated = [e.step for e in session.evaluations_after(0)]
        assert evaluated and compare.metric_sources[name].data["step"].tolist() == evaluated
    assert "readout: step 62" in compare.speed.text
    compare.reset()
    assert all(len(s.data["step"]) == 0 for s in compare.loss_sources.values())


def test_compare_learners_follow_a_task_switch_through_the_widgets(compare):
    controls = compare._controls()
    task = next(w for w in controls if isinstance(w, pn.widgets.Select))
    learners = next(w for w in controls if isinstance(w, pn.widgets.MultiChoice))
    assert learners.value == ["readout", "gem"] and "normad" not in learners.options
    task.value = "spike-pattern"  # readout cannot: dropped, and the pair completed
    assert list(learners.options) == ["gem", "normad"]
    assert learners.value == ["gem", "normad"] == compare.chosen
    assert set(compare.sessions) == {"gem", "normad"}
    first = compare.sessions["gem"]
    task.value = "spike-xor"  # both still fit: kept, sessions rebuilt once for the new task
    assert learners.value == ["gem", "normad"]
    assert compare.sessions["gem"] is not first and first.state == "stopped"
    learners.value = ["gem"]  # too few: a notice, no sessions
    assert compare.notice.visible and not compare.sessions


def test_compare_frames_per_second_follow_the_lab():
    assert Compare.param["fps"].default == Lab.param["fps"].default


def test_neuron_demo_redraw_replaces_data_and_keeps_its_models():
    demo = NeuronDemo(NeuronDemoModel(duration=0.2))
    root = demo.__panel__().get_root()
    before = count_models(root)
    assert len(demo.potentials.data["time"]) == 200 and demo.redraws == 1
    first = demo.inputs.data["time"].copy()
    for _ in range(30):
        demo._tick()  # what the running animation does
    assert demo.redraws == 31 and count_models(root) == before
    assert not np.array_equal(first, demo.inputs.data["time"])
    demo.model.threshold = 2.0  # a slider: redrawn at once
    assert demo.threshold.location == 2.0 and demo.redraws == 32
    demo.model.duration = 5.0  # long runs are decimated
    assert len(demo.potentials.data["time"]) == 2500
    assert len(demo.lif_spikes.data["time"]) == demo.lif_spikes.data["row"].size
    assert count_models(root) == before
    assert demo.fps == 20


def test_input_points_keep_the_first_inputs_that_fit():
    raster = np.ones((10, 30), np.uint8)
    points = input_points(raster, np.arange(10.0), max_points=95)
    assert len(points["time"]) == 90  # nine whole inputs
    assert points["row"].max() == pytest.approx(2.0 + 8 * 2.0 / 30)  # 30 inputs fill 2 rows
    assert len(input_points(np.ones((5000, 500), np.uint8), np.arange(5000.0))["time"]) <= MAX_POINTS
