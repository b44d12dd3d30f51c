"""Helpers for sync tests: a real registry subprocess on loopback, sealed synthetic records, checks.

No HTTP is mocked. Records are synthetic (fieldapp.domain.synthetic) with unique national IDs,
sealed with ``wire.seal_record`` straight into the spool (no encrypted store needed).
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections import Counter
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PY = sys.executable
_NIDS = itertools.count(100_000_000 + (os.getpid() % 500) * 1_000_000)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env() -> dict:
    e = dict(os.environ)
    e["PYTHONPATH"] = str(REPO) + os.pathsep + e.get("PYTHONPATH", "")
    e.pop("FIELDAPP_PASSWORD", None)
    return e


def run_fieldapp(*args, password: str | None = None, timeout: float = 120, **extra_env) -> subprocess.CompletedProcess:
    """``python -m fieldapp ARGS`` as a real process (fast key slots); it never prints a traceback."""
    e = env()
    e["FIELDAPP_KDF_TARGET_MS"] = "0"
    e.update({k: str(v) for k, v in extra_env.items()})
    if password:
        e["FIELDAPP_PASSWORD"] = password
    out = subprocess.run([PY, "-m", "fieldapp", *map(str, args)], cwd=REPO, env=e, capture_output=True, text=True,
                         timeout=timeout)
    assert "Traceback" not in out.stderr, out.stderr
    return out


def store_states(data_dir, password: str, user: str = "sup") -> dict:
    """``{record_id: state}`` from ``fieldapp list --json`` (the unlock pulls the spool's states in first)."""
    out = run_fieldapp("list", "--data-dir", data_dir, "--user", user, "--json", password=password)
    assert out.returncode == 0, out.stderr
    return {r["id"]: r["state"] for r in json.loads(out.stdout)}


def write_people(path: Path, n: int, seed: int) -> Path:
    """``n`` synthetic records as JSON Lines, with national IDs unique to ``seed``."""
    from fieldapp.domain.synthetic import make_records

    recs = make_records(n, seed=seed)
    for i, r in enumerate(recs):
        r["national_id"] = f"{seed % 100:02d}{i:07d}"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in recs) + "\n", encoding="utf-8")
    return path


class Registry:
    """The reference registry (``python -m registry serve``) as a subprocess."""

    def __init__(self, data_dir: Path, register_delay: float = 0.0, port: int | None = None, extra=()):
        self.data_dir, self.register_delay, self.extra = Path(data_dir), register_delay, list(extra)
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None
        self.data_dir.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> "Registry":
        log = open(self.data_dir / "serve.log", "ab")
        self.proc = subprocess.Popen(
            [PY, "-m", "registry", "serve", "--data-dir", str(self.data_dir), "--port", str(self.port),
             "--register-delay", str(self.register_delay), *self.extra],
            cwd=REPO, env=env(), stdout=log, stderr=log)
        log.close()
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError("registry exited: " + (self.data_dir / "serve.log").read_text()[-2000:])
            try:
                with urllib.request.urlopen(self.url + "/v1/health", timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("registry did not start")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def cli(self, *args) -> str:
        out = subprocess.run([PY, "-m", "registry", *args, "--data-dir", str(self.data_dir)], cwd=REPO, env=env(),
                             capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            raise RuntimeError(f"registry {args[0]} failed: {out.stderr[-500:]}")
        return out.stdout

    def code(self) -> str:
        return json.loads(self.cli("enrollment-code"))["code"]

    def revoke(self, device_id: str) -> None:
        self.cli("revoke-device", device_id)

    def export(self) -> list[dict]:
        return [json.loads(line) for line in self.cli("export").splitlines() if line.strip()]

    def export_counts(self) -> Counter:
        return Counter(rec["record_id"] for rec in self.export())


def make_sealed(dev, n: int, seed: int = 1, invalid: tuple[int, ...] = ()) -> list[dict]:
    """``n`` spool items for ``dev``; the records at ``invalid`` indices fail registry validation."""
    from fieldapp.outbound import wire
    from fieldapp.domain.synthetic import make_records

    today = date.today().isoformat()
    out = []
    for i, rec in enumerate(make_records(n, seed=seed)):
        rec["national_id"] = f"{next(_NIDS):09d}"
        if i in invalid:
            rec["date_of_birth"] = "2999-01-01"  # in the future: invalid
        rid = str(uuid.uuid4())
        out.append({"record_id": rid, "sealed": wire.seal_record(
            rec, record_id=rid, device_id=dev.device_id, enrolled_on=today,
            seal_public=dev.seal_public_raw, device_private=dev.private_raw)})
    return out


def fill_spool(data_dir, n: int, seed: int = 1, invalid: tuple[int, ...] = ()) -> list[str]:
    from fieldapp.outbound import device
    from fieldapp.outbound.spool import Spool

    items = make_sealed(device.load(data_dir), n, seed, invalid)
    with Spool(data_dir) as spool:
        spool.add(items)
    return [i["record_id"] for i in items]


def fast_config(**kw):
    from sync.engine import SyncConfig

    base = dict(backoff_base=0.05, backoff_cap=0.5, max_failures=25, read_timeout=15.0, connect_timeout=5.0)
    base.update(kw)
    return SyncConfig(**base)


def assert_exactly_once(registry: Registry, record_ids) -> None:
    counts = registry.export_counts()
    missing = [r for r in record_ids if counts.get(r, 0) == 0]
    doubled = [r for r in record_ids if counts.get(r, 0) > 1]
    assert not missing and not doubled, f"{len(missing)} missing, {len(doubled)} more than once"


def assert_all_state(data_dir, record_ids, states=("synced", "registered")) -> None:
    from fieldapp.outbound.spool import Spool

    with Spool(data_dir) as spool:
        st = spool.states(record_ids)
    bad = Counter(v["state"] for v in st.values() if v["state"] not in states)
    assert len(st) == len(record_ids) and not bad, f"states: {bad}"
