"""Full experiments behind ``snnlab experiment NAME ...``; each writes tables and plots.

Each experiment module has ``main(argv: list[str]) -> int`` that parses its own options and
writes its output (by default under ``docs/results/<name>/``).
"""

import importlib

EXPERIMENTS: dict[str, str] = {
    "wp-estimators": "snnlab.experiments.wp_estimators",
    "ep-passes": "snnlab.experiments.ep_passes",
    "normad-convergence": "snnlab.experiments.normad_convergence",
    "gem-samples": "snnlab.experiments.gem_samples",
    "presets": "snnlab.experiments.presets",
}


def experiment_names() -> list[str]:
    return sorted(EXPERIMENTS)


def run_experiment(name: str, argv: list[str]) -> int:
    if name not in EXPERIMENTS:
        known = ", ".join(experiment_names()) or "none yet"
        raise ValueError(f"unknown experiment {name!r}; known experiments: {known}")
    return importlib.import_module(EXPERIMENTS[name]).main(argv)
