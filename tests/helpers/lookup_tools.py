"""Lookup pages as the registry would sign them (the page only: the store applies pages already verified)."""

from __future__ import annotations

import hashlib
from datetime import date

from fieldapp.domain.member import lookup_entry
from fieldapp.domain.synthetic import make_records
from fieldapp.domain.validation import validate_record

TODAY = date(2026, 11, 1)
SIG = "A" * 86


def clean_records(n: int, seed: int = 1) -> list[dict]:
    out = []
    for rec in make_records(n, seed=seed, today=TODAY):
        clean, problems = validate_record(rec, today=TODAY)
        assert not problems, problems
        out.append(clean)
    return out


def member_no(i: int) -> str:
    return f"KH-REG-{i:06d}"


def entries(records: list[dict], start: int = 1, version: int = 1, office: str | None = None) -> list[dict]:
    return [lookup_entry(rec, member_no(start + i), version, office_commune=office or rec.get("commune_code"),
                         registered_on="2026-10-01", card={"issued_at": "2026-10-01T00:00:00Z", "sig": SIG})
            for i, rec in enumerate(records)]


def area_id(area: list[str]) -> str:
    return hashlib.sha256(",".join(sorted(area)).encode()).hexdigest()[:16]


def page(members: list, *, reset: bool = True, since: int = 0, cursor: int | None = None, removed=(),
         area=("010201",), more: bool = False) -> dict:
    return {"format": "fieldapp-lookup", "v": 1, "device_id": "dev-test", "area": sorted(area),
            "area_id": area_id(list(area)), "since": since, "cursor": since + len(members) if cursor is None else cursor,
            "reset": reset, "more": more, "members": list(members), "removed": list(removed),
            "issued_at": "2026-11-01T00:00:00Z"}


def sup_and_ow_store(tmp_path):
    """A store with a supervisor ``sup`` (password "supervisor pw") and an outreach worker ``ow`` ("outreach pw")."""
    from fieldapp.store import users
    from fieldapp.store.database import Store

    s = Store(tmp_path / "data")
    session = s.create("sup", "supervisor pw", "Sup")
    users.add_user(session, "ow", "outreach pw", "outreach")
    session.close()
    return s
