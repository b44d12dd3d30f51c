"""SyncService (the desktop client's background loop) and USB bundles."""

from __future__ import annotations

import dataclasses
import json
import threading
import time

import pytest
from helpers.sync_helpers import assert_all_state, assert_exactly_once, fast_config, fill_spool

from fieldapp.outbound import device as device_file
from fieldapp.outbound.spool import Spool
from sync.bundle import write_bundle
from sync.engine import Engine
from sync.service import SyncService


def _wait(pred, timeout=30.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return False


def _queued(data_dir):
    with Spool(data_dir) as spool:
        return spool.counts()["queued"]


def test_service_drains_by_itself_when_registry_comes_back(registry, device_dir, proxy):
    ids = fill_spool(device_dir, 120, seed=51)
    proxy.add("captive", path="/v1/health", method="GET", count=None)  # offline: a portal answers
    seen = []
    svc = SyncService(device_dir, config=fast_config(), idle_interval=0.2, probe_base=0.05, probe_cap=0.3,
                      listener=seen.append)
    svc.start()
    try:
        assert _wait(lambda: proxy.count("/v1/health") >= 3)
        p = svc.latest_progress()
        assert p.online is False and _queued(device_dir) == 120
        with pytest.raises(dataclasses.FrozenInstanceError):
            p.phase = "x"
        proxy.clear()  # connectivity is back: nobody presses a button
        assert _wait(lambda: _queued(device_dir) == 0)
        assert _wait(lambda: svc.latest_progress().phase == "done")
        p = svc.latest_progress()
        assert p.online is True and p.records_sent == 120 and p.batches_done >= 2 and p.last_success_at
        more = fill_spool(device_dir, 10, seed=52)
        svc.kick()
        assert _wait(lambda: _queued(device_dir) == 0, 10)
    finally:
        svc.stop()
    assert any(s.phase == "sending" for s in seen)
    assert_all_state(device_dir, ids + more)
    assert_exactly_once(registry, ids + more)


def test_an_idle_service_still_checks_the_connection(registry, device_dir, proxy):
    """Nothing queued: the status bar's connection is checked anyway (never "not checked yet" for good)."""
    svc = SyncService(device_dir, config=fast_config(), idle_interval=0.2, probe_base=0.05, probe_cap=0.3)
    svc.start()
    try:
        assert _wait(lambda: svc.latest_progress().online is True)
        proxy.add("captive", path="/v1/health", method="GET", count=None)  # the network goes
        assert _wait(lambda: svc.latest_progress().online is False)
    finally:
        svc.stop()
    assert _queued(device_dir) == 0


def test_abort_keeps_the_rest_queued(registry, device_dir, proxy):
    ids = fill_spool(device_dir, 100, seed=53)
    proxy.add("delay", seconds=0.4, count=None)
    svc = SyncService(device_dir, config=fast_config(start_items=10, max_items=10, parallel=1))
    out = {}
    t = threading.Thread(target=lambda: out.update(res=svc.sync_once()))
    t.start()
    assert proxy.wait_for("/v1/batches", 2, answered=True)
    svc.abort()
    t.join(30)
    assert out["res"].outcome == "aborted" and out["res"].exit_code == 3
    assert 0 < _queued(device_dir) < 100
    assert svc.latest_progress().phase == "aborted"
    proxy.clear()
    assert svc.sync_once().exit_code == 0
    assert_all_state(device_dir, ids)
    assert_exactly_once(registry, ids)


def test_usb_bundle_then_network_sync_stores_nothing_twice(registry, device_dir, tmp_path):
    ids = fill_spool(device_dir, 80, seed=54)
    dev = device_file.load(device_dir)
    out = tmp_path / "stick" / "bundle.zip"
    out.parent.mkdir()
    assert write_bundle(device_dir, dev, out) == (80, 1)
    assert _queued(device_dir) == 80  # a bundle is not proof of delivery
    summary = json.loads(registry.cli("import-bundle", str(out)))
    assert summary["refused"] == [] and summary["results"] == {"accepted": 80}
    assert_exactly_once(registry, ids)
    res = Engine(device_dir, config=fast_config()).run(timeout=60)
    assert res.exit_code == 0 and res.sent == 80
    assert_all_state(device_dir, ids)
    assert_exactly_once(registry, ids)
    assert write_bundle(device_dir, dev, tmp_path / "empty.zip") == (0, 0)
    assert not (tmp_path / "empty.zip").exists()
