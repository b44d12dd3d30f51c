"""Signed provisioning files: a laptop applies IT's file, and refuses a changed one or one signed by another key."""

from __future__ import annotations

import base64
import json
import os
import stat
from datetime import datetime, timedelta, timezone

import pytest

from helpers.deploy_helpers import PASSWORD, Runner, payload, write_signed
from fieldapp.cli import deploy as cli_deploy
from fieldapp.deploy import provisioned, provisioning
from fieldapp.deploy.provisioning import ProvisioningError

SEAL = base64.b64encode(bytes(range(32))).decode()
SIGN = base64.b64encode(bytes(range(32, 64))).decode()
URL = "https://registry.nssf.example.gov.kh"


@pytest.fixture
def signed(tmp_path, it_keys):
    return write_signed(tmp_path / "provisioning.json", payload(URL, SEAL, SIGN), it_keys[0])


def trusted(it_keys):
    return [provisioning.load_key(it_keys[1], "public")]


def test_a_signed_file_verifies_and_reads_back(signed, it_keys):
    got = provisioning.load_verified(signed, trusted(it_keys))
    assert got["registry"]["url"] == URL and got["language"] == "km" and got["sync"]["interval_minutes"] == 30
    assert signed.read_bytes() == provisioning.serialize(json.loads(signed.read_bytes()))  # the one exact form


def test_every_changed_byte_is_refused(signed, it_keys):
    data = signed.read_bytes()
    keys = trusted(it_keys)
    accepted = []
    for i in range(len(data)):
        for flip in (0x01, 0x20):
            changed = data[:i] + bytes([data[i] ^ flip]) + data[i + 1:]
            try:
                provisioning.verify_bytes(changed, keys)
                accepted.append(i)
            except ProvisioningError as exc:
                assert exc.msg_id.startswith("deploy.provision.")
    assert accepted == []
    for extra in (data + b"\n", data.replace(b"\n", b"\r\n"), b"\xef\xbb\xbf" + data, data[:-1]):
        with pytest.raises(ProvisioningError):
            provisioning.verify_bytes(extra, keys)


def test_another_key_or_no_key_or_no_signature_is_refused(tmp_path, signed, it_keys):
    cli_deploy.write_keypair(tmp_path / "other-private.json", tmp_path / "other-public.json")
    other = [provisioning.load_key(tmp_path / "other-public.json", "public")]
    with pytest.raises(ProvisioningError) as exc:
        provisioning.load_verified(signed, other)
    assert exc.value.msg_id == "deploy.provision.untrusted"
    forged = write_signed(tmp_path / "forged.json", payload(URL, SEAL, SIGN), tmp_path / "other-private.json")
    with pytest.raises(ProvisioningError) as exc:
        provisioning.load_verified(forged, trusted(it_keys))
    assert exc.value.msg_id == "deploy.provision.untrusted"
    # a forger who names the trusted key's fingerprint still fails the signature check
    doc = json.loads(forged.read_bytes())
    doc["signature"]["key"] = provisioning.fingerprint(trusted(it_keys)[0])
    with pytest.raises(ProvisioningError) as exc:
        provisioning.verify_bytes(provisioning.serialize(doc), trusted(it_keys))
    assert exc.value.msg_id == "deploy.provision.tampered"
    with pytest.raises(ProvisioningError) as exc:
        provisioning.load_verified(signed, [])
    assert exc.value.msg_id == "deploy.provision.no_trusted_key"
    unsigned = tmp_path / "unsigned.json"
    unsigned.write_bytes(provisioning.serialize(payload(URL, SEAL, SIGN)))
    with pytest.raises(ProvisioningError) as exc:
        provisioning.load_verified(unsigned, trusted(it_keys))
    assert exc.value.msg_id == "deploy.provision.not_signed"


@pytest.mark.parametrize("change,field", [
    ({"registry": {"url": "http://registry.example.org", "seal_public_key": SEAL, "sign_public_key": SIGN}},
     "registry.url"),
    ({"registry": {"url": URL, "seal_public_key": "short", "sign_public_key": SIGN}}, "registry.seal_public_key"),
    ({"registry": {"url": URL, "seal_public_key": SEAL, "sign_public_key": SIGN, "pins": ["x"]}}, "registry.pins"),
    ({"registry": {"url": URL, "seal_public_key": SEAL, "sign_public_key": SIGN, "ca_pem": "junk"}},
     "registry.ca_pem"),
    ({"defaults": {"province": "03", "district": "1201"}}, "defaults.district"),
    ({"defaults": {"commune": "999999"}}, "defaults.commune"),
    ({"language": "fr"}, "language"),
    ({"idle_minutes": 0}, "idle_minutes"),
    ({"sync": {"auto": "yes"}}, "sync.auto"),
    ({"sync": {"interval_minutes": 5000}}, "sync.interval_minutes"),
    ({"recovery_public_key": "abc"}, "recovery_public_key"),
    ({"registry_url": URL}, "registry_url"),
    ({"issued_at": "yesterday"}, "issued_at"),
])
def test_invalid_settings_are_refused_when_signing(tmp_path, it_keys, change, field):
    with pytest.raises(ProvisioningError) as exc:
        write_signed(tmp_path / "bad.json", payload(URL, SEAL, SIGN, **change), it_keys[0])
    assert exc.value.msg_id == "deploy.provision.invalid" and exc.value.params["field"] == field
    assert not (tmp_path / "bad.json").exists()


