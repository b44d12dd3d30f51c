"""The enrollment record's life: draft -> submitted -> approved | returned | rejected.

Later states belong to sync: approved -> queued -> synced -> registered | registry_rejected.
Every transition is an audit event in the same transaction as the change.
Rules about the record's *content* live in ``fieldapp.domain.validation``; this
module enforces who may do what, in which state.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from dataclasses import replace

from fieldapp.store.audit import now_iso
from fieldapp.base.errors import FieldappError, PermissionDenied, StateError
from fieldapp.domain.khmer import match_key, phonetic_name_key
from fieldapp.domain import states
from fieldapp.domain.update import is_update
from fieldapp.domain.states import EDITABLE, REVIEW_ACTIONS, STATES, State
from fieldapp.store.rows import COLUMNS, decode as _decode, hidden as _hidden
from fieldapp.store.search import search_terms
from fieldapp.store import members, updates
from fieldapp.store.database import Session
from fieldapp.store.schema7 import MAX_CANDIDATES, rank
from fieldapp.domain.validation import duplicate_keys, validate_record

# STATES, EDITABLE and REVIEW_ACTIONS (imported above) are defined once, in fieldapp.domain.states.
MAX_DRAFT_BYTES = 256 * 1024
class ValidationFailed(FieldappError):
    """The record has problems; ``problems`` lists every one."""

    def __init__(self, problems):
        super().__init__("core.record.invalid", count=len(problems))
        self.problems = problems


def _row(session: Session, record_id: str) -> dict:
    cur = session.conn.execute(f"SELECT {', '.join(COLUMNS)} FROM records WHERE id = ?", (record_id,))
    values = cur.fetchone()
    if values is None:
        raise FieldappError("core.record.not_found")
    row = dict(zip(COLUMNS, values))
    if not session.is_supervisor and row["created_by"] != session.name:
        raise FieldappError("core.record.not_found")  # outreach users never learn of others' records
    return row


def get(session: Session, record_id: str) -> dict:
    return _decode(_row(session, record_id), session)


def _keys(clean: dict) -> dict:
    keys = duplicate_keys(clean)
    latin = " ".join(filter(None, [clean.get("family_name_latin"), clean.get("given_name_latin")]))
    return {
        "search_terms": search_terms(clean),
        "name_key": keys["name_key"],
        "phonetic_key": phonetic_name_key(clean.get("family_name"), clean.get("given_name")),
        "latin_key": match_key(latin) if latin else None,
        "national_id": keys["national_id"],
        "phone": clean.get("phone"),
        "date_of_birth": keys["date_of_birth"],
        "village_code": clean.get("village_code"),
        "commune_code": keys["commune_code"],
    }


#: Why a record may be the same person (the desktop client shows ``forms.dup.reason.<reason>``).
DUPLICATE_REASONS = ("national_id", "name_date_of_birth_commune", "similar_name_date_of_birth_commune")


def find_duplicates(conn, record_id: str | None, keys: dict, limit: int = MAX_CANDIDATES) -> list[dict]:
    """Records that may be the same person: same national ID, or same name + date of birth + commune, or a name
    spelled otherwise that sounds the same (same phonetic key, ``khmer.phonetic_key``) + date of birth + commune.

    At most ``limit`` (``MAX_CANDIDATES``): the strongest first (national ID, then exact name, then phonetic), the
    newest first among equals; each query stops at the limit, so 1,000 records of one name cost 1,000 x 5."""
    same = "SELECT id FROM records WHERE {} = ? AND date_of_birth = ? AND commune_code = ? AND id IS NOT ?"
    person = (keys["date_of_birth"], keys["commune_code"], record_id)
    queries = [("SELECT id FROM records WHERE national_id = ? AND id IS NOT ?", (keys["national_id"], record_id))
               ] if keys.get("national_id") else []
    queries.append((same.format("name_key"), (keys["name_key"],) + person))
    if keys.get("phonetic_key"):
        queries.append((same.format("phonetic_key"), (keys["phonetic_key"],) + person))
    picked: list[str] = []
    for sql, params in queries:
        if len(picked) >= limit:
            break
        for (rid,) in conn.execute(sql + " ORDER BY rowid DESC LIMIT ?", params + (limit + len(picked),)):
            if rid not in picked:
                picked.append(rid)
    picked = picked[:limit]
    if not picked:
        return []
    found = {row[0]: row[1:] for row in conn.execute(
        "SELECT id, national_id, name_key, phonetic_key, date_of_birth, commune_code FROM records WHERE id IN "
        f"({', '.join('?' * len(picked))})", picked)}
    out = []
    for rid in picked:
        nid, name, phonetic, born, commune = found[rid]
        why = ["national_id"] if keys.get("national_id") and nid == keys["national_id"] else []
        if (born, commune) == (keys["date_of_birth"], keys["commune_code"]):
            if name == keys["name_key"]:
                why.append("name_date_of_birth_commune")
            elif keys.get("phonetic_key") and phonetic == keys["phonetic_key"]:
                why.append("similar_name_date_of_birth_commune")
        out.append({"record_id": rid, "reasons": why})
    return out


def _looked_up(conn, local: list[dict], found: list[dict]) -> list[dict]:
    """Looked-up members (``members.candidates``) as duplicate candidates, leaving out those a local candidate
    already stands for (the laptop's own registered record of the member). A local candidate that is registered
    gets its ``member_no`` (in place): "already registered" either way."""
    ids = [c["record_id"] for c in local]
    numbers = dict(conn.execute(f"SELECT id, member_no FROM records WHERE id IN ({', '.join('?' * len(ids))}) "
                                "AND member_no IS NOT NULL", ids)) if ids else {}
    for cand in local:
        if cand["record_id"] in numbers:
            cand["member_no"] = numbers[cand["record_id"]]
    known = set(numbers.values())
    return [{"member_no": m["member_no"], "office_commune": m["office_commune"], "reasons": m["reasons"],
             "version": m["version"], "visible": True, "registered": True, "entry": m["entry"]}
            for m in found if m["member_no"] not in known]


def _bounded(local: list[dict], looked_up: list[dict]) -> list[dict]:
    """Local and looked-up candidates, the strongest first (a registered member first among equals), at most
    ``MAX_CANDIDATES``."""
    return sorted(looked_up + local, key=rank)[:MAX_CANDIDATES]


def save_draft(session: Session, data: dict, record_id: str | None = None) -> str:
    """Save work in progress as it is (no validation). Returns the record ID."""
    body = json.dumps(data, ensure_ascii=False, sort_keys=True)
    if len(body.encode("utf-8")) > MAX_DRAFT_BYTES:
        raise FieldappError("core.record.too_large")
    now = now_iso()
    kind, ref, terms = _kind(session, data)
    with session.write() as tx:
        if record_id is None:
            record_id = str(uuid.uuid4())
            state = states.require("create", None, State.DRAFT)
            tx.execute("INSERT INTO records (id, state, created_by, created_at, updated_at, data, search_terms, kind,"
                       " member_ref) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (record_id, state, session.name, now, now, body, terms, kind, ref))
            session.audit.append(session.name, "record.created", record_id, None, state)
        else:
            row = _row(session, record_id)
            _require_editable(session, row)
            states.require("edit", row["state"], row["state"])
            if (row["kind"] == "update") != (kind == "update"):
                raise FieldappError("core.update.kind_changed")
            tx.execute("UPDATE records SET data = ?, search_terms = ?, member_ref = ?, updated_at = ?, version = "
                       "version + 1 WHERE id = ?", (body, terms, ref, now, record_id))
            session.audit.append(session.name, "record.edited", record_id, row["state"], row["state"])
    return record_id


def _kind(session: Session, data) -> tuple[str, str | None, str]:
    """``(kind, member_ref, search_terms)`` of a record's data: an update is found by its member's names."""
    if is_update(data):
        ref = data.get("member_no")
        return "update", ref.strip().upper()[:40] if isinstance(ref, str) else None, updates.terms(session, data)
    return "enrollment", None, search_terms(data)


def _require_editable(session: Session, row: dict) -> None:
    if row["state"] not in EDITABLE:
        raise StateError("core.record.not_editable", state=row["state"])
    if row["created_by"] != session.name and not session.is_supervisor:
        raise PermissionDenied("core.record.not_yours")


def _store_submitted(session: Session, tx, record_id: str, clean: dict, now: str, *, new: bool, from_state=None):
    keys = _keys(clean)
    local = find_duplicates(tx, record_id, keys)
    dups = _bounded(local, [{k: v for k, v in c.items() if k != "entry"}
                            for c in _looked_up(tx, local, members.candidates(session, clean))])
    state = states.require("import" if new else "submit", from_state, State.SUBMITTED)
    values = dict(keys, id=record_id, data=json.dumps(clean, ensure_ascii=False, sort_keys=True),
                  duplicates=json.dumps(dups), now=now, owner=session.name, state=state)
    if new:
        tx.execute(
            "INSERT INTO records (id, state, created_by, created_at, updated_at, submitted_at, data, name_key, latin_key,"
            " national_id, phone, date_of_birth, village_code, commune_code, duplicates, search_terms, phonetic_key)"
            " VALUES (:id, :state, :owner, :now, :now, :now, :data, :name_key, :latin_key, :national_id, :phone,"
            " :date_of_birth, :village_code, :commune_code, :duplicates, :search_terms, :phonetic_key)", values)
    else:
        tx.execute(
            "UPDATE records SET state = :state, updated_at = :now, submitted_at = :now, data = :data, name_key ="
            " :name_key, latin_key = :latin_key, national_id = :national_id, phone = :phone, date_of_birth ="
            " :date_of_birth, village_code = :village_code, commune_code = :commune_code, duplicates = :duplicates,"
            " search_terms = :search_terms, phonetic_key = :phonetic_key, reason = NULL, version = version + 1"
            " WHERE id = :id", values)
    session.audit.append(session.name, "record.submitted", record_id, from_state, state, ts=now)
    return dups


def submit(session: Session, record_id: str, today=None) -> list[dict]:
    """Validate a draft or returned record and submit it. Returns its duplicate candidates."""
    row = _row(session, record_id)
    _require_editable(session, row)
    data = json.loads(row["data"])
    if is_update(data):
        return _submit_update(session, row, data, today)
    clean, problems = validate_record(data, today=today)
    if problems:
        raise ValidationFailed(problems)
    with session.write() as tx:
        return _store_submitted(session, tx, record_id, clean, now_iso(), new=False, from_state=row["state"])


def _submit_update(session: Session, row: dict, data: dict, today) -> list[dict]:
    """Submit an update: its own rules (``updates.check``), no duplicate check; found by its member's names."""
    clean, problems = updates.check(session, data, row["id"], today)
    if problems:
        raise ValidationFailed(problems)
    now = now_iso()
    state = states.require("submit", row["state"], State.SUBMITTED)
    with session.write() as tx:
        tx.execute("UPDATE records SET state = ?, updated_at = ?, submitted_at = ?, data = ?, search_terms = ?, "
                   "kind = 'update', member_ref = ?, duplicates = '[]', reason = NULL, version = version + 1 "
                   "WHERE id = ?", (state, now, now, json.dumps(clean, ensure_ascii=False, sort_keys=True),
                                    updates.terms(session, clean), clean["member_no"], row["id"]))
        session.audit.append(session.name, "record.submitted", row["id"], row["state"], state, ts=now)
    return []


def import_records(session: Session, items: list[dict], today=None) -> list[str]:
    """Validate and store records as ``submitted``, all in one transaction (all or nothing).

    Raises ``ValidationFailed`` (problems of every record, paths prefixed with ``[index]``) before writing anything.
    """
    cleans, problems = [], []
    for index, item in enumerate(items):
        clean, found = validate_record(item, today=today)
        cleans.append(clean)
        problems += [replace(p, path=f"[{index}].{p.path}" if p.path else f"[{index}]") for p in found]
    if problems:
        raise ValidationFailed(problems)
    ids = []
    with session.write() as tx:
        for clean in cleans:
            clean = dict(clean)
            record_id = clean.pop("record_id", None) or str(uuid.uuid4())
            if tx.execute("SELECT 1 FROM records WHERE id = ?", (record_id,)).fetchone():
                raise FieldappError("core.record.id_exists", record_id=record_id)
            _store_submitted(session, tx, record_id, clean, now_iso(), new=True)
            ids.append(record_id)
    return ids


def review(session: Session, record_ids: list[str], action: str, reason: str | None = None, *,
           on_approved=None) -> list[str]:
    """Supervisor only: approve, return or reject submitted records, all in one transaction.

    ``on_approved(session, tx, record_id, clean, submitted_at)`` runs inside that transaction for each approved
    record: ``fieldapp.services.review`` seals it into the outbox there (the store never imports the outbox).
    """
    session.require_supervisor()
    if action not in REVIEW_ACTIONS:
        raise FieldappError("core.review.bad_action")
    reason = (reason or "").strip() or None
    if action != "approve" and not reason:
        raise FieldappError("core.review.reason_required")
    target = REVIEW_ACTIONS[action]
    now = now_iso()
    with session.write() as tx:
        for record_id in record_ids:
            row = _row(session, record_id)
            if row["state"] != State.SUBMITTED:
                raise StateError("core.review.not_submitted", state=row["state"])
            states.require("review", row["state"], target)
            tx.execute("UPDATE records SET state = ?, reason = ?, updated_at = ? WHERE id = ?",
                       (target, reason, now, record_id))
            session.audit.append(session.name, f"record.{target}", record_id, row["state"], target, reason, ts=now)
            if target == State.APPROVED and on_approved is not None:
                on_approved(session, tx, record_id, json.loads(row["data"]), row["submitted_at"])
    return list(record_ids)


def submitted_ids(session: Session) -> list[str]:
    session.require_supervisor()
    return [r[0] for r in session.conn.execute("SELECT id FROM records WHERE state = ? ORDER BY submitted_at, id",
                                               (State.SUBMITTED.value,))]


def list_records(session: Session, state: str | None = None, limit: int | None = None) -> list[dict]:
    """Records this user may see, newest first; supervisors see all."""
    if state is not None and state not in STATES:
        raise FieldappError("core.record.bad_state")
    where, params = [], []
    if state:
        where.append("state = ?")
        params.append(state)
    if not session.is_supervisor:
        where.append("created_by = ?")
        params.append(session.name)
    sql = f"SELECT {', '.join(COLUMNS)} FROM records"
    if where:
        sql += " WHERE " + " AND ".join(where)
    # Written out (not a parameter), from the enum's value: it must match the expression of the records_order
    # and records_owner_order indexes (fieldapp.store.migrations) for SQLite to use them.
    sql += f" ORDER BY (state = '{State.RETURNED.value}') DESC, updated_at DESC, id"
    if limit:
        sql += f" LIMIT {int(limit)}"
    return [_decode(dict(zip(COLUMNS, r)), session) for r in session.conn.execute(sql, params)]


def counts(session: Session) -> dict:
    """Counts by state (every state present, zeros included)."""
    sql, params = "SELECT state, count(*) FROM records", []
    if not session.is_supervisor:
        sql, params = sql + " WHERE created_by = ?", [session.name]
    found = Counter(dict(session.conn.execute(sql + " GROUP BY state", params).fetchall()))
    return {state: found.get(state, 0) for state in STATES}


COMPARED = ("family_name", "given_name", "family_name_latin", "given_name_latin", "sex", "date_of_birth",
            "national_id", "phone", "village_code", "occupation")


def duplicate_candidates(session: Session, data: dict, record_id: str | None = None) -> list[dict]:
    """Before submit: records that may be the same person, each with the fields that differ.

    Searches every record in the store (the duplicate rule is store-wide), but for another
    worker's record an outreach worker gets only the candidate's ID (``visible`` false, no state,
    no reasons, ``differences`` None): the fields that differ, or why it matched, would let them
    confirm a guessed name or date of birth for a known national ID. Their supervisor compares
    the two at review.
    """
    if is_update(data):
        return []
    clean, problems = validate_record(data, require_consent=False)
    if clean is None:
        return []
    local = find_duplicates(session.conn, record_id, _keys(clean))
    out = []
    for cand in _bounded(local, _looked_up(session.conn, local, members.candidates(session, clean))):
        if "record_id" not in cand:  # a looked-up member: compared on the fields its entry holds
            other = cand.pop("entry")
            diffs = {f: {"this": clean.get(f), "other": other.get(f)} for f in COMPARED
                     if f in other and clean.get(f) != other.get(f)}
            out.append(dict(cand, state=None, differences=diffs))
            continue
        row = session.conn.execute("SELECT data, created_by, state FROM records WHERE id = ?", (cand["record_id"],)).fetchone()
        other = json.loads(row[0])
        if session.is_supervisor or row[1] == session.name:
            diffs = {f: {"this": clean.get(f), "other": other.get(f)} for f in COMPARED if clean.get(f) != other.get(f)}
            out.append(dict(cand, state=row[2], differences=diffs, visible=True))
        else:
            out.append(dict(_hidden(cand["record_id"]), state=None, differences=None))
    return out
