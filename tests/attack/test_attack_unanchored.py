"""Files planted beside a store of this release that holds no anchor for them yet: the store must not adopt them.

tests/attack/test_attack_trust.py attacks a *registered* laptop whose store pinned what it trusts: the next unlock
repairs device.json and ignores a provisioning file it cannot verify. A store made by this release that has not
registered, or has no provisioning signer pinned yet, holds no anchor, and before the fix the next unlock (anyone's,
an outreach worker's included) adopted what it found, as is:

- T1 ``fieldapp/outbound/identity.py`` ``check``: ``held is None`` and a readable device.json -> ``adopt``. Every
  record approved after that is sealed to the planted registry key.
- T2 ``fieldapp/deploy/provisioned.py`` ``on_unlock``: no ``trusted.provisioning.trust_anchor`` -> the document is
  verified with the key *the file itself names* (``trusted_key``) and that key is pinned as the store's anchor when
  the document asks for no recovery key or for the one the store holds (readable by anyone in
  ``recovery-slot.json``). From then on ``registry_settings(data_dir, session)`` and ``provision-register`` use the
  attacker's registry address and keys.

Adopting files as they are is meant only for the first unlock of a store of release 0.1.0 (which kept both only in
files): migration 4 marks such a store (``trusted.store.legacy_adoption``) and its first unlock clears the mark. A
store of this release registers only through ``register_store`` (a device.json it never wrote is set aside) and
pins a signer only when a supervisor applies a document or creates the store with one.
"""

from __future__ import annotations

import hashlib
import json

from helpers.attack_tools import case

from fieldapp import services
from fieldapp.domain.synthetic import make_records
from fieldapp.outbound import device as device_file
from fieldapp.outbound import identity, wire
from fieldapp.store import keyslots, records, trusted, users

SUP_PW, OW_PW = "supervisor pw 1", "outreach pw 1"


def _plant_device(data_dir) -> dict:
    """What an attacker writes without any password: a registration to a registry whose keys they hold."""
    private, public = wire.new_device_keys()
    keys = wire.new_registry_keys()
    device_file.save(data_dir, device_file.Device(
        device_id="dev-planted", server_url="https://registry.attacker.example", device_private_key=wire.b64e(private),
        device_public_key=wire.b64e(public), registry_seal_public_key=wire.b64e(keys["seal_public"]),
        registry_sign_public_key=wire.b64e(keys["sign_public"]), registered_at="2024-05-01T00:00:00+00:00"))
    return dict(keys, device_public=public)


def test_a_planted_device_file_is_not_adopted_by_a_store_that_never_registered(tmp_path):
    data = tmp_path / "data"
    with services.create_store(data, "sup", SUP_PW) as sup:
        users.add_user(sup, "ow", OW_PW, "outreach")
        ids = records.import_records(sup, make_records(3, seed=515))
    attacker = _plant_device(data)
    with case("device.json planted beside a store that never registered (no password), then ordinary logins and an "
              "approval", "the store adopts no registration from the file; no approved record is sealed to the "
              "planted registry key") as c:
        with services.open_session(data, "ow", OW_PW) as ow:  # an outreach worker's ordinary login
            held = identity.trusted_device(ow)
            assert held is None or held.device_id != "dev-planted"
        with services.open_session(data, "sup", SUP_PW) as sup:
            services.review(sup, ids, "approve")
            held = identity.trusted_device(sup)
            assert held is None or held.device_id != "dev-planted"
            sealed = [json.loads(t) for (t,) in sup.conn.execute("SELECT sealed FROM outbox")]
        opened = 0
        for item in sealed:
            try:
                wire.open_sealed(item, seal_private=attacker["seal_private"], device_public=attacker["device_public"])
                opened += 1
            except wire.WireError:
                pass
        c.runs += 1
        assert opened == 0, f"{opened} approved record(s) readable with the planted registry key"


def test_a_self_signed_provisioning_file_is_not_pinned_by_a_store_without_an_anchor(tmp_path):
    from fieldapp.cli.deploy import write_keypair
    from fieldapp.deploy import provisioned, provisioning

    data = tmp_path / "data"
    _it_private, it_public = keyslots.generate_recovery_keypair()
    with services.create_store(data, "sup", SUP_PW, recovery_public=keyslots.b64d(it_public["key"])) as sup:
        users.add_user(sup, "ow", OW_PW, "outreach")
    # the attacker signs with a key of their own, names it as the signer, and asks for the recovery key the store
    # already holds (public: recovery-slot.json), so nothing is left pending for a supervisor to refuse
    write_keypair(tmp_path / "evil-priv.json", tmp_path / "evil-pub.json")
    evil_key = json.loads((tmp_path / "evil-pub.json").read_text())["key"]
    evil = wire.new_registry_keys()
    payload = {"format": provisioning.FORMAT, "version": provisioning.VERSION, "issued_at": wire.now_iso(),
               "registry": {"url": "https://registry.attacker.example",
                            "seal_public_key": wire.b64e(evil["seal_public"]),
                            "sign_public_key": wire.b64e(evil["sign_public"])},
               "recovery_public_key": it_public["key"]}
    signed = provisioning.sign(payload, provisioning.load_key(tmp_path / "evil-priv.json", "private"))
    (data / "provisioning.json").write_text(json.dumps({
        "format": "fieldapp-provisioning-applied", "sha256": hashlib.sha256(signed).hexdigest(),
        "trusted_key": evil_key, "signed": json.loads(signed)}))
    with case("provisioning.json signed by the attacker's own key (naming it, asking for the store's own recovery "
              "key) beside a store with no provisioning anchor, then ordinary logins",
              "the store pins no signer from the file; the registry settings a supervisor registers with are not "
              "the attacker's") as c:
        for user, password in (("ow", OW_PW), ("sup", SUP_PW)):
            with services.open_session(data, user, password) as session:
                assert trusted.get(session.conn, "provisioning.trust_anchor") != evil_key, user
                settings = provisioned.registry_settings(data, session)
                assert settings is None or "attacker" not in settings["server_url"], user
            c.runs += 1
