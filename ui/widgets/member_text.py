"""How a looked-up (registered) member and an update read on screen, in the reader's language.

A member comes from ``fieldapp.store.members`` (a lookup entry: ``fieldapp.domain.member.lookup_entry``) or from a
local registered record; an update's summary from ``fieldapp.domain.update.summary`` (through
``fieldapp.store.updates.preview``). Pure formatting: no rule and no I/O here.
"""

from __future__ import annotations

from fieldapp.domain import geo
from fieldapp.domain.occupations import choice_label
from ui.qt import QLabel, Qt
from ui.widgets.household_view import numeric_date

DASH = "\u2014"


def flat(item) -> dict:
    """A search hit or a ``members.get`` answer as one dict: the entry's fields with ``member_no``/``version``."""
    if not isinstance(item, dict):
        return {}
    if isinstance(item.get("entry"), dict):
        return dict(item["entry"], **{k: v for k, v in item.items() if k != "entry"})
    return dict(item)


def name_of(person: dict, latin: bool = False) -> str:
    keys = ("family_name_latin", "given_name_latin") if latin else ("family_name", "given_name")
    return " ".join(str(person[k]) for k in keys if isinstance(person.get(k), str) and person[k])


def both_names(person: dict) -> str:
    return " \u00b7 ".join(t for t in (name_of(person), name_of(person, latin=True)) if t)


def village_text(code, lang: str) -> str:
    """"Village — Commune, District, Province" in ``lang`` ("" when unknown)."""
    if not isinstance(code, str) or not code:
        return ""
    try:
        return geo.address_line(code, lang)
    except (ValueError, TypeError):
        return code


def office_text(code, lang: str) -> str:
    """"Commune, District, Province" of an office's commune code, in ``lang`` (the code itself when unknown)."""
    if not isinstance(code, str) or not code:
        return ""
    names = []
    for size in (6, 4, 2):  # commune, district, province
        try:
            unit = geo.unit(code[:size]) if len(code) >= size else None
        except (ValueError, TypeError):
            unit = None
        if unit is not None:
            names.append(unit.name_kh if lang == "km" else unit.name_en)
    return ", ".join(names) or code


def born_text(ctx, person: dict) -> str:
    return numeric_date(ctx, str(person.get("date_of_birth") or "")) or DASH


def registered_title(ctx, cand: dict) -> str:
    """"Already registered: member no. KH-REG-000123, at <commune>, <district>, <province> office"."""
    office = office_text(cand.get("office_commune") or (cand.get("entry") or {}).get("office_commune"), ctx.lang)
    if office:
        return ctx.tr("forms.member.already_registered", member_no=cand.get("member_no") or "", office=office)
    return ctx.tr("forms.member.already_registered_no_office", member_no=cand.get("member_no") or "")


def registered_rows(ctx, cand: dict) -> list[tuple[str, str]]:
    """(label, value) lines under a registered candidate: names, birth date, village."""
    entry = flat(cand.get("entry") or {})
    if not entry:
        return []
    return [(ctx.tr("forms.member.col.name"), name_of(entry) or DASH),
            (ctx.tr("forms.member.col.name_latin"), name_of(entry, latin=True) or DASH),
            (ctx.tr("forms.member.col.born"), born_text(ctx, entry)),
            (ctx.tr("forms.member.col.village"), village_text(entry.get("village_code"), ctx.lang) or DASH)]


def _person_short(ctx, person: dict) -> str:
    role = choice_label("relationship", person["relationship"], ctx.lang) if person.get("relationship") else ""
    born = numeric_date(ctx, str(person.get("date_of_birth") or ""))
    extra = ", ".join(t for t in (role, ctx.tr("forms.update.born", date=born) if born else "") if t)
    return f"{both_names(person) or DASH}" + (f" ({extra})" if extra else "")


