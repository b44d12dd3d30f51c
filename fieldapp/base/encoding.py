"""The shared encodings: canonical JSON, base64 (each meaning named), and timestamps (each stored format named).

Every byte these functions produce is stored or sent somewhere (signatures, hash chains, key slots, the
spool, the wire), so none of them may ever change; ``tests/test_encoding.py`` pins them.
"""

from __future__ import annotations

import base64
import json
import time
from datetime import datetime, timezone


# ---------------------------------------------------------------- canonical JSON
def canonical_json(obj, *, allow_nan: bool = True) -> bytes:
    """Sorted keys, no spaces, UTF-8 (not ASCII-escaped): the bytes signatures, MACs and hash chains cover.

    The wire passes ``allow_nan=False`` (NaN is refused there: ``ValueError``); elsewhere it is plain
    ``json.dumps`` behaviour.
    """
    return canonical_text(obj, allow_nan=allow_nan).encode("utf-8")


def canonical_text(obj, *, allow_nan: bool = True) -> str:
    """:func:`canonical_json` as text (for a TEXT column: the spool's sealed items; the audit chain's rows)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=allow_nan)


# ---------------------------------------------------------------- base64
def b64encode(data: bytes) -> str:
    """Standard base64 with padding, as ASCII text: keys, nonces, ciphertexts, signatures, pins."""
    return base64.b64encode(data).decode("ascii")


def b64decode(text: str) -> bytes:
    """Strict standard base64: only the alphabet and correct padding (``ValueError`` otherwise; a text that is not
    ASCII raises ``UnicodeEncodeError``, a ``ValueError`` too)."""
    return base64.b64decode(text.encode("ascii"), validate=True)


def b64decode_canonical(text: str) -> bytes:
    """Strict base64 that is also the one text of its bytes (no unused bits set), else ``ValueError``."""
    raw = b64decode(text)
    if b64encode(raw) != text:
        raise ValueError("not canonical base64")
    return raw


def b64url_encode(data: bytes) -> str:
    """URL-safe base64 without padding (the registry's bearer tokens)."""
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def b64url_decode(text: str) -> bytes:
    """The reverse of :func:`b64url_encode` (padding put back; lenient like ``base64.urlsafe_b64decode``)."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# ---------------------------------------------------------------- timestamps
def now_iso() -> str:
    """The store's timestamp: UTC, microseconds, ``+00:00`` (``2026-12-02T14:15:00.123456+00:00``).

    Records, audit trail, outbox, users: the audit chain hashes these exact strings.
    """
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def now_iso_seconds() -> str:
    """Settings files' timestamp: UTC, seconds, ``+00:00`` (``2026-12-02T14:15:00+00:00``): key slots,
    schema migrations, provisioning, diagnostics, ``device.json``."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def wire_time(ts: float | None = None) -> str:
    """The wire's timestamp: UTC, seconds, ``Z`` (``2026-12-02T14:15:00Z``), now or of epoch seconds ``ts``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def now_epoch() -> float:
    """Seconds since the epoch as a float: the form ``spool.db`` and ``lockout.json`` store."""
    return time.time()


def parse_iso(text: str) -> datetime:
    """Any of the ISO forms above (``Z`` too) as an aware UTC-based datetime (``ValueError`` if not one)."""
    moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
