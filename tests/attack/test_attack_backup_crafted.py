"""Backups crafted by an attacker (issue 10, case 16): a real backup, taken apart with ``zipfile`` and put back
together with doctored members and a recomputed manifest, as anyone holding the stick can.

What is inside the encrypted store is trusted; a backup is input. A format 2 backup's manifest carries a MAC under a
key derived from the store key, checked once the copy is unlocked, so no member or field can change; relabelling it
as format 1 (no MAC) only gets the database and key slots restored, which their own MACs protect. Provisioning is
never restored: IT applies its signed file on the replacement laptop.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from helpers.attack_tools import case, one_clean_line, run_cli
from helpers.backup_craft import as_release_1, manifest_of, read_members, reseal, write_members

from fieldapp import services
from fieldapp.base import config
from fieldapp.base.encoding import b64decode, b64encode, now_iso_seconds
from fieldapp.base.errors import AuthError, FieldappError, TamperError
from fieldapp.deploy import provisioning
from fieldapp.domain.synthetic import make_records
from fieldapp.store import backup, records
from fieldapp.store.database import Store
from fieldapp.store.keyslots import SlotFile, generate_recovery_keypair, load_escrow

PW = "crafted backup pw 1"
FAKE_CA = b"-----BEGIN CERTIFICATE-----\nMIIBattackerattackerattacker\n-----END CERTIFICATE-----\n"


@dataclass
class Laptop:
    data: Path
    good: Path  # a format 2 backup, as `fieldapp backup` writes it
    key: bytes  # the store key (Session.key): only to play a writer that holds it, never the attacker
    it_private: bytes
    expected: list


@pytest.fixture(scope="module")
def laptop(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("crafted")
    it_private, it_public = generate_recovery_keypair()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FIELDAPP_KDF_TARGET_MS", "0")
        config.save(tmp / "laptop", config.Config("km", 30, "sup"))
        with Store(tmp / "laptop").create("sup", PW, recovery_public=b64decode(it_public["key"])) as sup:
            ids = records.import_records(sup, make_records(12, seed=16))
            services.review(sup, ids[:4], "approve")
            backup.create(sup, tmp / "good.bak")
            expected = sorted((r["id"], r["state"]) for r in records.list_records(sup))
            key = sup.key
    return Laptop(tmp / "laptop", tmp / "good.bak", key, b64decode(it_private["key"]), expected)


@pytest.fixture(autouse=True)
def _fast_kdf(monkeypatch):
    monkeypatch.setenv("FIELDAPP_KDF_TARGET_MS", "0")


def attacker_provisioning() -> tuple[bytes, bytes]:
    """An applied provisioning file (the form ``provisioning.apply`` writes) signed with the attacker's own Ed25519
    key, whose payload carries the attacker's recovery public key; and the attacker's recovery private key."""
    signer = Ed25519PrivateKey.generate()
    rec_private, rec_public = generate_recovery_keypair()
    payload = {"format": provisioning.FORMAT, "version": provisioning.VERSION, "label": "office laptops",
               "issued_at": now_iso_seconds(), "recovery_public_key": rec_public["key"],
               "registry": {"url": "https://registry.example.org", "seal_public_key": b64encode(os.urandom(32)),
                            "sign_public_key": b64encode(os.urandom(32))}}
    signed = provisioning.sign(payload, signer.private_bytes_raw())
    public = signer.public_key().public_bytes_raw()
    assert provisioning.verify_bytes(signed, [public])[0] == payload  # a well-formed file, really signed
    applied = {"format": provisioning.APPLIED_FORMAT, "applied_at": now_iso_seconds(),
               "sha256": hashlib.sha256(signed).hexdigest(), "signed_by": provisioning.fingerprint(public),
               "trusted_key": b64encode(public), "signed": json.loads(signed)}
    return json.dumps(applied, indent=1).encode("utf-8"), b64decode(rec_private["key"])


def apply_signed(data_dir: Path, path: Path, trusted: list[bytes]) -> dict:
    """IT applies its signed provisioning file to a data folder (``fieldapp provision FILE``)."""
    try:
        from fieldapp.deploy.provisioned import apply  # where case 1's fix moved it
    except ImportError:
        from fieldapp.deploy.provisioning import apply
    return apply(data_dir, path, trusted_keys=trusted)


def refused(archive: Path, target: Path, msg_id: str = "core.backup.tampered") -> None:
    with pytest.raises(FieldappError) as err:
        backup.restore(archive, target, "sup", PW)
    assert err.value.msg_id == msg_id, err.value.msg_id
    assert not target.exists()
    assert not [p for p in target.parent.iterdir() if ".restoring-" in p.name]


def restored_records(target: Path) -> list:
    with Store(target).unlock("sup", PW) as sup:
        return sorted((r["id"], r["state"]) for r in records.list_records(sup))


def test_a_doctored_stick_cannot_bring_in_provisioning(laptop, tmp_path):
    applied, attacker_private = attacker_provisioning()
    extra = {"provisioning.json": applied, "provisioned-ca.pem": FAKE_CA}
    good = read_members(laptop.good)
    assert "provisioning.json" not in good  # new backups never carry provisioning
    with case("backup: a doctored stick carries an attacker-signed provisioning.json with the attacker's recovery "
              "key (issue 10, case 16)",
              "format 2: refused, nothing at the target; relabelled format 1: restored without provisioning, and "
              "after the supervisor's login the attacker's key opens no recovery slot, IT's still does; a folder "
              "IT provisioned keeps its own file") as c:
        refused(write_members(tmp_path / "v2.bak", reseal(good, add=extra)), tmp_path / "t-v2")
        c.runs += 1
        doctored = write_members(tmp_path / "v1.bak", as_release_1(good, add=extra))
        it_signer = Ed25519PrivateKey.generate()
        it_file = tmp_path / "it-provisioning.json"
        it_file.write_bytes(provisioning.sign({
            "format": provisioning.FORMAT, "version": provisioning.VERSION, "issued_at": now_iso_seconds(),
            "registry": {"url": "https://registry.example.net", "seal_public_key": b64encode(os.urandom(32)),
                         "sign_public_key": b64encode(os.urandom(32))}}, it_signer.private_bytes_raw()))
        for name, provisioned in (("bare", False), ("provisioned", True)):
            target = tmp_path / f"t-{name}"
            if provisioned:  # IT applied its own signed file on the replacement laptop first
                apply_signed(target, it_file, [it_signer.public_key().public_bytes_raw()])
            before = (target / "provisioning.json").read_bytes() if provisioned else None
            backup.restore(doctored, target, "sup", PW)
            services.open_session(target, "sup", PW).close()  # the login that case 1 turns against the store
            if provisioned:
                assert (target / "provisioning.json").read_bytes() == before
            else:
                assert not (target / "provisioning.json").exists()
            assert not (target / "provisioned-ca.pem").exists()
            slots = SlotFile.load(target / "keyslots.json")
            with pytest.raises(AuthError):
                slots.unlock_recovery(attacker_private)
            slots.unlock_recovery(laptop.it_private)  # still IT's key
            assert restored_records(target) == laptop.expected
            c.runs += 1


MANIFEST_EDITS = {
    "counts": lambda m: {"submitted": 9000},
    "created_at": lambda m: "2031-01-01T00:00:00.000000+00:00",
    "store_id": lambda m: "00000000-0000-4000-8000-000000000000",
    "app_version": lambda m: "9.9.9",
    "schema_version": lambda m: m["schema_version"] - 1,
    "note": lambda m: "restored by IT",  # a field that was not there
}


def test_a_changed_manifest_is_refused(laptop, tmp_path):
    good = read_members(laptop.good)
    manifest = manifest_of(good)
    with case("backup: format 2 manifest fields changed by hand (counts, created_at, store_id, app_version, "
              "schema_version, an added field), member hashes recomputed; a made-up MAC; an older snapshot swapped in",
              "each refused as tampered after the unlock (the MAC), nothing at the target; the CLI says so in "
              "one line") as c:
        for i, (field, edit) in enumerate(MANIFEST_EDITS.items()):
            refused(write_members(tmp_path / f"{i}.bak", reseal(good, **{field: edit(manifest)})), tmp_path / f"t{i}")
            c.runs += 1
        made_up = backup.manifest_mac(dict(manifest, counts={"submitted": 1}), os.urandom(32))
        refused(write_members(tmp_path / "mac.bak", reseal(good, counts={"submitted": 1}, mac=made_up)),
                tmp_path / "t-mac")
        c.runs += 1
        with Store(laptop.data).unlock("sup", PW) as sup:  # a later backup of the same store
            records.import_records(sup, make_records(3, seed=61))
            backup.create(sup, tmp_path / "later.bak")
        newer_db = {"fieldapp.db": read_members(tmp_path / "later.bak")["fieldapp.db"]}
        refused(write_members(tmp_path / "swap.bak", reseal(good, add=newer_db)), tmp_path / "t-swap")
        c.runs += 1
        proc = run_cli(tmp_path / "t-cli", "restore", tmp_path / "0.bak", "--user", "sup", password=PW,
                       FIELDAPP_LOG_DIR=tmp_path / "cli-logs")
        assert "changed or damaged" in one_clean_line(proc) and not (tmp_path / "t-cli").exists()
        c.runs += 1


def test_a_downgrade_to_format_1_trusts_only_the_database_and_key_slots(laptop, tmp_path):
    good = read_members(laptop.good)
    manifest = manifest_of(good)
    bad_config = json.dumps({"language": "fr", "idle_minutes": 100000}).encode()
    with case("backup: a format 2 backup with its MAC removed, or relabelled format 1 (downgrade)",
              "MAC removed: refused before any password; relabelled with the MAC kept: refused; relabelled without "
              "it: the database and key slots only (records exact, escrow rebuilt from the slots, no desktop.json, "
              "no provisioning), the manifest's counts and time not believed") as c:
        no_mac = write_members(tmp_path / "no-mac.bak", reseal(good, mac=None))
        with pytest.raises(TamperError):
            backup.read_manifest(no_mac)
        refused(no_mac, tmp_path / "t-no-mac")
        c.runs += 1
        refused(write_members(tmp_path / "v1-mac.bak", reseal(good, version=1)), tmp_path / "t-v1-mac")
        c.runs += 1
        applied, attacker_private = attacker_provisioning()
        v1 = as_release_1(reseal(good, add={"desktop.json": bad_config}),
                          add={"provisioning.json": applied, "recovery-slot.json": b'{"format": "x"}'})
        v1 = reseal(v1, counts={"submitted": 9000}, created_at="not a time")
        target = tmp_path / "t-v1"
        result = backup.restore(write_members(tmp_path / "v1.bak", v1), target, "sup", PW)
        assert result["records"] == len(laptop.expected) and result["store_id"] == manifest["store_id"]
        assert sorted(p.name for p in target.iterdir()) == ["fieldapp.db", "keyslots.json", "recovery-slot.json"]
        assert load_escrow(target / "recovery-slot.json") == SlotFile.load(target / "keyslots.json").escrow()
        assert restored_records(target) == laptop.expected
        with Store(target).unlock("sup", PW) as sup:
            reasons = [r[0] for r in sup.conn.execute("SELECT reason FROM audit WHERE event = 'store.restored'")]
        assert reasons == [None]  # "not a time" never reached the audit trail
        c.runs += 1


BAD_SETTINGS = [
    {"language": "en", "idle_minutes": 0},
    {"language": "en", "idle_minutes": 100000},
    {"language": "fr", "idle_minutes": 10},
    {"language": "en", "idle_minutes": True},
    {"language": ["en"], "idle_minutes": 10},
    {"language": "en", "idle_minutes": 10, "last_user": "../../etc"},
    {"language": "en", "idle_minutes": 10, "last_user": "sup\n"},
    {"language": "en", "idle_minutes": 10, "registry_url": "https://registry.example.org"},
    ["en", 10],
]


def _sealed(members: dict, key: bytes) -> dict:
    """``members`` with a MAC that verifies: what only a writer holding the store key can make."""
    manifest = manifest_of(members)
    manifest["mac"] = backup.manifest_mac(manifest, key)
    return dict(members, **{"manifest.json": json.dumps(manifest).encode()})


def test_crafted_desktop_settings_are_dropped(laptop, tmp_path):
    good = read_members(laptop.good)
    assert json.loads(good["desktop.json"]) == {"language": "km", "idle_minutes": 30, "last_user": "sup"}
    crafted = [json.dumps(doc).encode() for doc in BAD_SETTINGS] + [b"\xff not json", b"{" * 20000]
    with case("backup: a crafted desktop.json (idle lock out of range, unknown language, bad login name, extra "
              "keys, not JSON), added by hand or (with the store key) under a valid MAC",
              "added by hand: refused; under a valid MAC: restored without it; valid settings restored, and never "
              "over the replacement laptop's own") as c:
        refused(write_members(tmp_path / "hand.bak", reseal(good, add={"desktop.json": crafted[1]})), tmp_path / "th")
        c.runs += 1
        for i, data in enumerate(crafted):
            target = tmp_path / f"t{i}"
            backup.restore(write_members(tmp_path / f"{i}.bak", _sealed(reseal(good, add={"desktop.json": data}),
                                                                        laptop.key)), target, "sup", PW)
            assert not (target / "desktop.json").exists(), data[:80]
            assert restored_records(target) == laptop.expected
            c.runs += 1
        backup.restore(laptop.good, tmp_path / "t-good", "sup", PW)
        assert config.load(tmp_path / "t-good") == config.Config("km", 30, "sup")
        config.save(tmp_path / "t-own", config.Config("en", 5, None))
        backup.restore(laptop.good, tmp_path / "t-own", "sup", PW)
        assert config.load(tmp_path / "t-own") == config.Config("en", 5, None)
        c.runs += 2
        # the laptop's own desktop.json doctored before the backup: the backup leaves it out
        (laptop.data / "desktop.json").write_bytes(crafted[0])
        with Store(laptop.data).unlock("sup", PW) as sup:
            assert "desktop.json" not in backup.create(sup, tmp_path / "later.bak")["files"]
        config.save(laptop.data, config.Config("km", 30, "sup"))
        c.runs += 1


def test_a_crafted_recovery_escrow_is_not_kept(laptop, tmp_path):
    good = read_members(laptop.good)
    store_id = manifest_of(good)["store_id"]
    attacker_private, attacker_public = generate_recovery_keypair()
    fake = SlotFile.new(tmp_path / "scratch-keyslots.json")
    fake.set_recovery(b64decode(attacker_public["key"]), os.urandom(32))
    escrow = dict(fake.escrow(), store_id=store_id)
    crafted = json.dumps(escrow).encode()
    with case("backup: a crafted recovery-slot.json (the attacker's own recovery slot, bound to the store ID)",
              "format 2: refused; format 1: the restored escrow is the one the MAC-checked key slots give, which "
              "the attacker's key does not open; a store without a recovery slot gets none") as c:
        refused(write_members(tmp_path / "v2.bak", reseal(good, add={"recovery-slot.json": crafted})), tmp_path / "t2")
        c.runs += 1
        target = tmp_path / "t1"
        backup.restore(write_members(tmp_path / "v1.bak", as_release_1(good, add={"recovery-slot.json": crafted})),
                       target, "sup", PW)
        kept = load_escrow(target / "recovery-slot.json")
        assert kept == SlotFile.load(target / "keyslots.json").escrow() and kept["slot"]["id"] != escrow["slot"]["id"]
        with pytest.raises(AuthError):
            SlotFile.from_escrow(tmp_path / "x.json", kept).unlock_recovery(b64decode(attacker_private["key"]))
        SlotFile.from_escrow(tmp_path / "x.json", kept).unlock_recovery(laptop.it_private)
        c.runs += 1
        # a store that has no recovery slot: a crafted escrow must not give it one
        with Store(tmp_path / "plain").create("sup", PW) as sup:
            backup.create(sup, tmp_path / "plain.bak")
        plain = read_members(tmp_path / "plain.bak")
        backup.restore(write_members(tmp_path / "plain-v1.bak", as_release_1(plain, add={"recovery-slot.json": crafted})),
                       tmp_path / "t-plain", "sup", PW)
        assert not (tmp_path / "t-plain" / "recovery-slot.json").exists()
        c.runs += 1
