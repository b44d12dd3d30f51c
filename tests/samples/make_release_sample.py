"""Write the frozen sample of a released laptop and its registry, mid-sync (run by hand, once per release).

    cd /path/to/a/checkout/of/the/release && .venv/bin/python /path/to/tests/samples/make_release_sample.py \\
        --out /path/to/tests/samples/release-0.1.0 [--tree .]

The RELEASE's code makes everything: the script puts the release tree (``--tree``, default the current folder)
first on ``sys.path`` and checks that ``fieldapp`` is imported from it; every command is a real process of that
tree (``python -m fieldapp ...``, ``python -m registry ...``). Only the fault proxy
(tests/helpers/faultproxy.py beside this script) is not release code: it is test plumbing, not a product.

The sample (see tests/samples/README.md) is a registered laptop and its reference registry, stopped mid-sync:

- ``registry/``: the registry's data folder (``registry-keys.json``, ``registry.db``);
- ``laptop/``: the laptop's data folder: provisioned by IT (signed provisioning file naming the registry at
  ``http://127.0.0.1:18443``, the registry's keys and an IT recovery key), supervisor ``sup`` and outreach worker
  ``ow``, registered with a one-time code, and records in these states:
  ``registered`` (at the registry and pulled back), ``synced`` (accepted, registration pending), ``queued`` in an
  OPEN frozen batch that the registry holds but whose answer the laptop never got (dropped by the fault proxy),
  ``queued`` never sent, ``submitted``, ``returned``, ``rejected`` and ``draft``;
- ``it-test-only/``: the IT provisioning key pair, the recovery key pair and the signed provisioning file (TEST
  ONLY keys: they protect nothing but this sample);
- ``expected.json``: passwords, users, the registry address and port, counts and record IDs by state in the
  store, the spool and the registry, the open batch, the release version and the source commit.

The laptop always talked to the registry through a proxy on the fixed port 18443 (``expected.json``
``registry_port``), so a test puts its registry behind a proxy on that same port and nothing in the laptop's
files is rewritten. Never regenerate a committed release sample: it stands for laptops and registries in the field.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
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


from release_sample_tools import (STARTED, log, put_tree_first, Tools, RegistryProcess, load_faultproxy, people, write_jsonl, spool_picture, registry_picture, scrub_and_check)  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, type=Path, help="the sample folder to write (must not exist)")
    ap.add_argument("--tree", type=Path, default=Path.cwd(), help="the release checkout (default: the current folder)")
    args = ap.parse_args()
    tree, out = args.tree.resolve(), args.out.resolve()
    if out.exists():
        sys.exit(f"{out} exists: a release sample is never regenerated (remove it by hand only if it was never "
                 "committed)")
    put_tree_first(tree)
    commit = subprocess.run(["git", "-C", str(tree), "rev-parse", "HEAD"], capture_output=True, text=True,
                            check=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(tree), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True, check=True).stdout.strip()
    assert not dirty, f"the release tree has local changes:\n{dirty}"

    work = Path(tempfile.mkdtemp(prefix="release-sample-"))
    (work / "logs").mkdir()
    laptop, reg_dir, it = work / "laptop", work / "registry", work / "it-test-only"
    it.mkdir()
    tools = Tools(tree, work)
    log(f"release {tools.version} at {commit} in {tree}; working in {work}")
    FaultProxy = load_faultproxy()
    groups = people()
    sup, ow = ("--user", "sup"), ("--user", "ow")
    psup, pow_ = PASSWORDS["sup"], PASSWORDS["ow"]

    # -- the registry, behind a proxy on the fixed port the laptop knows it by ----------------------------------
    registry = RegistryProcess(tools, reg_dir, register_delay=0)
    proxy = FaultProxy(registry.port, port=PORT)
    STARTED.append(proxy)
    keys = json.loads(tools.registry_cli("keys", "--data-dir", reg_dir))

    # -- IT: key pairs, the signed provisioning file ----------------------------------------------------------------
    tools.fieldapp("provision-keygen", "--private-out", it / "it-provisioning-private.json",
                   "--public-out", it / "it-provisioning-public.json")
    tools.fieldapp("recovery-keygen", "--private-out", it / "recovery-private.json",
                   "--public-out", it / "recovery-public.json")
    recovery_key = json.loads((it / "recovery-public.json").read_text())["key"]
    unsigned = {"format": "fieldapp-provisioning", "version": 1, "label": "release 0.1.0 sample (test only)",
                "issued_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "registry": {"url": URL, "seal_public_key": keys["seal_public_key"],
                             "sign_public_key": keys["sign_public_key"], "pins": []},
                "recovery_public_key": recovery_key,
                "defaults": {"province": "03", "district": "0301", "commune": "030101"},
                "language": "km", "idle_minutes": 15, "sync": {"auto": True, "interval_minutes": 30}}
    (it / "provisioning-unsigned.json").write_text(json.dumps(unsigned, ensure_ascii=False, indent=1) + "\n")
    tools.fieldapp("provision-sign", "--key", it / "it-provisioning-private.json",
                   "--in", it / "provisioning-unsigned.json", "--out", it / "provisioning-signed.json")
    (it / "README.txt").write_text(
        "TEST ONLY. These keys were made for the release 0.1.0 sample by tests/samples/make_release_sample.py.\n"
        "They protect nothing but this sample; never build them into an installer or use them on a laptop.\n")

    # -- the laptop: provisioned, a supervisor and an outreach worker ---------------------------------------------
    tools.fieldapp("provision", it / "provisioning-signed.json", "--trusted-key", it / "it-provisioning-public.json",
                   "--data-dir", laptop)
    tools.fieldapp("init", *sup, "--full-name", FULL_NAMES["sup"], "--data-dir", laptop, password=psup)
    tools.fieldapp("user", "add", *sup, "--new-user", "ow", "--role", "outreach", "--full-name", FULL_NAMES["ow"],
                   "--data-dir", laptop, password=psup, new_password=pow_)

    def import_group(name: str) -> list[str]:
        src = write_jsonl(work / f"{name}.jsonl", groups[name])
        got = tools.fieldapp("import", *ow, src, "--data-dir", laptop, password=pow_)
        ids = [line.strip() for line in got.stdout.splitlines() if line.strip()]
        assert len(ids) == len(groups[name]), got.stdout
        return ids

    ids: dict[str, list[str]] = {}

    # -- 1. approved before registration; registration seals them; synced and registered at once ------------------
    ids["registered"] = import_group("registered")
    tools.fieldapp("review", *sup, "--approve", *ids["registered"], "--data-dir", laptop, password=psup)
    code = json.loads(tools.registry_cli("enrollment-code", "--data-dir", reg_dir))["code"]
    tools.fieldapp("provision-register", *sup, "--code", code, "--data-dir", laptop, password=psup)
    for _ in range(5):  # registered in the intake transaction; the status feed brings it back
        tools.fieldapp("sync", "--json", "--data-dir", laptop, ok=(0, 3))
        if spool_picture(laptop)["counts"]["registered"] == len(ids["registered"]):
            break
    assert spool_picture(laptop)["counts"]["registered"] == len(ids["registered"])

    # -- 2. accepted, registration pending: a registry that registers only after a very long delay ----------------
    registry.stop()
    registry = RegistryProcess(tools, reg_dir, register_delay=10**9)
    proxy.upstream = ("127.0.0.1", registry.port)
    ids["synced"] = import_group("synced")
    tools.fieldapp("review", *sup, "--approve", *ids["synced"], "--data-dir", laptop, password=psup)
    tools.fieldapp("sync", "--json", "--data-dir", laptop)
    assert sorted(spool_picture(laptop)["ids"]["synced"]) == sorted(ids["synced"])

    # -- 3. the answer lost: the registry commits the batch, the proxy drops its answer ------------------------------
    ids["open_batch"] = import_group("open_batch")
    tools.fieldapp("review", *sup, "--approve", *ids["open_batch"], "--data-dir", laptop, password=psup)
    # One lost answer (a cut counts as a timeout; three would make the engine re-batch smaller), then the registry
    # "busy" (503) until the run's time limit: the batch stays open, frozen, with the registry holding it.
    drop = proxy.add("drop_response", path="/v1/batches", count=1)
    busy = proxy.add("status", path="/v1/batches", status=503, retry_after="1", count=None)
    got = tools.fieldapp("sync", "--json", "--timeout", "6", "--data-dir", laptop, ok=(3,))
    assert drop.applied == 1 and proxy.upstream_answered.get("/v1/batches", 0) == 3, got.stdout  # A, B and this one
    log(f"lost answer: {drop.applied} dropped after the registry committed, then {busy.applied} x 503")
    proxy.clear()
    registry.stop()
    proxy.close()

    # -- 4. queued, never sent (the registry is gone) -----------------------------------------------------------------
    ids["queued_unsent"] = import_group("queued_unsent")
    tools.fieldapp("review", *sup, "--approve", *ids["queued_unsent"], "--data-dir", laptop, password=psup)

    # -- 5. the review queue: submitted, returned, rejected; and drafts --------------------------------------------
    ids["submitted"] = import_group("submitted")
    ids["returned"] = import_group("returned")
    for rid in ids["returned"]:
        tools.fieldapp("review", *sup, "--return", rid, "--reason", "sample return reason", "--data-dir", laptop,
                       password=psup)
    ids["rejected"] = import_group("rejected")
    for rid in ids["rejected"]:
        tools.fieldapp("review", *sup, "--reject", rid, "--reason", "sample reject reason", "--data-dir", laptop,
                       password=psup)
    ids["draft"] = drafts(laptop, groups["draft"], work)

    # -- the picture, with every process stopped --------------------------------------------------------------------
    store_list = tools.json("list", *sup, "--json", "--data-dir", laptop, password=psup)
    status = tools.json("status", *sup, "--json", "--data-dir", laptop, password=psup)
    tools.fieldapp("verify", *sup, "--data-dir", laptop, password=psup)
    tools.fieldapp("list", *ow, "--json", "--data-dir", laptop, password=pow_)
    # the files exactly as the release's processes left them (WAL files included, if any), before anything below
    # opens a database
    stage = work / "stage"
    stage.mkdir()
    shutil.copytree(laptop, stage / "laptop")
    shutil.copytree(reg_dir, stage / "registry")
    shutil.copytree(it, stage / "it-test-only", ignore=shutil.ignore_patterns("provisioning-unsigned.json"))
    scrub_and_check(stage, work)
    store_ids: dict[str, list[str]] = {}
    for r in store_list:
        store_ids.setdefault(r["state"], []).append(r["id"])
    store_ids = {k: sorted(v) for k, v in sorted(store_ids.items())}
    spool = spool_picture(laptop)
    reg = registry_picture(reg_dir)

    # what the sample must hold
    want_store = {"registered": ids["registered"], "synced": ids["synced"],
                  "queued": ids["open_batch"] + ids["queued_unsent"], "submitted": ids["submitted"],
                  "returned": ids["returned"], "rejected": ids["rejected"], "draft": ids["draft"]}
    assert store_ids == {k: sorted(v) for k, v in sorted(want_store.items())}, store_ids
    assert spool["ids"] == {"queued": sorted(ids["open_batch"] + ids["queued_unsent"]),
                            "registered": sorted(ids["registered"]), "synced": sorted(ids["synced"])}, spool["ids"]
    assert len(spool["open_batches"]) == 1, spool["open_batches"]
    assert spool["open_batches"][0]["record_ids"] == sorted(ids["open_batch"])
    assert spool["open_batches"][0]["idempotency_key"] in reg["receipts"]  # the registry holds its receipt
    assert sorted(reg["ids"]["registered"]) == sorted(ids["registered"])
    assert sorted(reg["ids"]["received"]) == sorted(ids["synced"] + ids["open_batch"])  # the open batch is held
    assert reg["people"] == len(ids["registered"] + ids["synced"] + ids["open_batch"]) and reg["duplicates"] == 0
    device = json.loads((laptop / "device.json").read_text())
    assert device["server_url"] == URL and "ca_file" not in device
    assert [d["device_id"] for d in reg["devices"]] == [device["device_id"]]
    slots = json.loads((laptop / "keyslots.json").read_text())
    assert any(s.get("type") == "recovery" for s in slots["slots"]), "no recovery slot"

    expected = {
        "about": "release 0.1.0 laptop + registry, stopped mid-sync; made by tests/samples/make_release_sample.py; "
                 "never regenerate",
        "release": tools.version, "source_commit": commit, "made_at": datetime.now(timezone.utc).isoformat(
            timespec="seconds"),
        "registry_url": URL, "registry_port": PORT,
        "passwords": PASSWORDS, "users": {"sup": "supervisor", "ow": "outreach"},
        "device_id": device["device_id"],
        "groups": {k: sorted(v) for k, v in ids.items()},
        "store": {"counts": {k: len(v) for k, v in store_ids.items()}, "ids": store_ids,
                  "total": len(store_list), "status_counts": status["counts"]},
        "spool": spool,
        "registry": reg,
        "it_test_only": {"provisioning_private_key": "it-test-only/it-provisioning-private.json",
                         "provisioning_public_key": "it-test-only/it-provisioning-public.json",
                         "recovery_private_key": "it-test-only/recovery-private.json",
                         "recovery_public_key": "it-test-only/recovery-public.json",
                         "signed_provisioning": "it-test-only/provisioning-signed.json"},
    }
    assert expected["release"] == "0.1.0", expected["release"]
    (stage / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    shutil.copytree(stage, out)
    shutil.rmtree(work)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    log(f"wrote {out} ({size // 1024} KB): store {expected['store']['counts']}, spool {spool['counts']}, "
        f"registry {reg['counts']}, open batch of {len(spool['open_batches'][0]['record_ids'])}")


def drafts(laptop: Path, recs: list[dict], work: Path) -> list[str]:
    """Drafts have no command (the desktop form saves them): the release's own API, as the form calls it."""
    os.environ.update({"FIELDAPP_KDF_TARGET_MS": "0", "FIELDAPP_LANG": "en", "FIELDAPP_LOG_DIR": str(work / "logs")})
    from fieldapp import services
    from fieldapp.store import records

    session = services.open_session(laptop, "ow", PASSWORDS["ow"])
    try:
        return [records.save_draft(session, rec) for rec in recs]
    finally:
        session.close()


if __name__ == "__main__":
    try:
        main()
    finally:
        for thing in reversed(STARTED):
            thing.stop() if isinstance(thing, RegistryProcess) else thing.close()
