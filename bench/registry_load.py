"""The registry under pre-authentication load and a full disk: /v1/health latency and the process's memory.

    .venv/bin/python bench/registry_load.py [--repo DIR] [--python PY] [--only NAME] [--json FILE] [-- SERVE ARGS]

Starts ``PY -m registry serve`` of the tree ``--repo`` (default: this one) on a fresh data folder for each
scenario and attacks it over raw sockets from this process (tests/helpers/attack_load.py): 48 stalled 8 MiB uploads
with a bad token, 140 half-sent request heads, a challenge flood (8 threads, 4 s) for one enrolled device, a 32 KiB
gzip bomb batch from an authenticated device, 1,500 requests while the registry's stderr is a pipe nobody reads,
and a full data folder (a 24 MiB tmpfs, root only). Before/after
figures: run it once with ``--repo /path/to/old/tree --python /path/to/old/.venv/bin/python`` and once without.
Not a test and not part of bench/run.py: nothing here asserts anything. The figures are in docs/reliability.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from helpers import attack_load as al  # noqa: E402


class Served:
    def __init__(self, repo: Path, python: str, data_dir: Path, extra: list[str], log_dir: Path, pipe: bool = False):
        self.repo, self.python, self.data_dir = repo, python, data_dir
        with __import__("socket").socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.env = {**os.environ, "PYTHONPATH": str(repo)}
        self.log = open(log_dir / f"serve-{self.port}.log", "ab")
        out = subprocess.PIPE if pipe else self.log  # a pipe nobody reads
        self.proc = subprocess.Popen([python, "-m", "registry", "serve", "--data-dir", str(data_dir), "--port",
                                      str(self.port), "--register-delay", "0", *extra], cwd=repo, env=self.env,
                                     stdout=out, stderr=out, stdin=subprocess.DEVNULL)
        end = time.monotonic() + 60
        while al.health(self.port, 1)[0] != 200:
            if time.monotonic() > end or self.proc.poll() is not None:
                raise RuntimeError("registry did not start")
            time.sleep(0.1)

    def code(self) -> str:
        out = subprocess.run([self.python, "-m", "registry", "enrollment-code", "--data-dir", str(self.data_dir)],
                             cwd=self.repo, env=self.env, capture_output=True, text=True, timeout=60, check=True)
        return json.loads(out.stdout)["code"]

    def rss_mib(self, field: str = "VmRSS") -> float:
        return round(al.proc_kib(self.proc.pid, field) / 1024, 1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(15)
        self.log.close()


def latency(port: int, n: int = 5, timeout: float = 10.0) -> str:
    """Median and worst /v1/health answer time in ms over ``n`` tries, the statuses, and how many got no answer."""
    times, failed, statuses = [], 0, set()
    for _ in range(n):
        status, _d, secs = al.health(port, timeout)
        if status:
            times.append(secs * 1000)
            statuses.add(status)
        else:
            failed += 1
    if not times:
        return f"no answer in {timeout:.0f} s ({failed}/{n})"
    out = f"p50 {statistics.median(times):.1f} ms, max {max(times):.1f} ms"
    out += "" if statuses == {200} else f" (HTTP {'/'.join(map(str, sorted(statuses)))})"
    return out + (f", {failed}/{n} got no answer" if failed else "")


def s_idle(srv: Served) -> dict:
    return {"health": latency(srv.port, 20), "rss_mib": srv.rss_mib()}


def s_stalled_uploads(srv: Served) -> dict:
    socks = al.stalled_uploads(srv.port, 48, 8 * 1024 * 1024, 8 * 1024 * 1024 - 1)
    time.sleep(2)
    out = {"health": latency(srv.port), "rss_mib": srv.rss_mib(), "peak_rss_mib": srv.rss_mib("VmHWM")}
    out["closed_by_registry_after_2s"] = sum(al.closed_by_peer(s) for s in socks)
    al.close_all(socks)
    return out


def s_half_heads(srv: Served) -> dict:
    socks = al.half_heads(srv.port, 140)
    out = {"health": latency(srv.port), "rss_mib": srv.rss_mib()}
    time.sleep(15)
    out["closed_by_registry_after_15s"] = sum(al.closed_by_peer(s) for s in socks)
    out["health_after_15s"] = latency(srv.port, 3)
    al.close_all(socks)
    return out


def s_challenge_flood(srv: Served) -> dict:
    dev = al.Device(srv.port, srv.code())
    import threading

    samples: list[str] = []
    t = threading.Thread(target=lambda: samples.append(latency(srv.port, 5)))
    t.start()
    counts = al.flood(srv.port, "POST", "/v1/auth/challenge", lambda i, n: {"device_id": dev.device_id}, 8, 4.0)
    t.join(60)
    with sqlite3.connect(f"file:{srv.data_dir / 'registry.db'}?mode=ro", uri=True) as db:
        nonces = db.execute("SELECT COUNT(*) FROM nonces").fetchone()[0]
    return {"answers_in_4s": {str(k): v for k, v in counts.items() if isinstance(k, int)},
            "health_during": samples[0] if samples else "-", "nonce_rows": nonces, "rss_mib": srv.rss_mib()}


def s_gzip_bomb(srv: Served) -> dict:
    dev = al.Device(srv.port, srv.code())
    dev.login()
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    bomb = comp.compress(b'{"v":1,"batch_id":"b","device_id":"%s","items":["' % dev.device_id.encode()
                         + b"A" * (32 * 1024 * 1024)) + comp.flush()
    before = srv.rss_mib("VmHWM")
    results = [dev.post(bomb) for _ in range(5)]
    return {"body_kib": round(len(bomb) / 1024, 1), "answers": [(r[0], (r[2] or {}).get("error")) for r in results],
            "ms_per_request": round(statistics.median(r[3] for r in results) * 1000, 1),
            "peak_rss_growth_mib": round(srv.rss_mib("VmHWM") - before, 1)}


def s_stderr_pipe(srv: Served) -> dict:
    answered = 0
    for i in range(1500):
        if al.call(srv.port, "GET", "/v1/health" if i % 3 else "/v1/nope", timeout=10)[0] == 0:
            break
        answered += 1
    return {"answered_of_1500": answered, "health_after": latency(srv.port, 3), "rss_mib": srv.rss_mib()}


def s_full_disk(srv: Served) -> dict:
    dev = al.Device(srv.port, srv.code())
    dev.login()
    mount = srv.data_dir.parent
    st = os.statvfs(mount)
    with open(mount / "ballast", "wb") as fh:
        try:
            fh.write(b"\0" * (st.f_bavail * st.f_frsize))
        except OSError:
            pass
    answers = [dev.post(dev.empty_batch(), timeout=30) for _ in range(3)]
    out = {"batches": [(a[0], (a[2] or {}).get("error") if isinstance(a[2], dict) else None,
                        a[1].get("retry-after")) for a in answers],
           "batch_ms": round(max(a[3] for a in answers) * 1000, 1)}
    status, data, secs = al.health(srv.port)
    out["health"] = f"{status} {json.dumps(data) if isinstance(data, dict) else data!r} in {secs * 1000:.1f} ms"
    time.sleep(3)
    out["health_3s_later"] = latency(srv.port, 5)
    (mount / "ballast").unlink()
    again = dev.post(dev.empty_batch(), timeout=30)
    out["after_freeing"] = again[0]
    out["rss_mib"] = srv.rss_mib()
    return out


SCENARIOS = {"idle": s_idle, "stalled_uploads": s_stalled_uploads, "half_heads": s_half_heads,
             "challenge_flood": s_challenge_flood, "gzip_bomb": s_gzip_bomb, "stderr_pipe": s_stderr_pipe,
             "full_disk": s_full_disk}


def run(repo: Path, python: str, only: str | None, extra: list[str]) -> dict:
    results = {}
    work = Path(tempfile.mkdtemp(prefix="regload"))
    try:
        for name, fn in SCENARIOS.items():
            if only and only not in name:
                continue
            data_dir = work / name / "data"
            data_dir.parent.mkdir(parents=True)
            mounted = False
            if name == "full_disk":
                mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m,mode=0700", "tmpfs",
                                          str(data_dir.parent)], capture_output=True).returncode == 0
                if not mounted:
                    results[name] = {"skipped": "needs root to mount a tmpfs"}
                    continue
            data_dir.mkdir()
            srv = Served(repo, python, data_dir, extra, work, pipe=name == "stderr_pipe")
            try:
                results[name] = fn(srv)
            except Exception as exc:  # noqa: BLE001 - a bench reports, it does not stop
                results[name] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
            finally:
                srv.stop()
                if mounted:
                    subprocess.run(["umount", "-l", str(data_dir.parent)], capture_output=True)
            print(f"{name:16} {json.dumps(results[name])}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return results


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repo", default=str(REPO), help="the tree whose registry is attacked (default: this one)")
    p.add_argument("--python", default=sys.executable, help="its Python (default: this one)")
    p.add_argument("--only", help="run the scenarios whose name contains this")
    p.add_argument("--json", help="also write the figures to this file")
    p.add_argument("serve_args", nargs="*", help="extra arguments for `serve` (after --)")
    args = p.parse_args()
    results = run(Path(args.repo).resolve(), args.python, args.only, args.serve_args)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
