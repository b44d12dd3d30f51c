"""Trusted settings: facts the laptop relies on that live inside the encrypted store.

Everything outside the SQLCipher database (``device.json``, ``provisioning.json``, ``spool.db``, the
lockout file, backups, bundles, network answers) is input, checked every time it is read, against
what is held here. The values sit in the store's ``settings`` table under the ``trusted.`` prefix,
so no schema migration is needed for a new name; each name is listed in :data:`NAMES` with what
writes it.

Functions take a DB-API connection of an unlocked store. :func:`put` does not commit: call it inside
``session.write()`` (or another open transaction) so the fact and what depends on it land together.
"""

from __future__ import annotations

PREFIX = "trusted."

NAMES = {
    # the registry this laptop is registered with (written at registration and when provisioning applies)
    "registry.url": "registry base URL",
    "registry.ca_sha256": "SHA-256 of the CA certificate that anchors the registry's TLS (hex), or empty",
    "registry.pins": "JSON list of pinned certificate SHA-256 values (hex), or empty",
    "registry.seal_public_key": "registry X25519 sealing key, base64 raw",
    "registry.sign_public_key": "registry Ed25519 receipt/status signing key, base64 raw",
    "device.id": "device ID the registry assigned",
    "device.public_key": "device Ed25519 public key, base64 raw (the private key stays in device.json/keystore)",
    "device.file_mac": "HMAC of device.json's canonical content under a key derived from the store key",
    # provisioning (written when a provisioning document is applied)
    "provisioning.sha256": "SHA-256 of the applied provisioning document",
    "provisioning.trust_anchor": "public key that signs provisioning documents, base64 raw",
    "recovery.fingerprint": "SHA-256 of IT's recovery public key (hex)",
    # approval (written when the supervisor approval key is created or rotated)
    "approval.public_key": "supervisor approval Ed25519 public key, base64 raw",
    "audit.head": "JSON of the latest signed audit chain head",
}


def _check(name: str) -> str:
    if name not in NAMES:
        raise KeyError(f"unknown trusted setting {name!r}")
    return PREFIX + name


def get(conn, name: str) -> str | None:
    """The trusted value ``name``, or None when it was never written."""
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (_check(name),)).fetchone()
    return None if row is None else row[0]


def put(conn, name: str, value: str) -> None:
    """Write (or replace) ``name``; the caller's transaction commits it."""
    conn.execute("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                 (_check(name), value))


def delete(conn, name: str) -> None:
    """Forget ``name`` (the caller's transaction commits it)."""
    conn.execute("DELETE FROM settings WHERE key = ?", (_check(name),))


def all_values(conn) -> dict[str, str]:
    """Every trusted value, by name (for diagnostics: none of them is personal data)."""
    rows = conn.execute("SELECT key, value FROM settings WHERE key LIKE ?", (PREFIX + "%",)).fetchall()
    return {k[len(PREFIX):]: v for k, v in rows}
