"""The README's run command: ``fieldapp --demo`` builds a demo store, starts a local registry and syncs."""

import socket
import subprocess
import sys

import pytest

from helpers.clitools import ROOT, base_env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_demo_without_a_display_syncs_and_exits(tmp_path):
    env = base_env(FIELDAPP_DEMO_NO_UI="1", FIELDAPP_DEMO_PORT=free_port())
    cmd = [sys.executable, "-m", "fieldapp", "--data-dir", str(tmp_path / "demo"), "--demo"]
    first = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert first.returncode == 0, first.stderr
    counts = dict(line.split("\t") for line in first.stdout.splitlines())
    assert int(counts["registered"]) == 90 and int(counts["submitted"]) > 0 and int(counts["draft"]) > 0
    again = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert again.returncode == 0, again.stderr  # a second start reuses the store and the registration
    assert dict(line.split("\t") for line in again.stdout.splitlines())["registered"] == "90"
