"""The offline lookup: the registered members of the area this device serves, as the registry signed them.

Pages of the lookup (``fieldapp.outbound.proofs.verify_lookup``, docs/protocol.md section 15) are applied with
:func:`apply_page`: every entry is checked (``fieldapp.domain.member.check_entry``) before it is stored; a reset
page replaces the whole lookup; all in one transaction, with one audit event that holds counts only. The entries
are kept in the encrypted store (``members``) with the keys the duplicate check and search use, computed exactly as
for local records: :func:`candidates` finds a looked-up member before a new submit, :func:`search` finds one by name
(Khmer-aware, phonetic: ដារ៉ា finds ដារា), member number, or its digits.
"""

from __future__ import annotations

import json
import re

from fieldapp.base.errors import FieldappError
from fieldapp.domain.member import check_entry
from fieldapp.store.audit import now_iso
from fieldapp.store.database import Session
from fieldapp.store.schema7 import MAX_CANDIDATES
from fieldapp.store.search import fts_query, member_terms, name_key, query_keys, search_terms, sound_key

MAX_PAGE = 100_000  # entries (or removals) in one page; the registry sends at most 10,000
MAX_AREA = 1000
_MEMBER_NO = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,15}[0-9]{4,12}$")
_CODE = re.compile(r"^[0-9]{2,8}$")
_AREA_ID = re.compile(r"^[0-9a-f]{16}$")
_COLUMNS = ("member_no", "version", "entry", "name_key", "phonetic_key", "latin_key", "date_of_birth",
            "commune_code", "national_id_last3", "search_terms", "updated_at")
#: The fields of an entry that are fields of an enrollment record too (a member as an update's base).
RECORD_FIELDS = ("family_name", "given_name", "family_name_latin", "given_name_latin", "sex", "date_of_birth",
                 "village_code", "commune_code", "dependents")


class LookupPageRefused(FieldappError):
    """A lookup page that cannot be applied as a whole (malformed, or not the page that follows the store's
    cursor): nothing of it is stored; the sync part fetches again from :func:`cursor`."""

    def __init__(self, why: str):
        super().__init__("core.lookup.page_refused", why=why)
        self.why = why


def _int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2 ** 62


def _shape(page) -> None:
    """Raise ``LookupPageRefused`` unless ``page`` has the page keys with the right types and sizes."""
    if not isinstance(page, dict):
        raise LookupPageRefused("not_object")
    if page.get("format") != "fieldapp-lookup" or page.get("v") != 1:
        raise LookupPageRefused("format")
    if not (_int(page.get("cursor")) and _int(page.get("since", 0)) and isinstance(page.get("reset"), bool)):
        raise LookupPageRefused("cursor")
    for key in ("members", "removed"):
        if not isinstance(page.get(key, []), list) or len(page.get(key, [])) > MAX_PAGE:
            raise LookupPageRefused(key)
    area = page.get("area")
    if not (isinstance(area, list) and len(area) <= MAX_AREA
            and all(isinstance(c, str) and _CODE.match(c) for c in area)):
        raise LookupPageRefused("area")
    if not (isinstance(page.get("area_id"), str) and _AREA_ID.match(page["area_id"])):
        raise LookupPageRefused("area_id")


def _meta(conn) -> dict:
    return dict(conn.execute("SELECT key, value FROM lookup_meta").fetchall())


def cursor(session: Session) -> tuple[int, str | None]:
    """``(cursor, area_id)``: where the next page starts (0 and None before the first)."""
    meta = _meta(session.conn)
    try:
        return int(meta.get("cursor") or 0), meta.get("area_id")
    except ValueError:
        return 0, None


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def keys_of(person: dict) -> dict:
    """The duplicate-check keys of a person (a lookup entry or a clean record), as ``records._keys`` computes them
    (``validation.duplicate_keys``, ``khmer.phonetic_name_key``; tests/test_members.py checks they agree), with
    the name keys cached: a page of 20,000 members holds a few thousand names."""
    fam, giv = person.get("family_name"), person.get("given_name")
    latin = " ".join(filter(None, [person.get("family_name_latin"), person.get("given_name_latin")]))
    pfam, pgiv = sound_key(fam), sound_key(giv)
    return {"name_key": name_key(fam) + "|" + name_key(giv),
            "phonetic_key": f"{pfam}|{pgiv}" if pfam and pgiv else None,
            "latin_key": name_key(latin) if latin else None,
            "date_of_birth": person.get("date_of_birth"), "commune_code": person.get("commune_code")}


def _row(entry: dict, now: str) -> tuple:
    masked = entry.get("national_id_masked") or ""
    last3 = masked[-3:] if len(masked) >= 3 and masked[-3:].isdigit() else None
    terms = " ".join(filter(None, [search_terms(entry)] + member_terms(entry["member_no"])))
    keys = keys_of(entry)
    return (entry["member_no"], entry["version"], _dumps(entry), keys["name_key"], keys["phonetic_key"],
            keys["latin_key"], keys["date_of_birth"], keys["commune_code"], last3, terms, now)


