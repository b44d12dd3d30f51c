"""The shape of the project: the Qt-free parts never import Qt or the UI."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = ("PySide6", "PyQt5", "PyQt6", "shiboken6", "ui")


def imported_modules(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, node.lineno
        elif isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in ("import_module", "__import__"):
            if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                yield node.args[0].value, node.lineno


@pytest.mark.parametrize("package", ["fieldapp", "sync", "registry"])
def test_core_packages_never_import_qt_or_ui(package):
    offenders = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for module, line in imported_modules(path):
            if module.split(".")[0] in FORBIDDEN:
                offenders.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert offenders == []


def test_sync_never_imports_ui_and_registry_never_imports_sync_engine():
    offenders = []
    for path in sorted((ROOT / "registry").rglob("*.py")):
        offenders += [f"{path.name}: {m}" for m, _ in imported_modules(path) if m.split(".")[0] == "sync"]
    assert offenders == []


def test_the_rule_catches_an_offender(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import os\nfrom PySide6.QtCore import Qt\nimportlib.import_module('ui.app')\n")
    found = [m for m, _ in imported_modules(bad) if m.split(".")[0] in FORBIDDEN]
    assert found == ["PySide6.QtCore", "ui.app"]


def test_importing_the_core_loads_no_qt():
    import subprocess
    import sys

    code = "import sys, fieldapp.cli.main, fieldapp.store.database, fieldapp.store.records; fieldapp.cli.main.build_parser(); print(sorted(m for m in sys.modules if m.startswith(('PySide6','ui'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert out.strip() == "[]"
