"""Schema migrations of the encrypted store.

Each migration runs in its own transaction together with the row that records
it in ``schema_migrations``: after a crash a migration is either wholly applied
and recorded, or not at all. Before migrating an existing store the store
backs the database file up (see ``Store._backup_before_migration``), so an
upgrade can be rolled back.

Released schema versions and their sample databases (``tests/samples``):
1 (0.1.0) users, records, audit, settings; 2 (0.1.0) the sync outbox;
3 (0.1.0) search terms and their trigram full-text index; 4 each user's role signed by the supervisor approval
key (``users.role_sig``; the signatures are written at the first supervisor login, ``fieldapp.store.approval``);
5 the Khmer phonetic key of a person's name (``records.phonetic_key``, for the duplicate check) and phonetic
search terms; 6 the member number the registry assigned (``records.member_no``, searchable) and the registry's card
signature (``records.card``: ``{"issued_at", "sig"}``), both filled from the registry's signed answers
(``outbox.pull_states``; for records registered before the upgrade the sync engine asks the registry once more,
so they get theirs after the next sync); 7 the offline lookup of the area's registered members (``members``,
``members_fts``, ``lookup_meta``), updates after registration (``records.kind``, ``records.member_ref``) and duplicate
candidates bounded to five per record (``fieldapp.store.schema7``).
A migration is SQL, or
(SQL, a Python step run in the same transaction).
Never edit a released migration: add a new one.
"""

from __future__ import annotations

from fieldapp.base.encoding import now_iso_seconds
from fieldapp.base.sqlscript import statements
from fieldapp.store import schema7

V1 = """
CREATE TABLE users (
    name TEXT PRIMARY KEY,
    full_name TEXT,
    role TEXT NOT NULL CHECK (role IN ('outreach', 'supervisor')),
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    created_by TEXT
);
CREATE TABLE records (
    id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    submitted_at TEXT,
    data TEXT NOT NULL,
    name_key TEXT,
    latin_key TEXT,
    national_id TEXT,
    phone TEXT,
    date_of_birth TEXT,
    village_code TEXT,
    commune_code TEXT,
    duplicates TEXT NOT NULL DEFAULT '[]',
    reason TEXT,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX records_state ON records (state, updated_at);
CREATE INDEX records_owner ON records (created_by, state);
CREATE INDEX records_national_id ON records (national_id) WHERE national_id IS NOT NULL;
CREATE INDEX records_phone ON records (phone) WHERE phone IS NOT NULL;
CREATE INDEX records_person ON records (name_key, date_of_birth, commune_code);
CREATE INDEX records_latin ON records (latin_key);
CREATE TABLE audit (
    seq INTEGER PRIMARY KEY,
    ts TEXT NOT NULL,
    actor TEXT NOT NULL,
    event TEXT NOT NULL,
    record_id TEXT,
    from_state TEXT,
    to_state TEXT,
    reason TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_record ON audit (record_id, seq);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT);
"""

V2 = """
CREATE TABLE outbox (
    record_id TEXT PRIMARY KEY REFERENCES records (id),
    sealed TEXT NOT NULL,
    created_at TEXT NOT NULL,
    published_at TEXT
);
CREATE INDEX outbox_unpublished ON outbox (published_at) WHERE published_at IS NULL;
"""

V3 = """
ALTER TABLE records ADD COLUMN search_terms TEXT;
CREATE VIRTUAL TABLE records_fts USING fts5(terms, tokenize='trigram', content='', contentless_delete=1);
CREATE TRIGGER records_fts_ai AFTER INSERT ON records WHEN new.search_terms IS NOT NULL BEGIN
  INSERT INTO records_fts (rowid, terms) VALUES (new.rowid, new.search_terms);
END;
CREATE TRIGGER records_fts_au AFTER UPDATE OF search_terms ON records BEGIN
  DELETE FROM records_fts WHERE rowid = old.rowid;
  INSERT INTO records_fts (rowid, terms) SELECT new.rowid, new.search_terms WHERE new.search_terms IS NOT NULL;
END;
CREATE TRIGGER records_fts_ad AFTER DELETE ON records BEGIN
  DELETE FROM records_fts WHERE rowid = old.rowid;
END;
CREATE INDEX records_created ON records (created_by, created_at);
CREATE INDEX records_order ON records ((state = 'returned') DESC, updated_at DESC, id);
CREATE INDEX records_owner_order ON records (created_by, (state = 'returned') DESC, updated_at DESC, id);
"""


