"""HTTP transport to the registry: one ``requests.Session``, TLS trust, key pins.

Trust: HTTPS is verified against the CA bundle saved at registration (``ca_file``)
or, without one, the system's/certifi's store. Plain ``http://`` is refused unless
the host is literally loopback (127.0.0.0/8, ::1, ``localhost``; not ``*.localhost``).

Pins: with ``pins`` (base64 SHA-256 of a certificate's SubjectPublicKeyInfo; list a
backup pin too) the session mounts :class:`PinnedAdapter`. Its connection class
runs the normal TLS handshake (chain + host name check) in ``connect()`` and then
hashes the SPKI of the certificate the peer actually presented on *that* socket;
on a mismatch it closes the socket and raises :class:`PinMismatch` before a single
byte of the request (headers or body) is written. urllib3 always calls
``connect()`` before sending on a new connection, and a kept-alive connection
was pinned when it was opened.

Environment proxies, ``.netrc`` and ``REQUESTS_CA_BUNDLE`` are ignored
(``trust_env = False``) so nothing outside device.json changes whom we trust.
Redirects are never followed: a registry does not redirect, a captive portal does.
"""

from __future__ import annotations

import email.utils
import hashlib
import ipaddress
import json
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPSConnection
from urllib3.connectionpool import HTTPSConnectionPool

from fieldapp import __version__
from fieldapp.base.encoding import b64decode, b64encode
from sync.errors import SyncError

MAX_REPLY_BYTES = 8 * 1024 * 1024
USER_AGENT = f"fieldapp-sync/{__version__}"


# ------------------------------------------------------------------ URLs
def is_loopback_host(host: str) -> bool:
    """Literal loopback only: ``localhost``, 127.0.0.0/8 or ``::1``. Not ``*.localhost``: a name the resolver may
    send anywhere must never carry plain HTTP."""
    host = (host or "").strip("[]").lower().rstrip(".")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str) -> str:
    """The registry base URL without a trailing slash; raises ``SyncError`` if unsafe or invalid."""
    try:
        parts = urlsplit((url or "").strip())
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise SyncError("bad_url") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not host or parts.query or parts.fragment or parts.username:
        raise SyncError("bad_url")
    if scheme == "http" and not is_loopback_host(host):
        raise SyncError("insecure_url", host=host)
    return parts.geturl().rstrip("/")


# ------------------------------------------------------------------ pins
def spki_pin(cert_der: bytes) -> str:
    """base64(SHA-256(SubjectPublicKeyInfo)) of a DER certificate (the HPKP pin format)."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    cert = x509.load_der_x509_certificate(cert_der)
    spki = cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return b64encode(hashlib.sha256(spki).digest())


def check_pins(pins) -> tuple[str, ...]:
    out = []
    for pin in pins or ():
        pin = pin.strip()
        if pin.lower().startswith("sha256/"):
            pin = pin[7:]
        try:
            ok = len(b64decode(pin)) == 32
        except ValueError:
            ok = False
        if not ok:
            raise SyncError("bad_pin")
        out.append(pin)
    return tuple(dict.fromkeys(out))


class PinMismatch(ssl.SSLError):
    """The server's certificate key is none of the pinned keys."""


class _PinnedHTTPSConnection(HTTPSConnection):
    pins: frozenset = frozenset()

    def connect(self) -> None:
        super().connect()  # TCP + TLS handshake + chain and host name verification
        der = self.sock.getpeercert(binary_form=True) if self.sock is not None else None
        if not der or spki_pin(der) not in self.pins:
            self.close()
            raise PinMismatch("server key is not pinned")


class PinnedAdapter(HTTPAdapter):
    """An HTTPAdapter whose HTTPS connections check SPKI pins right after the handshake."""

    def __init__(self, pins, **kwargs):
        self._pins = frozenset(pins)
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        conn_cls = type("PinnedHTTPSConnection", (_PinnedHTTPSConnection,), {"pins": self._pins})
        pool_cls = type("PinnedHTTPSConnectionPool", (HTTPSConnectionPool,), {"ConnectionCls": conn_cls})
        self.poolmanager.pool_classes_by_scheme = {
            **self.poolmanager.pool_classes_by_scheme, "https": pool_cls}


# ------------------------------------------------------------------ replies and errors
class TransportError(Exception):
    """No usable answer. ``kind``: connect, timeout, reset, tls, pin, busy, unexpected."""

    def __init__(self, kind: str, retry_after: float | None = None, status: int | None = None):
        super().__init__(kind)
        self.kind, self.retry_after, self.status = kind, retry_after, status


