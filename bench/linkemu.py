"""A link emulator on loopback: a TCP proxy that behaves like a slow 3G link.

Each direction is one shared link (all connections queue on it, as on one modem):
bytes are serialised at the link's bandwidth - TCP/IP header overhead included, 40
bytes per 1460-byte segment - and then delivered after the one-way propagation delay
(150 ms each way = 300 ms RTT). A new connection pays one RTT for the TCP handshake
before its first byte moves. The link buffer is bounded (``buffer_s`` seconds of
traffic), so TCP backpressure reaches the sender like a modem's full queue would.

    emu = LinkEmulator(upstream_port, delay=0.150, up_bps=1e6, down_bps=4e6)
    ... point the client at emu.url ...
    emu.stats()  # bytes each way (payload and on the wire), connections
    emu.close()
"""

from __future__ import annotations

import math
import queue
import socket
import threading
import time

MSS, HEADER = 1460, 40


class Link:
    """One direction: a transmitter that is busy until ``free_at``."""

    def __init__(self, bps: float, delay: float, buffer_s: float):
        self.bps, self.delay, self.buffer_s = float(bps), float(delay), float(buffer_s)
        self.lock = threading.Lock()
        self.free_at = 0.0
        self.payload_bytes = 0
        self.wire_bytes = 0

    def schedule(self, n: int) -> float:
        """Queue ``n`` payload bytes; returns when they arrive at the far end (monotonic)."""
        wire = n + HEADER * max(1, math.ceil(n / MSS))
        with self.lock:
            now = time.monotonic()
            start = max(now, self.free_at)
            self.free_at = start + wire * 8 / self.bps
            self.payload_bytes += n
            self.wire_bytes += wire
            done = self.free_at
        backlog = done - time.monotonic() - self.buffer_s
        if backlog > 0:  # the modem's buffer is full: stop reading from the sender for a while
            time.sleep(backlog)
        return done + self.delay


class LinkEmulator:
    def __init__(self, upstream_port: int, *, upstream_host: str = "127.0.0.1", delay: float = 0.150,
                 up_bps: float = 1_000_000, down_bps: float = 4_000_000, buffer_s: float = 0.5):
        self.upstream = (upstream_host, upstream_port)
        self.delay = delay
        self.up = Link(up_bps, delay, buffer_s)
        self.down = Link(down_bps, delay, buffer_s)
        self.connections = 0
        self._srv = socket.socket()
        self._srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._srv.bind(("127.0.0.1", 0))
        self._srv.listen(64)
        self.port = self._srv.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._closed = False
        self._socks: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True, name="linkemu-accept").start()

    @property
    def rtt(self) -> float:
        return 2 * self.delay

    def stats(self) -> dict:
        return {"up_payload_bytes": self.up.payload_bytes, "up_wire_bytes": self.up.wire_bytes,
                "down_payload_bytes": self.down.payload_bytes, "down_wire_bytes": self.down.wire_bytes,
                "connections": self.connections}

    def reset_stats(self) -> None:
        for link in (self.up, self.down):
            link.payload_bytes = link.wire_bytes = 0
        self.connections = 0

    def close(self) -> None:
        self._closed = True
        try:
            self._srv.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._srv.close()
        for s in self._socks:
            try:
                s.close()
            except OSError:
                pass

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._srv.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client: socket.socket) -> None:
        try:
            server = socket.create_connection(self.upstream)
        except OSError:
            client.close()
            return
        for s in (client, server):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._socks += [client, server]
        handshake_done = time.monotonic() + self.rtt  # SYN / SYN-ACK before the first data byte leaves
        self._pump(client, server, self.up, handshake_done)
        self._pump(server, client, self.down, 0.0)

    def _pump(self, src: socket.socket, dst: socket.socket, link: Link, not_before: float) -> None:
        q: queue.Queue = queue.Queue()

        def reader():
            try:
                while True:
                    data = src.recv(16384)
                    if not data:
                        break
                    wait = not_before - time.monotonic()
                    if wait > 0:
                        time.sleep(wait)
                    for i in range(0, len(data), MSS):  # segment by segment, not store-and-forward
                        seg = data[i:i + MSS]
                        q.put((link.schedule(len(seg)), seg))
            except OSError:
                pass
            q.put((None, None))

        def writer():
            try:
                while True:
                    at, data = q.get()
                    if data is None:
                        dst.shutdown(socket.SHUT_WR)
                        return
                    wait = at - time.monotonic()
                    if wait > 0:
                        time.sleep(wait)
                    dst.sendall(data)
            except OSError:
                pass

        threading.Thread(target=reader, daemon=True).start()
        threading.Thread(target=writer, daemon=True).start()
