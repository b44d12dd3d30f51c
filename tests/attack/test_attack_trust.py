"""Issue 10, cases 1, 2, 3, 7, 15 and 17: files beside the store and answers from the network are input.

Every attack is made the way an attacker would make it, without any password: a hand-written provisioning.json in a
powered-off laptop's data folder, a rewritten device.json pointing at a hostile registry that signs everything with
its own key (``helpers.fake_registry``), one UPDATE on spool.db, unsigned status answers, the device key alone
posting fabricated people to the real registry. Each test then asserts that nothing was decrypted, redirected,
marked delivered, approved or lost.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import sqlite3
import uuid

import pytest
import requests
from helpers.attack_tools import case, one_clean_line, run_cli
from helpers.clitools import OUTREACH_PASSWORD, PASSWORD
from helpers.fake_registry import FakeRegistry

from fieldapp import services
from fieldapp.base.encoding import canonical_json
from fieldapp.domain.synthetic import make_records
from fieldapp.outbound import device as device_file
from fieldapp.outbound import wire
from fieldapp.store import keyslots
from fieldapp.store.keyslots import SlotFile


def states(data) -> dict:
    out = run_cli(data, "list", "--user", "sup", "--json", password=PASSWORD)
    assert out.returncode == 0, out.stderr
    return {r["id"]: r["state"] for r in json.loads(out.stdout)}


def write_people(path, n, seed):
    recs = make_records(n, seed=seed)
    for i, r in enumerate(recs):
        r["national_id"] = f"{seed % 90 + 10:02d}{uuid.uuid4().int % 10 ** 7:07d}"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in recs), encoding="utf-8")
    return recs


@pytest.fixture
def laptop(tmp_path, reg):
    """A registered laptop with 4 approved records waiting in the spool (not sent yet), and their plain records."""
    data = tmp_path / "data"
    run_cli(data, "init", "--user", "sup", password=PASSWORD).check_returncode()
    run_cli(data, "user", "add", "--user", "sup", "--new-user", "ow", "--role", "outreach", password=PASSWORD,
            new_password=OUTREACH_PASSWORD).check_returncode()
    recs = write_people(tmp_path / "people.jsonl", 4, seed=abs(hash(str(tmp_path))) % 1000)
    run_cli(data, "import", "--user", "ow", tmp_path / "people.jsonl", password=OUTREACH_PASSWORD).check_returncode()
    out = run_cli(data, "register", "--user", "sup", "--server", reg.url, "--code", reg.code(), password=PASSWORD)
    assert out.returncode == 0, out.stderr
    run_cli(data, "review", "--user", "sup", "--approve-all", password=PASSWORD).check_returncode()
    assert set(states(data).values()) == {"queued"}
    return data, recs


def sync(data) -> int:
    return run_cli(data, "sync", "--timeout", "60").returncode


def test_case2_a_rewritten_device_json_redirects_nothing_and_loses_nothing(laptop, reg):
    data, _recs = laptop
    fake = FakeRegistry().start()
    try:
        with case("device.json rewritten (no password) to a hostile registry that signs everything with its own key",
                  "records stay queued in the store; device.json repaired at unlock; the hostile registry cannot "
                  "decrypt; the real registry gets every record exactly once") as c:
            doc = json.loads((data / "device.json").read_text())
            doc.update(server_url=fake.url, registry_seal_public_key=wire.b64e(fake.keys["seal_public"]),
                       registry_sign_public_key=wire.b64e(fake.keys["sign_public"]))
            (data / "device.json").write_text(json.dumps(doc))
            assert sync(data) == 0  # the engine (no password) believed the file and the hostile receipts
            c.runs += 1
            assert len(fake.items) == 4
            for item in fake.items:  # sealed at approval to the registry key the store holds
                with pytest.raises(wire.WireError):
                    wire.open_sealed(item, seal_private=fake.keys["seal_private"],
                                     device_public=wire.b64d(doc["device_public_key"]))
            assert set(states(data).values()) == {"queued"}  # no signed proof from *our* registry
            assert json.loads((data / "device.json").read_text())["server_url"] == reg.url  # repaired
            for _ in range(5):
                sync(data)
                if set(states(data).values()) == {"registered"}:
                    break
            assert set(states(data).values()) == {"registered"}
            from helpers.attack_tools import assert_exactly_once_at

            assert_exactly_once_at(reg, list(states(data)))
    finally:
        fake.stop()


def test_case3_one_update_on_spool_db_marks_nothing_delivered(laptop, reg):
    data, _recs = laptop
    with case("spool.db: UPDATE items SET state='registered' (no password), and free reason text with escapes",
              "the store keeps them queued, the spool is put back, everything is then delivered; no text reaches "
              "the store") as c:
        with sqlite3.connect(data / "spool.db") as db:
            db.execute("UPDATE items SET state = 'registered', registry_id = 'FAKE-1'")
        assert set(states(data).values()) == {"queued"}
        c.runs += 1
        with sqlite3.connect(data / "spool.db") as db:
            assert {r[0] for r in db.execute("SELECT state FROM items")} == {"queued"}
            db.execute("UPDATE items SET state = 'quarantined', reason = ?", ("\x1b[31mCALL 012 345 678 NOW\x1b[0m",))
        out = run_cli(data, "list", "--user", "sup", "--json", password=PASSWORD)
        rows = json.loads(out.stdout)
        assert {r["state"] for r in rows} == {"quarantined"} and {r["reason"] for r in rows} == {"unknown"}
        assert "\x1b" not in out.stdout and "012 345" not in out.stdout
        run_cli(data, "requeue", "--user", "sup", "--all", password=PASSWORD).check_returncode()
        for _ in range(5):
            sync(data)
            if set(states(data).values()) == {"registered"}:
                break
        assert set(states(data).values()) == {"registered"}


def test_case17_unsigned_or_foreign_status_answers_register_nothing(laptop, reg):
    data, _recs = laptop
    with case("status answers unsigned, or signed by another key", "no record becomes registered on them") as c:
        for unsigned in (True, False):
            fake = FakeRegistry(unsigned_status=unsigned).start()
            try:
                doc = json.loads((data / "device.json").read_text())
                doc.update(server_url=fake.url, registry_sign_public_key=wire.b64e(fake.keys["sign_public"]))
                (data / "device.json").write_text(json.dumps(doc))
                sync(data)
                c.runs += 1
                assert "registered" not in set(states(data).values())
            finally:
                fake.stop()
    with case("plain HTTP to a *.localhost name", "refused before anything is sent"):
        line = one_clean_line(run_cli(data, "register", "--user", "sup", "--server", "http://registry.localhost:1",
                                      "--code", "X", password=PASSWORD))
        assert "https" in line.lower() or "registered" in line.lower()


def test_case7_no_unkeyed_hash_of_a_record_outside_the_ciphertext(laptop, reg, tmp_path):
    data, recs = laptop
    bundle = tmp_path / "office.fieldapp-bundle"
    run_cli(data, "export-bundle", "--user", "sup", "--out", bundle, password=PASSWORD).check_returncode()
    for _ in range(5):
        sync(data)
        if set(states(data).values()) == {"registered"}:
            break
    with case("SHA-256 of each record's canonical JSON (the old content_hash) searched for everywhere",
              "found in neither spool.db, the USB bundle, nor the registry's database") as c:
        with services.open_session(data, "sup", PASSWORD) as sup:
            stored = [json.loads(r[0]) for r in sup.conn.execute("SELECT data FROM records")]
        hashes = [hashlib.sha256(canonical_json(r)).hexdigest() for r in stored] + [wire.content_hash(r) for r in stored]
        blobs = {"spool.db": (data / "spool.db").read_bytes()}
        blobs["bundle"] = b"".join(gzip.decompress(m) if m[:2] == b"\x1f\x8b" else m
                                   for m in _zip_members(bundle))
        for name in ("registry.db", "registry.db-wal"):
            if (reg.data_dir / name).exists():
                blobs[name] = (reg.data_dir / name).read_bytes()
        for label, blob in blobs.items():
            for h in hashes:
                c.runs += 1
                assert h.encode() not in blob, label


def _zip_members(path):
    import zipfile

    with zipfile.ZipFile(path) as zf:
        return [zf.read(n) for n in zf.namelist()]


def test_case15_the_device_key_alone_gets_nothing_accepted(laptop, reg):
    data, _recs = laptop
    sync(data)  # registers the approval key with the registry
    dev = device_file.load(data)
    with case("device.json alone: fabricated people posted as this device (v1 items, v2 with a forged approval)",
              "every item rejected; nothing accepted") as c:
        forger = wire.new_device_keys()[0]
        fakes = make_records(3, seed=777)
        items = []
        for i, rec in enumerate(fakes):
            rid = str(uuid.uuid4())
            items.append(wire.seal_record(rec, record_id=rid, device_id=dev.device_id, enrolled_on=wire.now_iso()[:10],
                                          seal_public=dev.seal_public_raw, device_private=dev.private_raw,
                                          approval_private=forger if i else None))
        s = requests.Session()
        nonce = s.post(reg.url + "/v1/auth/challenge", json={"device_id": dev.device_id}).json()["nonce"]
        token = s.post(reg.url + "/v1/auth/token", json={"device_id": dev.device_id, "nonce": nonce, "signature":
                       wire.sign_challenge(dev.device_id, nonce, dev.private_raw)}).json()["token"]
        body = wire.build_batch(items, device_id=dev.device_id, batch_id=str(uuid.uuid4()))
        r = s.post(reg.url + "/v1/batches", data=body, headers={
            "Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4()), "Content-Encoding": "gzip",
            "X-Batch-Signature": wire.sign_batch(body, idempotency_key="x", device_private=dev.private_raw)})
        if r.status_code == 200:
            results = r.json()["receipt"]["results"]
            assert {x["status"] for x in results} == {"rejected"}, results
        else:  # the batch signature above names another key: refused whole; send it right
            key = str(uuid.uuid4())
            r = s.post(reg.url + "/v1/batches", data=body, headers={
                "Authorization": f"Bearer {token}", "Idempotency-Key": key, "Content-Encoding": "gzip",
                "X-Batch-Signature": wire.sign_batch(body, idempotency_key=key, device_private=dev.private_raw)})
            results = r.json()["receipt"]["results"]
            assert {x["status"] for x in results} == {"rejected"}, results
        c.runs += len(items)
        assert {x["reason"] for x in results} <= {"approval_required", "bad_approval_signature"}


def test_case1_a_hand_written_provisioning_file_changes_no_key(tmp_path):
    data = tmp_path / "data"
    it_private, it_public = keyslots.generate_recovery_keypair()
    (tmp_path / "it.json").write_text(json.dumps(it_public))
    run_cli(data, "init", "--user", "sup", "--recovery-public-key", tmp_path / "it.json",
            password=PASSWORD).check_returncode()
    attacker_private, attacker_public = keyslots.generate_recovery_keypair()
    with case("provisioning.json of three lines (unsigned) dropped into a powered-off laptop's data folder",
              "the next supervisor login wraps nothing to the attacker; IT's key still opens; verify clean") as c:
        (data / "provisioning.json").write_text(json.dumps({
            "format": "fieldapp-provisioning-applied", "trusted_key": attacker_public["key"],
            "signed": {"payload": {"recovery_public_key": attacker_public["key"]}}}))
        assert run_cli(data, "verify", "--user", "sup", password=PASSWORD).returncode == 0
        c.runs += 1
        _assert_recovery_is_its(data, it_private, attacker_private)
    with case("provisioning.json signed by the attacker's own key, naming it as the signer to trust",
              "ignored: the store trusts only bundled keys and the signer it pinned; nothing pending, nothing "
              "written") as c:
        from fieldapp.cli.deploy import write_keypair
        from fieldapp.deploy import provisioning

        write_keypair(tmp_path / "evil-priv.json", tmp_path / "evil-pub.json")
        payload = {"format": provisioning.FORMAT, "version": provisioning.VERSION, "issued_at": wire.now_iso(),
                   "registry": {"url": "https://evil.example", "seal_public_key": attacker_public["key"],
                                "sign_public_key": attacker_public["key"]},
                   "recovery_public_key": attacker_public["key"]}
        signed = provisioning.sign(payload, provisioning.load_key(tmp_path / "evil-priv.json", "private"))
        (data / "provisioning.json").write_text(json.dumps({
            "format": "fieldapp-provisioning-applied", "sha256": hashlib.sha256(signed).hexdigest(),
            "trusted_key": json.loads((tmp_path / "evil-pub.json").read_text())["key"],
            "signed": json.loads(signed)}))
        out = run_cli(data, "recovery-confirm", "--user", "sup", password=PASSWORD)
        assert out.returncode == 0 and attacker_public["fingerprint"] not in out.stdout
        assert "No recovery key is waiting" in out.stdout
        c.runs += 1
        _assert_recovery_is_its(data, it_private, attacker_private)
        assert run_cli(data, "verify", "--user", "sup", password=PASSWORD).returncode == 0


def _assert_recovery_is_its(data, it_private, attacker_private):
    slots = SlotFile.load(data / "keyslots.json")
    with pytest.raises(Exception):
        slots.unlock_recovery(keyslots.b64d(attacker_private["key"]))
    assert slots.unlock_recovery(keyslots.b64d(it_private["key"])).approval_key is not None


def test_case6_cutting_the_audit_trail_back_below_what_the_registry_saw_is_found(laptop, reg, tmp_path):
    data, _recs = laptop
    with services.open_session(data, "sup", PASSWORD) as sup:  # an insider keeps a copy of an early signed head
        old_head = sup.conn.execute("SELECT value FROM settings WHERE key = 'trusted.audit.head'").fetchone()[0]
        early = json.loads(old_head)["head"]["seq"]
    write_people(tmp_path / "more.jsonl", 3, seed=4321)
    run_cli(data, "import", "--user", "ow", tmp_path / "more.jsonl", password=OUTREACH_PASSWORD).check_returncode()
    run_cli(data, "review", "--user", "sup", "--approve-all", password=PASSWORD).check_returncode()
    for _ in range(5):  # every batch carries the newest signed head; receipts name the one the registry keeps
        sync(data)
        if set(states(data).values()) == {"registered"}:
            break
    with case("insider deletes audit rows a batch already reported, and puts back an older signed head that still "
              "matches what is left", "the local chain looks whole, but the head the registry keeps (named in its "
              "signed receipts) is gone: verify fails") as c:
        from fieldapp.store.dbapi import open_encrypted

        key = SlotFile.load(data / "keyslots.json").unlock("ow", OUTREACH_PASSWORD).db_key
        conn = open_encrypted(str(data / "fieldapp.db"), key)
        conn.isolation_level = None
        conn.execute("DROP TRIGGER audit_no_delete")
        conn.execute("DELETE FROM audit WHERE seq > ?", (early,))
        conn.execute("UPDATE settings SET value = ? WHERE key = 'trusted.audit.head'", (old_head,))
        conn.close()
        c.runs += 1
        out = run_cli(data, "verify", "--user", "sup", password=PASSWORD)
        assert out.returncode == 1
        assert "already reported to the registry" in out.stderr, out.stderr
        assert "after a supervisor signed them" not in out.stderr  # the local signed head alone is fooled
