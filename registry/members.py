"""Members (protocol 4): each registered person's current version, history, match keys and lookup feed.

A member is created when a person is registered (``registry.intake``, ``registry.review`` ``--distinct``, and the
schema version 3 upgrade for everyone registered before it): version 1 is the clean enrollment record. Each version
is kept in ``member_versions`` (which device and record made it, when); ``members`` holds the current version's
lookup entry (``fieldapp.domain.member.lookup_entry``, with the registry's card signature for that version) and its
commune. Personal data is sealed at rest (``RegistryKeys.seal_entry``: AES-256-GCM under a key derived from the
registry's keys); the duplicate match keys are keyed HMACs (``RegistryKeys.match_hmac``) in ``member_keys``.

Every change gives the member a new *member seq* (the ``member_seq`` counter: its row lock, taken after the ``seq``
row by every writer, makes changes commit in member seq order) and a ``member_feed`` row for its commune, and one
for the commune it left when it moved: ``GET /v1/lookup`` (``registry.lookup``) pages through them.
Nothing here logs personal data.
"""

from __future__ import annotations

from fieldapp.base.encoding import b64url_encode
from fieldapp.domain.card import card_claims
from fieldapp.domain.member import lookup_entry, match_keys
from fieldapp.outbound import credential, wire
from registry.keys import RegistryKeys

#: Match key kinds that hold an enrollment from another device (the national ID is matched through ``people``).
NAME_KINDS = ("name", "phonetic", "latin")
WHY_ORDER = ("national_id", "name", "phonetic", "latin")


def _label(registry_id: str, version: int, what: str) -> str:
    return f"{what}:{registry_id}:{int(version)}"


def hmacs(keys: RegistryKeys, clean: dict) -> dict[str, str]:
    """``{kind: keyed HMAC}`` of a clean record's match keys (national ID through ``nid_hmac``, as ``people``)."""
    out = {}
    for kind, value in match_keys(clean).items():
        out[kind] = keys.nid_hmac(value) if kind == "national_id" else keys.match_hmac(kind, value)
    return out


def find_hold(tx, found: dict[str, str], device_id: str) -> tuple[str, str] | None:
    """``(registry_id, why)`` of a member first registered from another device that shares a name match key with
    ``found`` (``hmacs``); the strongest kind first. None when there is none."""
    wanted = {found[k]: k for k in NAME_KINDS if found.get(k)}
    if not wanted:
        return None
    marks = ",".join("?" * len(wanted))
    rows = tx.execute(f"SELECT k.hmac, k.registry_id FROM member_keys k JOIN people p ON p.registry_id = k.registry_id "
                      f"WHERE k.hmac IN ({marks}) AND p.device_id <> ? ORDER BY k.registry_id",
                      [*wanted, device_id])
    if not rows:
        return None
    best = min(rows, key=lambda r: (WHY_ORDER.index(wanted[r[0]]), r[1]))
    return best[1], wanted[best[0]]


def next_member_seq(tx) -> int:
    """Bump the member feed counter (take ``tx.next_seq()`` first: one lock order for every writer)."""
    return int(tx.one("UPDATE counters SET value = value + 1 WHERE name = 'member_seq' RETURNING value")[0])


def office_commune(tx, device_id: str | None, clean: dict) -> str | None:
    """The first-registering device's first area commune, else the record's commune."""
    row = tx.one("SELECT MIN(commune) FROM device_areas WHERE device_id = ?", (device_id,)) if device_id else None
    return (row[0] if row and row[0] else None) or clean.get("commune_code")


def build_entry(keys: RegistryKeys, clean: dict, registry_id: str, version: int, *, office: str | None,
                registered_on: str | None) -> dict:
    """The lookup entry of one version, with the registry's card signature for it (base64url, no padding)."""
    issued_at = wire.now_iso()
    sig = credential.card_signature(card_claims(clean, registry_id, issued_at, version), keys.sign_private)
    return lookup_entry(clean, registry_id, version, office_commune=office, registered_on=registered_on,
                        card={"issued_at": issued_at, "sig": b64url_encode(sig)})