def _who(ctx, index, before: dict) -> str:
    if index == "member":
        return ctx.tr("forms.update.who_member", name=name_of(before) or DASH)
    deps = before.get("dependents") or []
    if isinstance(index, int) and 0 <= index < len(deps) and isinstance(deps[index], dict):
        return both_names(deps[index]) or DASH
    return ctx.tr("forms.update.who_dependent", number=ctx.format_number((index or 0) + 1))


def summary_line(ctx, item: dict, before: dict | None) -> str:
    """One line of an update's summary: what changes, with its reason."""
    before = before or {}
    what, value = item.get("what"), item.get("value")
    reason = ctx.tr(f"forms.update.reason.{item['reason']}") if item.get("reason") else ""
    if what == "add_dependent":
        return ctx.tr("forms.update.line.add", person=_person_short(ctx, value or {}), reason=reason)
    if what == "remove_dependent":
        return ctx.tr("forms.update.line.remove", person=_who(ctx, item.get("index"), before), reason=reason)
    if what == "correct_name":
        return ctx.tr("forms.update.line.correct", person=_who(ctx, item.get("index"), before),
                      name=both_names(value or {}) or DASH)
    if what == "phone":
        return ctx.tr("forms.update.line.phone", value=ctx.format_number(str(value)))
    if what == "village_code":
        return ctx.tr("forms.update.line.village", value=village_text(value, ctx.lang) or str(value))
    if what == "occupation":
        return ctx.tr("forms.update.line.occupation", value=choice_label("occupation", str(value), ctx.lang))
    if what == "occupation_other":
        return ctx.tr("forms.update.line.occupation_other", value=str(value))
    return str(what)


#: What the before/after table compares, in order.
COMPARED = ("name", "name_latin", "phone", "village_code", "occupation", "dependents")


def compare_value(ctx, record: dict | None, key: str) -> str:
    record = record or {}
    if key == "name":
        return name_of(record) or DASH
    if key == "name_latin":
        return name_of(record, latin=True) or DASH
    if key == "phone":
        return ctx.format_number(str(record["phone"])) if record.get("phone") else DASH
    if key == "village_code":
        return village_text(record.get("village_code"), ctx.lang) or DASH
    if key == "occupation":
        if not record.get("occupation"):
            return DASH
        text = choice_label("occupation", str(record["occupation"]), ctx.lang)
        return f"{text}: {record['occupation_other']}" if record.get("occupation_other") else text
    deps = [d for d in record.get("dependents") or [] if isinstance(d, dict)]
    return "\n".join(_person_short(ctx, d) for d in deps) or ctx.tr("forms.update.no_dependents")


def before_after(ctx, before: dict | None, after: dict | None) -> list[tuple[str, str, str]]:
    """(what, before, after) for each compared part that differs (every part when there is no after)."""
    rows = []
    for key in COMPARED:
        old, new = compare_value(ctx, before, key), compare_value(ctx, after, key) if after else DASH
        if after is None or old != new:
            rows.append((ctx.tr(f"forms.update.part.{key}"), old, new))
    return rows


def problem_lines(ctx, problems) -> list[str]:
    """Problems (``Problem`` objects or their dicts), one translated line each."""
    out = []
    for p in problems or ():
        if hasattr(p, "message"):
            out.append(p.message(ctx.lang))
        elif isinstance(p, dict):
            out.append(p.get(f"message_{ctx.lang}") or p.get("message_en") or ctx.tr("ui.error.unexpected"))
    return list(dict.fromkeys(out))


__all__ = ["before_after", "both_names", "flat", "name_of", "office_text", "problem_lines", "registered_rows",
           "registered_title", "summary_line", "village_text"]


def text_label(parent, name: str = "", data: bool = False):
    """A wrapped, selectable plain-text label; ``data`` marks text that is the person's (not to be translated)."""
    label = QLabel(parent, objectName=name, wordWrap=True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if data:
        label.setProperty("i18n_exempt", True)
    return label
