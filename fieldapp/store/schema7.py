"""Schema 7: the offline lookup of the area's registered members, updates after registration, bounded duplicates.

- ``members``: the looked-up members (``fieldapp.store.members``): each lookup entry as the registry signed it
  (``entry``, JSON) and the keys the duplicate check and search use, computed as for records (``name_key``,
  ``phonetic_key``, ``latin_key``, ``date_of_birth``, ``commune_code``; ``search_terms`` in the trigram index
  ``members_fts``, like ``records_fts``). Only the last three digits of a national ID are held (the entry's mask).
- ``lookup_meta``: where the lookup stands (``cursor``, ``area``, ``area_id``, ``applied_at``) and the inbox key.
- ``records.kind`` (``enrollment`` | ``update``) and ``records.member_ref`` (the member number an update targets).
- ``records.duplicates`` trimmed to ``MAX_CANDIDATES`` per record, the strongest first (``trim_duplicates``).
"""

from __future__ import annotations

import json

MAX_CANDIDATES = 5
#: Strength of a duplicate reason: the lower the stronger (``records.find_duplicates`` keeps this order).
REASON_RANK = {"national_id": 0, "name_date_of_birth_commune": 1, "similar_name_date_of_birth_commune": 2}

V7 = """
CREATE TABLE members (
    member_no TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    entry TEXT NOT NULL,
    name_key TEXT,
    phonetic_key TEXT,
    latin_key TEXT,
    date_of_birth TEXT,
    commune_code TEXT,
    national_id_last3 TEXT,
    search_terms TEXT,
    updated_at TEXT NOT NULL
);
CREATE INDEX members_person ON members (name_key, date_of_birth, commune_code);
CREATE INDEX members_phonetic ON members (phonetic_key, date_of_birth, commune_code);
CREATE INDEX members_latin ON members (latin_key, date_of_birth, commune_code);
CREATE INDEX members_nid ON members (national_id_last3, date_of_birth) WHERE national_id_last3 IS NOT NULL;
CREATE VIRTUAL TABLE members_fts USING fts5(terms, tokenize='trigram', content='', contentless_delete=1);
CREATE TRIGGER members_fts_ai AFTER INSERT ON members WHEN new.search_terms IS NOT NULL BEGIN
  INSERT INTO members_fts (rowid, terms) VALUES (new.rowid, new.search_terms);
END;
CREATE TRIGGER members_fts_au AFTER UPDATE OF search_terms ON members
WHEN old.search_terms IS NOT new.search_terms BEGIN
  DELETE FROM members_fts WHERE rowid = old.rowid;
  INSERT INTO members_fts (rowid, terms) SELECT new.rowid, new.search_terms WHERE new.search_terms IS NOT NULL;
END;
CREATE TRIGGER members_fts_ad AFTER DELETE ON members BEGIN
  DELETE FROM members_fts WHERE rowid = old.rowid;
END;
CREATE TABLE lookup_meta (key TEXT PRIMARY KEY, value TEXT);
ALTER TABLE records ADD COLUMN kind TEXT NOT NULL DEFAULT 'enrollment';
ALTER TABLE records ADD COLUMN member_ref TEXT;
CREATE INDEX records_member_ref ON records (member_ref) WHERE member_ref IS NOT NULL;
"""


def rank(cand: dict) -> int:
    """A candidate's strength: its strongest reason's rank (a looked-up member's the same)."""
    return min((REASON_RANK.get(r, len(REASON_RANK)) for r in cand.get("reasons") or ()), default=len(REASON_RANK))


def trim_duplicates(conn) -> None:
    """Python step of migration 7: each record's stored duplicate candidates cut to ``MAX_CANDIDATES``, the
    strongest first, the newest (latest stored) first among equals."""
    long = [(rid, text) for rid, text in conn.execute("SELECT id, duplicates FROM records WHERE duplicates LIKE '[{%'")
            if isinstance(text, str) and text.count('"record_id"') > MAX_CANDIDATES]
    if not long:
        return
    order = dict(conn.execute("SELECT id, rowid FROM records"))
    for rid, text in long:
        try:
            cands = [c for c in json.loads(text) if isinstance(c, dict)]
        except ValueError:
            continue
        cands.sort(key=lambda c: (rank(c), -order.get(c.get("record_id"), 0)))
        conn.execute("UPDATE records SET duplicates = ? WHERE id = ?", (json.dumps(cands[:MAX_CANDIDATES]), rid))
