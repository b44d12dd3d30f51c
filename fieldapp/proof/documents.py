"""The acknowledgement slip and the membership card as document models: plain dicts, already in the person's
language, that ``ui.printing`` lays out and draws (and a test can read without Qt).

- **Slip** (any submitted record, from submission on): the enrollment reference with its check symbol, the date,
  the office, the enrolling worker, the household, the consent method, what happens next and how to follow up, the
  scheme facts, and a QR code signed by this laptop's device key (``credential.issue_slip``: the reference, record ID,
  device, date, commune and household size; no names).
- **Card** (a registered record with the registry's card signature): the member number, names, birth date, sex, the
  scheme, the dependents covered, and the QR code holding the registry-signed credential, rebuilt here from the
  record and checked against the registry key the store holds before anything is printed.

Nothing is written to disk here; the caller renders to the printer or to a file the user chose.
"""

from __future__ import annotations

import json
from datetime import date, datetime

from fieldapp.base.encoding import b64url_decode
from fieldapp.base.errors import FieldappError
from fieldapp.base.i18n import format_number, format_timestamp, to_khmer_digits, tr
from fieldapp.domain import household
from fieldapp.domain.card import FIRST_VERSION, card_claims
from fieldapp.domain.states import State
from fieldapp.outbound import credential, identity, wire
from fieldapp.proof import facts
from fieldapp.store import records
from fieldapp.store.database import Session

SLIPPABLE = tuple(s.value for s in State if s not in (State.DRAFT,))


def _digits(text: str, lang: str) -> str:
    return to_khmer_digits(text) if lang == "km" else text


def _date(iso: str, lang: str) -> str:
    return _digits(iso[:10], lang) if iso else ""


def _full_name(session: Session, user: str) -> str:
    row = session.conn.execute("SELECT full_name FROM users WHERE name = ?", (user,)).fetchone()
    return (row[0] if row and row[0] else user)


def _relationship(role: str, lang: str) -> str:
    if role == household.MEMBER:
        return tr("proof.role.member", lang)
    return tr(f"relationship.{role}", lang) if role in ("spouse", "child") else ""


def _person_name(p: dict) -> str:
    return p["name"] + (f" ({p['name_latin']})" if p["name_latin"] else "")


def _today(record: dict) -> date:
    """The day ages are counted on: the day the record was submitted (the slip reprints the same)."""
    when = record.get("submitted_at") or record.get("created_at")
    return datetime.fromisoformat(when).astimezone().date()


def _office(data: dict, lang: str) -> str:
    found = household.address(data)
    parts = household.address_parts(found, lang)
    return ", ".join(parts[1:]) if parts else ""


def slip_document(session: Session, record_id: str, lang: str, printed_at: str) -> dict:
    """The slip of ``record_id`` (a submitted record, in any later state) in ``lang``."""
    record = records.get(session, record_id)
    if record["state"] not in SLIPPABLE:
        raise FieldappError("proof.error.not_submitted")
    data, doc = record["data"], facts.current(session.conn)
    words = facts.texts(doc, lang)
    reference = credential.reference(record_id)
    submitted = record.get("submitted_at") or record["created_at"]
    people = household.people(data, _today(record))
    consent = household.consent(data)
    dev = identity.trusted_device(session)
    qr, caption = "", tr("proof.slip.unsigned", lang)
    if dev is not None:
        qr = credential.issue_slip({"reference": reference, "record_id": record_id, "device_id": dev.device_id,
                                    "enrolled_on": submitted[:10], "household_size": len(people),
                                    "commune_code": str(data.get("commune_code") or "")}, dev.private_raw)
        caption = tr("proof.slip.signed_by", lang, device=dev.device_id[:8])
    fields = [[tr("proof.field.date", lang), format_timestamp(submitted, lang)],
              [tr("proof.field.office", lang), _office(data, lang)],
              [tr("proof.field.enrolled_by", lang), _full_name(session, record["created_by"])],
              [tr("proof.field.consent", lang),
               tr(f"consent_method.{consent['method']}", lang) if consent["method"] else ""]]
    if record.get("member_no"):
        fields.append([tr("proof.field.member_no", lang), record["member_no"]])
    return {"kind": "slip", "lang": lang, "title": tr("proof.slip.title", lang),
            "subtitle": f"{words.get('issuer', '')} \u2014 {words.get('scheme_name', '')}",
            "reference_label": tr("proof.slip.reference", lang), "reference": reference,
            "fields": fields, "household_title": tr("proof.slip.household", lang),
            "household_header": [tr("proof.col.name", lang), tr("proof.col.relationship", lang),
                                 tr("proof.col.age", lang)],
            "household": [[_person_name(p), _relationship(p["role"], lang),
                           format_number(p["age"], lang) if p["age"] is not None else ""] for p in people],
            "sections": [{"title": tr("proof.slip.next", lang), "lines": list(words.get("next_steps", []))},
                         {"title": tr("proof.slip.follow_up", lang),
                          "lines": list(words.get("follow_up", [])) + _hotline(doc, lang)},
                         {"title": tr("proof.slip.scheme", lang), "lines": _scheme_lines(words)}],
            "qr": qr, "qr_caption": caption,
            "footer": tr("proof.footer", lang, version=format_number(doc.get("version", 0), lang),
                         printed=format_timestamp(printed_at, lang))}


