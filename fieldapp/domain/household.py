"""A household as the review preview shows it: everyone in a record, the address, the consent.

Pure functions over a record's ``data`` (clean, or a draft with any shape: they never raise): the member first,
then each dependent, each with their age today and what the coverage rule says about them (a spouse is at least
15; a child is under 18, with no age limit for a child with a disability or chronic illness: Sub-Decree 280).
The address is the village with its commune, district and province (``geo.address_of``).
"""

from __future__ import annotations

from datetime import date

from fieldapp.domain import geo
from fieldapp.domain.dates import age, parse_date

MEMBER = "member"
ROLES = (MEMBER, "spouse", "child")
CHILD_AGE_LIMIT = 18
SPOUSE_MIN_AGE = 15
#: What the rule says about one person (``person["rule"]``).
RULE_OK, RULE_ILLNESS, RULE_OVER_AGE, RULE_UNDER_AGE = "ok", "illness", "over_age", "under_age"


def _text(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def _name(item: dict, family: str, given: str) -> str:
    return " ".join(part for part in (_text(item.get(family)), _text(item.get(given))) if part)


def person(item, role: str, today: date) -> dict:
    """One person of the household: names, sex code, birth date (ISO text or ""), age (or None), illness flag
    (None for the member, who is not asked), and ``rule`` (``RULE_*``)."""
    item = item if isinstance(item, dict) else {}
    born = parse_date(item.get("date_of_birth"))
    years = age(born, today) if born is not None and born <= today else None
    illness = None if role == MEMBER else item.get("disability_or_chronic_illness") is True
    rule = RULE_OK
    if role == "child" and years is not None and years >= CHILD_AGE_LIMIT:
        rule = RULE_ILLNESS if illness else RULE_OVER_AGE
    elif role == "spouse" and years is not None and years < SPOUSE_MIN_AGE:
        rule = RULE_UNDER_AGE
    return {"role": role, "name": _name(item, "family_name", "given_name"),
            "name_latin": _name(item, "family_name_latin", "given_name_latin"),
            "sex": _text(item.get("sex")).lower(), "date_of_birth": born.isoformat() if born else "",
            "age": years, "illness": illness, "rule": rule}


def people(data, today: date) -> list[dict]:
    """The member, then every dependent in the order entered (a dependent's role is its relationship code, or ""
    when a draft has none yet)."""
    data = data if isinstance(data, dict) else {}
    dependents = data.get("dependents") if isinstance(data.get("dependents"), list) else []
    out = [person(data, MEMBER, today)]
    for dep in dependents:
        relationship = _text(dep.get("relationship")).lower() if isinstance(dep, dict) else ""
        out.append(person(dep, relationship if relationship in ROLES[1:] else "", today))
    return out


def address(data) -> dict | None:
    """The village and its ancestors (``geo.address_of``: codes, Khmer and Latin names), or None when the record
    has no known village."""
    code = data.get("village_code") if isinstance(data, dict) else None
    if not isinstance(code, str) or not code.strip():
        return None
    try:
        return geo.address_of(code.strip())
    except (ValueError, TypeError):
        return None


def address_parts(found: dict | None, lang: str) -> list[str]:
    """[village, commune, district, province] names in ``lang`` (Khmer, or Latin letters otherwise; the other
    script when a name is missing in this one)."""
    if not found:
        return []
    first, second = ("km", "latin") if lang == "km" else ("latin", "km")
    return [found.get(f"{level}_name_{first}") or found.get(f"{level}_name_{second}") or found.get(f"{level}_code", "")
            for level in ("village", "commune", "district", "province")]


def address_text(found: dict | None, lang: str) -> str:
    """"Village — Commune, District, Province" in ``lang``; "" when unknown."""
    parts = address_parts(found, lang)
    return f"{parts[0]} \u2014 {', '.join(parts[1:])}" if parts else ""


def consent(data) -> dict:
    """``given`` (bool), ``method`` (code or ""), ``recorded_at`` (ISO text or "")."""
    found = data.get("consent") if isinstance(data, dict) and isinstance(data.get("consent"), dict) else {}
    return {"given": found.get("given") is True, "method": _text(found.get("method")).lower(),
            "recorded_at": _text(found.get("recorded_at"))}


__all__ = ["MEMBER", "ROLES", "RULE_ILLNESS", "RULE_OK", "RULE_OVER_AGE", "RULE_UNDER_AGE", "address",
           "address_parts", "address_text", "consent", "people", "person"]
