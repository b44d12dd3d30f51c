"""The registry under pre-authentication load, attacked over raw sockets (tests/helpers/attack_load.py): stalled
uploads, half-sent request heads, a gzip bomb from an authenticated device, floods of challenges, tokens and
enrollments, non-ASCII bearer tokens, and a stderr nobody reads. Each test runs its own ``fieldapp-registry serve``
process with short timeouts (``--header-timeout 2 --body-timeout 3 --intake-wait 2``) so the server's deadlines
fire within the test; nothing asserts that anything happened *within* a time: waits have generous upper bounds.
A full data folder is in test_attack_registry_disk.py.
"""

from __future__ import annotations

import sqlite3
import subprocess
import time
import uuid
import zlib
from datetime import date

import pytest
from helpers import attack_load as al
from helpers.attack_tools import case, wait_until
from helpers.sync_helpers import PY, REPO, Registry, env, free_port

from fieldapp.outbound import wire

SHORT = ["--header-timeout", "2", "--body-timeout", "3", "--intake-wait", "2"]


@pytest.fixture
def registry(tmp_path):
    started = []

    def start(*extra: str) -> Registry:
        reg = Registry(tmp_path / f"reg{len(started)}", register_delay=0, extra=[*SHORT, *extra]).start()
        started.append(reg)
        return reg

    yield start
    for reg in started:
        reg.stop()


def healthy(port: int) -> bool:
    return al.health(port, timeout=10)[0] == 200


def mib(kib: int) -> float:
    return round(kib / 1024, 1)


def test_stalled_uploads_are_refused_before_their_bodies_are_read(registry):
    reg = registry("--body-timeout", "10")  # admitted uploads hold their slot far longer than the others wait (2 s)
    port, pid = reg.port, reg.proc.pid
    dev = al.Device(port, reg.code())
    dev.login()
    with case("registry: 120 stalled uploads before authentication (bad or no token, Content-Length 60 KiB to "
              "8 MiB), and stalled uploads of an authenticated device", "answered 401 before the body is read, then "
              "closed (a small unread rest is dropped, and the connection closed when it stops coming); the device's extra uploads wait for a slot and get 429 "
              "too_many_batches, the admitted ones 408 when their body stops; /v1/health answers throughout; the "
              "registry's memory stays bounded (the unfixed registry held 390 MiB for 48 uploads)") as c:
        before = al.proc_kib(pid)
        big = al.stalled_uploads(port, 48, 8 * 1024 * 1024, 256 * 1024)  # declared above max_batch_bytes
        fits = al.stalled_uploads(port, 48, 1024 * 1024, 64 * 1024)  # within it: 401, closed (> 64 KiB unread)
        small = al.stalled_uploads(port, 16, 60 * 1024, 1024)  # 401, the connection kept to drop the rest ...
        none = al.stalled_uploads(port, 8, 1024 * 1024, 1024, token="")  # no token at all
        own = al.stalled_uploads(port, 6, 1024 * 1024, 16 * 1024, token=dev.token)
        every = big + fits + small + none + own
        c.runs += len(every)
        assert healthy(port)
        rss = al.proc_kib(pid)
        statuses = [al.answer_status(s, timeout=30) for s in fits + small + none]
        assert statuses == [401] * len(statuses), statuses
        assert {al.answer_status(s, timeout=30) for s in big} <= {401, None}  # None: closed with the body unread
        own_statuses = sorted(al.answer_status(s, timeout=60) for s in own)
        assert own_statuses == [408, 408, 429, 429, 429, 429], own_statuses
        assert wait_until(lambda: all(al.closed_by_peer(s) for s in every), timeout=60)  # ... until body timeout
        assert healthy(port)
        assert dev.post(dev.empty_batch())[0] == 200  # the device's slots are free again
        peak = al.proc_kib(pid, "VmHWM")
        al.close_all(every)
        c.checked += f" [RSS {mib(before)} MiB before, {mib(rss)} MiB with {len(every)} stalled uploads open, " \
                     f"peak {mib(peak)} MiB]"
        assert rss - before < 100 * 1024, (before, rss)


