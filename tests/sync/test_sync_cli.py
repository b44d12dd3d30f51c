"""`fieldapp sync` exit codes (0 all sent, 3 unreachable, 4 quarantined, 5 refused) through the real CLI."""

from __future__ import annotations

import json
import time
import subprocess

from helpers.sync_helpers import PY, REPO, assert_all_state, env, fill_spool, run_fieldapp, write_people

from fieldapp.outbound import device as device_file


fieldapp = run_fieldapp


def test_exit_0_when_everything_sent(device_dir):
    ids = fill_spool(device_dir, 30, seed=31)
    out = fieldapp("sync", "--data-dir", str(device_dir), "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["sent"] == 30 and doc["counts"]["queued"] == 0 and doc["exit_code"] == 0
    assert_all_state(device_dir, ids)


def test_exit_3_when_registry_unreachable(device_dir, proxy):
    ids = fill_spool(device_dir, 10, seed=32)
    proxy.close()  # the registry's address no longer answers
    out = fieldapp("sync", "--data-dir", str(device_dir), "--timeout", "2")
    assert out.returncode == 3
    assert len(out.stderr.strip().splitlines()) == 1 and "kept" in out.stderr
    assert_all_state(device_dir, ids, ("queued",))
    out = fieldapp("sync", "--data-dir", str(device_dir), "--timeout", "2", "--lang", "km")
    assert out.returncode == 3 and "ប្រព័ន្ធចុះបញ្ជី" in out.stderr


def test_exit_4_when_records_quarantined(device_dir):
    ids = fill_spool(device_dir, 12, seed=33, invalid=(0, 5))
    out = fieldapp("sync", "--data-dir", str(device_dir))
    assert out.returncode == 4
    assert "2 record(s)" in out.stderr
    assert_all_state(device_dir, [r for i, r in enumerate(ids) if i not in (0, 5)])


def test_exit_5_when_device_revoked_and_1_when_not_registered(registry, device_dir, tmp_path):
    fill_spool(device_dir, 5, seed=34)
    registry.revoke(device_file.load(device_dir).device_id)
    out = subprocess.run([PY, "-m", "sync", "sync", "--data-dir", str(device_dir)], cwd=REPO, env=env(),
                         capture_output=True, text=True, timeout=60)  # the standalone wrapper, same handlers
    assert out.returncode == 5 and "blocked" in out.stderr and "Traceback" not in out.stderr
    out = fieldapp("sync", "--data-dir", str(tmp_path / "empty"))
    assert out.returncode == 1 and "not registered" in out.stderr
    out = fieldapp("register", "--data-dir", str(tmp_path / "empty"), "--user", "sup", "--server",
                   "http://registry.example.org", "--code", "X")
    assert out.returncode != 0 and len(out.stderr.strip().splitlines()) == 1 and "http://" in out.stderr


def test_register_and_usb_bundle_through_the_core(registry, tmp_path):
    """The lead's store: records approved before registration are queued by `register`, then a bundle."""

    pw, d = "correct horse battery 9", str(tmp_path / "laptop")
    assert fieldapp("init", "--data-dir", d, "--user", "sup", password=pw).returncode == 0
    src = write_people(tmp_path / "in.jsonl", 6, 35)
    assert fieldapp("import", "--data-dir", d, "--user", "sup", str(src), password=pw).returncode == 0
    assert fieldapp("review", "--data-dir", d, "--user", "sup", "--approve-all", password=pw).returncode == 0
    out = fieldapp("register", "--data-dir", d, "--user", "sup", "--server", registry.url, "--code", registry.code(),
                   password=pw)
    assert out.returncode == 0 and "6 approved" in out.stdout, out.stderr
    bundle = tmp_path / "usb" / "bundle.zip"
    bundle.parent.mkdir()
    out = fieldapp("export-bundle", "--data-dir", d, "--user", "sup", "--out", str(bundle), password=pw)
    assert out.returncode == 0 and bundle.exists(), out.stderr
    assert fieldapp("export-bundle", "--data-dir", d, "--user", "sup", "--out", str(bundle), password=pw).returncode == 1
    assert json.loads(registry.cli("import-bundle", str(bundle)))["results"] == {"accepted": 6}
    for _ in range(20):  # the registry's registration step runs in the background: poll until it is done
        out = fieldapp("sync", "--data-dir", d, "--json")
        assert out.returncode == 0, out.stderr
        if json.loads(out.stdout)["counts"]["registered"] == 6:
            break
        time.sleep(0.5)
    assert json.loads(out.stdout)["counts"]["registered"] == 6
