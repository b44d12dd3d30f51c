"""A fault-injecting HTTP/1.1 proxy on loopback (threads + sockets) for sync tests.

It sits between the client and the registry, reads each request whole (headers +
Content-Length body) and applies the first matching rule:

- ``reset``: forward the headers and half of the body, then reset both connections
  (the registry never sees a complete request);
- ``drop_response``: forward the request, read the registry's whole answer (the
  batch is committed), then reset the client connection instead of answering;
- ``delay``: hold the registry's answer ``seconds`` before passing it on;
- ``status``: answer by itself, e.g. 503 with ``Retry-After`` (the registry is not contacted);
- ``captive``: answer ``200 OK`` with an HTML login page, like a captive portal;
- ``tamper_signature``: pass the answer on with its receipt signature corrupted;
- ``limit``: forward at most ``rate`` bytes/s in each direction.

Rules match a method and a path prefix, can skip the first ``after`` matches and
apply ``count`` times (None = forever). ``seen`` counts requests per path. ``port`` puts the proxy
on a fixed loopback port (a laptop's registry address), else on a free one; ``upstream`` may be changed
while it runs (a registry restarted on another port).
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from dataclasses import dataclass


@dataclass
class Rule:
    action: str
    path: str = "/v1/batches"
    method: str = "POST"
    after: int = 0
    count: int | None = 1
    seconds: float = 0.0
    status: int = 503
    retry_after: str | None = "1"
    rate: float = 0.0
    matched: int = 0
    applied: int = 0


def _reset(sock: socket.socket) -> None:
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


def _read_message(sock: socket.socket, buf: bytearray, is_response: bool = False):
    """One HTTP message ``(head, body)`` from ``sock``; None on EOF before a message."""
    while b"\r\n\r\n" not in buf:
        data = sock.recv(65536)
        if not data:
            return None
        buf += data
    end = buf.index(b"\r\n\r\n") + 4
    head = bytes(buf[:end])
    del buf[:end]
    length = None
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    if length is None:
        if not is_response:
            length = 0
        else:  # read to EOF
            while True:
                data = sock.recv(65536)
                if not data:
                    break
                buf += data
            length = len(buf)
    while len(buf) < length:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("truncated")
        buf += data
    body = bytes(buf[:length])
    del buf[:length]
    return head, body


class FaultProxy:
    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1", port: int = 0):
        """Listen on loopback ``port`` (0: any free one; a fixed one raises OSError if it is taken)."""
        self.upstream = (upstream_host, upstream_port)
        self.rules: list[Rule] = []
        self.seen: dict[str, int] = {}
        self.answered: dict[str, int] = {}  # answers passed on to the client
        self.upstream_answered: dict[str, int] = {}  # answers the registry gave (it has committed)
        self.lock = threading.Lock()
        self._srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._srv.bind(("127.0.0.1", port))
        except OSError:
            self._srv.close()
            raise
        self._srv.listen(64)
        self.port = self._srv.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._closed = False
        self._conns: set[socket.socket] = set()
        threading.Thread(target=self._accept, daemon=True).start()

    # -- control ---------------------------------------------------------------
    def add(self, action: str, **kw) -> Rule:
        rule = Rule(action, **kw)
        with self.lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self.lock:
            self.rules.clear()

    def count(self, path: str = "/v1/batches") -> int:
        with self.lock:
            return self.seen.get(path, 0)

    def wait_for(self, path: str, n: int, timeout: float = 30.0, answered: bool = False,
                 committed: bool = False) -> bool:
        """Wait until ``n`` requests to ``path`` were seen (or answered to the client, or by the registry)."""
        table = self.answered if answered else self.upstream_answered if committed else self.seen
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                got = table.get(path, 0)
            if got >= n:
                return True
            time.sleep(0.02)
        return False

    def close(self) -> None:
        self._closed = True
        try:
            self._srv.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() and stops listening
        except OSError:
            pass
        try:
            self._srv.close()
        except OSError:
            pass
        for c in list(self._conns):
            _reset(c)

    # -- plumbing --------------------------------------------------------------
    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._srv.accept()
            except OSError:
                return
            self._conns.add(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _match(self, method: str, path: str) -> Rule | None:
        with self.lock:
            self.seen[path] = self.seen.get(path, 0) + 1
            for rule in self.rules:
                if rule.method == method and path.startswith(rule.path):
                    rule.matched += 1
                    if rule.matched > rule.after and (rule.count is None or rule.applied < rule.count):
                        rule.applied += 1
                        return rule
        return None

    def _serve(self, client: socket.socket) -> None:
        upstream, cbuf, ubuf = None, bytearray(), bytearray()
        try:
            while True:
                msg = _read_message(client, cbuf)
                if msg is None:
                    return
                head, body = msg
                method, target = head.split(b" ", 2)[:2]
                path = target.decode("latin-1").split("?")[0]
                rule = self._match(method.decode(), path)
                action = rule.action if rule else "pass"
                if action == "status":
                    extra = f"Retry-After: {rule.retry_after}\r\n" if rule.retry_after else ""
                    payload = json.dumps({"error": "busy", "detail": "proxy"}).encode()
                    client.sendall((f"HTTP/1.1 {rule.status} Busy\r\nContent-Type: application/json\r\n{extra}"
                                    f"Content-Length: {len(payload)}\r\n\r\n").encode() + payload)
                    continue
                if action == "captive":
                    page = b"<html><body>Welcome! Please log in to use the Wi-Fi.</body></html>"
                    client.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: "
                                   + str(len(page)).encode() + b"\r\n\r\n" + page)
                    continue
                if upstream is not None:  # one upstream connection per request: no stale keep-alive
                    upstream.close()
                    ubuf.clear()
                try:
                    upstream = socket.create_connection(self.upstream, timeout=60)
                except OSError:
                    _reset(client)
                    return
                if action == "reset":
                    upstream.sendall(head + body[: len(body) // 2])
                    _reset(upstream)
                    _reset(client)
                    return
                self._send(upstream, head + body, rule if action == "limit" else None)
                resp = _read_message(upstream, ubuf, is_response=True)
                if resp is None:
                    _reset(client)
                    return
                rhead, rbody = resp
                with self.lock:
                    self.upstream_answered[path] = self.upstream_answered.get(path, 0) + 1
                if action == "drop_response":
                    _reset(client)
                    _reset(upstream)
                    return
                if action == "delay":
                    time.sleep(rule.seconds)
                if action == "tamper_signature":
                    rhead, rbody = self._tamper(rhead, rbody)
                self._send(client, rhead + rbody, rule if action == "limit" else None)
                with self.lock:
                    self.answered[path] = self.answered.get(path, 0) + 1
        except (OSError, ConnectionError, ValueError):
            _reset(client)
        finally:
            self._conns.discard(client)
            if upstream is not None:
                try:
                    upstream.close()
                except OSError:
                    pass

    @staticmethod
    def _send(sock: socket.socket, data: bytes, rule: Rule | None) -> None:
        if rule is None or rule.rate <= 0:
            sock.sendall(data)
            return
        step = max(1, int(rule.rate / 20))
        for i in range(0, len(data), step):
            sock.sendall(data[i:i + step])
            time.sleep(len(data[i:i + step]) / rule.rate)

    @staticmethod
    def _tamper(head: bytes, body: bytes) -> tuple[bytes, bytes]:
        try:
            doc = json.loads(body)
            sig = doc["signature"]
            doc["signature"] = ("A" if sig[0] != "A" else "B") + sig[1:]
            body2 = json.dumps(doc).encode()
        except (ValueError, KeyError, TypeError, IndexError):
            return head, body
        lines = [ln for ln in head.split(b"\r\n") if ln and not ln.lower().startswith(b"content-length")]
        head2 = b"\r\n".join(lines) + b"\r\nContent-Length: " + str(len(body2)).encode() + b"\r\n\r\n"
        return head2, body2
