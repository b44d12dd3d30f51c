"""The engine against a real registry subprocess: happy path, quarantine, refusals, untrusted answers."""

from __future__ import annotations

import pytest
from helpers.sync_helpers import assert_all_state, assert_exactly_once, fast_config, fill_spool

from fieldapp.outbound import device as device_file
from fieldapp.outbound.spool import Spool
from sync.engine import Engine
from sync.errors import SyncError
from sync.registration import register
from sync.transport import check_url


def test_drain_then_status_and_exactly_once(registry, device_dir):
    ids = fill_spool(device_dir, 260, seed=11)
    res = Engine(device_dir, config=fast_config()).run(timeout=60)
    assert res.outcome == "complete" and res.exit_code == 0
    assert res.sent == 260 and res.batches >= 3
    assert_all_state(device_dir, ids, ("registered",))  # register_delay 0: status poll moved them on
    assert_exactly_once(registry, ids)
    with Spool(device_dir) as spool:
        assert spool.get_meta("batch_size") > 50  # grew after successes
    again = Engine(device_dir, config=fast_config()).run(timeout=30)
    assert again.outcome == "complete" and again.sent == 0


def test_invalid_record_quarantined_rest_accepted(registry, device_dir):
    ids = fill_spool(device_dir, 40, seed=12, invalid=(7,))
    res = Engine(device_dir, config=fast_config()).run(timeout=60)
    assert res.exit_code == 4 and res.quarantined == 1 and res.sent == 39
    with Spool(device_dir) as spool:
        st = spool.states(ids)
    assert st[ids[7]]["state"] == "quarantined" and st[ids[7]]["reason"] == "invalid_record"
    good = [r for i, r in enumerate(ids) if i != 7]
    assert_all_state(device_dir, good)
    assert_exactly_once(registry, good)
    with Spool(device_dir) as spool:  # a supervisor may requeue; it is quarantined again, nothing else moves
        assert spool.requeue_quarantined([ids[7]]) == 1
    res = Engine(device_dir, config=fast_config()).run(timeout=60)
    assert res.exit_code == 4 and res.sent == 0


def test_captive_portal_200_html_marks_nothing(device_dir, proxy):
    ids = fill_spool(device_dir, 30, seed=13)
    proxy.add("captive", count=None)
    res = Engine(device_dir, config=fast_config(max_failures=3)).run(timeout=30)
    assert res.outcome == "unreachable" and res.exit_code == 3 and res.error == "unexpected_answer"
    assert_all_state(device_dir, ids, ("queued",))
    proxy.clear()
    proxy.add("captive", path="/v1/health", method="GET", count=None)
    res = Engine(device_dir, config=fast_config(max_failures=2)).run(timeout=2)
    assert res.outcome == "unreachable" and proxy.count("/v1/health") >= 2  # a portal's 200 is not the registry's health answer
    assert_all_state(device_dir, ids, ("queued",))


def test_receipt_with_bad_signature_marks_nothing(registry, device_dir, proxy):
    ids = fill_spool(device_dir, 30, seed=14)
    proxy.add("tamper_signature", count=None)
    res = Engine(device_dir, config=fast_config(max_failures=3)).run(timeout=30)
    assert res.exit_code == 3 and res.error == "bad_receipt"
    assert_all_state(device_dir, ids, ("queued",))
    proxy.clear()  # the registry did commit: the resend of the frozen batch replays the real receipt
    res = Engine(device_dir, config=fast_config()).run(timeout=30)
    assert res.exit_code == 0
    assert_all_state(device_dir, ids)
    assert_exactly_once(registry, ids)


def test_revoked_device_refused_everything_kept(registry, device_dir):
    ids = fill_spool(device_dir, 20, seed=15)
    registry.revoke(device_file.load(device_dir).device_id)
    res = Engine(device_dir, config=fast_config()).run(timeout=30)
    assert res.outcome == "refused" and res.error == "device_revoked" and res.exit_code == 5
    assert_all_state(device_dir, ids, ("queued",))


def test_plain_http_only_to_loopback(tmp_path):
    for url in ("http://127.0.0.1:8443", "http://127.5.0.1", "http://[::1]:80", "http://localhost:1/",
                "https://registry.example.org"):
        assert check_url(url)
    for url in ("http://registry.example.org", "http://10.0.0.5:8443", "http://192.168.1.1", "http://[fe80::1]",
                "http://localhost.evil.com"):
        with pytest.raises(SyncError) as e:
            register(tmp_path / "x", url, "CODE")
        assert e.value.code == "insecure_url"
        assert "http" in e.value.message("en")
    assert not (tmp_path / "x" / "device.json").exists()
    for url in ("ftp://x", "https://", "https://x/?a=b"):
        with pytest.raises(SyncError):
            check_url(url)


def test_register_twice_refused_and_bad_code(registry, tmp_path):
    dev = register(tmp_path / "a", registry.url, registry.code())
    with pytest.raises(SyncError) as e:
        register(tmp_path / "a", registry.url, registry.code())
    assert e.value.code == "already_registered"
    with pytest.raises(SyncError) as e:
        register(tmp_path / "b", registry.url, "AAAA-BBBB-CCCC-DDDD")
    assert e.value.code == "enroll_refused" and e.value.params["reason"] == "bad_code"
    assert device_file.load(tmp_path / "a") == dev
