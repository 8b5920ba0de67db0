"""The layering rules of snnlab/docs/architecture.md, read from the imports of every module."""

import ast
from fnmatch import fnmatch
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "snnlab"
UI_LIBRARIES = ("panel", "bokeh", "holoviews", "ipywidgets", "jupyter_bokeh")


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports (``from a import b`` counts as ``a`` and ``a.b``)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def modules(*exclude: str) -> list[Path]:
    """Every module of the package but those whose path from ``snnlab/`` matches ``exclude``
    (``fnmatch`` patterns, where ``*`` also crosses ``/``)."""
    return sorted(p for p in PACKAGE.rglob("*.py")
                  if not any(fnmatch(str(p.relative_to(PACKAGE)), e) for e in exclude))


def is_twin(name: str) -> bool:
    return name.startswith("snnlab._kernels.reference") or (
        name.startswith("snnlab.learners.") and name.split(".")[-1] == "reference")


TWIN_USERS = ("*/reference.py", "_kernels/reference/*.py", "*/benchmark.py")


@pytest.mark.parametrize("path", modules(*TWIN_USERS), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_production_code_never_imports_a_numpy_twin(path):
    assert sorted(filter(is_twin, imported_modules(path))) == []


@pytest.mark.parametrize("path", modules("ui/*"), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_only_the_ui_imports_panel_or_bokeh(path):
    found = {n.split(".")[0] for n in imported_modules(path)} & set(UI_LIBRARIES)
    assert found == set()


def test_the_checks_see_imports_of_every_form(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("import bokeh.models\nfrom snnlab.learners.ep import reference\n"
                     "def f():\n    from snnlab._kernels.reference import lif\n")
    found = imported_modules(probe)
    assert "bokeh.models" in found and any(map(is_twin, found))
    assert is_twin("snnlab._kernels.reference.lif") and not is_twin("snnlab.learners.ep.kernels")
