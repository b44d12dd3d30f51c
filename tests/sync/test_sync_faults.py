"""Faults on the way: every case ends with each record exactly once at the registry and synced locally."""

from __future__ import annotations

import signal
import subprocess
import threading
import time

from helpers.sync_helpers import PY, REPO, assert_all_state, assert_exactly_once, env, fast_config, fill_spool

from fieldapp.outbound.spool import Spool
from sync.engine import Engine


def _run(device_dir, timeout=90, **cfg):
    res = Engine(device_dir, config=fast_config(**cfg)).run(timeout=timeout)
    assert res.outcome == "complete" and res.exit_code == 0, res
    return res


def test_connection_reset_mid_request(registry, device_dir, proxy):
    ids = fill_spool(device_dir, 150, seed=21)
    rule = proxy.add("reset", after=1, count=3)
    _run(device_dir)
    assert rule.applied == 3
    assert_all_state(device_dir, ids)
    assert_exactly_once(registry, ids)


def test_answer_lost_after_commit(registry, device_dir, proxy):
    ids = fill_spool(device_dir, 150, seed=22)
    rule = proxy.add("drop_response", after=1, count=2)
    res = _run(device_dir)
    assert rule.applied == 2 and res.sent == 150  # the resends got the stored receipts (duplicates of nothing)
    assert_all_state(device_dir, ids)
    assert_exactly_once(registry, ids)


def test_read_timeout_resends_same_batch_and_shrinks(registry, device_dir, proxy):
    ids = fill_spool(device_dir, 120, seed=23)
    rule = proxy.add("delay", seconds=5.0, count=1)
    _run(device_dir, read_timeout=2.5, parallel=1)
    assert rule.applied == 1
    with Spool(device_dir) as spool:
        assert spool.get_meta("batch_size") < 400
    assert_all_state(device_dir, ids)
    assert_exactly_once(registry, ids)


def test_503_retry_after_obeyed(registry, device_dir, proxy):
    ids = fill_spool(device_dir, 40, seed=24)
    rule = proxy.add("status", status=503, retry_after="1", count=2)
    t0 = time.monotonic()
    _run(device_dir, parallel=1, backoff_base=0.01)
    assert rule.applied == 2 and time.monotonic() - t0 >= 2.0
    assert_all_state(device_dir, ids)
    assert_exactly_once(registry, ids)


def test_slow_link_limit(registry, device_dir, proxy):
    ids = fill_spool(device_dir, 60, seed=25)
    proxy.add("limit", rate=100_000, count=None)
    _run(device_dir)
    assert_all_state(device_dir, ids)
    assert_exactly_once(registry, ids)


def test_registry_killed_and_restarted_mid_sync(registry, device_dir, proxy):
    ids = fill_spool(device_dir, 400, seed=26)
    proxy.add("delay", seconds=0.3, count=None)
    out = {}
    t = threading.Thread(target=lambda: out.update(res=Engine(device_dir, config=fast_config(
        start_items=40, max_items=40)).run(timeout=120)))
    t.start()
    assert proxy.wait_for("/v1/batches", 2, timeout=60, answered=True)
    registry.kill()
    time.sleep(1.0)
    registry.start()
    t.join(150)
    assert out["res"].exit_code == 0, out["res"]
    assert_all_state(device_dir, ids)
    assert_exactly_once(registry, ids)


def test_client_sigkilled_mid_sync_and_restarted(registry, device_dir, proxy):
    ids = fill_spool(device_dir, 300, seed=27)
    proxy.add("delay", seconds=1.5, count=None)  # the registry commits, the answer waits in the proxy
    cmd = [PY, "-m", "sync", "sync", "--data-dir", str(device_dir), "--timeout", "120"]
    proc = subprocess.Popen(cmd, cwd=REPO, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proxy.wait_for("/v1/batches", 3, timeout=60, committed=True)  # its answer now waits in the proxy
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    with Spool(device_dir) as spool:
        open_ids = [r for b in spool.open_batches() for r in b["record_ids"]]
        assert open_ids and spool.counts()["queued"] > 0
    held = registry.export_counts()
    assert any(held.get(r) for r in open_ids)  # committed at the registry, receipt never seen by the client
    proxy.clear()
    done = subprocess.run(cmd, cwd=REPO, env=env(), capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert_all_state(device_dir, ids)
    assert_exactly_once(registry, ids)


def test_401_refreshes_token_and_413_splits_the_batch(registry, device_dir, proxy):
    ids = fill_spool(device_dir, 90, seed=28)
    proxy.add("status", status=401, retry_after=None, count=1)
    too_big = proxy.add("status", status=413, retry_after=None, count=1)
    res = _run(device_dir, parallel=1)
    assert proxy.count("/v1/auth/token") == 2 and too_big.applied == 1 and res.sent == 90
    with Spool(device_dir) as spool:
        assert spool.get_meta("batch_size") <= 100  # shrank after the 413, then grew again
    assert_all_state(device_dir, ids)
    assert_exactly_once(registry, ids)
