"""Test helpers for protocol 4 (member lookup, updates, cross-device holds): devices with an area, villages of a
commune, update documents, verified lookup pages."""

from __future__ import annotations

import uuid

import requests
from helpers.registry_client import Device, make_record

from fieldapp.outbound import proofs

COMMUNE_A, COMMUNE_B = "010201", "010202"


def villages(commune: str) -> list[str]:
    from fieldapp.domain import geo

    return [u.code for u in geo.all_units("village") if u.code.startswith(commune)]


def area_device(server, *communes: str, approval: bool = True) -> Device:
    """A laptop of this release enrolled with a code carrying ``communes`` as its area."""
    from registry import devices

    code = devices.new_enrollment_code(server.db(), 600, sorted(communes) or None)
    return Device(server, code=code, approval=approval)


def person(commune: str = COMMUNE_A, **over) -> dict:
    """A record without a national ID living in ``commune``."""
    return make_record(national_id=None, village_code=villages(commune)[0], **over)


def results(dev: Device, records: list[dict]) -> list[dict]:
    r, body = dev.send(records)
    return dev.verified(r, body)["results"]


def update_doc(member_no: str, base_version: int, **changes) -> dict:
    doc = {"kind": "update", "record_id": str(uuid.uuid4()), "member_no": member_no, "base_version": base_version}
    doc.update(changes or {"phone": "012345678"})
    return doc


def newborn(name: str = "សុខ") -> dict:
    return {"family_name": name, "given_name": "ដារា", "relationship": "child", "sex": "male",
            "date_of_birth": "2024-01-02", "reason": "birth"}


def raw_lookup(dev: Device, **params) -> requests.Response:
    headers = {"Authorization": f"Bearer {dev.token}"}
    headers.update(params.pop("headers", {}))
    return requests.get(dev.server.url + "/v1/lookup", params=params, headers=headers, timeout=60)


def lookup(dev: Device, since: int = 0, area: str = "", **params) -> dict:
    """A verified lookup page (signed for this device by the registry)."""
    r = raw_lookup(dev, since=str(since), area=area, **params)
    assert r.status_code == 200, r.text
    return proofs.verify_lookup(r.json(), registry_sign_public=dev.sign_public, device_id=dev.device_id)


def sync_all(dev: Device, state: dict | None = None, limit: int | None = None) -> dict:
    """Follow pages like a laptop: ``state`` {"cursor", "area_id", "members": {no: entry}} updated in place."""
    state = state if state is not None else {"cursor": 0, "area_id": "", "members": {}}
    while True:
        extra = {"limit": str(limit)} if limit else {}
        page = lookup(dev, state["cursor"], state["area_id"], **extra)
        if page["reset"]:
            state["members"] = {}
        for entry in page["members"]:
            state["members"][entry["member_no"]] = entry
        for no in page["removed"]:
            state["members"].pop(no, None)
        state["cursor"], state["area_id"] = page["cursor"], page["area_id"]
        if not page["more"]:
            return state
