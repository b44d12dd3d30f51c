"""Errors carry message ids, one class per kind of refusal, and exit codes by name."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from fieldapp.base.errors import FieldappError
from fieldapp.base.exitcodes import Exit
from fieldapp.base.i18n import tr
from fieldapp.outbound import device as device_file
from fieldapp.outbound.spool import SpoolError

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("fieldapp", "sync", "registry", "ui", "installers")
# Exceptions that never reach a person: each is caught and turned into a FieldappError, a reason code or an HTTP
# answer inside its package.
INTERNAL = {"WireError", "_NonceExpired", "PinMismatch", "TransportError", "_Stop", "ApiError", "BatchRefused",
            "Busy", "KeyMismatch", "_Raced", "NotUnlocked", "FieldappError",
            "BadStatement",  # fieldapp.domain.signed: turned into WireError / a verify problem by its callers
            # the registry's: each becomes a reason code of an HTTP answer or of the CLI's one-line JSON error
            "Refused", "_KeyChanged", "ResolveError", "SchemaTooNew", "NeedsKeys",
            # slips and cards: a reason code each, worded by ``fieldapp.proof.verify`` / printed by the registry's CLI
            "CredentialError", "ImageError", "FactsError",
            "PdfShapeError"}  # ui.printing: the PDF post-processing falls back to the plain PDF


def _classes():
    for pkg in PRODUCT:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef):
                    bases = [ast.unparse(b) for b in node.bases]
                    if any(re.search(r"(Error|Exception)$", b) for b in bases):
                        yield path.relative_to(ROOT).as_posix(), node.name, bases


def test_every_exception_towards_users_carries_a_message_id():
    loose = [f"{p}: {name}({', '.join(bases)})" for p, name, bases in _classes()
             if name not in INTERNAL and bases in (["Exception"], ["ValueError"], ["RuntimeError"])]
    assert not loose, "derive from FieldappError (message id) or list as internal: " + "; ".join(loose)


def test_registry_has_one_refusal_class():
    names = {name for p, name, _ in _classes() if p.startswith("registry/")}
    assert "AuthError" not in names and "IntakeError" not in names
    from registry.errors import ApiError, BatchRefused

    assert issubclass(BatchRefused, ApiError)


@pytest.mark.parametrize("lang", ["en", "km"])
def test_device_and_spool_errors_are_translated_once(tmp_path, lang):
    (tmp_path / "device.json").write_text('{"device_id": "d"}')
    with pytest.raises(device_file.DeviceFileError) as e:
        device_file.load(tmp_path)
    err = e.value
    assert isinstance(err, FieldappError) and err.msg_id == "sync.error.device_file" and err.code == "device_file"
    assert "missing" in err.detail and err.message(lang) == tr("sync.error.device_file", lang)
    assert "device_private_key" not in err.message(lang)  # the detail stays in logs, the person gets one line
    spool = SpoolError("spool database unusable: DatabaseError")
    assert spool.msg_id == "sync.error.spool" and spool.code == "spool"
    assert spool.message(lang) == tr("sync.error.spool", lang) and "DatabaseError" not in spool.message(lang)


def test_exit_codes_are_named_and_documented():
    assert [int(e) for e in Exit] == [0, 1, 2, 3, 4, 5, 130]
    cli_doc = (ROOT / "docs/cli.md").read_text(encoding="utf-8")
    for code in Exit:
        assert f"`{int(code)}`" in cli_doc, f"docs/cli.md does not list exit code {int(code)}"


def test_commands_return_exit_codes_by_name():
    files = [*(ROOT / "fieldapp/cli").glob("*.py"), ROOT / "sync/cli.py", ROOT / "sync/cli_provision.py",
             ROOT / "sync/demo.py", ROOT / "sync/service.py", ROOT / "registry/cli.py", ROOT / "fieldapp/deploy/selftest.py"]
    found = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Return) and isinstance(node.value, ast.Constant)
                    and type(node.value.value) is int):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
            if isinstance(node, ast.Compare) and any(
                    isinstance(c, ast.Constant) and type(c.value) is int for c in node.comparators):
                left = ast.unparse(node.left)
                if re.search(r"^(code|rc)$|(^|\.)(returncode|exit_code)$", left):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not found, "exit codes by number: " + ", ".join(found)
