"""The lookup inbox: registry-signed member pages on their way from the sync engine to the encrypted store.

The sync engine runs without anybody's password, so it cannot write to the store. It fetches the area's members
(``GET /v1/lookup``, protocol 4), checks the registry's signature, and keeps each signed page in ``spool.db``
(table ``inbox``) **sealed** to the store's inbox key: zlib, then X25519 + HKDF-SHA256 + AES-256-GCM, as
``wire.seal_record`` seals records to the registry. The private half of the key never leaves the encrypted store
(``lookup_meta.inbox_private``); the public half is published to spool meta ``inbox_public`` at every unlock
(``ensure_key``). No plaintext personal data ever lands in ``spool.db``: without the store's key a page is noise.

At every unlock and after every sync (``fieldapp.services``) :func:`drain` opens the pages in order, verifies the
signature again with the registry key held in the store, and applies them (``fieldapp.store.members.apply_page``).
A page that does not open, verify or follow the store's cursor is dropped and the spool's cursor set back to the
store's, so the engine fetches it again. Log lines name page numbers and reason codes, never contents.
"""

from __future__ import annotations

import logging
import os
import zlib

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from fieldapp.outbound.wire import WireError, b64d, b64e, loads_json, x25519_public

log = logging.getLogger(__name__)

MAGIC = b"FLI1"                 # format tag of a sealed page: MAGIC, ephemeral public key, nonce, ciphertext
_INFO = b"fieldapp-inbox-v1"
_RAW = serialization.Encoding.Raw
MAX_PAGE_BYTES = 64 * 1024 * 1024  # one signed page, inflated (10,000 members is a few MB)
SPOOL_PUBLIC = "inbox_public"      # spool meta: the store's inbox public key (base64 raw X25519)
STORE_PRIVATE = "inbox_private"    # lookup_meta: its private half (base64 raw), inside the encrypted store
CURSOR, AREA_ID = "lookup_cursor", "lookup_area_id"  # spool meta: what the engine asks for next


# ---------------------------------------------------------------- sealing
def _key(shared: bytes, epk: bytes, public: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=epk + public, info=_INFO).derive(shared)


def seal_page(inbox_public: bytes, signed_page_bytes: bytes) -> bytes:
    """The bytes kept in the spool for one signed page (its JSON bytes): compressed, then sealed to ``inbox_public``."""
    public = X25519PublicKey.from_public_bytes(inbox_public)
    eph = X25519PrivateKey.generate()
    epk = eph.public_key().public_bytes(_RAW, serialization.PublicFormat.Raw)
    nonce = os.urandom(12)
    ct = AESGCM(_key(eph.exchange(public), epk, inbox_public)).encrypt(
        nonce, zlib.compress(bytes(signed_page_bytes), 6), MAGIC + epk)
    return MAGIC + epk + nonce + ct


def open_page(private: bytes, blob: bytes) -> dict:
    """The signed page (``{"page", "signature"}``, not verified yet) sealed in ``blob``; ``WireError`` otherwise
    (``undecryptable`` or ``malformed``)."""
    blob = bytes(blob or b"")
    if len(blob) < len(MAGIC) + 32 + 12 + 16 or not blob.startswith(MAGIC):
        raise WireError("undecryptable", "not a sealed page")
    epk, nonce, ct = blob[4:36], blob[36:48], blob[48:]
    try:
        key = _key(X25519PrivateKey.from_private_bytes(private).exchange(X25519PublicKey.from_public_bytes(epk)),
                   epk, x25519_public(private))
        packed = AESGCM(key).decrypt(nonce, ct, MAGIC + epk)
    except (InvalidTag, ValueError, TypeError):
        raise WireError("undecryptable") from None
    inflater = zlib.decompressobj()
    try:
        plain = inflater.decompress(packed, MAX_PAGE_BYTES + 1)
    except zlib.error:
        raise WireError("undecryptable", "bad compression") from None
    if len(plain) > MAX_PAGE_BYTES or inflater.unconsumed_tail or not inflater.eof:
        raise WireError("malformed", "too large or truncated")
    signed = loads_json(plain)
    if not isinstance(signed, dict):
        raise WireError("malformed", "not an object")
    return signed


