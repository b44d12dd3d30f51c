"""Sync over an emulated 3G link: batched engine vs one request per record vs the link's floor.

Link (bench/linkemu.py): 150 ms each way (300 ms RTT), 1 Mbit/s up, 4 Mbit/s down,
TCP/IP header overhead counted. A real registry subprocess (SQLite) on loopback.

- batched: ``sync.engine.Engine`` drains N sealed synthetic records (status polling off;
  it is measured separately);
- per-record: a plain loop posting single-item batches through the same emulator, one
  request each, over one kept-alive connection. At ~0.33 s per record it would take
  about an hour for 10,000, so it runs on a sample and is extrapolated linearly;
- floor: max(bytes up / up bandwidth, bytes down / down bandwidth) + 4 RTT (TCP
  handshake, challenge, token, last answer), with the bytes the batched run put on
  the wire; a stricter payload-only floor (one gzip of every sealed item) is shown too.

Goals: batched >= 20x faster than per-record, and within 1.5x of the floor. Rows follow
bench/run.py: ``ratio`` = value / baseline (so 0.025 on the first row means 40x faster).

    python bench/bench_sync_link.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "bench")]

from linkemu import LinkEmulator  # noqa: E402

UP_BPS, DOWN_BPS, DELAY = 1_000_000, 4_000_000, 0.150


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _registry(data_dir: Path):
    import urllib.request

    port = _free_port()
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "registry", "serve", "--data-dir", str(data_dir), "--port",
                             str(port), "--register-delay", "0"], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/health", timeout=1):
                return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("registry did not start")


def _code(data_dir: Path) -> str:
    out = subprocess.run([sys.executable, "-m", "registry", "enrollment-code", "--data-dir", str(data_dir)],
                         cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)), capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout)["code"]


def _sealed(dev, n: int, seed: int) -> list[dict]:
    from fieldapp.outbound import wire
    from fieldapp.domain.synthetic import make_records

    today, out = date.today().isoformat(), []
    for i, rec in enumerate(make_records(n, seed=seed)):
        rec["national_id"] = f"{seed:03d}{i:06d}"
        rid = str(uuid.uuid4())
        out.append({"record_id": rid, "sealed": wire.seal_record(
            rec, record_id=rid, device_id=dev.device_id, enrolled_on=today, seal_public=dev.seal_public_raw,
            device_private=dev.private_raw)})
    return out


def _per_record(dev, url: str, items: list[dict]) -> int:
    """The naive client: one POST per record, sequential. Returns how many were confirmed."""
    from fieldapp.outbound import proofs, wire
    from sync.auth import TokenAuth
    from sync.transport import Client

    client = Client(url, read_timeout=60)
    auth, ok = TokenAuth(client, dev), 0
    try:
        for it in items:
            batch_id, key = str(uuid.uuid4()), str(uuid.uuid4())
            body = wire.build_batch([it["sealed"]], device_id=dev.device_id, batch_id=batch_id)
            r = client.request("POST", "/v1/batches", body=body, headers={
                **auth.header(), "Idempotency-Key": key, "Content-Encoding": "gzip",
                "Content-Type": "application/json",
                "X-Batch-Signature": wire.sign_batch(body, idempotency_key=key, device_private=dev.private_raw)})
            receipt = proofs.verify_receipt(r.data, registry_sign_public=dev.sign_public_raw,
                                          batch_sha256=wire.sha256_hex(body))
            ok += sum(1 for x in receipt["results"] if x["status"] in ("accepted", "duplicate"))
    finally:
        client.close()
    return ok


def run(quick: bool) -> list[dict]:
    from fieldapp.outbound import wire
    from fieldapp.outbound.spool import Spool
    from sync.engine import Engine, SyncConfig
    from sync.registration import register

    n, sample = (1000, 40) if quick else (10000, 200)
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp:
        tmp = Path(tmp)
        proc, port = _registry(tmp / "registry")
        emu = LinkEmulator(port, delay=DELAY, up_bps=UP_BPS, down_bps=DOWN_BPS)
        try:
            dev = register(tmp / "a", emu.url, _code(tmp / "registry"))
            items = _sealed(dev, n, seed=101)
            with Spool(tmp / "a") as spool:
                spool.add(items)
            emu.reset_stats()
            engine = Engine(tmp / "a", config=SyncConfig(poll_status=False))
            t0 = time.monotonic()
            res = engine.run()
            wall = time.monotonic() - t0
            batched = emu.stats()
            requests = engine.client.requests_sent
            assert res.exit_code == 0 and res.sent == n, res
            t0 = time.monotonic()
            engine = Engine(tmp / "a", config=SyncConfig(poll_status=True))
            engine.run()
            poll_wall, poll_requests = time.monotonic() - t0, engine.client.requests_sent
            with Spool(tmp / "a") as spool:
                registered = spool.counts()["registered"]

            dev_b = register(tmp / "b", emu.url, _code(tmp / "registry"))
            sample_items = _sealed(dev_b, sample, seed=102)
            emu.reset_stats()
            t0 = time.monotonic()
            assert _per_record(dev_b, emu.url, sample_items) == sample
            per_wall = time.monotonic() - t0
            single = emu.stats()
        finally:
            emu.close()
            proc.terminate()
            proc.wait(15)

    scale = n / sample
    per_est = per_wall * scale
    rtt = 2 * DELAY
    floor = max(batched["up_wire_bytes"] * 8 / UP_BPS, batched["down_wire_bytes"] * 8 / DOWN_BPS) + 4 * rtt
    payload = len(wire.build_batch([i["sealed"] for i in items], device_id=dev.device_id, batch_id="all"))
    strict = payload * 8 / UP_BPS + 4 * rtt
    up_base, down_base = single["up_wire_bytes"] * scale, single["down_wire_bytes"] * scale
    link = "300 ms RTT, 1 Mbit/s up, 4 Mbit/s down"

    def row(name, value, unit, baseline, note):
        ratio = round(value / baseline, 4) if baseline else None
        return {"name": name, "value": value, "unit": unit, "baseline": baseline, "ratio": ratio, "note": note}

    return [
        row("sync_link_batched_wall", round(wall, 1), "s", round(per_est, 1),
            f"{n} records over {link}: {per_est / wall:.1f}x faster than one request per record (goal >= 20x); "
            f"baseline measured on {sample} records ({per_wall:.1f} s) and extrapolated linearly"),
        row("sync_link_vs_floor", round(wall, 1), "s", round(floor, 1),
            f"floor = max(wire bytes up / 1 Mbit/s, down / 4 Mbit/s) + 4 RTT (goal ratio <= 1.5); "
            f"payload-only floor {strict:.1f} s, ratio {wall / strict:.2f}"),
        row("sync_link_requests", requests, "requests", n + 2,
            "HTTP requests of the batched drain (health, login, batches) vs one per record plus login"),
        row("sync_link_bytes_up", batched["up_wire_bytes"], "bytes", round(up_base),
            "client->registry bytes on the wire incl. TCP/IP headers; baseline extrapolated"),
        row("sync_link_bytes_down", batched["down_wire_bytes"], "bytes", round(down_base),
            "registry->client bytes on the wire (signed receipts); baseline extrapolated"),
        row("sync_link_records_per_s", round(n / wall, 1), "records/s", round(sample / per_wall, 2),
            "delivery throughput with verified receipts"),
        row("sync_link_status_poll", round(poll_wall, 1), "s", None,
            f"separate run: status feed for {n} synced records, {poll_requests} requests; "
            f"{registered} moved to registered"),
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1,000 records and a 40-record baseline sample")
    ap.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = ap.parse_args()
    rows = run(args.quick)
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        for r in rows:
            print(f"{r['name']:26} {r['value']!s:>10} {r['unit']:10} baseline {r['baseline']!s:>10}  "
                  f"ratio {r['ratio']!s:>6}  {r['note']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