@dataclass
class Reply:
    status: int
    headers: dict
    body: bytes
    data: object  # parsed JSON or None

    @property
    def error(self) -> str | None:
        return self.data.get("error") if isinstance(self.data, dict) else None

    @property
    def is_json(self) -> bool:
        return self.data is not None


def parse_retry_after(value, now: float | None = None) -> float | None:
    if not value:
        return None
    value = str(value).strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return max(0.0, when - (now if now is not None else time.time()))


def _find(exc: BaseException, cls) -> bool:
    seen, todo = set(), [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, cls):
            return True
        todo += [a for a in getattr(e, "args", ()) if isinstance(a, BaseException)]
        todo += [getattr(e, "reason", None), e.__cause__, e.__context__]
        todo = [t for t in todo if isinstance(t, BaseException)]
    return False


def _classify(exc: requests.RequestException) -> TransportError:
    if _find(exc, PinMismatch):
        return TransportError("pin")
    if isinstance(exc, requests.exceptions.SSLError):
        return TransportError("tls")
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return TransportError("connect")
    if isinstance(exc, requests.exceptions.ReadTimeout) or _find(exc, TimeoutError):
        return TransportError("timeout")
    if isinstance(exc, requests.exceptions.ConnectionError):
        if _find(exc, ConnectionRefusedError) or "NewConnectionError" in repr(exc) \
                or "NameResolutionError" in repr(exc):
            return TransportError("connect")
        return TransportError("reset")
    return TransportError("reset")


# ------------------------------------------------------------------ client
class Client:
    """The registry's HTTP endpoints over one session. Thread-safe for concurrent requests."""

    def __init__(self, server_url: str, *, ca_file=None, pins=(), connect_timeout: float = 10.0,
                 read_timeout: float = 30.0, pool_size: int = 4):
        self.base = check_url(server_url)
        self.pins = check_pins(pins)
        self.connect_timeout, self.read_timeout = connect_timeout, read_timeout
        s = requests.Session()
        s.trust_env = False
        s.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json",
                          "Accept-Encoding": "gzip"})
        kw = {"pool_connections": 2, "pool_maxsize": pool_size, "max_retries": 0}
        s.mount("https://", PinnedAdapter(self.pins, **kw) if self.pins else HTTPAdapter(**kw))
        s.mount("http://", HTTPAdapter(**kw))
        s.verify = str(ca_file) if ca_file else True
        self.session = s
        self.requests_sent = 0

    def close(self) -> None:
        self.session.close()

    def request(self, method: str, path: str, *, json_body=None, body: bytes | None = None,
                headers: dict | None = None, read_timeout: float | None = None,
                max_bytes: int = MAX_REPLY_BYTES) -> Reply:
        """One request, no retries. Raises :class:`TransportError` when there is no answer. A gzip answer
        (``Content-Encoding: gzip``; every request accepts it) is inflated as it is read, and refused past
        ``max_bytes`` inflated."""
        hdrs = dict(headers or {})
        self.requests_sent += 1
        if json_body is not None:
            body = json.dumps(json_body, separators=(",", ":")).encode("utf-8")
            hdrs.setdefault("Content-Type", "application/json")
        try:
            with self.session.request(
                    method, self.base + path, data=body, headers=hdrs, stream=True,
                    allow_redirects=False,
                    timeout=(self.connect_timeout, read_timeout or self.read_timeout)) as r:
                raw = bytearray()
                for chunk in r.iter_content(64 * 1024):
                    raw += chunk
                    if len(raw) > max_bytes:
                        raise TransportError("unexpected", status=r.status_code)
                status, rh = r.status_code, {k.lower(): v for k, v in r.headers.items()}
        except requests.RequestException as exc:
            raise _classify(exc) from None
        data = None
        if "json" in rh.get("content-type", ""):
            try:
                data = json.loads(bytes(raw).decode("utf-8"))
            except (ValueError, UnicodeDecodeError, RecursionError):
                data = None
        return Reply(status, rh, bytes(raw), data)

    # -- endpoints ----------------------------------------------------------
    def health(self) -> bool:
        """True only for the registry's own health answer (not a portal's 200)."""
        try:
            r = self.request("GET", "/v1/health", read_timeout=min(self.read_timeout, 15.0))
        except TransportError as exc:
            if exc.kind in ("tls", "pin"):
                raise
            return False
        return r.status == 200 and isinstance(r.data, dict) and r.data.get("status") == "ok"


def raise_for_transient(r: Reply) -> None:
    """Turn a reply that says 'not now' (or is not from the registry) into ``TransportError``."""
    if r.status in (429, 502, 503, 504) or r.status >= 500:
        raise TransportError("busy", parse_retry_after(r.headers.get("retry-after")), r.status)
    if 300 <= r.status < 400 or not r.is_json:
        raise TransportError("unexpected", status=r.status)
