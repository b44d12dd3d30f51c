#!/usr/bin/env python3
"""Run the reliability tests and rewrite the table in docs/reliability.md from what they recorded.

    .venv/bin/python scripts/reliability_report.py                 # tests/attack + the related existing tests
    .venv/bin/python scripts/reliability_report.py --attack-only   # only tests/attack (about 6 minutes)
    .venv/bin/python scripts/reliability_report.py --scale 5       # 5x the kills and examples (FIELDAPP_ATTACK_SCALE)
    .venv/bin/python scripts/reliability_report.py --no-write      # print the table, leave the doc alone
    .venv/bin/python scripts/reliability_report.py -- -k tls       # extra arguments for pytest

How the figures get here: every test in tests/attack wraps its work in ``attack_tools.case(name, checked)`` and
counts its runs; with ``FIELDAPP_RELIABILITY_LOG`` set, each case appends one JSON line ``{case, runs, checked,
result, nodeid}``. pytest's JUnit XML gives each test's outcome (passed, failed, xfailed = a known open defect,
skipped). Tests of other folders that cover the same ground do not write the side channel; they are listed in
``EXISTING`` below with what they check, and their run counts come from their outcomes (the SIGKILL loop of
tests/test_crash.py from ``FIELDAPP_CRASH_KILLS``). The script exits with pytest's exit code.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import OrderedDict
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "reliability.md"
START, END = "<!-- reliability-table:start -->", "<!-- reliability-table:end -->"
ATTACK = "tests/attack"

# Existing tests elsewhere that belong in the table: node id prefix -> (case, what it checks).
EXISTING = OrderedDict([
    ("tests/test_crash.py", ("power loss: saves and approvals, no device (tests/test_crash.py)",
                             "SIGKILL of a fresh writer process; `fieldapp verify` passes; every reported save and "
                             "approval present")),
    ("tests/test_full_disk.py", ("full disk during import and password change (tests/test_full_disk.py)",
                                 "one line, nothing half-written, old password still opens, import works after")),
    ("tests/test_tamper.py", ("damaged database, lowered KDF, hand-edited slots (tests/test_tamper.py)",
                              "refused with one clear line; no file written")),
    ("tests/test_keyslots.py", ("key slots (tests/test_keyslots.py)",
                                "swapped slots, lowered parameters, added slots, recovery slot")),
    ("tests/test_records.py::test_outreach", ("access: outreach basics (tests/test_records.py)",
                                              "own records only; no user management")),
    ("tests/test_cli.py::test_outreach_cannot_use_supervisor_commands",
     ("access: outreach CLI basics (tests/test_cli.py)", "review and user add refused")),
    ("tests/test_validation_properties.py", ("validation and import: arbitrary bytes, text lines, JSON values "
                                             "(tests/test_validation_properties.py)",
                                             "never raises, deterministic, clean records re-validate")),
    ("tests/test_recovery_escrow.py", ("key slots destroyed or damaged (tests/test_recovery_escrow.py)",
                                       "init refuses; recover rebuilds them from the escrow or IT's copy; another "
                                       "store's copy and a wrong key change nothing")),
    ("tests/test_backup.py", ("backups: round trip, tampered members, wrong password, killed midway "
                              "(tests/test_backup.py)", "restored exactly or refused with nothing left; no plaintext "
                              "in the backup")),
    ("tests/sync/test_sync_restore.py", ("a dead laptop's backup restored on a new one (tests/sync/test_sync_restore.py)",
                                         "unsent records re-sealed by the new device; every record exactly once "
                                         "at the registry")),
    ("tests/test_plaintext.py", ("planted data after import/review/verify (tests/test_plaintext.py)",
                                 "no personal value in the data folder or TMPDIR")),
    ("tests/sync/test_sync_tls.py", ("TLS: wrong CA and pins at registration (tests/sync/test_sync_tls.py)",
                                     "tls_failed / pin_mismatch; code unspent; backup pin accepted")),
    ("tests/sync/test_sync_faults.py", ("sync faults: resets, lost answers, timeouts, 503, slow link, registry and "
                                        "client killed (tests/sync/test_sync_faults.py)",
                                        "every record exactly once at the registry and synced locally")),
    ("tests/registry/test_registry_limits.py", ("registry: compression bombs, oversized, truncated and malformed "
                                                "bodies (tests/registry/test_registry_limits.py)",
                                                "4xx with a reason, never 5xx, nothing half-written")),
    ("tests/registry/test_registry_export_import.py::test_path_traversal",
     ("registry: bundle path traversal, foreign bundles (tests/registry)", "bundle_unsafe_member, nothing extracted")),
    ("tests/test_upgrade_release.py", ("upgrade in place: a registered laptop and its registry of release 0.1.0, "
                                       "mid-sync (tests/test_upgrade_release.py)",
                                       "the registry migrates keeping every record; the laptop's first logins "
                                       "upgrade its slots and make the approval key; every record exactly once at "
                                       "the registry through the fault proxy; verify clean")),
    ("tests/test_keystore.py", ("the device key in the OS keystore (tests/test_keystore.py)",
                                "not in device.json when a keystore exists; put back from the store's copy when "
                                "it goes missing; the 0600 file fallback")),
    ("tests/registry/test_registry_openapi.py::test_schemathesis",
     ("registry: schemathesis fuzzing of every endpoint (tests/registry)", "no 5xx, responses match the schema")),
])


def run_pytest(paths: list[str], extra: list[str], scale: str | None, log: Path, junit: Path) -> int:
    env = dict(os.environ)
    env["FIELDAPP_RELIABILITY_LOG"] = str(log)
    if scale:
        env["FIELDAPP_ATTACK_SCALE"] = scale
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}", *paths, *extra]
    print("$", " ".join(cmd), flush=True)
    return subprocess.call(cmd, cwd=ROOT, env=env)


def outcomes(junit: Path) -> dict[str, tuple[str, str]]:
    """node id -> (outcome, message) from pytest's JUnit XML."""
    out = {}
    if not junit.exists():
        return out
    for tc in ET.parse(junit).getroot().iter("testcase"):
        classname, name = tc.get("classname", ""), tc.get("name", "")
        parts = classname.split(".")
        path = "/".join(parts) + ".py"
        nodeid = f"{path}::{name}"
        outcome, message = "passed", ""
        for child in tc:
            if child.tag in ("failure", "error"):
                outcome, message = "failed", (child.get("message") or "")[:200]
            elif child.tag == "skipped":
                kind = child.get("type", "")
                outcome = "xfailed" if kind == "pytest.xfail" else "skipped"
                message = (child.get("message") or "").replace("reason: ", "")[:300]
        out[nodeid] = (outcome, message)
    return out


