"""One side of bench/bench_security.py, run inside one tree: the release code (d1c7e9c) or the working tree.

    cd TREE && PYTHONPATH=TREE python /path/to/bench/security_worker.py approval --n 500 --single 100
    cd TREE && PYTHONPATH=TREE python /path/to/bench/security_worker.py intake --devices 20 --per-device 500

Not a bench module of its own (bench/run.py only runs ``bench_*.py``): bench_security.py starts it once per side and
round, with ``PYTHONPATH`` and the working directory set to that side's tree, so the two versions never share an
interpreter. It uses only what both versions have, and detects the new one by ``wire.ITEM_V2``. The last line on
stdout is one JSON object with the raw figures; nothing here compares or asserts a time.

- ``approval``: a new store on a registered laptop (no network), N submitted records approved in one
  ``services.review`` (each sealed into the outbox, and in the new code signed by the approval key, then published
  to the spool), then ``--single`` more approved one at a time (a supervisor clicking Approve).
- ``intake``: a real ``python -m registry serve`` of this tree (SQLite), ``--devices`` devices enrolled (the new
  code: with an approval key each) and logged in, ``--per-device`` records each sealed into batches of ``--batch``
  before the clock starts; then one thread per device (its own ``requests.Session`` and token) posts its batches
  one after another, all devices at once. Records accepted per second from the first post to the last receipt.
  A 429/503 is retried after its Retry-After, as the sync engine does, and counted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != HERE]  # only the tree's own modules

from fieldapp.outbound import wire  # noqa: E402

NEW = hasattr(wire, "ITEM_V2")
TREE = Path.cwd()


def _check_tree() -> None:
    import fieldapp

    where = Path(fieldapp.__file__).resolve()
    if TREE.resolve() not in where.parents:
        raise SystemExit(f"fieldapp imported from {where}, not from {TREE}")


# ---------------------------------------------------------------- approval cost
def _fake_device(now: str):
    """A registered device whose registry never answers: approval needs no network."""
    from fieldapp.outbound import device as device_file

    reg = wire.new_registry_keys()
    private, public = wire.new_device_keys()
    return device_file.Device(device_id=f"bench-{uuid.uuid4().hex[:12]}", server_url="http://127.0.0.1:9",
                              device_private_key=wire.b64e(private), device_public_key=wire.b64e(public),
                              registry_seal_public_key=wire.b64e(reg["seal_public"]),
                              registry_sign_public_key=wire.b64e(reg["sign_public"]), registered_at=now)


def approval(n: int, single: int, tmp: Path) -> dict:
    from fieldapp import services
    from fieldapp.domain.synthetic import make_records
    from fieldapp.store import records
    from fieldapp.store.database import Store

    data = tmp / "laptop"
    session = Store(data).create("sup", "bench password 1")
    dev = _fake_device(wire.now_iso())
    if NEW:  # the store holds the identity; device.json is a checked copy
        from fieldapp.outbound import identity

        identity.adopt(session, dev)
    else:
        from fieldapp.outbound import device as device_file

        device_file.save(data, dev)
    recs = make_records(n + single, seed=11)
    for i, rec in enumerate(recs):
        rec["national_id"] = f"{700000000 + i}"
    ids = records.import_records(session, recs)
    many, ones = ids[:n], ids[n:]
    start = time.perf_counter()
    services.review(session, many, "approve")
    batch = time.perf_counter() - start
    clicks = []
    for rid in ones:
        start = time.perf_counter()
        services.review(session, [rid], "approve")
        clicks.append(time.perf_counter() - start)
    counts = records.counts(session)
    versions = Counter(json.loads(s)["v"] for (s,) in session.conn.execute("SELECT sealed FROM outbox"))
    approved = sum(1 for (s,) in session.conn.execute("SELECT sealed FROM outbox") if "approval" in json.loads(s))
    session.close()
    from fieldapp.outbound.spool import Spool

    with Spool(data) as spool:
        spooled = sum(spool.counts().values())
    if counts.get("queued") != n + single or spooled != n + single:
        raise SystemExit(f"not every record was sealed and published: {counts}, spool {spooled}")
    return {"n": n, "batch_s": batch, "single_s": clicks, "item_versions": dict(versions), "approval_sigs": approved}


# ---------------------------------------------------------------- registry intake
class Registry:
    def __init__(self, data_dir: Path):
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.data_dir, self.url = data_dir, f"http://127.0.0.1:{self.port}"
        data_dir.mkdir(parents=True)
        self.log = open(data_dir.parent / "serve.log", "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "registry", "serve", "--data-dir", str(data_dir),
                                      "--port", str(self.port), "--register-delay", "0"], cwd=TREE,
                                     env=os.environ.copy(), stdout=self.log, stderr=self.log,
                                     stdin=subprocess.DEVNULL)
        end = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(self.url + "/v1/health", timeout=1):
                    return
            except OSError:
                if time.monotonic() > end or self.proc.poll() is not None:
                    self.stop()
                    raise SystemExit("registry did not start")
                time.sleep(0.05)

    def code(self) -> str:
        out = subprocess.run([sys.executable, "-m", "registry", "enrollment-code", "--data-dir", str(self.data_dir)],
                             cwd=TREE, env=os.environ.copy(), capture_output=True, text=True, timeout=120, check=True)
        return json.loads(out.stdout)["code"]

    def cpu_s(self) -> float:
        """CPU seconds (user + system) the registry process has used so far (Linux /proc; 0 elsewhere)."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(15)
        self.log.close()


