"""The dependency rules of the layout, checked on the source (imports anywhere in a file count).

labeler  -> no torch, streamlit, model, pipelines, exports, ui
model    -> no labeler, pipelines, exports, ui, streamlit, sqlalchemy
exports  -> no torch, streamlit, model, pipelines, ui
pipelines-> no streamlit, ui
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "labeler": {
        "torch",
        "streamlit",
        "model",
        "pipelines",
        "exports",
        "ui",
        "timm",
        "transformers",
    },
    "model": {"labeler", "pipelines", "exports", "ui", "streamlit", "sqlalchemy"},
    "exports": {"torch", "streamlit", "model", "pipelines", "ui"},
    "pipelines": {"streamlit", "ui"},
}


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_respects_its_dependency_rules(package):
    offenders = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        bad = imported_roots(path) & FORBIDDEN[package]
        if bad:
            offenders[str(path.relative_to(ROOT))] = sorted(bad)
    assert not offenders, f"{package}/ imports what it must not: {offenders}"


def test_the_checker_sees_imports():
    sample = ROOT / "labeler" / "store" / "repository.py"
    assert "sqlalchemy" in imported_roots(sample)
