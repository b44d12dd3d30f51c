"""Export to JSON lines, USB bundle import (idempotent, safe), and the 1,000-people flow."""

from __future__ import annotations

import io
import json
import os
import uuid
import zipfile

import pytest
from helpers.registry_client import Device, make_record

from fieldapp.outbound import bundle as wire_bundle

TABLES = ("records", "people", "rejections", "batches")


def snapshot(server) -> dict:
    return {t: server.count(f"SELECT COUNT(*) FROM {t}") for t in TABLES}


def export_lines(server, tmp_path) -> list[dict]:
    out = tmp_path / f"export-{uuid.uuid4().hex[:6]}.jsonl"
    server.cli("export", "--format", "jsonl", "--out", str(out))
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


@pytest.mark.slow
def test_thousand_people_from_two_devices_export_once(make_server, tmp_path):
    server = make_server("--register-delay", "0")
    a, b = Device(server), Device(server, approval=True)
    people = [make_record() for _ in range(1000)]
    registry_ids = {}
    for i in range(0, 1000, 250):
        receipt = a.verified(*a.send(people[i:i + 250]))
        assert {r["status"] for r in receipt["results"]} == {"accepted"}
        registry_ids.update({p["national_id"]: r["registry_id"] for p, r in zip(people[i:i + 250], receipt["results"])})
    for i in range(0, 1000, 250):
        again = [make_record(national_id=p["national_id"]) for p in people[i:i + 250]]  # same people, new record IDs
        receipt = b.verified(*b.send(again))
        assert {r["status"] for r in receipt["results"]} == {"held"}  # another device's people: held for review
    assert server.count("SELECT COUNT(*) FROM people") == 1000
    lines = export_lines(server, tmp_path)
    assert len(lines) == 1000 and len({ln["record_id"] for ln in lines}) == 1000
    assert {ln["source_device"] for ln in lines} == {a.device_id}
    assert all(registry_ids[ln["national_id"]] == ln["registry_id"] for ln in lines)
    first = {p["record_id"]: p for p in people}
    assert all(first[ln["record_id"]]["given_name"] == ln["given_name"] for ln in lines)


def test_database_holds_no_plaintext_national_id(registry_server, device):
    rec = make_record()
    device.verified(*device.send([rec]))
    dump = registry_server.db().run(lambda tx: tx.execute("SELECT * FROM records") + tx.execute("SELECT * FROM people"),
                                    write=False)
    text = json.dumps(dump, ensure_ascii=False)
    assert rec["national_id"] not in text and rec["given_name"] + rec["family_name"] not in text


def make_bundle(device, n_batches: int = 2, per_batch: int = 3) -> tuple[bytes, list]:
    batches = []
    for _ in range(n_batches):
        body = device.body([device.seal(make_record()) for _ in range(per_batch)])
        batches.append((f"fa-{uuid.uuid4()}", body))
    return wire_bundle.build_bundle(batches, device_id=device.device_id, device_private=device.private), batches


def test_import_bundle_twice_changes_nothing(registry_server, device, tmp_path):
    data, batches = make_bundle(device)
    path = tmp_path / "usb.fieldapp-bundle"
    path.write_bytes(data)
    # one batch also arrived over the network first, under the same key
    http = device.post(batches[0][1], key=batches[0][0])
    assert http.status_code == 200
    before = snapshot(registry_server)
    receipts = tmp_path / "receipts.json"
    first = json.loads(registry_server.cli("import-bundle", str(path), "--receipts", str(receipts)).stdout)
    assert first["device_id"] == device.device_id and first["batches"] == 2
    assert first["results"] == {"accepted": 6} and first["refused"] == []
    envelopes = json.loads(receipts.read_text())
    assert envelopes[0] == http.json()
    for env, (_, body) in zip(envelopes, batches):
        device.verified(type("R", (), {"status_code": 200, "json": lambda self, e=env: e, "text": ""})(), body)
    after_first = snapshot(registry_server)
    assert after_first["records"] - before["records"] == 3
    second = json.loads(registry_server.cli("import-bundle", str(path)).stdout)
    assert second == first
    assert snapshot(registry_server) == after_first


def refused_bundle(server, tmp_path, data: bytes) -> str:
    path = tmp_path / f"b-{uuid.uuid4().hex[:6]}.zip"
    path.write_bytes(data)
    res = server.cli("import-bundle", str(path), check=False)
    assert res.returncode == 1 and res.stdout == ""
    return json.loads(res.stderr.strip().splitlines()[-1])["error"]


def test_path_traversal_and_foreign_bundles_are_refused(registry_server, device, tmp_path):
    good, _ = make_bundle(device, 1, 1)
    evil = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as src, zipfile.ZipFile(evil, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        dst.writestr("../../escaped.txt", b"owned")
    assert refused_bundle(registry_server, tmp_path, evil.getvalue()) == "bundle_unsafe_member"
    assert not (tmp_path.parent / "escaped.txt").exists() and not os.path.exists("/escaped.txt")
    for name in ("/etc/cron.d/x", "batches/../../x.json.gz", "batches\\000001.json.gz"):
        bad = io.BytesIO()
        with zipfile.ZipFile(bad, "w") as dst:
            dst.writestr(name, b"x")
        assert refused_bundle(registry_server, tmp_path, bad.getvalue()) == "bundle_unsafe_member", name
    other = Device(registry_server)
    forged, _ = make_bundle(device, 1, 1)
    forged = forged.replace(device.device_id.encode(), other.device_id.encode())
    assert refused_bundle(registry_server, tmp_path, forged) in ("bad_bundle_signature", "bad_bundle")
    stranger = wire_bundle.build_bundle([], device_id="unknown-device", device_private=device.private)
    assert refused_bundle(registry_server, tmp_path, stranger) == "unknown_device"
    assert refused_bundle(registry_server, tmp_path, b"not a zip") == "bad_bundle"