def _backfill_search_terms(conn) -> None:
    """Python step of migration 3: search terms for records stored before it."""
    import json

    from fieldapp.store.search import search_terms

    rows = conn.execute("SELECT rowid, data FROM records").fetchall()
    for rowid, data in rows:
        conn.execute("UPDATE records SET search_terms = ? WHERE rowid = ?", (search_terms(json.loads(data)), rowid))


V4 = """
ALTER TABLE users ADD COLUMN role_sig TEXT;
"""


def _mark_legacy_store(conn) -> None:
    """Python step of migration 4: a store of release 0.1.0 (it has users already) kept its registration and its
    provisioning only in files beside it. Its first unlock with this release adopts them as they are, once
    (``trusted.store.legacy_adoption``); a store made by this release never adopts a file."""
    if conn.execute("SELECT count(*) FROM users").fetchone()[0]:
        conn.execute("INSERT INTO settings (key, value) VALUES ('trusted.store.legacy_adoption', 'pending') "
                     "ON CONFLICT (key) DO NOTHING")

V5 = """
ALTER TABLE records ADD COLUMN phonetic_key TEXT;
CREATE INDEX records_phonetic ON records (phonetic_key, date_of_birth, commune_code);
"""


def _backfill_phonetic(conn) -> None:
    """Python step of migration 5: each record's search terms again (now with the phonetic keys of its Khmer
    names), and, for a record that has a name key (submitted once), its phonetic name key. Only rows that change
    are written (each write also rewrites the record's full-text entry)."""
    import json

    from fieldapp.domain.khmer import phonetic_name_key
    from fieldapp.store.search import search_terms

    rows = conn.execute("SELECT rowid, data, name_key, search_terms FROM records").fetchall()
    for rowid, data, name_key, terms in rows:
        data = json.loads(data)
        if not isinstance(data, dict):
            continue
        key = phonetic_name_key(data.get("family_name"), data.get("given_name")) if name_key is not None else None
        new_terms = search_terms(data)
        if new_terms != terms:
            conn.execute("UPDATE records SET search_terms = ?, phonetic_key = ? WHERE rowid = ?",
                         (new_terms, key, rowid))
        elif key is not None:
            conn.execute("UPDATE records SET phonetic_key = ? WHERE rowid = ?", (key, rowid))


V6 = """
ALTER TABLE records ADD COLUMN member_no TEXT;
ALTER TABLE records ADD COLUMN card TEXT;
CREATE INDEX records_member_no ON records (member_no) WHERE member_no IS NOT NULL;
"""


MIGRATIONS: list[tuple[int, str, object]] = [
    (1, "core tables", V1),
    (2, "sync outbox", V2),
    (3, "record search", (V3, _backfill_search_terms)),
    (4, "signed roles", (V4, _mark_legacy_store)),
    (5, "phonetic name keys", (V5, _backfill_phonetic)),
    (6, "member numbers and cards", V6),
    (7, "member lookup, updates, bounded duplicates", (schema7.V7, schema7.trim_duplicates)),
]
LATEST = MIGRATIONS[-1][0]


def current_version(conn) -> int:
    exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='schema_migrations'").fetchone()
    if not exists:
        return 0
    row = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()
    return int(row[0] or 0)


def pending(conn, target: int | None = None) -> list[tuple[int, str, str]]:
    have = current_version(conn)
    target = LATEST if target is None else target
    return [m for m in MIGRATIONS if have < m[0] <= target]


def migrate(conn, target: int | None = None) -> list[int]:
    """Apply pending migrations up to ``target``; each in its own transaction. Returns versions applied."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    applied = []
    for version, name, sql in pending(conn, target):
        conn.execute("BEGIN IMMEDIATE")
        try:
            script, step = sql if isinstance(sql, tuple) else (sql, None)
            for statement in statements(script):
                conn.execute(statement)
            if step is not None:
                step(conn)
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (version, name, now_iso_seconds()),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        applied.append(version)
    return applied
