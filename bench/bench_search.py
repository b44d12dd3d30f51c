"""Records search with 100,000 records stored: ``search.search`` against the plain SQL query, same data, same run.

For a Khmer name written in a variant spelling (ដារ៉ា, stored as ដារា: found through the phonetic key), a Latin
name and a national ID, the p95 of ``fieldapp.store.search.search`` (a supervisor's first page of 200: the query's
match and phonetic keys, the full-text lookup, the records list's order, rows decoded) against the p95 of the plain
query on the same encrypted connection: the same full-text lookup and order for the match key alone (no phonetic
key) of the text as stored (ដារា: the plain query finds nothing for ដារ៉ា), rows not decoded. The two alternate,
one call each, so a busy moment of the machine falls on both. The rows are inserted directly with SQL, as
``bench_store`` does, with their search terms and keys as the store computes them.

    python bench/bench_search.py [--quick]      # or: python bench/run.py --only search

Nothing here asserts a time.
"""

from __future__ import annotations

import json
import tempfile
import time
import uuid
from pathlib import Path

from fieldapp.domain.khmer import match_key, phonetic_name_key
from fieldapp.domain.synthetic import make_records
from fieldapp.domain.validation import duplicate_keys, validate_record
from fieldapp.store import search
from fieldapp.store.database import Store
from fieldapp.store.rows import COLUMNS

RUNS = 60
PLAIN = (f"SELECT {', '.join('r.' + c for c in COLUMNS)} FROM records r WHERE r.rowid IN (SELECT rowid FROM records_fts"
         " WHERE records_fts MATCH ?) ORDER BY (r.state = 'returned') DESC, r.updated_at DESC, r.id LIMIT 200")


def _pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def _fill(session, n: int) -> str:
    """``n`` records (every third a draft) inserted in one transaction; returns one record's national ID."""
    template = [validate_record(r)[0] for r in make_records(500, seed=11)]
    cols = ("id", "state", "created_by", "created_at", "updated_at", "submitted_at", "data", "name_key", "latin_key",
            "phonetic_key", "national_id", "date_of_birth", "commune_code", "search_terms")
    rows = []
    for i in range(n):
        clean = dict(template[i % len(template)], national_id=f"{100000000 + i}")
        state = ("submitted", "approved", "draft")[i % 3]
        keys = duplicate_keys(clean) if state != "draft" else {"name_key": None}
        latin = f"{clean.get('family_name_latin', '')} {clean.get('given_name_latin', '')}".strip()
        ts = f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T08:{i % 60:02d}:{i // 60 % 60:02d}"
        rows.append((str(uuid.uuid4()), state, "ow", ts, ts, ts, json.dumps(clean, ensure_ascii=False),
                     keys["name_key"], match_key(latin) if latin else None,
                     phonetic_name_key(clean["family_name"], clean["given_name"]) if keys["name_key"] else None,
                     clean["national_id"], clean["date_of_birth"], clean["commune_code"], search.search_terms(clean)))
    rows.sort()
    with session.write() as tx:
        tx.executemany(f"INSERT INTO records ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", rows)
    return rows[n // 2][10]


def _alternating(ours, plain, runs: int) -> tuple[list[float], list[float], object, object]:
    """``runs`` timed calls of each, one of ours then one plain, after one warm-up call each."""
    found, rows = ours(), plain()
    a, b = [], []
    for _ in range(runs):
        for fn, samples in ((ours, a), (plain, b)):
            start = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - start)
    return a, b, found, rows


def run(quick: bool = False) -> list[dict]:
    n = 20_000 if quick else 100_000
    runs = 20 if quick else RUNS
    with tempfile.TemporaryDirectory() as d:
        store = Store(Path(d) / "store")
        session = store.create("sup", "bench password")
        national_id = _fill(session, n)
        out = []
        for label, query, stored in (("Khmer name (ដារ៉ា, stored ដារា)", "ដារ៉ា", "ដារា"),
                                     ("Latin name", "sreymom", "sreymom"), ("national ID", national_id, national_id)):
            key = stored if stored.isdigit() else match_key(stored)
            matches = session.conn.execute("SELECT count(*) FROM records_fts WHERE records_fts MATCH ?",
                                           (search._where(session, query, None, None, None)[1][0],)).fetchone()[0]
            ours, plain, found, rows = _alternating(
                lambda: search.search(session, query),
                lambda: session.conn.execute(PLAIN, ('"' + key + '"',)).fetchall(), runs)
            a, b = _pct(ours, 0.95) * 1000, _pct(plain, 0.95) * 1000
            out.append({"name": f"search p95, {label}, {n:,} stored", "value": round(a, 2), "unit": "ms",
                        "baseline": round(b, 2), "ratio": round(a / b, 3),
                        "note": f"{len(found)} shown ({len(rows)} by the plain query) of {matches:,} full-text "
                        f"matches; p50 {_pct(ours, 0.5) * 1000:.1f} ms, plain {_pct(plain, 0.5) * 1000:.1f} ms; "
                        f"{runs} runs each, alternating; baseline: the plain SQL for {stored!r} (its match key "
                        f"only, rows not decoded), same connection (goal: under 50 ms)"})
        session.close()
    return out


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="20,000 records and 20 runs")
    for r in run(ap.parse_args().quick):
        print(f"{r['name']:52} {r['value']:>8} ms  baseline {r['baseline']:>8} ms  ratio {r['ratio']:>6}  {r['note']}")
