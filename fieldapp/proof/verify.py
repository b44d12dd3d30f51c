"""``fieldapp verify-card``: a card's or slip's QR text checked with the keys this laptop trusts, in words."""

from __future__ import annotations

from fieldapp.base.i18n import format_number, to_khmer_digits, tr, get_language
from fieldapp.outbound import identity, verify_qr
from fieldapp.store.database import Session

_REFUSED = {"bad_signature": "bad_signature", "not_a_credential": "not_a_credential", "unknown_device": "unknown_device",
            "no_key": "no_key"}


def keys_of_session(session: Session) -> tuple[bytes | None, dict]:
    """The registry signing key the store holds, and this laptop's own device key by device ID."""
    dev = identity.trusted_device(session)
    if dev is None:
        return None, {}
    return dev.sign_public_raw, {dev.device_id: dev.public_raw}


def _lines(kind: str, claims: dict, lang: str) -> list[tuple[str, str]]:
    km = (lambda s: to_khmer_digits(s)) if lang == "km" else (lambda s: s)
    if kind == "slip":
        return [(tr("proof.slip.reference", lang), claims["reference"]),
                (tr("proof.field.date", lang), km(claims["enrolled_on"])),
                (tr("proof.slip.household", lang), format_number(claims["household_size"], lang))]
    lines = [(tr("proof.field.member_no", lang), claims["member_no"]),
             (tr("proof.col.name", lang), claims["full_name"] + (f" ({claims['full_name_latin']})"
                                                                  if claims.get("full_name_latin") else "")),
             (tr("proof.card.born", lang), km(claims["date_of_birth"]))]
    for dep in claims.get("dependents", []):
        lines.append((tr("proof.card.covered", lang), f"{dep['name']} ({tr('relationship.' + dep['relationship'], lang)}"
                                                      f", {km(dep['date_of_birth'])})"))
    return lines


def verify_text(text: str, registry_key: bytes | None, devices: dict, lang: str | None = None) -> dict:
    """The check's outcome with a translated one-line ``message`` and, when valid, the fields as ``lines``."""
    lang = lang or get_language()
    found = verify_qr.check(text, registry_key, devices.get)
    if found["valid"]:
        kind = found["kind"]
        message = (tr("proof.verify.card_ok", lang) if kind == "card"
                   else tr("proof.verify.slip_ok", lang, device=found["claims"]["device_id"][:8]))
        return {**found, "message": message, "lines": _lines(kind, found["claims"], lang)}
    reason = found["reason"]
    msg = ("proof.verify.no_key" if reason == "no_key" else
           f"proof.verify.refused.{_REFUSED.get(reason, 'damaged')}")
    return {**found, "message": tr(msg, lang)}
