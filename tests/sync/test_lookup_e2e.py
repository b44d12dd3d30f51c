"""Registered people stay findable and correctable, end to end through real processes: one registry, laptops' command
lines in two communes, the fault proxy between them.

1. The same person, no national ID, enrolled in commune A (laptop 1) and, spelled ដារា instead of ដារ៉ា, at the
   office of commune B (laptop 2): the registry holds the second for review; the operator resolves it as the same
   person (one member); after one sync laptop 2's lookup finds the first registration, and a new enrollment of the
   person there is reported as already registered at submit.
2. An update adding a newborn from a laptop that only looked the member up: reviewed, synced through a fault proxy
   that resets and drops answers, applied exactly once (the member's history holds both versions); a concurrent
   update from the first laptop, based on the old version, is refused as stale with the reason shown, re-based
   after the next lookup and applied as the third version. The lookup entry and its card show the new version.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from helpers.clitools import OUTREACH_PASSWORD
from helpers.faultproxy import FaultProxy
from helpers.lookup_e2e import (COMMUNE_A, COMMUNE_B, NEWBORN, code_for, enroll, laptop, listed, new_id,
                                person, sync)
from helpers.planted import needles_of, scan
from helpers.sync_helpers import Registry
from fieldapp.domain.card import card_claims
from fieldapp.base.encoding import b64url_decode
from fieldapp.outbound import credential, wire

@pytest.mark.slow
def test_a_person_enrolled_at_two_offices_is_held_resolved_and_found_offline(tmp_path):
    registry = Registry(tmp_path / "registry").start()
    try:
        first = laptop(tmp_path / "laptop1", registry.url, code_for(registry, COMMUNE_A))
        second = laptop(tmp_path / "laptop2", registry.url, code_for(registry, COMMUNE_B))
        rid1 = enroll(first, tmp_path, "one", person())
        sync(first)
        member_no = listed(first, rid1)["member_no"]
        assert member_no and listed(first, rid1)["state"] == "registered"
        # laptop 2, before it learns of the member: its area (commune B) does not hold it, so it enrolls again
        sync(second)
        assert second.json("members", "ដារ៉ា", "--user", "sup", "--json") == []
        rid2 = enroll(second, tmp_path, "two", person(given_name="ដារា"))
        sync(second)
        held = listed(second, rid2)
        assert held["state"] == "synced" and held["status"] == "Held for review at the registry"
        (hold,) = json.loads(registry.cli("duplicates"))
        assert hold["record_id"] == rid2 and hold["matched_registry_id"] == member_no
        assert hold["why"] == "phonetic"  # ដារ៉ា / ដារា: the same name spelled otherwise, same birth date and commune
        resolved = json.loads(registry.cli("resolve", rid2, "--same-as", member_no))
        assert resolved["outcome"] == "same_as" and resolved["registry_id"] == member_no
        assert json.loads(registry.cli("duplicates")) == []
        # one sync: the outcome, and the member in laptop 2's lookup
        sync(second)
        after = listed(second, rid2)
        assert after["state"] == "registered" and after["member_no"] == member_no
        found = second.json("members", "ដារា", "--user", "sup", "--json")
        assert [m["member_no"] for m in found] == [member_no]
        assert found[0]["office_commune"] == COMMUNE_A and found[0]["version"] == 1
        assert "national_id" not in found[0]
        # a third enrollment of the person at laptop 2: reported as already registered when it is submitted
        rid3 = enroll(second, tmp_path, "three", person())
        dups = listed(second, rid3)["duplicates"]
        assert any(d.get("member_no") == member_no for d in dups), dups
        people = {r["registry_id"] for r in registry.export()}
        assert people == {member_no}
    finally:
        registry.stop()
    assert scan([tmp_path / "laptop1" / "spool.db", tmp_path / "laptop2" / "spool.db"], needles_of([person()])) == []


def history(registry: Registry, member_no: str) -> list[dict]:
    return json.loads(registry.cli("member-history", member_no))["versions"]


@pytest.mark.slow
def test_an_update_from_a_looked_up_member_applies_once_and_a_stale_one_is_refused(tmp_path):
    registry = Registry(tmp_path / "registry").start()
    proxy = FaultProxy(registry.port)
    try:
        first = laptop(tmp_path / "laptop1", proxy.url, code_for(registry, COMMUNE_A))
        rid1 = enroll(first, tmp_path, "one", person())
        sync(first)
        member_no = listed(first, rid1)["member_no"]
        other = laptop(tmp_path / "laptop3", proxy.url, code_for(registry, COMMUNE_A))
        sync(other)  # the first lookup: a snapshot of commune A
        (entry,) = other.json("members", member_no, "--user", "sup", "--json")
        assert entry["version"] == 1 and len(entry["dependents"]) == 1
        changes = tmp_path / "newborn.json"
        changes.write_text(json.dumps({"add_dependents": [NEWBORN]}, ensure_ascii=False))
        out = other("update", member_no, "--changes", changes, "--user", "ow", "--submit", password=OUTREACH_PASSWORD)
        upd = new_id(out)
        other("review", "--user", "sup", "--approve-all", check=True)
        # meanwhile the first laptop changes the phone, from its own record (version 1 too)
        phone = tmp_path / "phone.json"
        phone.write_text(json.dumps({"phone": "012 345 678"}))
        out = first("update", member_no, "--changes", phone, "--user", "ow", "--submit", password=OUTREACH_PASSWORD)
        stale = new_id(out)
        first("review", "--user", "sup", "--approve-all", check=True)
        # the newborn first, through a proxy that resets one batch and drops the answer of the next
        proxy.add("reset", method="POST", path="/v1/batches", count=1)
        proxy.add("drop_response", method="POST", path="/v1/batches", count=1)
        for _ in range(4):
            other("sync", "--json", "--user", "sup")
            if listed(other, upd)["state"] == "registered":
                break
        applied = listed(other, upd)
        assert applied["state"] == "registered" and applied["member_no"] == member_no, applied
        assert applied["status"] == f"Update applied: member no. {member_no}, version 2"
        assert [v["version"] for v in history(registry, member_no)] == [1, 2]
        # the stale one: refused for good (sending it again cannot change that), with the reason shown
        sync(first)
        refused = listed(first, stale)
        assert refused["state"] == "registry_rejected"
        assert "changed since this update was prepared" in refused["status"], refused["status"]
        assert [v["version"] for v in history(registry, member_no)] == [1, 2]
        # the first laptop's lookup now holds version 2 (with the newborn); the worker re-bases the update on it
        sync(first)
        (now,) = first.json("members", member_no, "--user", "sup", "--json")
        assert now["version"] == 2 and [d["given_name"] for d in now["dependents"]] == ["ស្រីពៅ", "សុភា"]
        keys = json.loads(registry.cli("keys"))
        claims = card_claims(now, member_no, now["card"]["issued_at"], version=2)
        sign_public = wire.b64d(keys["sign_public_key"])
        card = credential.card_with_signature(claims, b64url_decode(now["card"]["sig"]), sign_public)
        assert credential.verify_card(card, sign_public)["version"] == 2
        # the card printed from the update, at the laptop that only looked the member up: version 2, the newborn on it
        sync(other)
        pdf = tmp_path / "card-v2.pdf"
        out = other("card", upd, "--user", "sup", "--out", pdf, QT_QPA_PLATFORM="offscreen", TMPDIR=tmp_path)
        assert out.returncode == 0, out.stderr
        if shutil.which("pdftotext"):
            text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
            assert "សុភា" in text.replace("\u200b", "") and member_no in text
        rebased = new_id(first("rebase", stale, "--user", "ow", "--submit", password=OUTREACH_PASSWORD))
        first("review", "--user", "sup", "--approve-all", check=True)
        proxy.add("drop_response", method="POST", path="/v1/batches", count=1)
        for _ in range(3):
            first("sync", "--json", "--user", "sup")
            if listed(first, rebased)["state"] == "registered":
                break
        assert listed(first, rebased)["status"] == f"Update applied: member no. {member_no}, version 3"
        versions = history(registry, member_no)
        assert [v["version"] for v in versions] == [1, 2, 3]
        assert [v["record_id"] for v in versions[1:]] == [upd, rebased]
        (current,) = [r for r in registry.export() if r["registry_id"] == member_no]  # the operator's export: now
        assert current["version"] == 3 and current["phone"] == "+85512345678"
        assert [d["given_name"] for d in current["dependents"]] == ["ស្រីពៅ", "សុភា"]
    finally:
        proxy.close()
        registry.stop()
