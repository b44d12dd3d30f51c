"""An attacker's tools against a live registry, over raw sockets: stalled uploads, half-sent request heads,
request floods, and the registry process's memory (``/proc/PID/status``).

Used by tests/attack/test_attack_registry_load*.py and by bench/registry_load.py (which measures the same floods
against this tree and an older one). Nothing here asserts a time: callers wait with generous upper bounds.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
import uuid

from fieldapp.outbound import wire


def proc_kib(pid: int, field: str = "VmRSS") -> int:
    """A memory figure of a process in KiB (``VmRSS`` now, ``VmHWM`` the peak)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def connect(port: int, timeout: float = 10.0) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def request_head(method: str, path: str, headers: dict) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape")


def stalled_uploads(port: int, n: int, declared: int, send: int, token: str = "v1.x.y",
                    path: str = "/v1/batches", per_socket_s: float = 2.0) -> list[socket.socket]:
    """``n`` uploads that declare ``declared`` body bytes, send up to ``send`` of them and then stall.

    Sending stops early when the registry stops reading (the socket would block for ``per_socket_s``) or
    closes the connection. The sockets are returned open, still stalled."""
    socks, chunk = [], b"\0" * 65536
    for _ in range(n):
        s = connect(port)
        s.sendall(request_head("POST", path, {
            "Authorization": f"Bearer {token}", "Content-Length": str(declared), "Content-Encoding": "gzip",
            "Idempotency-Key": f"k-{uuid.uuid4()}", "X-Batch-Signature": "AAAA"}))
        s.settimeout(per_socket_s)
        sent = 0
        try:
            while sent < send:
                sent += s.send(chunk[:min(len(chunk), send - sent)])
        except OSError:  # would block (the registry is not reading) or closed by the registry
            pass
        socks.append(s)
    return socks


def half_heads(port: int, n: int, path: str = "/v1/health") -> list[socket.socket]:
    """``n`` connections that send the start of a request head and stall (no blank line ever comes)."""
    socks = []
    for _ in range(n):
        s = connect(port)
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a".encode())
        socks.append(s)
    return socks


def closed_by_peer(s: socket.socket) -> bool:
    """True when the registry closed this connection (EOF or reset), reading whatever answer it sent."""
    s.setblocking(False)
    try:
        while True:
            data = s.recv(65536)
            if not data:
                return True
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        s.setblocking(True)


def answer_status(s: socket.socket, timeout: float = 10.0) -> int | None:
    """The status code of the first answer on this connection (None if it closed without one)."""
    s.settimeout(timeout)
    buf = b""
    try:
        while b"\r\n" not in buf:
            data = s.recv(4096)
            if not data:
                break
            buf += data
    except OSError:
        pass
    parts = buf.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


def close_all(socks) -> None:
    for s in socks:
        try:
            s.close()
        except OSError:
            pass


def call(port: int, method: str, path: str, body=None, headers: dict | None = None,
         timeout: float = 10.0) -> tuple[int, dict, object, float]:
    """One request on a fresh connection: ``(status, headers (lower case), JSON or raw body, seconds)``.

    ``status`` is 0 when the registry did not answer within ``timeout`` or closed the connection."""
    hdrs = dict(headers or {})
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    start = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=hdrs)
        r = conn.getresponse()
        raw = r.read()
        rh = {k.lower(): v for k, v in r.getheaders()}
        try:
            data = json.loads(raw) if "json" in rh.get("content-type", "") else raw
        except ValueError:
            data = raw
        return r.status, rh, data, time.monotonic() - start
    except (OSError, http.client.HTTPException):
        return 0, {}, None, time.monotonic() - start
    finally:
        conn.close()


def health(port: int, timeout: float = 10.0) -> tuple[int, object, float]:
    status, _h, data, secs = call(port, "GET", "/v1/health", timeout=timeout)
    return status, data, secs


class Device:
    """A device enrolled through raw HTTP (with a code the operator command printed), that logs in and posts."""

    def __init__(self, port: int, code: str):
        self.port = port
        self.private, self.public = wire.new_device_keys()
        status, _h, data, _s = call(port, "POST", "/v1/devices/enroll",
                                    {"code": code, "public_key": wire.b64e(self.public)})
        assert status == 200, (status, data)
        self.device_id = data["device_id"]
        self.token: str | None = None

    def login(self) -> str:
        status, _h, data, _s = call(self.port, "POST", "/v1/auth/challenge", {"device_id": self.device_id})
        assert status == 200, (status, data)
        sig = wire.sign_challenge(self.device_id, data["nonce"], self.private)
        status, _h, data, _s = call(self.port, "POST", "/v1/auth/token",
                                    {"device_id": self.device_id, "nonce": data["nonce"], "signature": sig})
        assert status == 200, (status, data)
        self.token = data["token"]
        return self.token

    def post(self, body: bytes, key: str | None = None, timeout: float = 60.0):
        key = key or f"k-{uuid.uuid4()}"
        return call(self.port, "POST", "/v1/batches", body, {
            "Authorization": f"Bearer {self.token or self.login()}", "Idempotency-Key": key,
            "Content-Encoding": "gzip", "Content-Type": "application/json",
            "X-Batch-Signature": wire.sign_batch(body, idempotency_key=key, device_private=self.private)},
            timeout=timeout)

    def empty_batch(self) -> bytes:
        """A batch with no items (version 1: every release takes it); it still stores a receipt."""
        return wire.build_batch([], device_id=self.device_id, batch_id=str(uuid.uuid4()), version=1)


def flood(port: int, method: str, path: str, body_of, threads: int, seconds: float,
          headers_of=None) -> dict:
    """Send requests from ``threads`` threads for ``seconds``; returns ``{status: count}`` (0: no answer), plus
    ``retry_after_seen`` (the first few 429s' ``Retry-After``) and ``details_seen`` (their details)."""
    counts: dict = {}
    lock, end = threading.Lock(), time.monotonic() + seconds
    retry_after: list = []
    details: set = set()

    def worker(i: int) -> None:
        n = 0
        while time.monotonic() < end:
            n += 1
            status, rh, data, _s = call(port, method, path, body_of(i, n), headers_of(i, n) if headers_of else None)
            with lock:
                counts[status] = counts.get(status, 0) + 1
                if status == 429:
                    details.add(data.get("detail") if isinstance(data, dict) else None)
                    if len(retry_after) < 5:
                        retry_after.append(rh.get("retry-after"))

    ts = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(seconds + 60)
    counts["retry_after_seen"], counts["details_seen"] = retry_after, details
    return counts
