"""``fieldapp`` with no command opens the desktop client (the ``fieldapp.gui`` plug-in) on the data folder; without
the ``ui`` extra it says in one translated line how to install it; without a display it prints the commands."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from fieldapp.base import i18n, plugins
from fieldapp.cli import main as cli


@pytest.fixture
def gui(monkeypatch):
    """A stand-in desktop client that records how it was called (no window)."""
    calls = []
    monkeypatch.setitem(plugins._registered, "fieldapp.gui", {"gui": lambda data_dir, demo=None: calls.append(
        (data_dir, demo)) or 0})
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")  # "there is a display"
    return calls


def test_no_command_opens_the_desktop_client_on_the_data_folder(gui, tmp_path, capsys):
    assert cli.main(["--data-dir", str(tmp_path / "data")]) == 0
    assert gui == [(tmp_path / "data", None)]
    assert capsys.readouterr().out == ""  # no help text


def test_without_the_ui_extra_one_line_says_how_to_install_it(monkeypatch, tmp_path, capsys):
    def broken():  # the entry point is declared, but PySide6 is not installed
        raise ImportError("No module named 'PySide6'")

    monkeypatch.setattr(plugins, "gui_runner", broken)
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert cli.main(["--data-dir", str(tmp_path), "--lang", "km"]) == cli.EXIT_USAGE
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [i18n.tr("core.cli.gui_not_installed", "km")] and "fieldapp[ui]" in err[0]
    i18n.set_language("en")
    monkeypatch.setattr(plugins, "gui_runner", lambda: None)  # nothing provides a desktop client at all
    assert cli.main(["--data-dir", str(tmp_path)]) == cli.EXIT_USAGE
    assert "pip install 'fieldapp[ui]'" in capsys.readouterr().err


def test_without_a_display_the_commands_are_printed(gui, monkeypatch, tmp_path, capsys):
    if sys.platform in ("win32", "darwin"):
        pytest.skip("always a display there")
    for name in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    assert cli.main(["--data-dir", str(tmp_path)]) == cli.EXIT_USAGE
    assert "COMMAND" in capsys.readouterr().out and gui == []


def test_the_installed_fieldapp_opens_the_window(tmp_path):
    """The console script of the installed package, as a user starts it: the first window is shown, then it quits
    (``FIELDAPP_QUIT_AFTER_WINDOW``, the launch check of ``ui/selftest.py``)."""
    pytest.importorskip("PySide6")
    script = os.path.join(os.path.dirname(sys.executable), "fieldapp")
    if not os.path.exists(script):
        pytest.skip("no installed console script next to this Python")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", FIELDAPP_QUIT_AFTER_WINDOW="1", FIELDAPP_KDF_TARGET_MS="0",
               FIELDAPP_PROVISIONING_FILE=str(tmp_path / "none.json"), FIELDAPP_LOG_DIR=str(tmp_path / "logs"))
    done = subprocess.run([script, "--data-dir", str(tmp_path / "data")], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert "window-shown" in done.stderr
