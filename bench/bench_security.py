"""Security changes, before and after: the release code (0.1.0, commit d1c7e9c) against this working tree, same run.

- **approval cost**: on a registered laptop (no network), N submitted records approved in one
  ``services.review(session, ids, "approve")``: each sealed into the outbox in that transaction (the new code also
  signs it with the supervisor approval key and signs the audit chain's head), then published to the spool;
  ms per record. And a supervisor clicking Approve: p50 of ``services.review(session, [id], "approve")``.
- **registry intake**: each tree's own registry as a real process (SQLite), 20 enrolled devices (the new code: each
  with an approval key, so version 2 items and their approval signatures are what is measured), every device's
  records sealed into batches of 100 before the clock starts, then 20 threads (one per device, own token and
  ``requests.Session``) post all their batches at once; records accepted per second from the first post to the last
  receipt. A 429/503 is retried after its Retry-After (counted in the note). Also the registry process's CPU time
  per accepted record over the same interval, which says whether the registry's own work is what changed.

Each side runs in its own subprocess (bench/security_worker.py) with ``PYTHONPATH`` and the working directory set to
its tree, so the two versions never share an interpreter; the sides alternate (old, new, old, new, ...) and every
figure is the median over the rounds. The "before" tree is ``git archive`` of the release commit into a temporary
folder (``FIELDAPP_BENCH_BASE`` names an existing copy instead). ``baseline`` is the release code; ``ratio`` is
new / old. Nothing here asserts a time.

    python bench/run.py --only security [--quick]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORKER = HERE / "security_worker.py"
BASE_COMMIT = "d1c7e9cbbb6271a2a0ea26a6e585173bbc22d5cd"
WITHIN = 0.10  # the bound: within 10% of the release code


def base_tree(tmp: Path) -> Path:
    """The release code as a plain folder (never a checkout in this working tree)."""
    given = os.environ.get("FIELDAPP_BENCH_BASE")
    if given:
        return Path(given).resolve()
    dest = tmp / "release"
    dest.mkdir()
    archive = subprocess.run(["git", "-C", str(REPO), "archive", BASE_COMMIT], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    return dest


def side(tree: Path, args: list[str], timeout: float = 900) -> dict:
    """One run of the worker inside ``tree``; its JSON figures."""
    env = dict(os.environ, PYTHONPATH=str(tree), FIELDAPP_KDF_TARGET_MS="0", FIELDAPP_KEYSTORE="file")
    env.pop("FIELDAPP_DATA_DIR", None)
    out = subprocess.run([sys.executable, str(WORKER), *args], cwd=tree, env=env, capture_output=True, text=True,
                         timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"security worker {args[0]} in {tree} failed: {out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def interleaved(trees: dict[str, Path], args: list[str], rounds: int) -> dict[str, list[dict]]:
    """``rounds`` runs of each side, alternating old, new, old, new, ..."""
    got: dict[str, list[dict]] = {name: [] for name in trees}
    for _ in range(rounds):
        for name, tree in trees.items():
            got[name].append(side(tree, args))
    return got


def _verdict(ratio: float, higher_is_better: bool) -> str:
    ok = ratio >= 1 - WITHIN if higher_is_better else ratio <= 1 + WITHIN
    return f"within 10% of the release: {'yes' if ok else 'NO'}"


def _row(name: str, new: float, old: float, unit: str, note: str, higher_is_better: bool | None) -> dict:
    """A row of bench/run.py; ``higher_is_better`` None: a diagnostic figure, no verdict."""
    ratio = new / old if old else None
    if ratio and higher_is_better is not None:
        note = f"{note}; {_verdict(ratio, higher_is_better)}"
    return {"name": name, "value": new, "unit": unit, "baseline": old, "ratio": ratio, "note": note}


def bench_approval(trees: dict[str, Path], n: int, single: int, rounds: int) -> list[dict]:
    runs = interleaved(trees, ["approval", "--n", str(n), "--single", str(single)], rounds)
    per_record = {k: statistics.median(r["batch_s"] / r["n"] * 1000 for r in v) for k, v in runs.items()}
    clicks = {k: [s * 1000 for r in v for s in r["single_s"]] for k, v in runs.items()}
    p50 = {k: statistics.median(v) for k, v in clicks.items()}
    p95 = {k: sorted(v)[int(0.95 * (len(v) - 1))] for k, v in clicks.items()}
    items = {k: ", ".join(f"v{ver} x {c}" for ver, c in v[0]["item_versions"].items()) for k, v in runs.items()}
    common = f"median of {rounds} runs per side, interleaved; FIELDAPP_KDF_TARGET_MS=0"
    return [
        _row("approve N in one review, per record", per_record["new"], per_record["old"], "ms",
             f"{n} submitted records, one services.review: seal into the outbox + audit, then spool publish; new: "
             f"version 2 items + approval signature + signed audit head ({items['new']} per run), old: version 1 "
             f"({items['old']}); {common}", False),
        _row("approve one record (click) p50", p50["new"], p50["old"], "ms",
             f"{single} approvals one at a time after the batch, pooled over the runs (p95: new {p95['new']:.1f} ms, "
             f"old {p95['old']:.1f} ms); each is its own durable transaction + spool publish; {common}", False),
    ]


def _limits(run: dict) -> str:
    lim = run.get("limits")
    if not lim:
        return "no limits in the release registry"
    return ("new registry limits (defaults): intake " + f"{lim['batch_concurrency']} batches at once in all, "
            f"{lim['device_batch_concurrency']} per device, wait {lim['intake_wait']:g} s; "
            f"auth {lim['rate_auth']:g}/s burst {lim['rate_auth_burst']}, enroll {lim['rate_enroll']:g}/s burst "
            f"{lim['rate_enroll_burst']}, global {lim['rate_global']:g}/s burst {lim['rate_global_burst']}")


def _retries(runs: list[dict]) -> str:
    total: dict[str, int] = {}
    for r in runs:
        for k, v in r["retries"].items():
            total[k] = total.get(k, 0) + v
    return ", ".join(f"{v} x {k}" for k, v in sorted(total.items())) or "none"


def _not_accepted(runs: list[dict]) -> str:
    odd: dict[str, int] = {}
    for r in runs:
        for k, v in r["statuses"].items():
            if k != "accepted":
                odd[k] = odd.get(k, 0) + v
    return ", ".join(f"{v} {k}" for k, v in sorted(odd.items())) or "every record accepted"


def bench_intake(trees: dict[str, Path], devices: int, per_device: int, rounds: int) -> list[dict]:
    runs = interleaved(trees, ["intake", "--devices", str(devices), "--per-device", str(per_device),
                               "--batch", "100"], rounds)
    rate = {k: statistics.median(r["records_per_s"] for r in v) for k, v in runs.items()}
    cpu = {k: statistics.median(r["registry_cpu_ms_per_record"] for r in v) for k, v in runs.items()}
    each = {k: "/".join(f"{r['records_per_s']:.0f}" for r in v) for k, v in runs.items()}
    load = f"{devices} devices x {per_device} records, batches of 100, SQLite"
    return [
        _row(f"registry intake, {devices} laptops at once", rate["new"], rate["old"], "records/s",
             f"{load}; accepted records from the first post to the last receipt (receipts verified after the clock); "
             f"new: version 2 items with approval signatures + signed audit head per batch, old: version 1; median of "
             f"{rounds} runs per side, interleaved (new {each['new']}, old {each['old']}); retries after 429/503: "
             f"new {_retries(runs['new'])}, old {_retries(runs['old'])}; {_limits(runs['new'][0])}; "
             f"new: {_not_accepted(runs['new'])}, old: {_not_accepted(runs['old'])}", True),
        _row("registry CPU per accepted record", cpu["new"], cpu["old"], "ms",
             f"user + system CPU of the registry process over the same interval (/proc), {load}; median of {rounds} "
             f"runs per side; where the intake time goes", None),
    ]


def run(quick: bool = False) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="bench-security-") as d:
        trees = {"old": base_tree(Path(d)), "new": REPO}
        rows = bench_approval(trees, 100 if quick else 500, 30 if quick else 100, 3 if quick else 5)
        rows += bench_intake(trees, 20, 100 if quick else 500, 2 if quick else 5)
    return rows


if __name__ == "__main__":
    for r in run("--quick" in sys.argv):
        print(json.dumps(r, ensure_ascii=False))
