"""Registry key material: created once, owner-only, the same for processes racing to create it."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from registry import keys

ROOT = Path(__file__).resolve().parents[2]


def test_keys_are_created_owner_only_and_reloaded(tmp_path):
    ddir = tmp_path / "reg"
    old = os.umask(0o022)
    try:
        first = keys.load_or_create(ddir)
    finally:
        os.umask(old)
    assert stat.S_IMODE(ddir.stat().st_mode) == 0o700
    assert stat.S_IMODE((ddir / keys.KEYS_FILE).stat().st_mode) == 0o600
    assert keys.load_or_create(ddir) == first
    assert [p.name for p in ddir.iterdir()] == [keys.KEYS_FILE]  # no temporary files left behind
    assert first.nid_hmac("12 345-6789") == first.nid_hmac("123456789") != first.nid_hmac("123456780")


def test_existing_folder_is_tightened(tmp_path):
    ddir = tmp_path / "reg"
    ddir.mkdir(mode=0o755)
    os.chmod(ddir, 0o755)
    keys.load_or_create(ddir)
    assert stat.S_IMODE(ddir.stat().st_mode) == 0o700


def test_processes_racing_on_a_fresh_folder_agree(tmp_path):
    ddir = tmp_path / "race"
    code = "import json, sys; from registry import keys; print(keys.load_or_create(sys.argv[1]).fingerprint())"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", code, str(ddir)], stdout=subprocess.PIPE, text=True, env=env)
             for _ in range(4)]
    prints = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert len(prints) == 1 and all(p.returncode == 0 for p in procs)


def test_cli_keys_prints_public_parts_only(tmp_path):
    out = subprocess.run([sys.executable, "-m", "registry", "keys", "--data-dir", str(tmp_path / "k")],
                         capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                         check=True).stdout
    doc = json.loads(out)
    assert set(doc) == {"seal_public_key", "sign_public_key", "fingerprint"}
