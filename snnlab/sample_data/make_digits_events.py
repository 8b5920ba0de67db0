"""Make the ``digits-events`` sample set: scikit-learn's 8x8 digits seen by a simulated event camera.

N-MNIST (Orchard et al. 2015) was recorded by pointing an event camera (ATIS) at MNIST digits on
a monitor and moving the camera through three saccades that trace a triangle. This script does
the same in simulation, for the 8x8 digits that ship with scikit-learn (no download):

1. Image: the 8x8 digit (0..16) is scaled to [0, 1], upscaled to 22x22 (bilinear; about the
   box a digit fills in a 28x28 MNIST image), blurred a
   little (optics) and centred in a 34x34 sensor, as in N-MNIST.
2. Motion: the image moves relative to the sensor along a triangle of three saccades, 100 ms
   each (300 ms in all), with a smooth (raised-cosine) velocity profile per saccade and a small
   random start offset per recording.
3. Sensor: each pixel sees the log intensity ``L = log(b + (1 - b) I)`` (``b`` = screen
   background) sampled every 0.25 ms. A pixel fires an ON event each time ``L`` rises by its
   contrast threshold ``C_on`` above its reference level and an OFF event each time it falls by
   ``C_off`` below, moving the reference by one threshold per event (the DVS/ATIS change
   detector). Thresholds vary from pixel to pixel (fixed mismatch of the simulated sensor);
   crossing times are interpolated within the step and jittered; background-activity noise
   events arrive as a Poisson process per pixel.
4. Files: each recording is written in the N-MNIST 40-bit binary format by
   ``snnlab.data.events.write_events`` to ``<out>/<split>/<label>/<id>.bin``, where ``id`` is the
   row of the image in ``sklearn.datasets.load_digits()``; ``labels.csv`` lists them all.

``--per-class`` images per digit are drawn at random (seeded), and a stratified 80/20 split makes
train and test. Everything is seeded: the same command writes byte-identical files.

Regenerate the shipped set from the repository root::

    python snnlab/sample_data/make_digits_events.py
"""

from __future__ import annotations

import argparse
import csv
import shutil
from pathlib import Path

import numpy as np
from scipy import ndimage
from sklearn.datasets import load_digits

from snnlab.data.events import count_image, make_events, write_events

SENSOR = 34  # pixels per side, as N-MNIST
IMAGE = 22  # upscaled digit size: about the box a digit fills in a 28x28 MNIST image
DURATION_US = 300_000
STEP_US = 250  # simulation step
SACCADE_US = 100_000
# Triangle traced by the image relative to the sensor, (dx, dy) in pixels; it closes on itself.
TRIANGLE = np.array([[-2.0, 1.5], [0.0, -2.0], [2.0, 1.5], [-2.0, 1.5]])
BACKGROUND = 0.03  # screen intensity where the digit is dark, relative to full white
THRESHOLD = 0.5  # mean contrast threshold (log-intensity units)
THRESHOLD_SPREAD = 0.03  # pixel-to-pixel standard deviation of the thresholds
NOISE_HZ = 0.2  # background-activity events per pixel per second
JITTER_US = 200  # timestamps move by up to this much either way


def digit_image(pixels_8x8: np.ndarray) -> np.ndarray:
    """The 8x8 digit (values 0..16) as a blurred IMAGE x IMAGE intensity image in [0, 1]."""
    image = ndimage.zoom(pixels_8x8.astype(np.float64) / 16.0, IMAGE / 8, order=1)
    return np.clip(ndimage.gaussian_filter(image, sigma=0.6), 0.0, 1.0)


