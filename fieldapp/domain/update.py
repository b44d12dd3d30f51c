"""Updates after registration (change requests): what one may say, how it is checked, how it applies.

An update is a record of its own kind (``"kind": "update"``) with the same life as an enrollment (drafted,
submitted, reviewed, sealed, synced exactly once). It names the member (``member_no``) and the version of the
member it was based on (``base_version``); the registry applies it only to that version, else refuses it as
``stale_version`` (docs/protocol.md section 15). What it may change:

- ``add_dependents``: dependents (the enrollment's dependent fields) each with a ``reason``: ``birth`` or
  ``marriage``;
- ``remove_dependents``: ``{"index": i, "reason": r}``, ``i`` the dependent's place in the base version, ``r`` one of
  ``death``, ``divorce``, ``turned_18``;
- ``phone``, ``village_code`` (its commune, district and province follow), ``occupation`` (+ ``occupation_other``);
- ``corrections``: a name spelled wrongly: ``{"who": "member" | i, "family_name", "given_name", ...latin}``;
- ``notes``: free text for the reviewer.

Pure functions, no I/O; the registry and the laptop apply an update with the same :func:`apply_update`.
"""

from __future__ import annotations

import copy
import re
from datetime import date

from fieldapp.domain import validation as v
from fieldapp.domain.khmer import match_key
from fieldapp.domain.problem import Problem

KIND = "update"
ADD_REASONS = ("birth", "marriage")
REMOVE_REASONS = ("death", "divorce", "turned_18")
REASONS = ADD_REASONS + REMOVE_REASONS
CHANGE_FIELDS = ("phone", "village_code", "occupation", "occupation_other")
FIELDS = ("kind", "record_id", "member_no", "base_version", "add_dependents", "remove_dependents", "corrections",
          *CHANGE_FIELDS, "notes")
NAME_FIELDS = ("family_name", "given_name", "family_name_latin", "given_name_latin")
MEMBER_NO = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,15}[0-9]{4,12}$")
MAX_VERSION = 1_000_000


def is_update(data) -> bool:
    return isinstance(data, dict) and data.get("kind") == KIND


