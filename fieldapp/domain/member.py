"""A registered member as the offline lookup shows it, and the keys that say two enrollments are one person.

The registry builds each member's lookup entry with :func:`lookup_entry` from the member's current version and
publishes it to the devices serving the member's area (docs/protocol.md section 15); a laptop checks every entry it
receives with :func:`check_entry` before storing it (the page's signature proves who sent it, not that it is sane).
:func:`match_keys` gives the keys both sides match on: the registry (keyed HMACs of them) to hold a probable
duplicate from another device for review, the laptop to find a looked-up member before a new submit.

Pure functions, no I/O.
"""

from __future__ import annotations

import re

from fieldapp.domain.khmer import match_key, phonetic_name_key
from fieldapp.domain.validation import duplicate_keys

#: What an entry holds. A masked national ID keeps its last three digits (enough to tell two people apart at the
#: counter, not enough to use the number); no phone, no notes, no IDPoor or disability numbers.
ENTRY_FIELDS = ("member_no", "version", "family_name", "given_name", "family_name_latin", "given_name_latin",
                "sex", "date_of_birth", "village_code", "commune_code", "national_id_masked", "dependents",
                "office_commune", "registered_on", "card")
DEPENDENT_FIELDS = ("family_name", "given_name", "family_name_latin", "given_name_latin", "relationship", "sex",
                    "date_of_birth", "disability_or_chronic_illness")
_MEMBER_NO = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,15}[0-9]{4,12}$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_CODE = re.compile(r"^[0-9]{2,8}$")
_SIG = re.compile(r"^[A-Za-z0-9_-]{40,200}$")
MAX_TEXT = 200
MAX_DEPENDENTS = 20


def mask_national_id(nid) -> str | None:
    """``123456789`` -> ``******789``; None when there is none."""
    if not isinstance(nid, str) or len(nid) < 4:
        return None
    return "*" * (len(nid) - 3) + nid[-3:]


def _pick(source: dict, fields: tuple) -> dict:
    return {k: source[k] for k in fields if source.get(k) not in (None, "")}


def lookup_entry(record: dict, member_no: str, version: int, *, office_commune: str | None = None,
                 registered_on: str | None = None, card: dict | None = None) -> dict:
    """The lookup entry of a member whose current version is the clean enrollment record ``record``."""
    entry = _pick(record, ("family_name", "given_name", "family_name_latin", "given_name_latin", "sex",
                           "date_of_birth", "village_code", "commune_code"))
    entry.update(member_no=member_no, version=int(version))
    masked = mask_national_id(record.get("national_id"))
    if masked:
        entry["national_id_masked"] = masked
    entry["dependents"] = [_pick(d, DEPENDENT_FIELDS) for d in record.get("dependents") or () if isinstance(d, dict)]
    if office_commune:
        entry["office_commune"] = office_commune
    if registered_on:
        entry["registered_on"] = registered_on
    if card:
        entry["card"] = {"issued_at": card["issued_at"], "sig": card["sig"]}
    return entry


def match_keys(record: dict) -> dict[str, str]:
    """The keys two enrollments of one person share (absent keys left out): ``national_id``; ``name`` (the
    normalised Khmer name + birth date + commune); ``phonetic`` (the phonetic key of the Khmer name + birth date +
    commune: ដារ៉ា and ដារា agree); ``latin`` (the normalised Latin name + birth date + commune)."""
    keys = duplicate_keys(record)
    born, commune = keys["date_of_birth"], keys["commune_code"]
    out = {}
    if keys.get("national_id"):
        out["national_id"] = keys["national_id"]
    if born and commune:
        if keys["name_key"].strip("|"):
            out["name"] = f"{keys['name_key']}|{born}|{commune}"
        phonetic = phonetic_name_key(record.get("family_name"), record.get("given_name"))
        if phonetic:
            out["phonetic"] = f"{phonetic}|{born}|{commune}"
        latin = " ".join(filter(None, [record.get("family_name_latin"), record.get("given_name_latin")]))
        if latin and match_key(latin):
            out["latin"] = f"{match_key(latin)}|{born}|{commune}"
    return out


def _text_ok(value, required: bool = False) -> bool:
    if value is None:
        return not required
    return isinstance(value, str) and 0 < len(value) <= MAX_TEXT and value.isprintable()


def _person_ok(item: dict, fields: tuple, required: tuple) -> bool:
    if not isinstance(item, dict) or set(item) - set(fields):
        return False
    for key in fields:
        value = item.get(key)
        if key == "disability_or_chronic_illness":
            if value is not None and not isinstance(value, bool):
                return False
        elif key == "date_of_birth":
            if value is not None and not (isinstance(value, str) and _DATE.match(value)):
                return False
        elif not _text_ok(value, key in required):
            return False
    return True


def check_entry(entry) -> dict | None:
    """``entry`` if it is a well-formed lookup entry (types, sizes, codes), else None. Never raises."""
    try:
        if not isinstance(entry, dict) or set(entry) - set(ENTRY_FIELDS):
            return None
        if not (isinstance(entry.get("member_no"), str) and _MEMBER_NO.match(entry["member_no"])):
            return None
        version = entry.get("version")
        if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= 1_000_000:
            return None
        person = {k: entry.get(k) for k in ("family_name", "given_name", "family_name_latin", "given_name_latin",
                                             "sex", "date_of_birth") if entry.get(k) is not None}
        if not _person_ok(person, DEPENDENT_FIELDS, ("family_name", "given_name")):
            return None
        for key in ("village_code", "commune_code", "office_commune"):
            if entry.get(key) is not None and not (isinstance(entry[key], str) and _CODE.match(entry[key])):
                return None
        for key in ("national_id_masked", "registered_on"):
            if not _text_ok(entry.get(key)):
                return None
        deps = entry.get("dependents", [])
        if not isinstance(deps, list) or len(deps) > MAX_DEPENDENTS:
            return None
        if not all(_person_ok(d, DEPENDENT_FIELDS, ("family_name", "given_name")) for d in deps):
            return None
        card = entry.get("card")
        if card is not None and not (isinstance(card, dict) and set(card) == {"issued_at", "sig"}
                                     and _text_ok(card["issued_at"]) and isinstance(card["sig"], str)
                                     and _SIG.match(card["sig"])):
            return None
        return entry
    except Exception:  # noqa: BLE001 - hostile input must never raise
        return None


__all__ = ["ENTRY_FIELDS", "check_entry", "lookup_entry", "mask_national_id", "match_keys"]