def verdict(results: list[tuple[str, str]]) -> str:
    kinds = [o for o, _ in results]
    if "failed" in kinds:
        return "**FAIL**"
    if "xfailed" in kinds:
        codes = sorted({m.split(":")[0].replace("DEFECT ", "") for o, m in results if o == "xfailed"})
        return "**open defect** " + ", ".join(codes)
    if kinds and all(k == "skipped" for k in kinds):
        return "skipped: " + results[0][1][:80]
    return "pass"


def build_rows(log: Path, results: dict[str, tuple[str, str]]) -> list[dict]:
    cases: "OrderedDict[str, dict]" = OrderedDict()
    seen_nodes = set()
    for line in log.read_text(encoding="utf-8").splitlines() if log.exists() else []:
        row = json.loads(line)
        nodes = set(row.get("nodeids") or [row["nodeid"]]) - {""}
        seen_nodes |= nodes
        c = cases.setdefault(row["case"], {"case": row["case"], "source": row["nodeid"].split("::")[0], "runs": 0,
                                           "checked": row["checked"], "nodes": set()})
        c["runs"] += row["runs"]
        if len(row["checked"]) > len(c["checked"]):
            c["checked"] = row["checked"]
        c["nodes"] |= nodes
    for node, (outcome, message) in results.items():  # attack tests that never reached their case() block
        if node.startswith(ATTACK) and node not in seen_nodes and not any(node in c["nodes"] for c in cases.values()):
            name = node.split("::")[1]
            cases.setdefault(name, {"case": name, "source": node.split("::")[0], "runs": 0,
                                    "checked": "(did not record: see the test)", "nodes": {node}})
    rows = []
    for c in cases.values():
        res = [results.get(n, results.get(n.split("[")[0], ("failed", "no outcome recorded"))) for n in c["nodes"]]
        rows.append(dict(c, result=verdict(res)))
    kills = int(os.environ.get("FIELDAPP_CRASH_KILLS", "30"))
    for prefix, (name, checked) in EXISTING.items():
        res = [v for k, v in results.items() if k.startswith(prefix)]
        if not res:
            continue
        runs = kills if prefix == "tests/test_crash.py" else sum(1 for o, _ in res if o == "passed")
        rows.append({"case": name, "source": prefix.split("::")[0], "runs": runs, "checked": checked,
                     "result": verdict(res)})
    return rows