def test_half_sent_request_heads_are_closed_and_health_keeps_answering(registry):
    reg = registry()
    port = reg.port
    with case("registry: 160 connections send half a request head and stall; 20 more trickle a byte every 0.5 s",
              "/v1/health answers while they are open; the server closes every one of them (header deadline from "
              "the first byte, so trickling does not keep a connection)") as c:
        stalled = al.half_heads(port, 160)
        trickle = [al.connect(port) for _ in range(20)]
        for s in trickle:
            s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n")
        c.runs += len(stalled) + len(trickle)
        for _ in range(3):
            status, _data, _secs = al.health(port, timeout=10)
            assert status == 200
        open_trickles = list(trickle)
        deadline = time.monotonic() + 60
        while open_trickles and time.monotonic() < deadline:
            for s in list(open_trickles):
                try:
                    s.sendall(b"X")
                except OSError:
                    open_trickles.remove(s)
                    continue
                if al.closed_by_peer(s):
                    open_trickles.remove(s)
            time.sleep(0.5)
        assert not open_trickles, f"{len(open_trickles)} trickling connections still open after 60 s"
        assert wait_until(lambda: all(al.closed_by_peer(s) for s in stalled), timeout=60)
        assert healthy(port)
        al.close_all(stalled + trickle)


def _bomb(device_id: str, size: int) -> bytes:
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    return comp.compress(b'{"v":1,"batch_id":"b","device_id":"%s","items":["' % device_id.encode() + b"A" * size) \
        + comp.flush()


def _largest_client_batch(dev: al.Device) -> tuple[bytes, int]:
    """A batch as large as the client builds them (sync/batching.py: 128 KiB compressed), with real sealed items."""
    from fieldapp.domain.synthetic import make_records
    from sync.batching import MAX_BYTES

    seal = wire.b64d(al.call(dev.port, "GET", "/v1/keys")[2]["seal_public_key"])
    items = []
    for i, rec in enumerate(make_records(260, seed=int(time.time()) % 10000)):
        rec["national_id"] = f"7{uuid.uuid4().int % 10**8:08d}"
        items.append(wire.seal_record(rec, record_id=str(uuid.uuid4()), device_id=dev.device_id,
                                      enrolled_on=date.today().isoformat(), seal_public=seal,
                                      device_private=dev.private))
    n = len(items)
    body = wire.build_batch(items, device_id=dev.device_id, batch_id=str(uuid.uuid4()), version=1)
    while len(body) > MAX_BYTES:
        n = int(n * MAX_BYTES / len(body) * 0.97)
        body = wire.build_batch(items[:n], device_id=dev.device_id, batch_id=str(uuid.uuid4()), version=1)
    return body, n


def test_gzip_bomb_is_refused_without_inflating_it(registry):
    reg = registry()
    dev = al.Device(reg.port, reg.code())
    with case("registry: 32 KiB gzip bomb batches (32 MiB inflated) from an authenticated device",
              "413 batch_too_large each time, the registry's peak memory grows by far less than the 32 MiB the "
              "unfixed registry inflated; the largest batch the client builds (128 KiB) is still accepted") as c:
        bomb = _bomb(dev.device_id, 32 * 1024 * 1024)
        assert len(bomb) < 40 * 1024
        dev.login()
        peak_before = al.proc_kib(reg.proc.pid, "VmHWM")
        for _ in range(5):
            status, _h, data, _s = dev.post(bomb)
            c.runs += 1
            assert (status, data.get("error")) == (413, "batch_too_large")
        growth = al.proc_kib(reg.proc.pid, "VmHWM") - peak_before
        body, n = _largest_client_batch(dev)
        status, _h, data, _s = dev.post(body)
        c.runs += 1
        assert status == 200 and [r["status"] for r in data["receipt"]["results"]] == ["accepted"] * n
        inflated = len(zlib.decompress(body, 31))
        c.checked += f" [peak RSS grew {mib(growth)} MiB for 5 bombs; a {len(body) // 1024} KiB client batch of {n} " \
                     f"records inflates to {inflated // 1024} KiB, under the 1024 KiB cap]"
        assert growth < 24 * 1024, growth


