"""NormAD learner: update directions reduce the spike-train distance, convergence bookkeeping."""

import numpy as np
import pytest
from toy_tasks import toy_spike_train

from snnlab import learners
from snnlab.data import load_task
from snnlab.learners.normad.learner import forward, normad_updates, spike_trains_match
from snnlab.neurons.physical_lif import PhysicalLIFParameters
from snnlab.runner import Runner
from snnlab.spike_trains import van_rossum_distance

NEURON = PhysicalLIFParameters()


def small_problem(seed):
    """30 inputs (100 Hz, 50 ms) -> 15 hidden -> 1 output with two desired spikes."""
    rng = np.random.default_rng(seed)
    x = (rng.random((500, 1, 30)) < 0.01).astype(np.uint8)
    layers = [
        (rng.normal(1.0, 2.0, (30, 15)) * 3000).astype(np.float32),
        (rng.normal(1.0, 0.5, (15, 1)) * 1000).astype(np.float32),
    ]
    y = np.zeros((500, 1, 1), np.uint8)
    y[rng.choice(np.arange(100, 480), 2, replace=False), 0, 0] = 1
    return x, y, layers


def distance_changes(layer, n_problems=30, lr=1000.0):
    """Sign of the van Rossum change after updating only ``layer``, for the update and its
    negation: (decreases, increases, negated decreases, negated increases)."""
    counts = np.zeros(4, int)
    for seed in range(n_problems):
        x, y, layers = small_problem(seed)
        runs = forward(x, layers, NEURON)
        before = van_rossum_distance(y, runs[-1].spikes, dt_ms=NEURON.dt)[0]
        changes, _ = normad_updates(
            x,
            y,
            layers,
            runs,
            NEURON,
            lr=lr,
            hidden_lr_scale=1.0,
            tau_approx=1.0,
            backprop_window=40.0,
        )
        for k, sign in enumerate((1.0, -1.0)):
            moved = [w.copy() for w in layers]
            moved[layer] += sign * changes[layer]
            after = van_rossum_distance(y, forward(x, moved, NEURON)[-1].spikes, dt_ms=NEURON.dt)[0]
            counts[2 * k] += after < before
            counts[2 * k + 1] += after > before
    return counts


@pytest.mark.parametrize("layer", [1, 0], ids=["output layer", "hidden layer"])
def test_update_reduces_van_rossum_distance_more_often_than_not(layer):
    decreases, increases, negated_decreases, negated_increases = distance_changes(layer)
    assert decreases > 2 * increases
    # the direction matters: the opposite step makes things worse more often than not
    assert negated_increases > negated_decreases
    assert decreases > negated_decreases


def test_spike_trains_match_needs_one_to_one_spikes_within_tolerance():
    desired = np.zeros((100, 2, 1), np.uint8)
    desired[[20, 60], :, 0] = 1
    observed = desired.copy()
    observed[61, 0, 0], observed[60, 0, 0] = 1, 0  # one step late: within 1.5 steps
    observed[40, 1, 0] = 1  # an extra spike
    assert spike_trains_match(desired, observed, 1.5).tolist() == [True, False]
    assert spike_trains_match(desired, observed, 0.5).tolist() == [False, False]


def test_convergence_is_reported_and_training_can_stop_on_it():
    task = toy_spike_train()
    learner = learners.make("normad", lr=1000.0, seed=0)
    runner = Runner(learner, task, eval_every=0)
    report = learner.evaluate("train")
    assert report["converged"] == 0.0 and report["epochs_to_converge"] == -1.0
    assert not learner.converged_
    for epoch in range(1, 101):
        runner.advance()
        report = learner.evaluate("train")
        if learner.converged_:
            break
    assert learner.converged_, "the one-pattern toy task should converge within 100 epochs"
    assert report["converged"] == 1.0 and report["epochs_to_converge"] == epoch
    assert report["correlation"] > 0.9
    # the first convergence epoch is kept (state) even after more training
    runner.advance()
    assert learner.evaluate("train")["epochs_to_converge"] == epoch


def test_resume_changes_only_the_output_layer_and_hidden_layers_can_be_stacked():
    task = toy_spike_train(n_outputs=2)
    learner = learners.make("normad", rule="resume", hidden=(6, 4), seed=1).setup(task)
    before = {k: w.copy() for k, w in learner.weights().items()}
    assert {k: w.shape for k, w in before.items()} == {
        "hidden1": (20, 6),
        "hidden2": (6, 4),
        "output": (4, 2),
    }
    for _ in range(3):
        snap = learner.step(task.batch([0]))
    after = learner.weights()
    assert np.array_equal(before["hidden1"], after["hidden1"])
    assert np.array_equal(before["hidden2"], after["hidden2"])
    assert not np.array_equal(before["output"], after["output"])
    assert snap.arrays["raster_hidden"].shape == (task.n_steps, 10)
    assert snap.arrays["error_output"].shape == (task.n_steps, 2)


def test_normad_with_two_hidden_layers_updates_every_layer():
    task = load_task("spike-pattern", n_inputs=30, duration=0.1, output_rate=20.0, seed=2)
    learner = learners.make("normad", hidden=(12, 8), lr=300.0, seed=2).setup(task)
    before = {k: w.copy() for k, w in learner.weights().items()}
    for _ in range(5):
        learner.step(task.batch([0]))
    after = learner.weights()
    assert all(not np.array_equal(before[k], after[k]) for k in before)


def test_inconsistent_neuron_parameters_are_refused_with_a_clear_message():
    learner = learners.make("normad", tau1=1.0, tau2=2.0)
    with pytest.raises(ValueError, match="tau2"):
        learner.setup(toy_spike_train())
