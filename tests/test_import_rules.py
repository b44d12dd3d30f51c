"""The shape of the project: every rule of docs/architecture.md, read from that page and checked on every module."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARCHITECTURE = ROOT / "docs" / "architecture.md"
PROJECT = ("fieldapp", "sync", "registry", "ui")
QT = ("PySide6", "PyQt5", "PyQt6", "shiboken6")
QT_MODULE = "ui/qt.py"


def imported_modules(path: Path):
    """(module, line) for every import in ``path``, at any depth: ``from fieldapp import x`` gives ``fieldapp.x``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                yield f"{node.module}.{alias.name}", node.lineno
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            yield "." * node.level + (node.module or ""), node.lineno
        elif isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in ("import_module", "__import__"):
            if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                yield node.args[0].value, node.lineno


def read_rules(text: str) -> dict[str, list[str]]:
    """The import-rules table of docs/architecture.md: package -> the project packages it may import."""
    block = text.split("<!-- import-rules: begin -->")[1].split("<!-- import-rules: end -->")[0]
    rules = {}
    for line in block.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        rules[cells[0].strip("`")] = re.findall(r"`([\w.]+)`", cells[2])
    return rules


RULES = read_rules(ARCHITECTURE.read_text(encoding="utf-8"))


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def unit_of(module: str) -> str:
    """The most specific row of the table that ``module`` (a dotted name) belongs to."""
    return max((p for p in RULES if _within(module, p)), key=len)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def allowed(source_unit: str, target: str) -> bool:
    if _within(target, source_unit) or (target == "fieldapp.__version__" and _within(source_unit, "fieldapp")):
        return True
    return any(_within(target, ok) for ok in RULES[source_unit])


def violations(paths) -> list[str]:
    found = []
    for path in paths:
        rel = path.relative_to(ROOT).as_posix()
        unit = unit_of(module_name(path))
        for module, line in imported_modules(path):
            top = module.split(".")[0]
            if module.startswith("."):
                found.append(f"{rel}:{line} relative import {module} (write it absolute)")
            elif top in QT and rel != QT_MODULE:
                found.append(f"{rel}:{line} imports {module}: only {QT_MODULE} imports Qt")
            elif top in PROJECT and not allowed(unit, module):
                found.append(f"{rel}:{line} imports {module}: {unit} may import only {RULES[unit] or 'itself'}")
    return found


def project_files():
    return sorted(p for pkg in PROJECT for p in (ROOT / pkg).rglob("*.py"))


def test_the_page_has_a_rule_for_every_package():
    assert set(RULES) >= {"fieldapp", "fieldapp.base", "fieldapp.domain", "fieldapp.store", "fieldapp.outbound",
                          "fieldapp.deploy", "fieldapp.services", "fieldapp.cli", "sync", "registry", "ui"}
    for path in project_files():
        assert unit_of(module_name(path)), path
    subpackages = {f"fieldapp.{p.name}" for p in (ROOT / "fieldapp").iterdir() if (p / "__init__.py").exists()}
    assert subpackages <= set(RULES), f"sub-packages without a row in docs/architecture.md: {subpackages - set(RULES)}"


def test_every_module_keeps_the_rules_of_docs_architecture():
    assert violations(project_files()) == []


def test_fieldapp_never_imports_sync_registry_or_ui():
    for pkg in ("sync", "registry", "ui"):
        assert not any(_within(ok, pkg) for unit, oks in RULES.items() if unit.startswith("fieldapp") for ok in oks)
    offenders = [v for v in violations(sorted((ROOT / "fieldapp").rglob("*.py")))]
    assert offenders == []


def test_every_package_states_its_charter():
    for init in sorted((ROOT / "fieldapp").glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and "May import" in doc, f"{init.relative_to(ROOT)} has no charter"


@pytest.mark.parametrize("source, bad", [
    ("fieldapp/domain/x.py", "from fieldapp.store import records\n"),             # domain -> store: upward
    ("fieldapp/store/x.py", "def f():\n    from fieldapp.outbound import outbox\n"),  # inside a function too
    ("fieldapp/cli/x.py", "import sync.cli\n"),                                   # the core -> sync
    ("fieldapp/base/x.py", "from fieldapp import services\n"),                    # base -> anything
    ("registry/x.py", "import importlib\nimportlib.import_module('sync.engine')\n"),
    ("sync/x.py", "from ui import app\n"),
    ("ui/screens/x.py", "from PySide6.QtCore import Qt\n"),                       # Qt outside ui/qt.py
    ("fieldapp/domain/x.py", "from .khmer import match_key\n"),                   # relative import
])
def test_the_rules_catch_an_offender(tmp_path, monkeypatch, source, bad):
    fake_root = tmp_path / "repo"
    path = fake_root / source
    path.parent.mkdir(parents=True)
    path.write_text(bad)
    monkeypatch.setattr(sys.modules[__name__], "ROOT", fake_root)
    assert len(violations([path])) == 1


def test_allowed_imports_pass(tmp_path, monkeypatch):
    fake_root = tmp_path / "repo"
    path = fake_root / "fieldapp/outbound/x.py"
    path.parent.mkdir(parents=True)
    path.write_text("from fieldapp.store.database import Session\nfrom fieldapp.base import i18n\nimport json\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", fake_root)
    assert violations([path]) == []


def test_importing_the_core_loads_no_qt_and_no_sync():
    code = ("import sys, fieldapp.cli.main, fieldapp.store.database, fieldapp.store.records, fieldapp.services;"
            "print(sorted(m for m in sys.modules if m.startswith(('PySide6', 'ui', 'sync', 'registry'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert out.strip() == "[]"
