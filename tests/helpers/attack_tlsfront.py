"""A TLS-terminating TCP relay on loopback that counts what the client sends *after* the handshake.

It stands in for the registry's TLS proxy: it presents whichever certificate the test chose (``use(cert)``),
completes the handshake, then relays bytes to the plain-HTTP registry. ``app_bytes`` counts every byte a client
sent after a completed handshake: zero means not a single byte of any HTTP request (request line, headers, body)
reached the server. ``handshakes`` and ``handshake_failures`` count the attempts.
"""

from __future__ import annotations

import socket
import ssl
import threading


class TlsFront:
    def __init__(self, upstream_port: int):
        self.upstream = ("127.0.0.1", upstream_port)
        self.lock = threading.Lock()
        self.ctx: ssl.SSLContext | None = None
        self.app_bytes = 0
        self.handshakes = 0
        self.handshake_failures = 0
        self.requests = 0
        self._srv = socket.socket()
        self._srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._srv.bind(("127.0.0.1", 0))
        self._srv.listen(32)
        self.port = self._srv.getsockname()[1]
        self.url = f"https://localhost:{self.port}"
        self._closed = False
        self._threads: list[threading.Thread] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def use(self, cert) -> None:
        """Present ``cert`` (a trustme LeafCert) to new connections."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cert.configure_cert(ctx)
        with self.lock:
            self.ctx = ctx

    def reset(self) -> None:
        with self.lock:
            self.app_bytes = self.handshakes = self.handshake_failures = self.requests = 0

    def counts(self) -> dict:
        with self.lock:
            return {"app_bytes": self.app_bytes, "handshakes": self.handshakes,
                    "handshake_failures": self.handshake_failures, "requests": self.requests}

    def close(self) -> None:
        self._closed = True
        try:
            self._srv.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._srv.close()

    # -- plumbing -------------------------------------------------------------
    def _accept(self) -> None:
        while not self._closed:
            try:
                raw, _ = self._srv.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(raw,), daemon=True).start()

    def _serve(self, raw: socket.socket) -> None:
        with self.lock:
            ctx = self.ctx
        raw.settimeout(30)
        try:
            tls = ctx.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            with self.lock:
                self.handshake_failures += 1
            raw.close()
            return
        with self.lock:
            self.handshakes += 1
        try:
            up = socket.create_connection(self.upstream, timeout=30)
        except OSError:
            tls.close()
            return
        done = threading.Event()

        def client_to_upstream():
            try:
                while True:
                    data = tls.recv(65536)
                    if not data:
                        break
                    with self.lock:
                        self.app_bytes += len(data)
                        self.requests += data.count(b" HTTP/1.1\r\n")
                    up.sendall(data)
            except (OSError, ssl.SSLError):
                pass
            finally:
                done.set()
                try:
                    up.shutdown(socket.SHUT_WR)
                except OSError:
                    pass

        t = threading.Thread(target=client_to_upstream, daemon=True)
        t.start()
        try:
            while True:
                data = up.recv(65536)
                if not data:
                    break
                tls.sendall(data)
        except (OSError, ssl.SSLError):
            pass
        finally:
            done.wait(5)
            for s in (tls, up):
                try:
                    s.close()
                except OSError:
                    pass
