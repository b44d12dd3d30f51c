"""The spool (delivery queue) and device.json, without a network."""

from __future__ import annotations

import json
import os
import stat
import threading

import pytest

from fieldapp.outbound import device as device_file
from fieldapp.outbound import wire
from fieldapp.outbound.spool import Spool, SpoolError
from sync import batching


def _dev(tmp_path):
    priv, pub = wire.new_device_keys()
    keys = wire.new_registry_keys()
    dev = device_file.Device(device_id="dev-1", server_url="http://127.0.0.1:1", device_private_key=wire.b64e(priv),
                             device_public_key=wire.b64e(pub), registry_seal_public_key=wire.b64e(keys["seal_public"]),
                             registry_sign_public_key=wire.b64e(keys["sign_public"]), registered_at="2025-01-01T00:00:00Z",
                             pins=("A" * 43 + "=",))
    device_file.save(tmp_path, dev)
    return dev, keys


def _items(dev, n, start=0):
    return [{"record_id": f"r{start + i:05d}", "sealed": wire.seal_record(
        {"given_name": "x", "n": i}, record_id=f"r{start + i:05d}", device_id=dev.device_id, enrolled_on="2025-01-01",
        seal_public=dev.seal_public_raw, device_private=dev.private_raw)} for i in range(n)]


def test_device_file_roundtrip_private_and_atomic(tmp_path):
    assert device_file.load(tmp_path) is None
    dev, _ = _dev(tmp_path)
    p = tmp_path / "device.json"
    assert stat.S_IMODE(p.stat().st_mode) == 0o600
    assert device_file.load(tmp_path) == dev
    assert "private" not in repr(dev) and dev.device_private_key not in repr(dev)
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]
    p.write_text("{broken")
    with pytest.raises(device_file.DeviceFileError) as e:
        device_file.load(tmp_path)
    assert dev.device_private_key not in str(e.value)


def test_add_is_idempotent_and_states(tmp_path):
    dev, _ = _dev(tmp_path)
    items = _items(dev, 5)
    with Spool(tmp_path) as spool:
        assert stat.S_IMODE((tmp_path / "spool.db").stat().st_mode) == 0o600
        assert spool.add(items) == 5
        changed = [dict(items[0], sealed=dict(items[0]["sealed"], ct="AAAA"))]
        assert spool.add(changed + items) == 0  # a second add of a known record_id changes nothing
        assert spool.unbatched(10)[0]["sealed"] == items[0]["sealed"]
        assert spool.counts()["queued"] == 5
        st = spool.states(["r00000", "nope"])
        assert list(st) == ["r00000"] and st["r00000"]["state"] == "queued"
        with pytest.raises(SpoolError):
            spool.add([{"record_id": "x", "sealed": items[0]["sealed"]}])  # names another record


def test_frozen_batch_survives_reopen_and_receipt_applies(tmp_path):
    dev, _ = _dev(tmp_path)
    with Spool(tmp_path) as spool:
        spool.add(_items(dev, 30))
        b = batching.build_frozen(spool, dev.device_id, 20, 1 << 20)
        assert b.n_items == 20
    with Spool(tmp_path) as spool:  # "crash": the same bytes and key come back
        (row,) = spool.open_batches()
        assert row["body"] == b.body and row["idempotency_key"] == b.idempotency_key
        assert len(spool.unbatched(100)) == 10
        results = [{"record_id": rid, "status": "accepted", "registry_id": f"KH-{i}"} for i, rid in enumerate(b.record_ids)]
        results[3] = {"record_id": b.record_ids[3], "status": "rejected", "reason": "invalid_record"}
        results[4] = {"record_id": b.record_ids[4], "status": "duplicate", "registry_id": "KH-1"}
        results.append({"record_id": "r00025", "status": "accepted"})  # not in this batch: ignored
        del results[5]  # not mentioned: quarantined, so a faulty registry cannot make the engine loop
        spool.apply_receipt(b.batch_id, results)
        assert spool.open_batches() == []
        (recent,) = spool.recent_batches()
        assert recent["batch_id"] == b.batch_id and recent["state"] == "done" and recent["items"] == 20
        assert recent["results"] == {"synced": 18, "quarantined": 2}
        assert {q["record_id"]: q["reason"] for q in spool.quarantined()} == {
            b.record_ids[3]: "invalid_record", b.record_ids[5]: "not_in_receipt"}
        c = spool.counts()
        assert c == {"queued": 10, "synced": 18, "registered": 0, "registry_rejected": 0, "quarantined": 2}
        assert spool.states([b.record_ids[5]])[b.record_ids[5]]["reason"] == "not_in_receipt"
        assert spool.states([b.record_ids[3]])[b.record_ids[3]]["reason"] == "invalid_record"
        spool.apply_status([{"record_id": b.record_ids[0], "state": "registered", "registry_id": "KH-0"},
                            {"record_id": b.record_ids[1], "state": "rejected", "reason": "dup_person"},
                            {"record_id": b.record_ids[2], "state": "received"}])
        c = spool.counts()
        assert (c["registered"], c["registry_rejected"], c["synced"]) == (1, 1, 16)
        assert spool.requeue_quarantined([b.record_ids[3], b.record_ids[0]]) == 1
        assert spool.counts()["queued"] == 11


def test_batch_respects_byte_limit_and_claims_are_exclusive(tmp_path):
    dev, _ = _dev(tmp_path)
    with Spool(tmp_path) as spool:
        spool.add(_items(dev, 60))
        b = batching.build_frozen(spool, dev.device_id, 60, 8 * 1024)
        assert len(b.body) <= 8 * 1024 and 1 <= b.n_items < 60
        doc = json.loads(__import__("gzip").decompress(b.body))
        assert [i["record_id"] for i in doc["items"]] == b.record_ids
        assert spool.freeze_batch(batch_id="other", idempotency_key="k", body=b"x", sha256="0" * 64,
                                  record_ids=b.record_ids[:1]) is False  # already claimed
        spool.abandon_batch(b.batch_id, "batch_too_large")
        assert len(spool.unbatched(100)) == 60


def test_concurrent_adds_from_threads(tmp_path):
    dev, _ = _dev(tmp_path)
    spool = Spool(tmp_path)
    chunks = [_items(dev, 20, start=k * 20) for k in range(4)]
    threads = [threading.Thread(target=spool.add, args=(c,)) for c in chunks]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert spool.counts()["queued"] == 80
    spool.close()


def test_sizer_adapts():
    s = batching.BatchSizer(start=50, max_items=500)
    s.on_success(50)
    s.on_success(100)
    assert s.target == 200
    for _ in range(3):
        s.on_success(s.target)
    assert s.target == 500
    s.on_timeout()
    assert s.target == 250
    s.on_too_large(100)
    assert s.target == 50