def _hotline(doc: dict, lang: str) -> list[str]:
    return [tr("proof.hotline", lang, number=_digits(doc["hotline"], lang))] if doc.get("hotline") else []


def _scheme_lines(words: dict) -> list[str]:
    return [line for line in (words.get("contribution"), words.get("channels"), words.get("abandon_rule")) if line]


def card_source(session: Session, record: dict) -> tuple[dict, str | None, dict | None, int, bool]:
    """What a registered ``record``'s card is made of: ``(data, member_no, card, version, urlsafe)``. The member's
    current version when the lookup holds a newer one than the record (an update applied since), or the record is
    an update (its member's card is the one to print); else the record itself and the card kept with it."""
    from fieldapp.store import members

    member_no = record.get("member_no")
    entry = members.get(session, member_no) if isinstance(member_no, str) else None
    if entry and entry.get("card") and (entry.get("version", 1) > FIRST_VERSION or record.get("kind") == "update"):
        return entry, member_no, entry["card"], entry["version"], True
    raw = session.conn.execute("SELECT card FROM records WHERE id = ?", (record["id"],)).fetchone()
    card = json.loads(raw[0]) if raw and raw[0] else None
    return record["data"], member_no, card, FIRST_VERSION, False


def card_text(session: Session, record: dict) -> str:
    """The card's QR text for a registered ``record`` (``records.get``), checked against the registry key the store
    holds: ``FieldappError("proof.error.no_card")`` when there is no card yet or it does not verify."""
    dev = identity.trusted_device(session)
    try:
        data, member_no, card, version, urlsafe = card_source(session, record)
        if dev is None or not member_no or not card:
            raise FieldappError("proof.error.no_card")
        claims = card_claims(data, member_no, card["issued_at"], version=version)
        sig = b64url_decode(card["sig"]) if urlsafe else wire.b64d(card["sig"])
        text = credential.card_with_signature(claims, sig, dev.sign_public_raw)
        credential.verify_card(text, dev.sign_public_raw)
    except (ValueError, KeyError, TypeError, RecursionError, wire.WireError, credential.CredentialError):
        raise FieldappError("proof.error.no_card") from None
    return text


def card_document(session: Session, record_id: str, lang: str) -> dict:
    """The membership card of a registered record in ``lang``."""
    record = records.get(session, record_id)
    text = card_text(session, record)
    data, doc = card_source(session, record)[0], facts.current(session.conn)
    words = facts.texts(doc, lang)
    member = household.person(data, household.MEMBER, _today(record))
    sex = tr(f"sex.{member['sex']}", lang) if member["sex"] else ""
    dependents = [f"{p['name']} ({_relationship(p['role'], lang)}, {_date(p['date_of_birth'], lang)})"
                  for p in household.people(data, _today(record))[1:]]
    return {"kind": "card", "lang": lang, "title": words.get("scheme_name", ""), "issuer": words.get("issuer", ""),
            "member_no_label": tr("proof.field.member_no", lang), "member_no": record["member_no"],
            "name": member["name"], "name_latin": member["name_latin"].upper(),
            "fields": [[tr("proof.card.born", lang), _date(member["date_of_birth"], lang)],
                       [tr("proof.card.sex", lang), sex]],
            "dependents_title": tr("proof.card.covered", lang), "dependents": dependents,
            "qr": text, "footer": " \u00b7 ".join(x for x in (words.get("contribution", ""),
                                                               *_hotline(doc, lang)) if x)}


def registered_on(session: Session, day: str) -> list[str]:
    """IDs of the records this user may see that became registered (with a card) on ``day`` (YYYY-MM-DD, local
    time), oldest first: the day's batch of cards."""
    rows = session.conn.execute(
        "SELECT a.record_id FROM audit a JOIN records r ON r.id = a.record_id WHERE a.event = 'record.registered' "
        "AND date(a.ts, 'localtime') = ? AND r.card IS NOT NULL" + ("" if session.is_supervisor else
                                                                     " AND r.created_by = ?") + " ORDER BY a.seq",
        (day,) if session.is_supervisor else (day, session.name)).fetchall()
    return list(dict.fromkeys(r[0] for r in rows))