def test_apply_writes_settings_owner_only_and_pins_the_signer(tmp_path, it_keys):
    from fieldapp.base import config

    ca = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    doc = payload(URL, SEAL, SIGN)
    doc["registry"]["ca_pem"] = ca
    signed = write_signed(tmp_path / "p.json", doc, it_keys[0])
    data_dir = tmp_path / "data"
    summary = provisioned.apply(data_dir, signed, trusted(it_keys))
    assert summary["server"] == URL and summary["recovery"] == "none" and summary["device"] == "unregistered"
    for name in (provisioning.APPLIED_FILE, provisioning.CA_FILE, config.CONFIG_FILE):
        assert stat.S_IMODE(os.stat(data_dir / name).st_mode) == 0o600
    assert config.load(data_dir).language == "km" and config.load(data_dir).idle_minutes == 15
    settings = provisioned.registry_settings(data_dir)
    assert settings["server_url"] == URL and open(settings["ca_file"]).read() == ca
    assert provisioned.sync_policy(data_dir) == {"auto": True, "interval_minutes": 30}
    assert provisioned.default_address(data_dir) == {"province": "03", "district": "0301", "commune": "030101"}
    # the next file is checked against the key that signed this one, with no key given
    newer = write_signed(tmp_path / "newer.json", payload(URL, SEAL, SIGN, language="en"), it_keys[0])
    provisioned.apply(data_dir, newer)
    assert config.load(data_dir).language == "en"
    cli_deploy.write_keypair(tmp_path / "o-priv.json", tmp_path / "o-pub.json")
    other = write_signed(tmp_path / "other.json", payload(URL, SEAL, SIGN), tmp_path / "o-priv.json")
    with pytest.raises(ProvisioningError):
        provisioned.apply(data_dir, other)
    old = (datetime.now(timezone.utc) - timedelta(days=30)).isoformat(timespec="seconds")
    replay = write_signed(tmp_path / "old.json", payload(URL, SEAL, SIGN, issued_at=old), it_keys[0])
    with pytest.raises(ProvisioningError) as exc:
        provisioned.apply(data_dir, replay)
    assert exc.value.msg_id == "deploy.provision.older"


def test_machine_file_is_applied_once_at_start(tmp_path, it_keys, monkeypatch):
    signed = write_signed(tmp_path / "machine.json", payload(URL, SEAL, SIGN), it_keys[0])
    monkeypatch.setattr(provisioned, "bundled_keys", lambda: trusted(it_keys))
    data_dir = tmp_path / "data"
    assert "registry.nssf" in provisioned.apply_machine_file(data_dir, signed)
    assert provisioned.apply_machine_file(data_dir, signed) is None  # nothing new
    assert provisioned.apply_machine_file(data_dir, tmp_path / "absent.json") is None
    bad = tmp_path / "bad.json"
    bad.write_bytes(signed.read_bytes().replace(b"wave 1", b"wave 2"))
    assert "changed after it was signed" in provisioned.apply_machine_file(data_dir, bad)


def test_cli_refuses_a_tampered_file_in_one_translated_line(tmp_path, it_keys):
    signed = write_signed(tmp_path / "p.json", payload(URL, SEAL, SIGN), it_keys[0])
    tampered = tmp_path / "tampered.json"
    tampered.write_bytes(signed.read_bytes().replace(b"registry.nssf", b"registry.evil"))
    run = Runner(tmp_path / "data", tmp_path / "logs")
    for lang, words in (("en", "was changed after it was signed"), ("km", "ត្រូវបានកែប្រែបន្ទាប់ពីបានចុះហត្ថលេខា")):
        out = run("provision", tampered, "--trusted-key", it_keys[1], "--lang", lang)
        assert out.returncode == 1 and out.stdout == ""
        assert len(out.stderr.strip().splitlines()) == 1 and words in out.stderr
    out = run("provision", signed)  # no bundled key in a checkout, none given
    assert out.returncode == 1 and "--trusted-key" in out.stderr
    assert not (tmp_path / "data" / provisioning.APPLIED_FILE).exists()
    out = run("provision", signed, "--trusted-key", it_keys[1], "--check")
    assert out.returncode == 0 and "trusted" in out.stdout
    assert not (tmp_path / "data" / provisioning.APPLIED_FILE).exists()