class Laptop:
    """One enrolled device: its keys, token, and its batches, sealed and signed before the clock starts."""

    def __init__(self, reg: Registry, index: int, code: str, keys: dict):
        import requests

        self.reg, self.index, self.keys = reg, index, keys
        self.http = requests.Session()
        self.private, public = wire.new_device_keys()
        self.approval = wire.new_device_keys()[0] if NEW else None
        body = {"code": code, "public_key": wire.b64e(public)}
        if NEW:
            from fieldapp.outbound import proofs

            body.update(proofs.approval_key_proof(wire.b64e(public), self.approval))
        self.device_id = self._ok(self.http.post(reg.url + "/v1/devices/enroll", json=body, timeout=60))["device_id"]
        nonce = self._ok(self.http.post(reg.url + "/v1/auth/challenge", json={"device_id": self.device_id},
                                        timeout=60))["nonce"]
        self.token = self._ok(self.http.post(reg.url + "/v1/auth/token", timeout=60, json={
            "device_id": self.device_id, "nonce": nonce,
            "signature": wire.sign_challenge(self.device_id, nonce, self.private)}))["token"]
        self.batches: list[tuple[str, bytes, str]] = []
        self.receipts: list[tuple[bytes, bytes]] = []
        self.retries: Counter = Counter()
        self.start = self.end = 0.0

    @staticmethod
    def _ok(r) -> dict:
        if r.status_code != 200:
            raise SystemExit(f"registry answered {r.status_code}: {r.text[:300]}")
        return r.json()

    def seal(self, k: int, per_batch: int) -> None:
        from fieldapp.domain.synthetic import make_records

        today, extra = date.today().isoformat(), {}
        head = None
        if NEW:
            from fieldapp.outbound import proofs

            extra = {"approval_private": self.approval}  # version 2 items, approved
            head = proofs.sign_audit_head("bench-store", 1000 + k, wire.sha256_hex(self.device_id.encode()),
                                          wire.now_iso(), self.approval)
        items = []
        for i, rec in enumerate(make_records(k, seed=1000 + self.index)):
            rec["national_id"] = f"{100 + self.index:03d}{i:06d}"  # distinct across devices: nothing is a duplicate
            rid = str(uuid.uuid4())
            items.append(wire.seal_record(rec, record_id=rid, device_id=self.device_id, enrolled_on=today,
                                          seal_public=self.keys["seal"], device_private=self.private, **extra))
        for i in range(0, len(items), per_batch):
            kw = {"audit_head": head} if NEW else {}
            body = wire.build_batch(items[i:i + per_batch], device_id=self.device_id, batch_id=str(uuid.uuid4()), **kw)
            key = f"bench-{uuid.uuid4()}"
            self.batches.append((key, body, wire.sign_batch(body, idempotency_key=key, device_private=self.private)))

    def send_all(self, go: threading.Barrier) -> None:
        go.wait()
        self.start = time.perf_counter()
        for key, body, sig in self.batches:
            headers = {"Authorization": f"Bearer {self.token}", "Idempotency-Key": key, "Content-Encoding": "gzip",
                       "Content-Type": "application/json", "X-Batch-Signature": sig}
            while True:
                try:
                    r = self.http.post(self.reg.url + "/v1/batches", data=body, headers=headers, timeout=300)
                except OSError as exc:  # requests' errors are OSErrors: a dropped connection is sent again
                    self.retries[f"error {type(exc).__name__}"] += 1
                    time.sleep(1)
                    continue
                if r.status_code in (429, 503):
                    reason = (r.json() if r.headers.get("content-type", "").startswith("application/json")
                              else {}).get("error", "-")
                    self.retries[f"{r.status_code} {reason}"] += 1
                    time.sleep(float(r.headers.get("Retry-After") or 1))
                    continue
                break
            self.receipts.append((body, r.content if r.status_code == 200 else b""))
        self.end = time.perf_counter()