def _int(ck, value, path: str, low: int, high: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return ck.add(path, "validation.wrong_type", expected="integer")
    if not low <= value <= high:
        return ck.add(path, "validation.invalid_choice")
    return value


def _list(ck, value, path: str, limit: int) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        return ck.add(path, "validation.wrong_type", expected="list") or []
    if len(value) > limit:
        ck.add(path, "validation.dependents.too_many", max=limit)
    return value[:limit]


def _added(ck, items) -> list:
    out = []
    for i, item in enumerate(_list(ck, items, "add_dependents", v.MAX_DEPENDENTS)):
        prefix = f"add_dependents[{i}]"
        if not isinstance(item, dict):
            ck.add(prefix, "validation.dependent.not_object")
            continue
        body = {k: item[k] for k in item if k != "reason"}
        clean = v._dependent(ck, body, prefix) or {}
        clean["reason"] = v._choice(ck, item.get("reason"), prefix + ".reason", ADD_REASONS)
        out.append(clean)
    return out


def _removed(ck, items) -> list:
    out, seen = [], set()
    for i, item in enumerate(_list(ck, items, "remove_dependents", v.MAX_DEPENDENTS)):
        prefix = f"remove_dependents[{i}]"
        if not isinstance(item, dict):
            ck.add(prefix, "validation.wrong_type", expected="object")
            continue
        index = _int(ck, item.get("index"), prefix + ".index", 0, v.MAX_DEPENDENTS - 1)
        if index in seen:
            ck.add(prefix + ".index", "validation.update.removed_twice")
        seen.add(index)
        reason = v._choice(ck, item.get("reason"), prefix + ".reason", REMOVE_REASONS)
        v._unknown_fields(ck, item, ("index", "reason", "was"), prefix)
        out.append({"index": index, "reason": reason, **_was(ck, item, prefix)})
    return out


def _was(ck, item: dict, prefix: str) -> dict:
    """The optional ``was``: the dependent's key (:func:`dependent_key`) at ``index`` in the base version."""
    if item.get("was") is None:
        return {}
    raw = v._string(ck, item.get("was"), prefix + ".was", False, 3 * v.MAX_NAME + 20)
    return {"was": raw} if raw else {}


def _corrections(ck, items) -> list:
    out = []
    for i, item in enumerate(_list(ck, items, "corrections", v.MAX_DEPENDENTS + 1)):
        prefix = f"corrections[{i}]"
        if not isinstance(item, dict):
            ck.add(prefix, "validation.wrong_type", expected="object")
            continue
        who = item.get("who")
        if who != "member":
            who = _int(ck, who, prefix + ".who", 0, v.MAX_DEPENDENTS - 1)
        clean = v._names(ck, item, prefix)
        v._unknown_fields(ck, item, ("who", "was", *NAME_FIELDS), prefix)
        out.append(dict({k: val for k, val in clean.items() if val is not None}, who=who, **_was(ck, item, prefix)))
    return out


def _check(data: dict, ck) -> dict:
    out: dict = {"kind": KIND, "record_id": v._record_id(ck, data.get("record_id"), "record_id")}
    raw_no = v._string(ck, data.get("member_no"), "member_no", True, 40)
    if raw_no is not None:
        out["member_no"] = raw_no.strip().upper()
        if not MEMBER_NO.match(out["member_no"]):
            ck.add("member_no", "validation.update.member_no")
    out["base_version"] = _int(ck, data.get("base_version"), "base_version", 1, MAX_VERSION)
    out["add_dependents"] = _added(ck, data.get("add_dependents"))
    out["remove_dependents"] = _removed(ck, data.get("remove_dependents"))
    out["corrections"] = _corrections(ck, data.get("corrections"))
    if data.get("phone") is not None:
        out["phone"] = v._phone(ck, data.get("phone"), "phone")
    if data.get("village_code") is not None:
        address = v._address(ck, {"village_code": data.get("village_code")})
        out["village_code"] = address.get("village_code")
    if data.get("occupation") is not None:
        out.update({k: val for k, val in v._work(ck, dict(data, employment_status="self_employed")).items()
                    if k != "employment_status"})
    out["notes"] = v._text(ck, data.get("notes"), "notes", max_len=v.MAX_NOTES)
    v._unknown_fields(ck, data, FIELDS, "")
    changes = [out[k] for k in ("add_dependents", "remove_dependents", "corrections")] + [
        out.get(k) for k in CHANGE_FIELDS]
    if not any(changes) and not ck.problems:
        ck.add("", "validation.update.empty")
    return {k: out[k] for k in FIELDS if out.get(k) not in (None, [])}


def validate_update(data, *, today: date | None = None) -> tuple[dict | None, list[Problem]]:
    """Check an update document's shape (not yet against the member): ``(clean, [])`` or ``(None, problems)``."""
    ck = v._Checker(today or date.today())
    if not isinstance(data, dict):
        return None, [Problem("", "validation.record.not_object")]
    try:
        clean = _check(data, ck)
    except Exception:  # a bug must not crash an import or the registry's intake
        return None, [Problem("", "validation.internal_error")]
    return (None, ck.problems) if ck.problems else (clean, [])


def apply_update(record: dict, update: dict, *, today: date | None = None) -> tuple[dict | None, list[Problem]]:
    """The member's next version: ``update`` (clean) applied to ``record`` (the current version, a clean
    enrollment record), then every enrollment rule checked again (a child must still be under 18, one spouse...).
    Removals use the base version's places; additions go after the dependents kept. Returns ``(record, [])`` or
    ``(None, problems)``."""
    new, problems = merge_update(record, update)
    if problems:
        return None, problems
    return v.validate_record(new, today=today, require_consent=False)


def merge_update(record: dict, update: dict) -> tuple[dict, list[Problem]]:
    """``update`` (clean) merged into a copy of ``record``, not checked against the enrollment rules (a laptop
    that holds only a member's lookup entry checks what it can): ``(new record, problems)``, the problems being
    corrections or removals of dependents the record does not have."""
    new = copy.deepcopy(record)
    deps = list(new.get("dependents") or [])
    problems = []
    for i, fix in enumerate(update.get("corrections") or ()):
        who = fix.get("who")
        target = new if who == "member" else (deps[who] if isinstance(who, int) and who < len(deps) else None)
        if target is None:
            problems.append(Problem(f"corrections[{i}].who", "validation.update.no_such_dependent"))
            continue
        if who != "member" and fix.get("was") not in (None, dependent_key((record.get("dependents") or [])[who])):
            problems.append(Problem(f"corrections[{i}].who", "validation.update.dependent_changed"))
        for key in NAME_FIELDS:
            if key in fix:
                target[key] = fix[key]
    gone = set()
    for i, item in enumerate(update.get("remove_dependents") or ()):
        if item["index"] >= len(deps):
            problems.append(Problem(f"remove_dependents[{i}].index", "validation.update.no_such_dependent"))
        elif item.get("was") not in (None, dependent_key(deps[item["index"]])):
            problems.append(Problem(f"remove_dependents[{i}].index", "validation.update.dependent_changed"))
        gone.add(item["index"])
    kept = [d for i, d in enumerate(deps) if i not in gone]
    kept += [{k: val for k, val in d.items() if k != "reason"} for d in update.get("add_dependents") or ()]
    new["dependents"] = kept
    for key in ("phone", "village_code"):
        if update.get(key):
            new[key] = update[key]
    if update.get("village_code"):
        for key in ("commune_code", "district_code", "province_code", "address_source"):
            new.pop(key, None)
    if update.get("occupation"):
        new["occupation"] = update["occupation"]
        new.pop("occupation_other", None)
        if update.get("occupation_other"):
            new["occupation_other"] = update["occupation_other"]
    return new, problems


def dependent_key(dep) -> str:
    """Who a dependent is, for an update that names them by place: normalised family and given name and birth date.
    An update carries it as ``was`` beside the place (:func:`pin`), so it never removes or renames someone else."""
    dep = dep if isinstance(dep, dict) else {}
    return "|".join((match_key(dep.get("family_name")), match_key(dep.get("given_name")),
                     str(dep.get("date_of_birth") or "")))


def _places(update: dict):
    """``(item, place key)`` of every part of ``update`` that names a dependent by place."""
    for item in update.get("remove_dependents") or ():
        yield item, "index"
    for item in update.get("corrections") or ():
        if isinstance(item.get("who"), int):
            yield item, "who"


def pin(update: dict, base: dict) -> dict:
    """``update`` with ``was`` (:func:`dependent_key`) beside every place it names in ``base``'s dependents."""
    new, deps = copy.deepcopy(update), (base or {}).get("dependents") or []
    for item, place in _places(new):
        if isinstance(item.get(place), int) and item[place] < len(deps):
            item["was"] = dependent_key(deps[item[place]])
    return new


def rebase_places(update: dict, base: dict) -> tuple[dict, list[Problem]]:
    """``update`` (pinned) with its places moved to where the same people are in ``base`` (a newer version); a
    person no longer there is a problem (``validation.update.dependent_gone``): the update must be drafted again."""
    new, deps = copy.deepcopy(update), (base or {}).get("dependents") or []
    keys, problems = [dependent_key(d) for d in deps], []
    for item, place in _places(new):
        if item.get("was") is None:
            continue
        if item["was"] in keys:
            item[place] = keys.index(item["was"])
        else:
            path = "remove_dependents" if place == "index" else "corrections"
            problems.append(Problem(path, "validation.update.dependent_gone"))
    return new, problems


def summary(update: dict) -> list[dict]:
    """What an update changes, one line each, for review screens and lists: ``{"what", "reason"?, "index"?,
    "value"?}`` with ``what`` one of ``add_dependent``, ``remove_dependent``, ``correct_name``, and the
    ``CHANGE_FIELDS``."""
    out = [{"what": "add_dependent", "reason": d.get("reason"), "value": d} for d in update.get("add_dependents") or ()]
    out += [{"what": "remove_dependent", "reason": d.get("reason"), "index": d.get("index")}
            for d in update.get("remove_dependents") or ()]
    out += [{"what": "correct_name", "index": c.get("who"), "value": c} for c in update.get("corrections") or ()]
    out += [{"what": k, "value": update[k]} for k in CHANGE_FIELDS if update.get(k)]
    return out


__all__ = ["ADD_REASONS", "KIND", "REMOVE_REASONS", "apply_update", "is_update", "merge_update", "summary", "validate_update"]
