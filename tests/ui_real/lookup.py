"""Looked-up members for the desktop tests (``tests/ui`` and ``tests/ui_real``): registered people of the area as the
registry publishes them (``fieldapp.domain.member.lookup_entry``), stored the way a verified lookup page is
(``fieldapp.store.members.apply_page``), without a registry."""

from __future__ import annotations

from pathlib import Path

from fieldapp.domain.member import lookup_entry
from fieldapp.domain.validation import validate_record
from fieldapp.store.database import Store

#: A registered household: the member and two children; the office is the member's commune.
MEMBER = {
    "family_name": "ចាន់", "given_name": "សុភាព", "family_name_latin": "Chan", "given_name_latin": "Sopheap",
    "sex": "female", "date_of_birth": "1991-04-12", "national_id": "021345678", "phone": "012777888",
    "village_code": "07020702", "occupation": "food_seller", "employment_status": "self_employed",
    "dependents": [
        {"family_name": "កែវ", "given_name": "ដារា", "family_name_latin": "Keo", "given_name_latin": "Dara",
         "sex": "male", "date_of_birth": "1989-02-01", "relationship": "spouse",
         "disability_or_chronic_illness": False},
        {"family_name": "កែវ", "given_name": "មុន្នី", "family_name_latin": "Keo", "given_name_latin": "Monny",
         "sex": "female", "date_of_birth": "2015-09-30", "relationship": "child",
         "disability_or_chronic_illness": False},
    ],
    "consent": {"given": True, "method": "signature", "recorded_at": "2025-01-10"},
}
MEMBER_NO = "KH-REG-000123"
OFFICE = "070207"   # Sdach Kung Khang Lech, Banteay Meas, Kampot


def entry(record: dict = MEMBER, member_no: str = MEMBER_NO, version: int = 1) -> dict:
    clean, problems = validate_record(record)
    assert not problems, problems
    return lookup_entry(clean, member_no, version, office_commune=OFFICE, registered_on="2025-02-03")


def page(entries: list[dict], cursor: int = 1, reset: bool = True, since: int = 0) -> dict:
    return {"format": "fieldapp-lookup", "v": 1, "device_id": "test-device", "area": [OFFICE],
            "area_id": "0123456789abcdef", "since": since, "cursor": cursor, "reset": reset, "more": False,
            "members": entries, "removed": [], "issued_at": "2025-03-01T00:00:00Z"}


def load_members(data_dir: Path, user: str, password: str, entries: list[dict], **kw) -> dict:
    """Store ``entries`` as one lookup page (a reset unless told), as the sync part does after verifying it."""
    from fieldapp.store import members

    with Store(data_dir).unlock(user, password) as session:
        return members.apply_page(session, page(entries, **kw))


def stored(data_dir: Path, user: str, password: str, record_id: str) -> dict:
    from fieldapp.store import records

    with Store(data_dir).unlock(user, password) as session:
        return records.get(session, record_id)


def updates_of(data_dir: Path, user: str, password: str) -> list[dict]:
    """Every update record (any state), oldest first."""
    from fieldapp.store import records

    with Store(data_dir).unlock(user, password) as session:
        ids = [rid for (rid,) in session.conn.execute("SELECT id FROM records WHERE kind = 'update' ORDER BY rowid")]
        return [records.get(session, rid) for rid in ids]