def _verify(lap: Laptop) -> Counter:
    """Statuses of a laptop's receipts, each checked to be the registry's and to name its batch (after the clock)."""
    verify = getattr(wire, "verify_receipt", None)  # the release code; the new one has it in ``proofs``
    if verify is None:
        from fieldapp.outbound import proofs

        verify = proofs.verify_receipt
    out: Counter = Counter()
    for body, answer in lap.receipts:
        if not answer:
            out["refused"] += 1
            continue
        inner = verify(json.loads(answer), registry_sign_public=lap.keys["sign"], batch_sha256=wire.sha256_hex(body))
        out.update(r["status"] if r["status"] != "rejected" else f"rejected {r.get('reason')}"
                   for r in inner["results"])
    return out


def intake(devices: int, per_device: int, per_batch: int, tmp: Path) -> dict:
    import requests

    reg = Registry(tmp / "registry")
    try:
        keys = requests.get(reg.url + "/v1/keys", timeout=30).json()
        keys = {"seal": wire.b64d(keys["seal_public_key"]), "sign": wire.b64d(keys["sign_public_key"])}
        with ThreadPoolExecutor(4) as pool:
            codes = list(pool.map(lambda _i: reg.code(), range(devices)))
        laptops = [Laptop(reg, i, code, keys) for i, code in enumerate(codes)]
        for lap in laptops:
            lap.seal(per_device, per_batch)
        go = threading.Barrier(devices + 1)
        threads = [threading.Thread(target=lap.send_all, args=(go,)) for lap in laptops]
        for t in threads:
            t.start()
        cpu = reg.cpu_s()
        go.wait()
        for t in threads:
            t.join()
        cpu = reg.cpu_s() - cpu
        wall = max(lap.end for lap in laptops) - min(lap.start for lap in laptops)
        statuses: Counter = Counter()
        retries: Counter = Counter()
        for lap in laptops:
            statuses += _verify(lap)
            retries += lap.retries
    finally:
        reg.stop()
    accepted = statuses.get("accepted", 0)
    return {"devices": devices, "per_device": per_device, "batch": per_batch, "wall_s": wall, "accepted": accepted,
            "records_per_s": accepted / wall, "registry_cpu_ms_per_record": cpu * 1000 / max(accepted, 1),
            "statuses": dict(statuses), "retries": dict(retries),
            "item_version": wire.ITEM_V2 if NEW else 1, "limits": _limits()}


def _limits() -> dict:
    """The intake and rate limits this tree's registry runs with by default (none in the release code)."""
    from dataclasses import fields

    from registry.config import Settings

    names = ("batch_concurrency", "device_batch_concurrency", "intake_wait", "rate_auth", "rate_auth_burst",
             "rate_enroll", "rate_enroll_burst", "rate_global", "rate_global_burst")
    have = {f.name: f.default for f in fields(Settings)}
    return {n: have[n] for n in names if n in have}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="what", required=True)
    a = sub.add_parser("approval")
    a.add_argument("--n", type=int, default=500)
    a.add_argument("--single", type=int, default=100)
    i = sub.add_parser("intake")
    i.add_argument("--devices", type=int, default=20)
    i.add_argument("--per-device", type=int, default=500)
    i.add_argument("--batch", type=int, default=100)
    args = p.parse_args()
    _check_tree()
    os.environ.setdefault("FIELDAPP_KDF_TARGET_MS", "0")
    os.environ.setdefault("FIELDAPP_KEYSTORE", "file")
    with tempfile.TemporaryDirectory(prefix="bench-security-") as d:
        if args.what == "approval":
            out = approval(args.n, args.single, Path(d))
        else:
            out = intake(args.devices, args.per_device, args.batch, Path(d))
    out.update(tree=str(TREE), new=NEW)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
