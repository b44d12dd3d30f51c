"""Offline member lookup and the duplicate check, measured (issue 13).

1. **Snapshot over 3G**: a real registry (SQLite) holds N members registered in one commune (20,000: a commune-scale
   area; sent by one device through the real intake). A second device serving that commune fetches its first
   lookup snapshot with the sync engine (``GET /v1/lookup`` pages, verified, sealed into the spool's inbox) through
   ``bench/linkemu.py`` (150 ms each way, 1 Mbit/s up, 4 Mbit/s down). Baseline, the floor in the same run: the
   bytes the snapshot's requests put on the wire each way at the link's bandwidth + 1 RTT. Goal: within 1.5x. The
   whole first sync of that laptop (probe, log-in, status, protocol check, scheme facts too) is a second row,
   against its bytes + 4 RTT, as bench_sync_link counts it.
2. **Applied**: the fetched pages opened, verified and applied to the encrypted store (``services.take_lookup``, what
   every unlock and every sync's end runs).
   Goal: under 5 s for 20,000. Baseline: inserting the same entries' JSON into a plain table of the same store.
3. **Duplicate check at submit** with 100,000 local records and N looked-up members: p95 of
   ``records.duplicate_candidates`` (validation, the local keys, the members' keys) against the plain indexed query
   for the name key, same data, same run, alternating. Goal: under 10 ms.
4. **Stored candidates** for 250, 500 and 1,000 records of the same name, birth date and commune: entries stored
   (linear: at most 5 per record; the unbounded list was n(n-1)/2).

    python bench/bench_lookup.py [--quick]      # or: python bench/run.py --only lookup

Nothing here asserts a time.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "bench")]

from bench_sync_link import DELAY, DOWN_BPS, UP_BPS, _registry  # noqa: E402
from linkemu import LinkEmulator  # noqa: E402

COMMUNE = "050301"
PASSWORD = "bench-password-1"


def _pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def _villages() -> list[str]:
    from fieldapp.domain import geo

    return [u.code for u in geo.children(COMMUNE)]


def _registered(tmp: Path, port: int, n: int) -> None:
    """``n`` members of commune ``COMMUNE`` registered by device A through the real intake (loopback, no emulator)."""
    from fieldapp.domain.synthetic import make_records
    from fieldapp.outbound import wire
    from fieldapp.outbound.spool import Spool
    from sync.engine import Engine, SyncConfig
    from sync.registration import register

    code = _area_code(tmp / "registry")
    dev = register(tmp / "a", f"http://127.0.0.1:{port}", code)
    villages, today, items = _villages(), date.today().isoformat(), []
    for i, rec in enumerate(make_records(n, seed=303)):
        for key in ("commune_code", "district_code", "province_code", "address_source"):
            rec.pop(key, None)
        rec.update(national_id=f"{7:03d}{i:06d}", village_code=villages[i % len(villages)])
        rid = str(uuid.uuid4())
        items.append({"record_id": rid, "sealed": wire.seal_record(
            rec, record_id=rid, device_id=dev.device_id, enrolled_on=today, seal_public=dev.seal_public_raw,
            device_private=dev.private_raw)})
    with Spool(tmp / "a") as spool:
        spool.add(items)
    res = Engine(tmp / "a", config=SyncConfig(poll_status=False)).run()
    assert res.exit_code == 0 and res.sent == n, res


def _area_code(registry_dir: Path) -> str:
    import os
    import subprocess

    out = subprocess.run([sys.executable, "-m", "registry", "enrollment-code", "--communes", COMMUNE, "--data-dir",
                          str(registry_dir)], cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)),
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)["code"]


def _laptop(tmp: Path, url: str, registry_dir: Path):
    """Device B: a store (supervisor), registered with an area code; its inbox key published by an unlock."""
    from fieldapp import services
    from sync.registration import register_store

    session = services.create_store(tmp / "b", "sup", PASSWORD)
    register_store(session, url, _area_code(registry_dir))
    session.close()
    services.open_session(tmp / "b", "sup", PASSWORD).close()  # publishes the inbox key to spool.db


def _snapshot(tmp: Path, port: int, n: int) -> list[dict]:
    from fieldapp import services
    from sync.engine import Engine, SyncConfig

    emu = LinkEmulator(port, delay=DELAY, up_bps=UP_BPS, down_bps=DOWN_BPS)
    try:
        _laptop(tmp, emu.url, tmp / "registry")
        emu.reset_stats()
        engine = Engine(tmp / "b", config=SyncConfig())
        phase = {}
        fetch = engine._fetch_lookup

        def timed_fetch(now):  # the snapshot itself: from its first request to its last page sealed
            phase.update(before=emu.stats(), t0=time.monotonic())
            try:
                return fetch(now)
            finally:
                phase.update(after=emu.stats(), wall=time.monotonic() - phase["t0"])

        engine._fetch_lookup = timed_fetch
        t0 = time.monotonic()
        res = engine.run()
        wall = time.monotonic() - t0
        stats, requests = emu.stats(), engine.client.requests_sent
    finally:
        emu.close()
    assert res.exit_code == 0, res
    floor = max(stats["up_wire_bytes"] * 8 / UP_BPS, stats["down_wire_bytes"] * 8 / DOWN_BPS) + 4 * 2 * DELAY
    up, down = (phase["after"][k] - phase["before"][k] for k in ("up_wire_bytes", "down_wire_bytes"))
    snap_floor = max(up * 8 / UP_BPS, down * 8 / DOWN_BPS) + 2 * DELAY
    from fieldapp.outbound.spool import Spool

    with Spool(tmp / "b") as spool:
        pages = [blob for _seq, blob in spool.inbox_pending(limit=10_000)]
    session = services.open_session(tmp / "b", "sup", PASSWORD)  # the unlock applies them: then again, timed
    try:
        with session.write() as tx:
            tx.execute("DELETE FROM members")
            tx.execute("DELETE FROM lookup_meta WHERE key NOT LIKE 'inbox%'")
        with Spool(tmp / "b") as spool:
            for blob in pages:
                spool.inbox_add(blob)
        t0 = time.monotonic()
        tally = services.take_lookup(session)
        applied = time.monotonic() - t0
        assert tally["applied"] == len(pages), tally
        held = session.conn.execute("SELECT count(*) FROM members").fetchone()[0]
        entries = [r[0] for r in session.conn.execute("SELECT entry FROM members")]
        with session.write() as tx:
            tx.execute("CREATE TABLE bench_plain (k TEXT PRIMARY KEY, v TEXT)")
        t0 = time.monotonic()
        with session.write() as tx:
            tx.executemany("INSERT INTO bench_plain VALUES (?, ?)", [(str(i), e) for i, e in enumerate(entries)])
        plain = time.monotonic() - t0
    finally:
        session.close()
    assert held == n, (held, n)
    mb = stats["down_payload_bytes"] / 1e6
    return [
        {"name": f"lookup snapshot of {n:,} members over 3G (s)", "value": phase["wall"], "unit": "s",
         "baseline": snap_floor, "ratio": phase["wall"] / snap_floor,
         "note": f"the snapshot's pages, fetched, verified and sealed: {down / 1e6:.2f} MB on the wire down; floor = "
                 "its wire bytes at 4 Mbit/s down (1 up) + 1 RTT; goal <= 1.5x"},
        {"name": "first sync of a new laptop with that snapshot (s)", "value": wall, "unit": "s", "baseline": floor,
         "ratio": wall / floor, "note": f"{mb:.2f} MB down in {requests} requests (probe, log-in, approval key, status, "
                                        "protocol, lookup, scheme facts); floor = max(wire bytes up / 1 Mbit/s, "
                                        "down / 4 Mbit/s) + 4 RTT"},
        {"name": f"lookup snapshot applied to the store ({n:,} members)", "value": applied, "unit": "s",
         "baseline": plain, "ratio": applied / plain if plain else None,
         "note": f"{len(pages)} sealed pages opened, verified and applied (services.take_lookup); baseline: the "
                 "same entries' JSON inserted into a plain table of the same store; goal < 5 s"},
    ]


def _duplicate_check(tmp: Path, n_local: int) -> list[dict]:
    """p95 of the check at submit with ``n_local`` records and the members fetched above, against the plain query."""
    from bench_search import _fill
    from fieldapp import services
    from fieldapp.domain.validation import duplicate_keys, validate_record
    from fieldapp.store import records

    session = services.open_session(tmp / "b", "sup", PASSWORD)
    try:
        _fill(session, n_local)
        entry = json.loads(session.conn.execute("SELECT entry FROM members LIMIT 1 OFFSET 777").fetchone()[0])
        probe = {k: entry[k] for k in ("family_name", "given_name", "sex", "date_of_birth", "village_code")}
        from fieldapp.domain.synthetic import make_records

        base = make_records(1, seed=5)[0]
        for key in ("national_id", "commune_code", "district_code", "province_code", "address_source", "dependents"):
            base.pop(key, None)
        data = dict(base, **probe)
        keys = duplicate_keys(validate_record(data, require_consent=False)[0])
        plain_sql = ("SELECT id FROM records WHERE name_key = ? AND date_of_birth = ? AND commune_code = ? "
                     "AND id IS NOT ?")
        ours, plain, found = [], [], None
        for _ in range(200):
            t0 = time.perf_counter()
            found = records.duplicate_candidates(session, data)
            ours.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            session.conn.execute(plain_sql, (keys["name_key"], keys["date_of_birth"], keys["commune_code"],
                                             None)).fetchall()
            plain.append(time.perf_counter() - t0)
        assert any(c.get("member_no") == entry["member_no"] for c in found), found
        members = session.conn.execute("SELECT count(*) FROM members").fetchone()[0]
    finally:
        session.close()
    p_ours, p_plain = _pct(ours, 0.95) * 1000, _pct(plain, 0.95) * 1000
    return [{"name": f"duplicate check at submit, {n_local:,} local + {members:,} looked up (p95 ms)",
             "value": p_ours, "unit": "ms", "baseline": p_plain, "ratio": p_ours / p_plain if p_plain else None,
             "note": "the looked-up member is found; baseline: the plain indexed name-key query; goal < 10 ms"}]


def _candidates(tmp: Path, sizes: tuple[int, ...]) -> list[dict]:
    """Entries stored in ``records.duplicates`` for ``n`` records of one name, birth date and commune."""
    from fieldapp import services
    from fieldapp.domain.synthetic import make_records
    from fieldapp.store import records

    rows = []
    for n in sizes:
        folder = tmp / f"dups-{n}"
        session = services.create_store(folder, "sup", PASSWORD)
        try:
            rec = make_records(1, seed=9)[0]
            rec.pop("national_id", None)
            records.import_records(session, [dict(rec) for _ in range(n)])
            stored = sum(len(json.loads(d)) for (d,) in session.conn.execute("SELECT duplicates FROM records"))
        finally:
            session.close()
        rows.append({"name": f"candidates stored for {n:,} records of one name", "value": stored, "unit": "entries",
                     "baseline": n * (n - 1) // 2, "ratio": stored / (n * (n - 1) // 2),
                     "note": f"{stored / n:.2f} per record; baseline: every earlier match kept (n(n-1)/2)"})
    return rows


def run(quick: bool = False) -> list[dict]:
    n, n_local = (2000, 10_000) if quick else (20_000, 100_000)
    with tempfile.TemporaryDirectory(prefix="bench-lookup-") as tmp:
        tmp = Path(tmp)
        proc, port = _registry(tmp / "registry")
        try:
            _registered(tmp, port, n)
            rows = _snapshot(tmp, port, n)
        finally:
            proc.terminate()
            proc.wait(10)
        rows += _duplicate_check(tmp, n_local)
        rows += _candidates(tmp, (100, 200, 400) if quick else (250, 500, 1000))
    return rows


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    for row in run(parser.parse_args().quick):
        print(json.dumps(row, ensure_ascii=False))
