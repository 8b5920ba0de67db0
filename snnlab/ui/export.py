"""What the lab's export buttons hand out: the run record, the recorded arrays, the plots as PNG.

Each function returns an in-memory file for ``pn.widgets.FileDownload``. The run record is a
zip of the folder ``snnlab train`` writes (``config.json``, ``metrics.csv``, ``state.npz``), so
``snnlab replay`` accepts it once unzipped.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from snnlab.learners.snapshot import Snapshot
from snnlab.record import RunRecord, write_record


def record_zip(record: RunRecord) -> io.BytesIO:
    """The run record folder, zipped."""
    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory() as folder:
        write_record(folder, record)
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(Path(folder).iterdir()):
                archive.write(path, arcname=f"run/{path.name}")
    buffer.seek(0)
    return buffer


def arrays_npz(snapshot: Snapshot | None, record: RunRecord) -> io.BytesIO:
    """The newest snapshot's arrays and scalars, and the metric history as columns."""
    arrays = {}
    if snapshot is not None:
        arrays.update({f"snapshot/{k}": v for k, v in snapshot.arrays.items()})
        arrays.update({f"scalar/{k}": np.array(v) for k, v in snapshot.scalars.items()})
        arrays["snapshot/step"] = np.array(snapshot.step)
    columns = sorted({k for row in record.metrics for k in row})
    for column in columns:
        arrays[f"metrics/{column}"] = np.array(
            [row.get(column, np.nan) for row in record.metrics], dtype=np.float64
        )
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    buffer.seek(0)
    return buffer


def plots_png(snapshot: Snapshot | None, record: RunRecord, dt_ms: float = 1.0) -> io.BytesIO:
    """One PNG with the current views: raster, membrane, weight histogram, learning curves."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(11, 7))
    arrays = snapshot.arrays if snapshot is not None else {}
    raster = next((v for k, v in arrays.items() if k.startswith("raster_")), None)
    if raster is not None and raster.ndim == 2:
        t, n = np.nonzero(raster)
        axes[0, 0].scatter(t * dt_ms, n, s=2, marker="|", color="black")
    axes[0, 0].set(title="spike raster", xlabel="time (ms)", ylabel="neuron")
    membrane = next((v for k, v in arrays.items() if k.startswith("membrane_")), None)
    if membrane is not None:
        axes[0, 1].plot(np.arange(membrane.shape[0]) * dt_ms, membrane[:, :4])
    axes[0, 1].set(title="membrane potential", xlabel="time (ms)")
    weights = next((v for k, v in arrays.items() if k.startswith("weights_")), None)
    if weights is not None:
        axes[1, 0].hist(np.ravel(weights), bins=40)
    axes[1, 0].set(title="weights", xlabel="weight")
    for column in sorted({k for row in record.metrics for k in row} - {"step", "epoch"}):
        steps = [row["step"] for row in record.metrics if column in row]
        axes[1, 1].plot(
            steps, [row[column] for row in record.metrics if column in row], label=column
        )
    axes[1, 1].set(title="learning curves", xlabel="step")
    if record.metrics:
        axes[1, 1].legend(fontsize=8)
    step = snapshot.step if snapshot is not None else 0
    fig.suptitle(f"{record.config.get('learner')} on {record.config.get('task')}, step {step}")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    buffer.seek(0)
    return buffer