def public_from_text(text) -> bytes | None:
    """The inbox public key published in the spool, or None when it is missing or not a key."""
    try:
        raw = b64d(text)
        X25519PublicKey.from_public_bytes(raw)
        return raw
    except (WireError, ValueError, TypeError):
        return None


# ---------------------------------------------------------------- the key pair (store side)
def _has_table(conn) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='lookup_meta'").fetchone() is not None


def private_key(session) -> bytes | None:
    """The inbox private key held in the store, or None."""
    if not _has_table(session.conn):
        return None
    row = session.conn.execute("SELECT value FROM lookup_meta WHERE key = ?", (STORE_PRIVATE,)).fetchone()
    try:
        raw = b64d(row[0]) if row else None
    except WireError:
        return None
    return raw if raw is not None and len(raw) == 32 else None


def ensure_key(session, spool) -> bytes:
    """Make the store's inbox key pair when it has none (the private half in ``lookup_meta``), and publish the public
    half to spool meta ``inbox_public`` (again when the spool lost it or holds another). Returns the public key."""
    private = private_key(session)
    if private is None:
        with session.write() as conn:
            # store migration 7 creates the table; a store without it yet gets it here (same definition)
            conn.execute("CREATE TABLE IF NOT EXISTS lookup_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            private = X25519PrivateKey.generate().private_bytes_raw()
            conn.execute("INSERT INTO lookup_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE"
                         " SET value = excluded.value", (STORE_PRIVATE, b64e(private)))
        log.info("lookup inbox key made")
    public = x25519_public(private)
    if spool.get_meta(SPOOL_PUBLIC) != b64e(public):
        spool.set_meta(SPOOL_PUBLIC, b64e(public))
    return public


# ---------------------------------------------------------------- draining (store side)
def _follows(page: dict, cursor, area_id) -> str:
    """``apply`` when the page continues the store's lookup (or starts it over), ``done`` when the store already
    holds it (a crash between applying and deleting), else ``gap``."""
    if page["area_id"] == area_id and page["cursor"] == cursor and cursor > 0:
        return "done"
    if page["reset"] or (page["area_id"] == area_id and page["since"] == cursor):
        return "apply"
    return "gap"


def store_cursor(session, members) -> tuple[int, str | None]:
    """The store's lookup cursor and area ID (``members.cursor``), as the spool keeps them."""
    cursor, area_id = members.cursor(session)
    cursor = cursor if type(cursor) is int else int(cursor) if str(cursor or "").isdigit() else 0
    return max(cursor, 0), (area_id if isinstance(area_id, str) and area_id else None)


def _reset(spool, seq: int, members, session, why: str) -> None:
    cursor, area_id = store_cursor(session, members)
    spool.inbox_delete(from_seq=seq, meta={CURSOR: cursor, AREA_ID: area_id})
    log.warning("lookup page %d dropped (%s): fetched again from the store's cursor", seq, why)


def drain(session, spool, device) -> dict:
    """Apply the inbox's pages to the store in order (``device``: the registration the store holds, whose registry
    key and device ID every page must verify with). Returns counts: ``applied``, ``dropped``, ``skipped``."""
    from fieldapp.outbound import proofs
    from fieldapp.store import members

    refused = getattr(members, "LookupPageRefused", ())  # () catches nothing
    tally = {"applied": 0, "dropped": 0, "skipped": 0}
    private = private_key(session)
    if private is None or device is None:
        return tally
    after = 0
    while True:
        rows = spool.inbox_pending(limit=8, after=after)
        if not rows:
            return tally
        for seq, blob in rows:
            try:
                page = proofs.verify_lookup(open_page(private, blob), registry_sign_public=device.sign_public_raw,
                                            device_id=device.device_id)
                how = _follows(page, *store_cursor(session, members))
                if how == "gap":
                    raise WireError("out_of_order")
            except (WireError, RecursionError, KeyError, TypeError) as exc:
                _reset(spool, seq, members, session, getattr(exc, "reason", type(exc).__name__))
                tally["dropped"] += 1
                return tally
            if how == "apply":
                try:
                    members.apply_page(session, page)
                except refused as exc:  # the store's own checks (shape, order): nothing of it was stored
                    _reset(spool, seq, members, session, getattr(exc, "why", "refused"))
                    tally["dropped"] += 1
                    return tally
                tally["applied"] += 1
            else:
                tally["skipped"] += 1
            spool.inbox_delete([seq])
            after = seq
