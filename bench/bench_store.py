"""The encrypted store against plain SQLite (the standard library's ``sqlite3``) on the same rows, in the same run.

- save latency per record (p50, p95): one validated record per durable transaction, with its audit event and
  duplicate check, vs a plain ``INSERT`` of the same row into an unencrypted WAL/FULL file;
- import throughput: ``records.import_records`` of N records in one transaction vs ``executemany`` of the same rows;
- unlock time (Argon2id tuned to this machine, default 0.5 s target) vs one bare Argon2id derivation with the same parameters;
- open and list with 100,000 records stored: open the store (raw key) and fetch the newest 200, and count by
  state, vs the same queries on a plain SQLite copy.
"""

from __future__ import annotations

import json
import os
import sqlite3
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from fieldapp.store import keyslots, records, users
from fieldapp.store.database import Store
from fieldapp.domain.synthetic import make_records
from fieldapp.domain.validation import validate_record

_ROW = ("id", "state", "created_by", "data")


def _plain_db(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    return conn


def _plain_table(conn: sqlite3.Connection, cols) -> str:
    """``records`` with ``cols`` (TEXT, the first the primary key); returns the INSERT for a row of them."""
    conn.execute(f"CREATE TABLE records ({cols[0]} TEXT PRIMARY KEY, {', '.join(f'{c} TEXT' for c in cols[1:])})")
    return f"INSERT INTO records ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"


def _plain_insert(conn: sqlite3.Connection, sql: str, rows) -> None:
    """``rows`` inserted in one durable transaction."""
    conn.execute("BEGIN")
    conn.executemany(sql, rows)
    conn.execute("COMMIT")


def _pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def _row(clean: dict) -> dict:
    return {"id": str(uuid.uuid4()), "state": "submitted", "created_by": "ow", "data": json.dumps(clean, ensure_ascii=False)}


def bench_save(tmp: Path, n: int) -> list[dict]:
    os.environ["FIELDAPP_KDF_TARGET_MS"] = "0"
    store = Store(tmp / "store")
    session = store.create("sup", "bench password")
    recs = make_records(n, seed=5)
    ours, plain = [], []
    db = _plain_db(tmp / "plain.db")
    insert = _plain_table(db, _ROW)
    for rec in recs:
        start = time.perf_counter()
        records.import_records(session, [rec])
        ours.append(time.perf_counter() - start)
        clean, _ = validate_record(rec)
        row = _row(clean)
        start = time.perf_counter()
        _plain_insert(db, insert, [tuple(row[c] for c in _ROW)])
        plain.append(time.perf_counter() - start)
    session.close()
    db.close()
    out = []
    for q, label in ((0.5, "p50"), (0.95, "p95")):
        a, b = _pct(ours, q) * 1000, _pct(plain, q) * 1000
        out.append({"name": f"save latency {label}", "value": a, "unit": "ms", "baseline": b, "ratio": a / b,
                    "note": f"{n} saves; baseline: plain sqlite3 INSERT, WAL+FULL, no encryption/validation/audit"})
    return out


def bench_import(tmp: Path, n: int) -> list[dict]:
    store = Store(tmp / "import-store")
    session = store.create("sup", "bench password")
    recs = make_records(n, seed=6)
    start = time.perf_counter()
    records.import_records(session, recs)
    ours = time.perf_counter() - start
    session.close()
    rows = [_row(validate_record(r)[0]) for r in recs]
    db = _plain_db(tmp / "plain-import.db")
    start = time.perf_counter()
    _plain_insert(db, _plain_table(db, _ROW), (tuple(row[c] for c in _ROW) for row in rows))
    plain = time.perf_counter() - start
    db.close()
    return [{"name": "import throughput", "value": n / ours, "unit": "records/s", "baseline": n / plain,
             "ratio": (n / ours) / (n / plain),
             "note": f"{n} records incl. validation, duplicate check, audit; baseline: executemany of the same rows"}]


def bench_unlock(tmp: Path) -> list[dict]:
    os.environ["FIELDAPP_KDF_TARGET_MS"] = "500"
    store = Store(tmp / "unlock-store")
    store.create("sup", "bench password").close()
    times = []
    for _ in range(3):
        start = time.perf_counter()
        store.unlock("sup", "bench password").close()
        times.append(time.perf_counter() - start)
    kdf = store.slots().data["slots"][0]["kdf"]
    start = time.perf_counter()
    keyslots._argon2("bench password", kdf)
    bare = time.perf_counter() - start
    os.environ["FIELDAPP_KDF_TARGET_MS"] = "0"
    value = statistics.median(times)
    return [{"name": "unlock", "value": value * 1000, "unit": "ms", "baseline": bare * 1000, "ratio": value / bare,
             "note": f"Argon2id {kdf['memory_kib'] // 1024} MiB, t={kdf['iterations']}, p={kdf['lanes']} (tuned to 500 ms); baseline: the derivation alone"}]


def bench_open_list(tmp: Path, n: int) -> list[dict]:
    store = Store(tmp / "big-store")
    session = store.create("sup", "bench password")
    users.add_user(session, "ow", "bench password", "outreach")
    template = [validate_record(r)[0] for r in make_records(500, seed=7)]
    cols = ("id", "state", "created_by", "created_at", "updated_at", "submitted_at", "data", "name_key",
            "national_id", "date_of_birth", "commune_code")
    rows = []
    for i in range(n):
        clean = dict(template[i % len(template)], national_id=f"{100000000 + i}")
        ts = f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T08:00:{i % 60:02d}"
        rows.append((str(uuid.uuid4()), ("submitted", "approved", "draft")[i % 3], "ow", ts, ts, ts,
                     json.dumps(clean, ensure_ascii=False), f"k{i % 5000}", clean["national_id"],
                     clean["date_of_birth"], clean["commune_code"]))
    with session.write() as tx:
        tx.executemany(f"INSERT INTO records ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", rows)
    key = session.key
    session.close()
    plain = _plain_db(tmp / "plain-big.db")
    _plain_insert(plain, _plain_table(plain, cols), rows)
    plain.execute("CREATE INDEX records_state ON records (state, updated_at)")
    plain.execute("CREATE INDEX records_order ON records ((state = 'returned') DESC, updated_at DESC, id)")
    plain.close()

    def ours():
        s = store.open_with_key(key, "sup")
        first = records.list_records(s, limit=200)
        counts = records.counts(s)
        s.close()
        return first, counts

    def theirs():
        db = _plain_db(tmp / "plain-big.db")
        first = [dict(r, data=json.loads(r["data"])) for r in
                 db.execute("SELECT * FROM records ORDER BY (state = 'returned') DESC, updated_at DESC, id LIMIT 200")]
        counts = {r[0]: r[1] for r in db.execute("SELECT state, count(*) FROM records GROUP BY state")}
        db.close()
        return first, counts

    def timed(fn):
        samples = []
        for _ in range(5):
            start = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - start)
        return statistics.median(samples)

    a, b = timed(ours), timed(theirs)
    size = (tmp / "big-store" / "fieldapp.db").stat().st_size / 1e6
    return [{"name": f"open + list 200 + counts, {n:,} stored", "value": a * 1000, "unit": "ms", "baseline": b * 1000,
             "ratio": a / b, "note": f"SQLCipher {size:.0f} MB (key already unwrapped); baseline: the same queries and indexes on plain SQLite"}
            ] + bench_backup(tmp, store, key, n)


