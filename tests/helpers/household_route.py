"""The shortest keyboard route through the enrollment form for one household, as the keys a person presses.

``route(record, lang)`` returns the steps from the form's first field (the focus is there after Ctrl+2, New or a
submit) to Submit, as ``("type", text)`` (each character one keystroke, as ``xdotool type`` sends them) and
``("key", name)`` (one key or chord, in ``xdotool key`` names: ``Tab``, ``space``, ``Down``, ``ctrl+shift+s``,
``ctrl+Return``). ``count(steps)`` is the number of keystrokes. The same steps drive qtbot (``tests/ui/
test_ui_household_route.py``) and the real window under Xvfb (xdotool).

The route, field by field (what a trained worker does):

* the member: family name (Khmer) Tab, given name (Khmer) Tab, family name (Latin) Tab, given name (Latin) Tab,
  sex (its first letter(s)) Tab, date of birth (``DDMMYYYY``) Tab, national ID Tab, phone Tab. A Latin name the
  form suggests (``fieldapp.domain.romanize``; written in and selected when Tab reaches the field) is kept with
  the Tab alone; another one is typed over it.
* the address: Tab through province, district and commune (left empty: the village fills them), then the fewest
  letters of the village's name after which it is the only match (then Tab takes it), or after which Down moves
  to it in the list (then Tab takes the highlighted line).
* occupation: the fewest first letters of its label that select it (a combo box's type-ahead), Tab; employment
  status: left at its default (self-employed) unless the record says otherwise.
* each dependent: Ctrl+Shift+S (a spouse) or Ctrl+Shift+C (a child) adds a panel with the relationship chosen and
  the focus in its family name; family name Tab given name Tab, Latin names as above, sex Tab (a spouse's starts
  at the other sex than the member's: Tab alone), date of birth. The illness question, when shown, is one more
  Tab (Space when ticked).
* consent: Tab to *Add child* (*Add spouse* is hidden once there is a spouse), Tab to the consent box, Space, Tab,
  the method's first letter(s); the date it was recorded stays today's. The optional extras (IDPoor household,
  disability card, notes) come after consent: Tab Tab ... only when the record has them.
* Ctrl+Enter submits.
"""

from __future__ import annotations

from datetime import date

from fieldapp.base import i18n
from fieldapp.domain import geo
from fieldapp.domain.entry import illness_question_needed, spouse_sex
from fieldapp.domain.occupations import choices
from fieldapp.domain.romanize import suggest_latin

TAB = ("key", "Tab")
ADD = {"spouse": "ctrl+shift+s", "child": "ctrl+shift+c"}
DEFAULT_EMPLOYMENT = "self_employed"


def count(steps) -> int:
    return sum(len(text) if kind == "type" else 1 for kind, text in steps)


def _digits(text: str, khmer: bool) -> str:
    return i18n.to_khmer_digits(text) if khmer else text


def _date_keys(iso: str, khmer: bool) -> str:
    day = date.fromisoformat(iso)
    return _digits(f"{day.day:02d}{day.month:02d}{day.year:04d}", khmer)


def combo_keys(kind: str, code: str | None, lang: str, start: int = 0) -> str:
    """The fewest first letters of ``code``'s label that a closed combo box's type-ahead selects it with
    (``QAbstractItemView.keyboardSearch``: the first letter searches from the row after the current one, each
    further letter from the current row, case ignored, wrapping round)."""
    labels = [i18n.tr("forms.choose", lang)] + [label for _c, label in choices(kind, lang)]
    codes = [None] + [c for c, _l in choices(kind, lang)]
    target = codes.index(code)
    if target == start:
        return ""
    wanted = labels[target]
    for length in range(1, len(wanted) + 1):
        current = start
        for typed in range(1, length + 1):
            prefix = wanted[:typed].casefold()
            same_key = typed > 1 and len(set(prefix)) == 1
            first = current + 1 if typed == 1 or same_key else current
            for step in range(len(labels)):
                row = (first + step) % len(labels)
                if labels[row].casefold().startswith(prefix):
                    current = row
                    break
        if current == target:
            return wanted[:length].lower()  # type-ahead ignores case: no Shift needed
    raise AssertionError(f"no type-ahead reaches {code!r}")