def test_cli_keygen_sign_apply_and_recovery_slot(tmp_path):
    """IT's keys, a signed file, and its recovery key written into the store only by a supervisor.

    Applied without ``--user``, the file's recovery key only waits for a supervisor ("waits for a supervisor to
    confirm it"), no longer "will be added" at the next login: the recovery slot opens every record, so it is written
    only by a supervisor's explicit action (``provision --user``, ``recovery-confirm``), never by a file beside the
    store at an ordinary login. A store trusts a document's signer only once a supervisor applied it (the signer
    recorded in ``provisioning.json`` when it was applied without a supervisor is a file-level pin for staging, not
    the store's anchor), so ``--user`` needs ``--trusted-key`` here; after that the store's pinned key suffices."""
    run = Runner(tmp_path / "data", tmp_path / "logs")
    it = tmp_path / "it"
    it.mkdir()
    run("provision-keygen", "--private-out", it / "priv.json", "--public-out", it / "pub.json", check=True)
    assert stat.S_IMODE(os.stat(it / "priv.json").st_mode) == 0o600
    assert run("provision-keygen", "--private-out", it / "priv.json", "--public-out", it / "x.json").returncode == 1
    run("recovery-keygen", "--private-out", it / "rec-priv.json", "--public-out", it / "rec-pub.json", check=True)
    recovery = json.loads((it / "rec-pub.json").read_text())["key"]
    (it / "unsigned.json").write_text(json.dumps(payload(URL, SEAL, SIGN, recovery_public_key=recovery)))
    run("provision-sign", "--key", it / "priv.json", "--in", it / "unsigned.json", "--out", it / "signed.json",
        check=True)
    run("init", "--user", "sup", new_password=PASSWORD, check=True)
    out = run("provision", it / "signed.json", "--trusted-key", it / "pub.json", check=True)
    assert "waits for a supervisor to confirm it" in out.stdout
    slots = json.loads((tmp_path / "data" / "keyslots.json").read_text())["slots"]
    assert not any(s["type"] == "recovery" for s in slots)
    # the store trusts only keys it pinned itself (none yet): the signer recorded in the file applied without a
    # supervisor is not an anchor for an existing store, so the supervisor names IT's key
    out = run("provision", it / "signed.json", "--user", "sup", "--json")
    assert out.returncode == 1 and "--trusted-key" in out.stderr
    out = run("provision", it / "signed.json", "--user", "sup", "--trusted-key", it / "pub.json", "--json", check=True)
    assert json.loads(out.stdout)["recovery"] == "set"
    out = run("provision", it / "signed.json", "--user", "sup", "--json", check=True)  # the store's pinned key now
    assert json.loads(out.stdout)["recovery"] == "set"  # the same key: unchanged
    slots = json.loads((tmp_path / "data" / "keyslots.json").read_text())["slots"]
    assert [s["recipient"] for s in slots if s["type"] == "recovery"] == [json.loads((it / "rec-pub.json").read_text())["fingerprint"]]
    run("verify", "--user", "sup", check=True)
    out = run("recover", "--recovery-key", it / "rec-priv.json", "--new-user", "it-admin", new_password="recovered pass 9")
    assert out.returncode == 0, out.stderr


def test_register_checks_the_registry_keys_against_the_provisioning(tmp_path, it_keys, registry):
    from helpers.deploy_helpers import registry_keys

    seal, sign = registry_keys(registry)
    run = Runner(tmp_path / "data", tmp_path / "logs")
    run("init", "--user", "sup", new_password=PASSWORD, check=True)
    out = run("provision-register", "--user", "sup", "--code", registry.code())
    assert out.returncode == 1 and "no provisioning file applied" in out.stderr
    wrong = write_signed(tmp_path / "wrong.json", payload(registry.url, SEAL, sign), it_keys[0])
    run("provision", wrong, "--trusted-key", it_keys[1], check=True)
    # staged without a supervisor: the store has pinned no signer yet, so registration will not use the file
    out = run("provision-register", "--user", "sup", "--code", registry.code())
    assert out.returncode == 1 and "not signed by a key this store trusts" in out.stderr
    run("provision", wrong, "--trusted-key", it_keys[1], "--user", "sup", check=True)  # a supervisor pins it
    out = run("provision-register", "--user", "sup", "--code", registry.code())
    assert out.returncode == 1 and "other keys" in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "data" / "device.json").exists()
    right = write_signed(tmp_path / "right.json", payload(registry.url, seal, sign), it_keys[0])
    run("provision", right, check=True)  # the same IT key as the pinned one: trusted by the store
    out = run("provision-register", "--user", "sup", "--code", registry.code(), check=True)
    assert "registry's keys match" in out.stdout
    assert provisioned.check_device(tmp_path / "data") == "matches"
