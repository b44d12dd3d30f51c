"""Helpers of make_release_sample.py (run by hand with a release tree first on sys.path; see that script)."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
PORT = 18443
URL = f"http://127.0.0.1:{PORT}"
PASSWORDS = {"sup": "release sample supervisor", "ow": "release sample outreach"}
FULL_NAMES = {"sup": "Sample Supervisor", "ow": "Sample Outreach Worker"}
# How many records of each kind (about 45 in all: the sample stays a few hundred KB).
GROUPS = {"registered": 12, "synced": 8, "open_batch": 5, "queued_unsent": 6, "submitted": 6, "returned": 3,
          "rejected": 2, "draft": 2}
SEED = 61  # national IDs "61nnnnnnn": unique in this sample


def log(msg: str) -> None:
    print(f"[make_release_sample] {msg}", flush=True)


# -- the release tree -------------------------------------------------------------------------------------------------
def put_tree_first(tree: Path) -> None:
    sys.path.insert(0, str(tree))
    import fieldapp

    where = Path(fieldapp.__file__).resolve()
    assert where.is_relative_to(tree), f"fieldapp imported from {where}, not from the release tree {tree}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Tools:
    """Real processes of the release tree, with fast key slots and logs kept out of the data folders."""

    def __init__(self, tree: Path, work: Path):
        self.tree, self.work = tree, work
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDAPP_")}
        self.env.update({"PYTHONPATH": str(tree), "FIELDAPP_KDF_TARGET_MS": "0", "FIELDAPP_LANG": "en",
                         "FIELDAPP_LOG_DIR": str(work / "logs"),
                         "FIELDAPP_PROVISIONING_FILE": str(work / "no-machine-provisioning.json")})
        out = subprocess.run([sys.executable, "-c", "import fieldapp, registry, sync; "
                              "print(fieldapp.__file__, registry.__file__, sync.__file__, fieldapp.__version__)"],
                             cwd=tree, env=self.env, capture_output=True, text=True, check=True)
        *files, self.version = out.stdout.split()
        for f in files:
            assert Path(f).resolve().is_relative_to(tree), f"a subprocess imports {f}, not the release tree"

    def fieldapp(self, *args, password=None, new_password=None, ok=(0,), timeout=300) -> subprocess.CompletedProcess:
        env = dict(self.env)
        if password:
            env["FIELDAPP_PASSWORD"] = password
        if new_password:
            env["FIELDAPP_NEW_PASSWORD"] = new_password
        out = subprocess.run([sys.executable, "-m", "fieldapp", *map(str, args)], cwd=self.tree, env=env,
                             capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=timeout)
        assert "Traceback" not in out.stderr, out.stderr
        if ok is not None and out.returncode not in ok:
            raise RuntimeError(f"fieldapp {args[0]} exited {out.returncode}: {out.stdout[-1000:]} {out.stderr[-2000:]}")
        return out

    def json(self, *args, **kw):
        return json.loads(self.fieldapp(*args, **kw).stdout)

    def registry_cli(self, *args) -> str:
        out = subprocess.run([sys.executable, "-m", "registry", *map(str, args)], cwd=self.tree, env=self.env,
                             capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            raise RuntimeError(f"registry {args[0]} exited {out.returncode}: {out.stderr[-2000:]}")
        return out.stdout


STARTED: list = []  # registry processes and proxies, stopped whatever happens


class RegistryProcess:
    """``python -m registry serve`` of the release, on a free port, its log outside its data folder."""

    def __init__(self, tools: Tools, data_dir: Path, register_delay: float):
        STARTED.append(self)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        log_file = open(tools.work / "logs" / "registry.log", "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "registry", "serve", "--data-dir", str(data_dir), "--port", str(self.port),
             "--register-delay", str(register_delay)], cwd=tools.tree, env=tools.env, stdout=log_file,
            stderr=log_file)
        log_file.close()
        end = time.monotonic() + 60
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError("registry exited; see " + str(tools.work / "logs" / "registry.log"))
            try:
                with urllib.request.urlopen(self.url + "/v1/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("registry did not start")

    def stop(self) -> None:
        """SIGTERM and wait: uvicorn shuts down, the last SQLite connection checkpoints the WAL."""
        if getattr(self, "proc", None) is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(60)
        assert self.proc.returncode is not None


def load_faultproxy():
    spec = importlib.util.spec_from_file_location("faultproxy", HERE.parent / "helpers" / "faultproxy.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["faultproxy"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module.FaultProxy


# -- records -----------------------------------------------------------------------------------------------------------
def people() -> dict[str, list[dict]]:
    """Synthetic records per group, with unique national IDs. Records that a later release will still validate
    (submitted: approved by the upgrade test years on; returned, rejected, drafts) have no children (who would
    age out) and a worker in mid-life; sealed records were validated on their enrollment day and keep everything."""
    from fieldapp.domain.synthetic import make_records

    recs = make_records(sum(GROUPS.values()), seed=SEED)
    out, i = {}, 0
    for name, n in GROUPS.items():
        group = recs[i:i + n]
        for j, rec in enumerate(group):
            rec["national_id"] = f"{SEED:02d}{i + j:07d}"
            if name in ("submitted", "returned", "rejected", "draft"):
                rec["date_of_birth"] = f"19{88 + (i + j) % 8}-0{1 + (i + j) % 9}-1{(i + j) % 10}"
                rec["dependents"] = [d for d in rec["dependents"] if d["relationship"] == "spouse"]
                for d in rec["dependents"]:
                    d["date_of_birth"] = "1990-03-15"
        out[name] = group
        i += n
    return out


def write_jsonl(path: Path, recs: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs), encoding="utf-8")
    return path


# -- reading the result ------------------------------------------------------------------------------------------------
def spool_picture(laptop: Path) -> dict:
    from fieldapp.outbound.spool import Spool

    with Spool(laptop) as spool:
        states = spool.states()
        counts = spool.counts()
        open_batches = spool.open_batches()
    by_state: dict[str, list[str]] = {}
    for rid, info in states.items():
        by_state.setdefault(info["state"], []).append(rid)
    return {"counts": counts, "ids": {k: sorted(v) for k, v in sorted(by_state.items())},
            "open_batches": [{"batch_id": b["batch_id"], "idempotency_key": b["idempotency_key"],
                              "sha256": b["sha256"], "attempts": b["attempts"],
                              "record_ids": sorted(b["record_ids"])} for b in open_batches]}


def registry_picture(reg_dir: Path) -> dict:
    """Read the stopped registry's database directly (read-only)."""
    conn = sqlite3.connect(f"file:{reg_dir / 'registry.db'}?mode=ro", uri=True)
    try:
        by_state: dict[str, list[str]] = {}
        for rid, state in conn.execute("SELECT record_id, state FROM records ORDER BY record_id"):
            by_state.setdefault(state, []).append(rid)
        devices = [{"device_id": d, "revoked": r is not None}
                   for d, r in conn.execute("SELECT device_id, revoked_at FROM devices ORDER BY device_id")]
        people_n = conn.execute("SELECT COUNT(*) FROM people").fetchone()[0]
        receipts = sorted(r[0] for r in conn.execute("SELECT idempotency_key FROM batches"))
        rejections = conn.execute("SELECT COUNT(*) FROM rejections").fetchone()[0]
        schema = dict(conn.execute("SELECT key, value FROM meta")).get("schema_version")
        duplicates = conn.execute("SELECT COUNT(*) FROM records WHERE duplicate_of IS NOT NULL").fetchone()[0]
    finally:
        conn.close()
    return {"schema_version": schema, "counts": {k: len(v) for k, v in by_state.items()},
            "ids": by_state, "people": people_n, "receipts": receipts, "rejections": rejections,
            "duplicates": duplicates, "devices": devices}


def scrub_and_check(out: Path, work: Path) -> None:
    """No logs, no lock files, nothing naming the folder the sample was made in."""
    for p in list(out.rglob("*")):
        if p.name in ("logs", "sync.lock", "lockout.json", "serve.log") or p.suffix == ".log":
            shutil.rmtree(p) if p.is_dir() else p.unlink()
    needles = [str(work).encode(), str(work.resolve()).encode(), str(Path.home()).encode()]
    for p in out.rglob("*"):
        if p.is_file():
            data = p.read_bytes()
            hit = [n for n in needles if n in data]
            assert not hit, f"{p} holds an absolute path {hit}"


# -- the run -----------------------------------------------------------------------------------------------------------