def _keys(tx, keys: RegistryKeys, registry_id: str, clean: dict) -> None:
    tx.execute("DELETE FROM member_keys WHERE registry_id = ?", (registry_id,))
    for kind, mac in hmacs(keys, clean).items():
        tx.execute("INSERT INTO member_keys (kind, hmac, registry_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                   (kind, mac, registry_id))


def link(tx, device_id: str, registry_id: str, *, republish: bool = False) -> bool:
    """Let ``device_id`` see ``registry_id`` in its lookup whatever its area. ``republish``: give the member a new
    member seq, so a device whose cursor is past it gets it on its next lookup. True if the link is new."""
    tx.execute("INSERT INTO device_members (device_id, registry_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
               (device_id, registry_id))
    new = tx.rowcount == 1
    if new and republish:
        row = tx.one("SELECT commune FROM members WHERE registry_id = ?", (registry_id,))
        if row:
            seq = next_member_seq(tx)
            tx.execute("UPDATE members SET seq = ? WHERE registry_id = ?", (seq, registry_id))
            tx.execute("INSERT INTO member_feed (seq, registry_id, commune) VALUES (?, ?, ?)", (seq, registry_id, row[0]))
    return new


def create(tx, keys: RegistryKeys, *, registry_id: str, clean: dict, device_id: str, record_id: str,
           enrolled_on: str | None, now: float) -> None:
    """Version 1 of a newly registered member (``clean``: its validated enrollment record)."""
    commune = clean.get("commune_code") or ""
    entry = build_entry(keys, clean, registry_id, 1, office=office_commune(tx, device_id, clean),
                        registered_on=enrolled_on)
    seq = next_member_seq(tx)
    tx.execute("INSERT INTO members (registry_id, version, commune, seq, entry_enc, updated_at) VALUES (?, 1, ?, ?, ?, ?) "
               "ON CONFLICT (registry_id) DO NOTHING",
               (registry_id, commune, seq, keys.seal_entry(entry, _label(registry_id, 1, "entry")), now))
    if tx.rowcount != 1:
        return
    tx.execute("INSERT INTO member_versions (registry_id, version, record_enc, device_id, record_id, at) "
               "VALUES (?, 1, ?, ?, ?, ?)",
               (registry_id, keys.seal_entry(clean, _label(registry_id, 1, "record")), device_id, record_id, now))
    _keys(tx, keys, registry_id, clean)
    tx.execute("INSERT INTO member_feed (seq, registry_id, commune) VALUES (?, ?, ?)", (seq, registry_id, commune))
    link(tx, device_id, registry_id)


def current(tx, keys: RegistryKeys, registry_id: str) -> dict | None:
    """``{"version", "commune", "entry", "record"}`` of a member's current version, or None."""
    row = tx.one("SELECT m.version, m.commune, m.entry_enc, v.record_enc FROM members m JOIN member_versions v "
                 "ON v.registry_id = m.registry_id AND v.version = m.version WHERE m.registry_id = ?", (registry_id,))
    if row is None:
        return None
    version = int(row[0])
    return {"version": version, "commune": row[1], "entry": keys.open_entry(row[2], _label(registry_id, version, "entry")),
            "record": keys.open_entry(row[3], _label(registry_id, version, "record"))}


def in_scope(tx, device_id: str, registry_id: str, commune: str) -> bool:
    """Whether the member is in the device's lookup: its commune is in the device's area, or the device has a
    record of it."""
    return tx.one("SELECT 1 FROM device_areas WHERE device_id = ? AND commune = ? UNION ALL SELECT 1 FROM "
                  "device_members WHERE device_id = ? AND registry_id = ?",
                  (device_id, commune, device_id, registry_id)) is not None


def put_version(tx, keys: RegistryKeys, *, registry_id: str, base: dict, clean: dict, device_id: str,
                record_id: str, now: float) -> int | None:
    """Compare-and-set the member from ``base`` (``current``) to the next version ``clean``; returns the new version,
    or None when another version was stored first (stale)."""
    version = base["version"] + 1
    old = base["entry"]
    entry = build_entry(keys, clean, registry_id, version, office=old.get("office_commune"),
                        registered_on=old.get("registered_on"))
    commune = clean.get("commune_code") or ""
    seq = next_member_seq(tx)
    tx.execute("UPDATE members SET version = version + 1, commune = ?, seq = ?, entry_enc = ?, updated_at = ? "
               "WHERE registry_id = ? AND version = ?",
               (commune, seq, keys.seal_entry(entry, _label(registry_id, version, "entry")), now, registry_id,
                base["version"]))
    if tx.rowcount != 1:
        return None
    tx.execute("INSERT INTO member_versions (registry_id, version, record_enc, device_id, record_id, at) "
               "VALUES (?, ?, ?, ?, ?, ?)",
               (registry_id, version, keys.seal_entry(clean, _label(registry_id, version, "record")), device_id,
                record_id, now))
    _keys(tx, keys, registry_id, clean)
    communes = {commune} | ({base["commune"]} if base["commune"] != commune else set())
    for c in sorted(communes):  # the old commune's row: its devices get the member in ``removed``
        tx.execute("INSERT INTO member_feed (seq, registry_id, commune) VALUES (?, ?, ?)", (seq, registry_id, c))
    link(tx, device_id, registry_id)
    return version


def version_record(tx, keys: RegistryKeys, registry_id: str, version: int) -> dict | None:
    row = tx.one("SELECT record_enc FROM member_versions WHERE registry_id = ? AND version = ?", (registry_id, version))
    return keys.open_entry(row[0], _label(registry_id, version, "record")) if row else None


def history(tx, keys: RegistryKeys, registry_id: str, show: bool = False) -> list[dict] | None:
    """Every version of a member, oldest first: number, when, device, record (with ``show``: the record)."""
    if tx.one("SELECT 1 FROM members WHERE registry_id = ?", (registry_id,)) is None:
        return None
    out = []
    for version, at, device_id, record_id, enc in tx.execute(
            "SELECT version, at, device_id, record_id, record_enc FROM member_versions WHERE registry_id = ? "
            "ORDER BY version", (registry_id,)):
        item = {"version": int(version), "at": wire.now_iso() if at is None else _iso(at), "device_id": device_id,
                "record_id": record_id}
        if show:
            item["record"] = keys.open_entry(enc, _label(registry_id, int(version), "record"))
        out.append(item)
    return out


def _iso(at: float) -> str:
    from fieldapp.base.encoding import wire_time

    return wire_time(at)
