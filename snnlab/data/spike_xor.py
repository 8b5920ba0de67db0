"""XOR coded in spike times (the SpikeProp setup of Bohte, Kok & La Poutré 2002).

Each input bit is one spike: bit 0 fires ``early`` (0 ms), bit 1 fires ``late`` (6 ms). A
reference input fires at ``reference_time`` (0 ms) in every pattern, so the network can tell
"both early" from "both late". The desired output is one spike whose time codes the answer:
``target_true`` (10 ms, early) when XOR is 1 and ``target_false`` (16 ms, late) when it is 0.

=========  ===========  ============  =============
 bits       A spike      B spike      output spike
=========  ===========  ============  =============
 0, 0       0 ms         0 ms          16 ms
 0, 1       0 ms         6 ms          10 ms
 1, 0       6 ms         0 ms          10 ms
 1, 1       6 ms         6 ms          16 ms
=========  ===========  ============  =============

Time runs in bins of ``dt`` (0.1 ms by default, small enough for the NormAD neuron's 1.25 ms
synaptic rise) over ``duration`` seconds. With ``n_per_bit > 1`` each bit drives a small
population: copy ``j`` fires ``j * population_delay`` after the coded time, giving the output a
spread of input delays to combine. Inputs are ordered ``[reference, A copies..., B copies...]``.
The training and test splits hold the same four patterns; a prediction is read by comparing the
output's first spike time with ``target_true`` and ``target_false`` (kept in ``Task.options``).
"""

from __future__ import annotations

import numpy as np

from snnlab.data.task import Split, Task

PATTERNS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])


def load_spike_xor(
    *,
    early: float = 0.0,
    late: float = 6e-3,
    reference_time: float = 0.0,
    target_true: float = 10e-3,
    target_false: float = 16e-3,
    duration: float = 30e-3,
    dt: float = 1e-4,
    n_per_bit: int = 1,
    population_delay: float = 1e-3,
) -> Task:
    """The four XOR patterns as a spike-train task (times in seconds; see the module docstring).

    Raises ``ValueError`` when a spike falls outside ``[0, duration)``, when the two codes of a
    bit or of the output share a time bin, or when ``dt``/``n_per_bit`` are not positive.
    """
    if not dt > 0 or not duration > dt:
        raise ValueError(f"need 0 < dt < duration, got dt={dt!r}, duration={duration!r}")
    if not isinstance(n_per_bit, (int, np.integer)) or n_per_bit < 1:
        raise ValueError(f"n_per_bit must be a positive integer, got {n_per_bit!r}")
    if population_delay < 0:
        raise ValueError(f"population_delay must be >= 0 seconds, got {population_delay!r}")
    n_steps = round(duration / dt)

    def to_bin(name, t):
        b = round(t / dt)
        if not 0 <= b < n_steps:
            raise ValueError(f"{name} = {t} s lies outside the [0, {duration}) s window")
        return b

    spread = (n_per_bit - 1) * population_delay
    code = {0: to_bin("early", early), 1: to_bin("late", late)}
    to_bin("late spike of the last population copy", max(early, late) + spread)
    target = {1: to_bin("target_true", target_true), 0: to_bin("target_false", target_false)}
    if code[0] == code[1]:
        raise ValueError(f"early ({early} s) and late ({late} s) fall in the same {dt} s bin")
    if target[0] == target[1]:
        raise ValueError(
            f"target_true ({target_true} s) and target_false ({target_false} s) fall in the "
            f"same {dt} s bin"
        )
    delays = np.rint(np.arange(n_per_bit) * population_delay / dt).astype(np.int64)
    n_inputs = 1 + 2 * n_per_bit
    x = np.zeros((len(PATTERNS), n_steps, n_inputs), dtype=np.uint8)
    y = np.zeros((len(PATTERNS), n_steps, 1), dtype=np.uint8)
    x[:, to_bin("reference_time", reference_time), 0] = 1
    for k, (a, b) in enumerate(PATTERNS):
        x[k, code[a] + delays, 1 + np.arange(n_per_bit)] = 1
        x[k, code[b] + delays, 1 + n_per_bit + np.arange(n_per_bit)] = 1
        y[k, target[a ^ b], 0] = 1
    options = {
        "early": early,
        "late": late,
        "reference_time": reference_time,
        "target_true": target_true,
        "target_false": target_false,
        "duration": duration,
        "dt": dt,
        "n_per_bit": int(n_per_bit),
        "population_delay": population_delay,
    }
    split = Split(x=x, y=y)
    return Task(
        name="spike-xor",
        kind="spike-train",
        train=split,
        test=Split(x=x.copy(), y=y.copy()),
        n_inputs=n_inputs,
        n_outputs=1,
        n_steps=n_steps,
        dt=dt,
        options=options,
    )
