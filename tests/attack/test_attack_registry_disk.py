"""The registry with its data folder on a small real tmpfs (root needed), filled up: the service answers 503 with
``Retry-After`` and says why on ``/v1/health``, keeps answering, loses nothing and works again once space is
freed; and every operator command (``enrollment-code``, ``revoke-device``, ``import-bundle``, ``serve``) on a full
or read-only data folder prints exactly one JSON line on stderr and exits 1, never a traceback.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from datetime import date

import pytest
from helpers import attack_load as al
from helpers.attack_tools import SmallDisk, case, one_clean_line, wait_until
from helpers.registry_client import make_record
from helpers.sync_helpers import PY, REPO, Registry, env, free_port

from fieldapp.outbound import bundle as wire_bundle, wire


@pytest.fixture
def disk(tmp_path):
    d = SmallDisk(tmp_path / "small", "16m")
    if not d.mounted:
        pytest.skip("needs root to mount a small tmpfs (the disk is filled for real)")
    yield d
    subprocess.run(["mount", "-o", "remount,rw", str(d.path)], capture_output=True)
    d.close()


def sealed_batch(dev: al.Device, n: int) -> tuple[bytes, list[str]]:
    seal = wire.b64d(al.call(dev.port, "GET", "/v1/keys")[2]["seal_public_key"])
    items, ids = [], []
    for _ in range(n):
        rec = make_record()
        ids.append(rec["record_id"])
        items.append(wire.seal_record(rec, record_id=rec["record_id"], device_id=dev.device_id,
                                      enrolled_on=date.today().isoformat(), seal_public=seal,
                                      device_private=dev.private))
    return wire.build_batch(items, device_id=dev.device_id, batch_id=str(uuid.uuid4()), version=1), ids


def held(data_dir) -> set[str]:
    import sqlite3

    with sqlite3.connect(f"file:{data_dir / 'registry.db'}?mode=ro", uri=True) as conn:
        return {r[0] for r in conn.execute("SELECT record_id FROM records")}


def test_full_disk_answers_503_says_why_keeps_answering_and_recovers(disk):
    reg = Registry(disk.path / "data", register_delay=0).start()
    try:
        dev = al.Device(reg.port, reg.code())
        dev.login()
        first, first_ids = sealed_batch(dev, 20)
        assert dev.post(first)[0] == 200
        body, ids = sealed_batch(dev, 20)
        key = f"k-{uuid.uuid4()}"
        with case("registry: data folder full (16 MB tmpfs filled to 0 B) while devices send batches and log in",
                  "batches and challenges get 503 disk_full with Retry-After; /v1/health answers 503 degraded with "
                  "reason disk_full; /v1/keys still answers; after freeing space the same batch is accepted, "
                  "nothing held before was lost, and health is ok again") as c:
            disk.fill(0)
            for _ in range(10):
                status, headers, data, _s = dev.post(body, key=key, timeout=60)
                c.runs += 1
                assert (status, data.get("error")) == (503, "disk_full"), (status, data)
                assert headers.get("retry-after", "").isdigit()
            status, headers, data, _s = al.call(reg.port, "POST", "/v1/auth/challenge", {"device_id": dev.device_id})
            assert (status, data.get("error")) == (503, "disk_full") and headers.get("retry-after")
            status, data, _s = al.health(reg.port, timeout=10)
            assert status == 503 and data["status"] == "degraded" and data["reason"] == "disk_full", data
            assert al.call(reg.port, "GET", "/v1/keys")[0] == 200
            assert held(reg.data_dir) >= set(first_ids)
            disk.empty()
            status, _h, data, _s = dev.post(body, key=key, timeout=60)
            c.runs += 1
            assert status == 200, data
            assert [r["status"] for r in data["receipt"]["results"]] == ["accepted"] * len(ids)
            assert held(reg.data_dir) >= set(first_ids) | set(ids)
            assert wait_until(lambda: al.health(reg.port)[0] == 200, timeout=60)
            assert reg.proc.poll() is None
    finally:
        reg.stop()


def _enrolled_folder(data_dir) -> tuple[str, bytes]:
    """A registry data folder with one enrolled device (made in this process, no server)."""
    from registry import devices
    from registry.app import open_context
    from registry.config import Settings

    ctx = open_context(Settings(data_dir=data_dir))
    try:
        private, public = wire.new_device_keys()
        device_id = devices.enroll(ctx.db, devices.new_enrollment_code(ctx.db), wire.b64e(public), None)
    finally:
        ctx.db.close()
    return device_id, private


def _command(data_dir, *args, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([PY, "-m", "registry", *map(str, args), "--data-dir", str(data_dir)], cwd=REPO, env=env(),
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def test_every_command_reports_a_full_or_read_only_data_folder_in_one_json_line(disk, tmp_path):
    data = disk.path / "data"
    device_id, private = _enrolled_folder(data)
    rec_batch = wire.build_batch([], device_id=device_id, batch_id="b1", version=1)
    bundle = tmp_path / "usb.bundle"
    bundle.write_bytes(wire_bundle.build_bundle([("k1", rec_batch)], device_id=device_id, device_private=private))
    seen = []
    with case("registry commands on a full data folder (existing and fresh) and a read-only one: enrollment-code, "
              "revoke-device, import-bundle, serve",
              "exit 1 and exactly one JSON line on stderr, {\"error\": \"disk_full\"} or {\"error\": "
              "\"storage_error\", \"kind\": ...}; no traceback; nothing changed") as c:
        disk.fill(0)
        runs = [("enrollment-code",), ("revoke-device", device_id), ("import-bundle", bundle)]
        for args in runs:
            proc = _command(data, *args)
            c.runs += 1
            error = json.loads(one_clean_line(proc))
            assert proc.returncode == 1 and error == {"error": "disk_full"}, (args, proc.stderr)
            seen.append(error["error"])
        fresh = disk.path / "fresh"
        for args in runs[:1]:
            proc = _command(fresh, *args)
            c.runs += 1
            assert proc.returncode == 1 and json.loads(one_clean_line(proc)) == {"error": "disk_full"}, proc.stderr
        proc = _command(disk.path / "fresh2", "serve", "--port", free_port(), timeout=120)
        c.runs += 1
        assert proc.returncode == 1 and json.loads(one_clean_line(proc)) == {"error": "disk_full"}, proc.stderr
        disk.empty()
        subprocess.run(["mount", "-o", "remount,ro", str(disk.path)], check=True)
        for args in [*runs, ("serve", "--port", free_port())]:
            target = data if args[0] != "serve" else disk.path / "fresh3"
            proc = _command(target, *args)
            c.runs += 1
            error = json.loads(one_clean_line(proc))
            assert proc.returncode == 1 and error["error"] in ("storage_error", "disk_full"), (args, proc.stderr)
            assert error["error"] == "disk_full" or error.get("kind"), error
            seen.append(error.get("kind", error["error"]))
        subprocess.run(["mount", "-o", "remount,rw", str(disk.path)], check=True)
        c.checked += f" [errors seen: {sorted(set(seen))}]"
    ok = _command(data, "revoke-device", device_id)
    assert ok.returncode == 0, ok.stderr
