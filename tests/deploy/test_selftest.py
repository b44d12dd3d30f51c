"""``fieldapp --self-test`` (through the entry script from the venv; tests/deploy/test_frozen.py runs the bundle)."""

from __future__ import annotations

import sys

import pytest

from helpers.deploy_helpers import Runner
from fieldapp.deploy import selftest


def test_self_test_passes_offscreen(tmp_path):
    out = Runner(tmp_path / "data", tmp_path / "logs")("--self-test", password=None)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 7 and all(": ok (" in line for line in lines[:-1])
    assert "window system and fonts: ok" in out.stdout and lines[-1].startswith("Self-test passed")
    assert not (tmp_path / "data").exists()  # the self-test works in a temporary folder only


def test_self_test_in_khmer(tmp_path):
    out = Runner(tmp_path / "data", tmp_path / "logs")("--self-test", "--lang", "km", password=None)
    assert out.returncode == 0 and "ការធ្វើតេស្តខ្លួនឯងបានជោគជ័យ" in out.stdout


def test_a_missing_platform_plugin_is_reported_not_fatal(tmp_path):
    out = Runner(tmp_path / "data", tmp_path / "logs")("--self-test", password=None, QT_QPA_PLATFORM="nosuch")
    assert out.returncode == 1
    assert "window system and fonts: MISSING - Qt platform plug-in 'nosuch' missing" in out.stdout
    assert "Self-test failed: 1 check(s)" in out.stdout


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11 display check")
def test_no_display_is_reported(tmp_path):
    run = Runner(tmp_path / "data", tmp_path / "logs")
    out = run("--self-test", password=None, QT_QPA_PLATFORM="", DISPLAY="", WAYLAND_DISPLAY="")
    assert out.returncode == 1 and "no X display" in out.stdout


def test_a_failing_or_crashing_check_fails_the_run(monkeypatch):
    lines = []
    monkeypatch.setattr(selftest, "_checks", {"extra": lambda: ["fonts gone"], "boom": lambda: 1 / 0})
    monkeypatch.setattr(selftest, "CORE_CHECKS", {"phone_numbers": selftest.check_phone_numbers})
    assert selftest.run(lines.append) == 1
    assert "extra: MISSING - fonts gone" in lines and any(l.startswith("boom: MISSING - ZeroDivisionError at") for l in lines)
    assert lines[-1].startswith("Self-test failed: 2 check(s)")


def test_versions_name_the_building_blocks():
    v = selftest.versions()
    assert v["sqlcipher"].startswith("4.") and v["schema"] >= 3 and v["python"].count(".") == 2


def test_the_desktop_entry_opens_a_window_and_quits(tmp_path):
    out = Runner(tmp_path / "data", tmp_path / "logs")(password=None, FIELDAPP_QUIT_AFTER_WINDOW="1", timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "window-shown" in out.stderr
