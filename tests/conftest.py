"""Shared fixtures: headless Qt by default, fast-but-floor KDF, a CLI runner over real processes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from helpers.clitools import OUTREACH_PASSWORD, Cli  # noqa: E402


@pytest.fixture
def data_dir(tmp_path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def cli(data_dir) -> Cli:
    return Cli(data_dir)


@pytest.fixture
def initialized(cli) -> Cli:
    """A store with supervisor ``sup`` and outreach worker ``ow``."""
    cli("init", "--user", "sup", "--full-name", "Supervisor", check=True)
    cli("user", "add", "--user", "sup", "--new-user", "ow", "--role", "outreach", new_password=OUTREACH_PASSWORD,
        check=True)
    return cli


@pytest.fixture(autouse=True)
def _fast_kdf(monkeypatch):
    """In-process tests also use the floor parameters (64 MiB, 3 iterations), not the 0.5 s tuning."""
    monkeypatch.setenv("FIELDAPP_KDF_TARGET_MS", "0")