def bench_backup(tmp: Path, store: Store, key: bytes, n: int) -> list[dict]:
    """``fieldapp backup`` and ``fieldapp restore`` of the big store, against copying its database file."""
    import shutil

    from fieldapp.store import backup

    db = store.db_path
    start = time.perf_counter()
    shutil.copyfile(db, tmp / "plain-copy.db")
    copy = time.perf_counter() - start
    session = store.open_with_key(key, "sup")
    start = time.perf_counter()
    backup.create(session, tmp / "big.fieldapp-backup")
    made = time.perf_counter() - start
    session.close()
    start = time.perf_counter()
    backup.restore(tmp / "big.fieldapp-backup", tmp / "restored", "sup", "bench password")
    restored = time.perf_counter() - start
    size = (tmp / "big.fieldapp-backup").stat().st_size / 1e6
    note = f"{n:,} records, {size:.0f} MB file; baseline: copying the database file once (unsafe while in use)"
    return [{"name": "backup (consistent snapshot + zip)", "value": made * 1000, "unit": "ms", "baseline": copy * 1000,
             "ratio": made / copy, "note": note},
            {"name": "restore (check, unlock, re-queue)", "value": restored * 1000, "unit": "ms",
             "baseline": copy * 1000, "ratio": restored / copy, "note": note + "; includes one Argon2id unlock"}]


def run(quick: bool = False) -> list[dict]:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        rows = bench_save(tmp, 100 if quick else 300)
        rows += bench_import(tmp, 1000 if quick else 5000)
        rows += bench_unlock(tmp)
        rows += bench_open_list(tmp, 20_000 if quick else 100_000)
    return rows


if __name__ == "__main__":
    for r in run():
        print(r)