def apply_page(session: Session, page: dict) -> dict:
    """Store a verified lookup page; returns the counts ``{"reset", "added", "updated", "unchanged", "removed",
    "skipped", "cursor"}`` (``skipped``: entries or removals that failed their check)."""
    _shape(page)
    reset = page["reset"]
    before, area_id = cursor(session)
    if not reset and (area_id != page["area_id"] or before != page.get("since", 0)):
        raise LookupPageRefused("out_of_order")
    entries, skipped = {}, 0
    for raw in page.get("members", []):
        entry = check_entry(raw)
        if entry is None:
            skipped += 1
        else:
            entries[entry["member_no"]] = entry
    removed = set()
    for member_no in page.get("removed", []):
        if isinstance(member_no, str) and _MEMBER_NO.match(member_no):
            removed.add(member_no)
        else:
            skipped += 1
    removed -= set(entries)
    now = now_iso()
    counts = {"reset": reset, "added": 0, "updated": 0, "unchanged": 0, "removed": 0, "skipped": skipped,
              "cursor": page["cursor"]}
    wanted = json.dumps(sorted(entries))
    with session.write() as tx:
        if reset:
            counts["removed"] = tx.execute("DELETE FROM members WHERE member_no NOT IN "
                                           "(SELECT value FROM json_each(?))", (wanted,)).rowcount
        elif removed:
            counts["removed"] = tx.execute("DELETE FROM members WHERE member_no IN (SELECT value FROM json_each(?))",
                                           (json.dumps(sorted(removed)),)).rowcount
        held = dict(tx.execute("SELECT member_no, entry FROM members WHERE member_no IN "
                               "(SELECT value FROM json_each(?))", (wanted,)))
        rows = []
        for member_no, entry in entries.items():
            row = _row(entry, now)
            if member_no not in held:
                counts["added"] += 1
            elif held[member_no] != row[2]:
                counts["updated"] += 1
            else:
                counts["unchanged"] += 1
                continue
            rows.append(row)
        updates = ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS[1:])
        tx.executemany(f"INSERT INTO members ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))}) "
                       f"ON CONFLICT (member_no) DO UPDATE SET {updates}", rows)
        meta = {"cursor": str(page["cursor"]), "area": json.dumps(sorted(page["area"])),
                "area_id": page["area_id"], "applied_at": now}
        tx.executemany("INSERT INTO lookup_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET "
                       "value = excluded.value", sorted(meta.items()))
        session.audit.append("sync", "lookup.applied", reason=" ".join(
            f"{k}={int(counts[k])}" for k in ("reset", "added", "updated", "removed", "skipped")))
    return counts


def get(session: Session, member_no: str) -> dict | None:
    """The looked-up member's entry, or None."""
    row = session.conn.execute("SELECT entry FROM members WHERE member_no = ?", (member_no,)).fetchone()
    return json.loads(row[0]) if row else None


def count(session: Session) -> int:
    return session.conn.execute("SELECT count(*) FROM members").fetchone()[0]


def search(session: Session, text: str = "", limit: int = 50) -> list[dict]:
    """Looked-up members matching ``text`` (names in Khmer or Latin, either order, spelled alike; the member
    number or its digits), by member number; at most ``limit`` entries."""
    keys = query_keys(text)
    sql, params = "SELECT entry FROM members", []
    if keys and len(keys[0]) >= 3:
        sql += " WHERE rowid IN (SELECT rowid FROM members_fts WHERE members_fts MATCH ?)"
        params.append(fts_query(keys))
    elif keys:
        sql += " WHERE instr(search_terms, ?) > 0"
        params.append(keys[0])
    sql += " ORDER BY member_no LIMIT ?"
    params.append(max(0, int(limit)))
    return [json.loads(entry) for (entry,) in session.conn.execute(sql, params)]


def candidates(session: Session, clean: dict, limit: int = MAX_CANDIDATES) -> list[dict]:
    """Looked-up members who may be the person of the clean record ``clean``: the same name + date of birth +
    commune, or a name that sounds the same (``records.find_duplicates``'s keys); exact matches first, the most
    recently changed first. ``[{"member_no", "version", "reasons", "office_commune", "entry"}]``."""
    keys = keys_of(clean)
    if not (keys["date_of_birth"] and keys["commune_code"]):
        return []
    person = (keys["date_of_birth"], keys["commune_code"])
    same = "SELECT member_no, version, entry FROM members WHERE {} = ? AND date_of_birth = ? AND commune_code = ?"
    found = [(row, "name_date_of_birth_commune") for row in session.conn.execute(
        same.format("name_key") + " ORDER BY rowid DESC LIMIT ?", (keys["name_key"], *person, limit))]
    if keys["phonetic_key"] and len(found) < limit:
        found += [(row, "similar_name_date_of_birth_commune") for row in session.conn.execute(
            same.format("phonetic_key") + " AND name_key IS NOT ? ORDER BY rowid DESC LIMIT ?",
            (keys["phonetic_key"], *person, keys["name_key"], limit - len(found)))]
    out = []
    for (member_no, version, entry), reason in found:
        entry = json.loads(entry)
        out.append({"member_no": member_no, "version": version, "reasons": [reason],
                    "office_commune": entry.get("office_commune"), "entry": entry})
    return out


def as_record(entry: dict) -> dict:
    """A lookup entry in the shape of an enrollment record (the fields it holds), e.g. as an update's base."""
    return {k: entry[k] for k in RECORD_FIELDS if k in entry}


def base(session: Session, member_no: str) -> dict | None:
    """What an update of ``member_no`` is based on: ``{"member_no", "version", "record", "source"}``, from the
    lookup (``source`` ``"lookup"``) or, when the lookup holds no newer version, from a local registered record
    (``"local"``, version 1, the whole record); None when neither knows the member."""
    if not isinstance(member_no, str):
        return None
    entry = get(session, member_no)
    local = session.conn.execute("SELECT data FROM records WHERE member_no = ? AND kind = 'enrollment' "
                                 "ORDER BY rowid DESC LIMIT 1", (member_no,)).fetchone()
    if local and (entry is None or entry["version"] <= 1):
        return {"member_no": member_no, "version": 1, "record": json.loads(local[0]), "source": "local"}
    if entry is None:
        return None
    return {"member_no": member_no, "version": entry["version"], "record": as_record(entry), "source": "lookup"}


__all__ = ["LookupPageRefused", "apply_page", "as_record", "base", "candidates", "count", "cursor", "get",
           "keys_of", "search"]
