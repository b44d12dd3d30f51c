"""Fixtures of the deployment tests: IT keys, a reference registry on loopback, the frozen build (once a session)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.deploy_helpers import ROOT


def pytest_configure(config):
    config.addinivalue_line("markers", "frozen: builds and runs the PyInstaller bundle")


@pytest.fixture(scope="session")
def it_keys(tmp_path_factory):
    """The IT provisioning key pair: (private key file, public key file)."""
    from fieldapp.cli import deploy as cli_deploy

    folder = tmp_path_factory.mktemp("it-keys")
    cli_deploy.write_keypair(folder / "it-private.json", folder / "it-public.json")
    return folder / "it-private.json", folder / "it-public.json"


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    from helpers.sync_helpers import Registry

    reg = Registry(tmp_path_factory.mktemp("registry")).start()
    yield reg
    reg.stop()


class Frozen:
    """The Linux build made by installers/build-linux.sh: one-folder bundle, tarball and .deb."""

    def __init__(self, out: Path, minutes: float):
        self.out, self.build_minutes = out, minutes
        self.exe = out / "bundle" / "fieldapp" / "fieldapp"
        self.deb = next(out.glob("fieldapp_*.deb"))
        self.tarball = next(out.glob("fieldapp-*-linux-*.tar.gz"))
        self.it_private, self.it_public = out / "it-private.json", out / "it-public.json"


@pytest.fixture(scope="session")
def frozen(tmp_path_factory) -> Frozen:
    """Build once per session (or reuse FIELDAPP_FROZEN_OUT, a folder an earlier session built into)."""
    import time

    from fieldapp.cli import deploy as cli_deploy

    reuse = os.environ.get("FIELDAPP_FROZEN_OUT")
    if reuse and (Path(reuse) / "bundle" / "fieldapp" / "fieldapp").exists():
        return Frozen(Path(reuse), 0.0)
    if importlib.util.find_spec("PyInstaller") is None:
        pytest.skip("PyInstaller is not installed: pip install -r requirements-dev.txt")
    for tool, package in (("objdump", "binutils"), ("dpkg-deb", "dpkg")):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is missing: apt-get install {package}")
    out = Path(reuse) if reuse else tmp_path_factory.mktemp("frozen")
    out.mkdir(parents=True, exist_ok=True)
    for name in ("it-private.json", "it-public.json"):
        if (out / name).exists():
            (out / name).unlink()
    cli_deploy.write_keypair(out / "it-private.json", out / "it-public.json")
    start = time.monotonic()
    proc = subprocess.run(["bash", str(ROOT / "installers" / "build-linux.sh"), "--out", str(out), "--it-key",
                           str(out / "it-public.json"), "--compress", "gzip"], cwd=ROOT, capture_output=True,
                          text=True, timeout=1200, env={**os.environ, "PYTHON": sys.executable})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return Frozen(out, (time.monotonic() - start) / 60)