def village_steps(code: str, lang: str, area: str | None = None) -> list:
    """Letters of the village's name, then Down to it in the list if needed, then Tab (which takes it)."""
    unit = geo.unit(code)
    name = unit.name_km if lang == "km" or not unit.name_latin else unit.name_latin
    best = None
    for length in range(1, len(name) + 1):
        found = [c.code for c in geo.find(name[:length], "village", area, limit=50).candidates]
        if code not in found:
            continue
        steps = [("type", name[:length])] + ([] if found == [code] else [("key", "Down")] * (found.index(code) + 1))
        if best is None or count(steps) < count(best):
            best = steps
        if found == [code]:
            break
    assert best is not None, code
    return best + [TAB]


def _names(person: dict, khmer_digits: bool) -> list:
    steps = []
    for key in ("family_name", "given_name"):
        steps += [("type", person[key]), TAB]
    for key in ("family_name", "given_name"):
        wanted = person.get(f"{key}_latin") or ""
        offered = suggest_latin(person[key], key) or ""
        if wanted != offered:
            steps.append(("type", wanted) if wanted else ("key", "BackSpace"))
        steps.append(TAB)
    return steps


def route(record: dict, lang: str = "en", khmer_digits: bool | None = None, today: date | None = None) -> list:
    """Every key, from the first field to Submit, for ``record`` (a synthetic record: JSON form)."""
    khmer = lang == "km" if khmer_digits is None else khmer_digits
    today = today or date.today()
    steps = _names(record, khmer)
    sex = combo_keys("sex", record["sex"], lang)
    steps += [("type", sex), TAB, ("type", _date_keys(record["date_of_birth"], khmer)), TAB]
    for key in ("national_id", "phone"):
        if record.get(key):
            steps.append(("type", _digits(record[key], khmer)))
        steps.append(TAB)
    steps += [TAB, TAB, TAB]  # province, district, commune: the village fills them
    steps += village_steps(record["village_code"], lang)
    steps += [("type", combo_keys("occupation", record["occupation"], lang)), TAB]
    status = record.get("employment_status") or DEFAULT_EMPLOYMENT
    if status != DEFAULT_EMPLOYMENT:
        steps.append(("type", combo_keys("employment_status", status, lang,
                                         start=[c for c, _l in choices("employment_status", lang)].index(
                                             DEFAULT_EMPLOYMENT) + 1)))
    last_illness = None
    for dep in record.get("dependents") or []:
        steps.append(("key", ADD[dep["relationship"]]))
        steps += _names(dep, khmer)
        default = spouse_sex(record["sex"]) if dep["relationship"] == "spouse" else None
        keys = combo_keys("sex", dep["sex"], lang, start=[None, "female", "male"].index(default))
        if keys:
            steps.append(("type", keys))
        steps += [TAB, ("type", _date_keys(dep["date_of_birth"], khmer))]
        last_illness = illness_question_needed(dep["relationship"], dep["date_of_birth"], today)
        if last_illness:
            steps.append(TAB)
            if dep.get("disability_or_chronic_illness"):
                steps.append(("key", "space"))
    # from the last field of the household (or employment status) to the consent box
    if record.get("dependents"):
        steps += [TAB, TAB]                      # Add child (Add spouse is hidden once there is one), consent
    else:
        steps += [TAB, TAB, TAB]                 # Add spouse, Add child, consent
    consent = record["consent"]
    steps += [("key", "space"), TAB, ("type", combo_keys("consent_method", consent["method"], lang))]
    extras = [record.get("idpoor_household_id"), record.get("disability_id")]
    while extras and not extras[-1]:
        extras.pop()
    if extras:
        steps.append(TAB)                        # the date consent was recorded: today's, kept
        for value in extras:
            steps.append(TAB)
            if value:
                steps.append(("type", _digits(value, khmer)))
    steps.append(("key", "ctrl+Return"))
    return steps


def typed_text(steps) -> str:
    return "".join(text for kind, text in steps if kind == "type")
