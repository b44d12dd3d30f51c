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
    # the registry this laptop is registered with: written at registration (``outbound.identity.adopt``)
    "device.identity": "device.json's content as registered: device ID and key pair, registry URL, registry sealing "
                       "and signing keys, pins (JSON; holds the device's private key: never shown or exported)",
    "registry.ca_pem": "the CA certificate(s) that anchor the registry's TLS, as registered (PEM), or empty",
    "registry.approval_key": "fingerprint of the approval key the registry acknowledged for this device",
    # provisioning (written when a verified provisioning document is applied with a supervisor's session)
    "provisioning.sha256": "SHA-256 of the provisioning document applied",
    "provisioning.trust_anchor": "the IT public key (base64 raw) that signed it: later documents must be signed by it "
                                 "or by a key bundled in the build",
    "provisioning.recovery_pending": "fingerprint of a provisioned recovery key a supervisor has not confirmed yet",
    "recovery.fingerprint": "fingerprint of IT's recovery public key in the recovery slot",
    "recovery.public_key": "IT's recovery public key (base64 raw), so a rekey can grant it the new database key",
    # the approval key (``store.approval``)
    "approval.public_key": "supervisor approval Ed25519 public key, base64 raw",
    "audit.head": "JSON of the latest audit chain head signed by the approval key",
    # the scheme facts printed on slips and cards (``fieldapp.proof.facts.adopt``)
    "scheme.facts": "the newest scheme facts document signed by the registry (JSON), once its signature verified",
    # the upgrade from release 0.1.0 (written by migration 4, removed by the first unlock: ``services.after_unlock``)
    "store.legacy_adoption": "'pending' on a store of release 0.1.0 until its first unlock has adopted device.json "
                             "and the applied provisioning document as they were",
}


def legacy_adoption(conn) -> bool:
    """Whether this unlock is the first of a store of release 0.1.0: the only time files are adopted as they are."""
    return get(conn, "store.legacy_adoption") == "pending"
SECRET = frozenset({"device.identity"})  # never in diagnostics or any output


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
    """Every trusted value that may be shown, by name (for diagnostics: no personal data, no secret)."""
    rows = conn.execute("SELECT key, value FROM settings WHERE key LIKE ?", (PREFIX + "%",)).fetchall()
    return {k[len(PREFIX):]: v for k, v in rows if k[len(PREFIX):] not in SECRET}