def table(rows: list[dict]) -> str:
    out = ["| case | runs | what was checked | result |", "| --- | ---: | --- | --- |"]
    for r in rows:
        cell = lambda s: str(s).replace("|", "\\|").replace("\n", " ")  # noqa: E731
        out.append(f"| {cell(r['case'])} | {r['runs']} | {cell(r['checked'])} | {r['result']} |")
    return "\n".join(out)


def defects(results: dict[str, tuple[str, str]]) -> str:
    lines = sorted({m for o, m in results.values() if o == "xfailed"})
    if not lines:
        return "No open defects: no test is marked as an expected failure."
    return "\n".join(f"- {m}" for m in lines)


def render(rows, results, seconds: float, args, code: int) -> str:
    kills = sum(r["runs"] for r in rows if r["case"].startswith("power loss"))
    counts = {}
    for o, _ in results.values():
        counts[o] = counts.get(o, 0) + 1
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    how = "scripts/reliability_report.py" + (" --attack-only" if args.attack_only else "") + \
          (f" --scale {args.scale}" if args.scale else "")
    summary = (f"Generated {when} by `{how}` in {seconds / 60:.1f} min: {len(results)} tests "
               f"({', '.join(f'{v} {k}' for k, v in sorted(counts.items()))}); pytest exit code {code}; "
               f"{kills} SIGKILLs in the power-loss cases.")
    return "\n".join([START, "", summary, "", table(rows), "", "Open defects (tests marked `xfail(strict=True)`; "
                      "the fix flips them to XPASS, which fails until the marker is removed):", "",
                      defects(results), "", END])


def write_doc(block: str) -> None:
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Reliability\n\n" + START + "\n" + END + "\n"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        tail = rest.split(END, 1)[1]
        text = head + block + tail
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    DOC.write_text(text, encoding="utf-8")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--attack-only", action="store_true", help="only tests/attack")
    p.add_argument("--scale", help="FIELDAPP_ATTACK_SCALE for this run (multiplies kills and examples)")
    p.add_argument("--no-write", action="store_true", help="print the table; do not rewrite docs/reliability.md")
    p.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = p.parse_args(argv)
    paths = [ATTACK] if args.attack_only else [ATTACK, *sorted({k.split("::")[0] for k in EXISTING})]
    with tempfile.TemporaryDirectory(prefix="reliability-") as tmp:
        log, junit = Path(tmp) / "cases.jsonl", Path(tmp) / "junit.xml"
        t0 = time.monotonic()
        code = run_pytest(paths, args.pytest_args, args.scale, log, junit)
        seconds = time.monotonic() - t0
        results = outcomes(junit)
        rows = build_rows(log, results)
    block = render(rows, results, seconds, args, code)
    print(block)
    if not args.no_write:
        write_doc(block)
        print(f"\nwrote {DOC.relative_to(ROOT)}")
    return code


if __name__ == "__main__":
    sys.exit(main())