def saccade_offsets(times_us: np.ndarray) -> np.ndarray:
    """``(n, 2)`` image offsets (dx, dy) in pixels at ``times_us``: three smooth saccades."""
    segment = np.minimum(times_us // SACCADE_US, len(TRIANGLE) - 2).astype(int)
    phase = (times_us - segment * SACCADE_US) / SACCADE_US
    progress = (1.0 - np.cos(np.pi * np.clip(phase, 0.0, 1.0)))[:, None] / 2.0
    start, end = TRIANGLE[segment], TRIANGLE[segment + 1]
    return start + (end - start) * progress


def log_intensity(image: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """``(n_steps, SENSOR, SENSOR)`` log intensity seen by each pixel while the image moves."""
    rows, cols = np.mgrid[0:SENSOR, 0:SENSOR].astype(np.float64)
    margin = (SENSOR - IMAGE) / 2
    r = rows[None] - margin - offsets[:, 1, None, None]
    c = cols[None] - margin - offsets[:, 0, None, None]
    seen = ndimage.map_coordinates(image, [r, c], order=1, mode="constant", cval=0.0)
    return np.log(BACKGROUND + (1.0 - BACKGROUND) * seen)


def change_events(
    level: np.ndarray, c_on: np.ndarray, c_off: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Events of a change-detecting sensor watching ``level`` ``(n_steps, H, W)``.

    A pixel's reference starts near its first level (a random fraction of a threshold away) and
    moves by one threshold per event; the k-th crossing in a step is placed by linear
    interpolation between the step's two levels. Returns flat pixel indices, times (µs, float)
    and polarities (1 = ON) of the events, in step order.
    """
    flat = level.reshape(len(level), -1)
    n_pixels = flat.shape[1]
    c_on, c_off = c_on.ravel(), c_off.ravel()
    reference = flat[0] + rng.uniform(-0.5, 0.5, n_pixels) * c_on
    pixel_ids, times, polarities = [], [], []
    for step in range(1, len(flat)):
        before, now = flat[step - 1], flat[step]
        diff = now - reference
        n_on = np.floor(np.maximum(diff, 0.0) / c_on).astype(np.int64)
        n_off = np.floor(np.maximum(-diff, 0.0) / c_off).astype(np.int64)
        for count, threshold, sign, polarity in ((n_on, c_on, 1.0, 1), (n_off, c_off, -1.0, 0)):
            firing = np.flatnonzero(count)
            if not len(firing):
                continue
            n = count[firing]
            pixel = np.repeat(firing, n)
            k = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n) + 1  # 1..n per pixel
            crossing = reference[pixel] + sign * k * threshold[pixel]
            change = now[pixel] - before[pixel]
            safe = np.where(change == 0.0, 1.0, change)
            fraction = np.clip((crossing - before[pixel]) / safe, 0.0, 1.0)
            pixel_ids.append(pixel)
            times.append((step - 1 + fraction) * STEP_US)
            polarities.append(np.full(len(pixel), polarity))
            reference[firing] += sign * n * threshold[firing]
    pixel = np.concatenate(pixel_ids) if pixel_ids else np.zeros(0, np.int64)
    t = np.concatenate(times) if times else np.zeros(0)
    p = np.concatenate(polarities) if polarities else np.zeros(0, np.int64)
    return pixel, t, p


def record_digit(
    pixels_8x8: np.ndarray, c_on: np.ndarray, c_off: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """One simulated recording (``snnlab.data.events.EVENT_DTYPE``) of an 8x8 digit."""
    times = np.arange(0, DURATION_US + 1, STEP_US, dtype=np.float64)
    offsets = saccade_offsets(times) + rng.uniform(-0.5, 0.5, 2)
    pixel, t, p = change_events(log_intensity(digit_image(pixels_8x8), offsets), c_on, c_off, rng)
    n_noise = rng.poisson(NOISE_HZ * SENSOR * SENSOR * DURATION_US * 1e-6)
    pixel = np.concatenate([pixel, rng.integers(0, SENSOR * SENSOR, n_noise)])
    t = np.concatenate([t, rng.uniform(0, DURATION_US, n_noise)])
    p = np.concatenate([p, rng.integers(0, 2, n_noise)])
    t = np.clip(np.round(t + rng.uniform(-JITTER_US, JITTER_US, len(t))), 0, DURATION_US - 1)
    order = np.argsort(t, kind="stable")
    pixel, t, p = pixel[order], t[order].astype(np.int64), p[order]
    return make_events(pixel % SENSOR, pixel // SENSOR, t, p)


def stratified_choice(
    labels: np.ndarray, per_class: int, test_fraction: float, rng: np.random.Generator
):
    """``(train_rows, test_rows)``: ``per_class`` random rows per label, split per label."""
    n_test = round(per_class * test_fraction)
    train, test = [], []
    for label in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == label))[:per_class]
        test.extend(rows[:n_test])
        train.extend(rows[n_test:])
    return np.sort(train), np.sort(test)


def save_preview(path: Path, recordings: list[tuple[int, np.ndarray]]) -> None:
    """A PNG of event-count images, one tile per (label, events) pair (needs matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(recordings), figsize=(1.6 * len(recordings), 1.9))
    for ax, (label, events) in zip(np.atleast_1d(axes), recordings):
        ax.imshow(count_image(events).sum(axis=0), cmap="gray")
        ax.set_title(f"{label}: {len(events)}", fontsize=8)
        ax.axis("off")
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent / "digits-events"
    )
    parser.add_argument("--per-class", type=int, default=50, help="recordings per digit")
    parser.add_argument("--test-fraction", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=2015)
    parser.add_argument("--preview", type=Path, help="also save a PNG of a few count images")
    args = parser.parse_args(argv)

    digits = load_digits()
    rng = np.random.default_rng(args.seed)
    train, test = stratified_choice(digits.target, args.per_class, args.test_fraction, rng)
    shape = (SENSOR, SENSOR)
    c_on = np.maximum(rng.normal(THRESHOLD, THRESHOLD_SPREAD, shape), 0.5 * THRESHOLD)
    c_off = np.maximum(rng.normal(THRESHOLD, THRESHOLD_SPREAD, shape), 0.5 * THRESHOLD)

    if args.out.exists():
        shutil.rmtree(args.out)
    rows, counts, preview = [], [], {}
    for split, chosen in (("train", train), ("test", test)):
        for row in chosen:
            label = int(digits.target[row])
            events = record_digit(
                digits.images[row], c_on, c_off, np.random.default_rng([args.seed, int(row)])
            )
            relative = f"{split}/{label}/{row}.bin"
            write_events(args.out / relative, events)
            rows.append((split, int(row), label, relative))
            counts.append(len(events))
            preview.setdefault(label, events)
    with open(args.out / "labels.csv", "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["split", "id", "label", "path"])
        writer.writerows(rows)
    if args.preview:
        save_preview(args.preview, sorted(preview.items()))
    counts = np.array(counts)
    size = sum(f.stat().st_size for f in args.out.rglob("*") if f.is_file())
    print(
        f"wrote {len(train)} train + {len(test)} test recordings to {args.out} "
        f"({size / 1e6:.2f} MB); events per recording: min {counts.min()}, "
        f"median {int(np.median(counts))}, mean {counts.mean():.0f}, max {counts.max()}"
    )


if __name__ == "__main__":
    main()