def test_floods_of_challenges_tokens_and_enrollments_get_429(registry):
    reg = registry("--rate-auth", "2", "--rate-auth-burst", "12", "--rate-enroll", "1", "--rate-enroll-burst", "5",
                   "--rate-global", "5", "--rate-global-burst", "60")
    port = reg.port
    dev = al.Device(port, reg.code())
    with case("registry: floods of POST /v1/auth/challenge, /v1/auth/token and /v1/devices/enroll (8 threads), "
              "and one spread over 400 spoofed X-Forwarded-For addresses",
              "429 rate_limited with a whole-seconds Retry-After once a bucket is empty; the device never has more "
              "than 8 outstanding nonces; the global bucket stops the spread-out flood; the device logs in after "
              "waiting; /v1/health answers throughout") as c:
        challenge = al.flood(port, "POST", "/v1/auth/challenge", lambda i, n: {"device_id": dev.device_id}, 8, 3.0)
        token = al.flood(port, "POST", "/v1/auth/token", lambda i, n: {"device_id": dev.device_id, "nonce": "n",
                                                                       "signature": "s"}, 8, 2.0)
        enroll = al.flood(port, "POST", "/v1/devices/enroll", lambda i, n: {
            "code": "AAAA-BBBB-CCCC-DDDD", "public_key": wire.b64e(wire.new_device_keys()[1])}, 4, 2.0)
        c.runs += sum(v for d in (challenge, token, enroll) for k, v in d.items() if isinstance(k, int))
        assert challenge.get(429) and challenge.get(200, 0) >= 9, challenge
        assert token.get(429) and {k for k in token if isinstance(k, int)} <= {401, 429}, token
        assert enroll.get(429) and {k for k in enroll if isinstance(k, int)} <= {403, 429}, enroll
        for seen in (challenge, token, enroll):
            assert seen["retry_after_seen"] and all(v and v.isdigit() and int(v) >= 1 for v in seen["retry_after_seen"])
        db = reg.data_dir / "registry.db"
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            nonces = conn.execute("SELECT COUNT(*) FROM nonces WHERE device_id = ?", (dev.device_id,)).fetchone()[0]
        assert nonces <= 8, nonces
        spread = al.flood(port, "POST", "/v1/auth/challenge", lambda i, n: {"device_id": dev.device_id}, 4, 2.0,
                          headers_of=lambda i, n: {"X-Forwarded-For": f"10.9.{i}.{n % 250 + 1}"})
        c.runs += sum(v for k, v in spread.items() if isinstance(k, int))
        assert spread.get(429) and "too many requests to the registry; retry later" in spread["details_seen"], spread
        assert healthy(port)

        def logs_in() -> bool:
            try:
                dev.login()
                return True
            except AssertionError:
                return False

        assert wait_until(logs_in, timeout=60, step=1.0)
        c.checked += f" [challenge flood: {challenge.get(200, 0)} x 200, {challenge.get(429, 0)} x 429; " \
                     f"{nonces} nonces kept]"


def test_non_ascii_bearer_tokens_and_macs_are_401(registry):
    reg = registry()
    port = reg.port
    dev = al.Device(port, reg.code())
    good = dev.login()
    head, payload, mac = good.split(".")
    tokens = [f"v1.{payload}.{mac[:-1]}é", f"v1.{payload}.é", f"v1.é.{mac}", "v1.x.ÿÿÿÿ", "é",
              f"v1.{payload}.{mac}é",
              (f"v1.{payload}." + "ü" * 64), f"v1.{payload}.{mac}".upper(), "v1..", "." * 999, "v1." + "a" * 2000]
    raw = [f"Bearer v1.{payload}.".encode() + "é".encode() * 32, b"Bearer \xff\xfe", b"Bearer", b"bearer  ",
           "Bearer é".encode("utf-8")]
    with case("registry: non-ASCII, malformed and oversized bearer tokens and MACs (batches, status, approval key)",
              "401 bad_token every time, never a 5xx") as c:
        for value in [f"Bearer {t}".encode("latin-1") for t in tokens] + raw:
            for method, path, body in (("POST", "/v1/batches", dev.empty_batch()), ("GET", "/v1/status", None),
                                       ("POST", "/v1/status", {"record_ids": []})):
                headers = {"Authorization": value, "Content-Encoding": "gzip", "Idempotency-Key": "k",
                           "X-Batch-Signature": "AAAA"}
                status, _h, data, _s = al.call(port, method, path, body, headers)
                c.runs += 1
                assert (status, data.get("error")) == (401, "bad_token"), (value[:40], path, status, data)
        assert dev.post(dev.empty_batch())[0] == 200  # the good token still works


def test_a_stderr_nobody_reads_does_not_stop_the_service(tmp_path):
    """The unfixed registry wrote a traceback per failed request, synchronously on its event loop: once a pipe
    nobody read was full, the service stopped answering until killed."""
    port = free_port()
    proc = subprocess.Popen([PY, "-m", "registry", "serve", "--data-dir", str(tmp_path / "data"), "--port", str(port),
                             *SHORT], cwd=REPO, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert wait_until(lambda: al.health(port, 1)[0] == 200, timeout=60)
        with case("registry: 1,500 requests while its stderr is a pipe nobody reads (each request logs a line)",
                  "every request is answered: logging goes through a bounded queue and never blocks the service") as c:
            for i in range(1500):
                path = "/v1/health" if i % 3 else "/v1/nope"
                status, _h, _d, _s = al.call(port, "GET", path, timeout=30)
                c.runs += 1
                assert status in (200, 404), (i, status)
    finally:
        proc.kill()
        proc.wait(30)
        proc.stdout.close()
        proc.stderr.close()
