"""Fixtures for the real-input tests: a real X server (Xvfb + openbox), the real app in its own process, real keys.

Skipped, with the packages to install, where Xvfb, openbox, xdotool, ImageMagick or the X utilities are missing
(``scripts/setup`` installs them on Debian and Ubuntu). Every test here runs with the rest of the suite under
``scripts/test``; waits are bounded, and no test asserts a time, so two CPU hogs beside it change nothing but its
duration.
"""

from __future__ import annotations

import os
import shutil

import pytest

from ui_real.household import (OUTREACH, OUTREACH_NAME, OUTREACH_PASSWORD, PASSWORD, SUPERVISOR,
                               SUPERVISOR_NAME)
from ui_real.realapp import RealApp, XServer, fieldapp_cli, missing_tools


def pytest_configure(config):
    config.addinivalue_line("markers", "real_input: drives the real window under Xvfb with real key events "
                                       "(no assertion on time; bounded waits)")


def pytest_collection_modifyitems(config, items):
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.real_input)


@pytest.fixture(scope="session")
def xserver(tmp_path_factory):
    """Xvfb at 1366x768 with openbox and a US + Khmer keyboard, on a display number of its own choosing."""
    missing = missing_tools()
    if missing:
        pytest.skip("real-input tests need a real X display: apt-get install " + " ".join(missing)
                    + " (scripts/setup installs them)")
    server = XServer(1366, 768, log_dir=tmp_path_factory.mktemp("xserver"))
    try:
        server.start()
        yield server
    finally:
        server.stop()


def _cli_ok(data_dir, *args, **kw) -> None:
    done = fieldapp_cli(data_dir, *args, **kw)
    assert done.returncode == 0, f"fieldapp {args[0]} exited {done.returncode}: {done.stderr[-2000:]}"


@pytest.fixture(scope="session")
def _template_data(tmp_path_factory):
    """A data folder made with the CLI, as IT does: supervisor ``sup`` and outreach worker ``ow``."""
    data = tmp_path_factory.mktemp("real-template") / "data"
    _cli_ok(data, "init", "--user", SUPERVISOR, "--full-name", SUPERVISOR_NAME, password=PASSWORD)
    _cli_ok(data, "user", "add", "--user", SUPERVISOR, "--new-user", OUTREACH, "--role", "outreach",
            "--full-name", OUTREACH_NAME, password=PASSWORD, FIELDAPP_NEW_PASSWORD=OUTREACH_PASSWORD)
    return data


@pytest.fixture
def real_data(_template_data, tmp_path):
    target = tmp_path / "data"
    shutil.copytree(_template_data, target)
    return target


@pytest.fixture
def real_app(xserver, real_data, tmp_path):
    """``real_app()`` launches the desktop client on a fresh copy of the data folder; it is always stopped."""
    made: list[RealApp] = []

    def launch(env: dict | None = None) -> RealApp:
        app = RealApp(xserver, real_data, tmp_path / f"app{len(made)}", env=env)
        made.append(app)
        return app.start()

    yield launch
    for app in made:
        app.kill()
