"""Speed benchmarks of the engine and the learners, shipped with the package: each module has
``run(quick=False) -> dict`` (JSON-ready, with a NumPy or single-process baseline timed in the
same run) and runs as ``snnlab bench NAME`` or ``python -m snnlab.benchmarks.NAME``.

The browser benchmarks (live frame rates, UI overhead, crafted requests) need Playwright and
Chromium and live in the source tree's ``benchmarks/``.
"""
