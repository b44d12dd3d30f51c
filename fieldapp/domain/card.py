"""What a membership card says, built the same way by the registry and by the laptop.

The registry signs a card's claims (``fieldapp.outbound.credential``) and sends back only the signature and the
issue time in its signed status answer (protocol 3): no personal data travels back or sits in ``spool.db``. The
laptop builds the same claims from the record it holds (the very record it sealed) and puts the signature beside
them. The two sides agree byte for byte only when the record is the one the registry registered, so a laptop cannot
make a card for a record it changed.

Pure functions over a clean record (``validation.validate_record``'s output); they never read a clock.
"""

from __future__ import annotations

#: The scheme code printed on cards (the scheme facts document names it in each language).
SCHEME_CODE = "nssf-vhs"
#: The version of a member's record a card is issued for (updates after registration bump it).
FIRST_VERSION = 1
_SEX = {"male": "M", "female": "F"}


def _text(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def _full(item: dict, family: str, given: str) -> str:
    return " ".join(p for p in (_text(item.get(family)), _text(item.get(given))) if p)


def _dependent(dep: dict) -> dict:
    return {"name": _full(dep, "family_name", "given_name"),
            "name_latin": _full(dep, "family_name_latin", "given_name_latin") or None,
            "date_of_birth": _text(dep.get("date_of_birth")), "sex": _SEX.get(_text(dep.get("sex")).lower(), "X"),
            "relationship": _text(dep.get("relationship")).lower()}


def card_claims(record: dict, member_no: str, issued_at: str, version: int = FIRST_VERSION) -> dict:
    """The claims of ``record``'s card: the member number, the names (family name first), birth date, sex, the
    scheme and every dependent the record covers (validation already applied the coverage rule), in record order.
    ``issued_at`` is the registry's ``YYYY-MM-DDTHH:MM:SSZ``."""
    claims = {"member_no": member_no, "version": int(version),
              "full_name": _full(record, "family_name", "given_name"),
              "family_name": _text(record.get("family_name")), "given_name": _text(record.get("given_name")),
              "date_of_birth": _text(record.get("date_of_birth")),
              "sex": _SEX.get(_text(record.get("sex")).lower(), "X"), "scheme": SCHEME_CODE,
              "dependents": [_dependent(d) for d in record.get("dependents") or () if isinstance(d, dict)],
              "issued_at": issued_at}
    latin = _full(record, "family_name_latin", "given_name_latin")
    if latin:
        claims["full_name_latin"] = latin
    return claims


__all__ = ["FIRST_VERSION", "SCHEME_CODE", "card_claims"]
