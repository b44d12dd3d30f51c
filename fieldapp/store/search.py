"""Finding records: by name (Khmer or Latin, normalised, either name order), national ID or phone.

Each record carries ``search_terms``: its match keys in a trigram full-text index
(``records_fts``, migration 3), so a substring search stays fast with 100,000
records. Queries shorter than three characters fall back to a scan of the terms.

A Khmer name is also indexed by its phonetic key (``khmer.phonetic_key``, migration 5), and a Khmer query looks
for its phonetic key too: ដារ៉ា finds the records spelled ដារា, and the other way round.
"""

from __future__ import annotations

import functools
import re
from datetime import date, datetime, timedelta

from fieldapp.base.errors import FieldappError
from fieldapp.domain.khmer import match_key, phonetic_key, to_ascii_digits
from fieldapp.domain.states import STATES
from fieldapp.store.database import Session
from fieldapp.store.rows import COLUMNS, decode

_NOT_DIGIT = re.compile(r"[^0-9]")
_WORDS = re.compile("[\\s\u200b]+")  # spaces and the zero-width space the Khmer keyboard types between words
WALK_FROM = 1000  # matches above which a page is found by walking the order index (see _walk_in_order)


def _s(value) -> str:
    return value if isinstance(value, str) else ""


# Names repeat (a few thousand in a commune of 20,000 people): a lookup page's keys are computed once per name.
_name_key = functools.lru_cache(maxsize=65536)(match_key)
_sound_key = functools.lru_cache(maxsize=65536)(phonetic_key)


def search_terms(data) -> str:
    """The searchable keys of a record (clean or draft); never raises."""
    if not isinstance(data, dict):
        return ""
    fam, giv = _name_key(_s(data.get("family_name"))), _name_key(_s(data.get("given_name")))
    lfam, lgiv = _name_key(_s(data.get("family_name_latin"))), _name_key(_s(data.get("given_name_latin")))
    pfam, pgiv = _sound_key(fam), _sound_key(giv)
    terms = [fam + giv, giv + fam, lfam + lgiv, lgiv + lfam]
    if pfam + pgiv not in (fam + giv, ""):  # the same name spelled otherwise; only where it differs
        terms += [pfam + pgiv, pgiv + pfam]
    nid = _NOT_DIGIT.sub("", to_ascii_digits(_s(data.get("national_id"))))
    phone = _NOT_DIGIT.sub("", to_ascii_digits(_s(data.get("phone"))))
    if phone.startswith("855"):
        terms += [phone, "0" + phone[3:]]
    elif phone:
        terms += [phone, "855" + phone.lstrip("0")]
    terms.append(nid)
    return " ".join(t for t in terms if t)


def member_terms(member_no: str) -> list[str]:
    """The search keys of a member number the registry assigned (``KH-REG-000123``): its match key and its digits,
    so either the whole number or its digits find the record."""
    digits = _NOT_DIGIT.sub("", member_no)
    return [t for t in (match_key(member_no), digits) if t]


def _query_keys(text: str) -> list[str]:
    """What to look for: the digits of an ID or phone number; else the match key, then, for Khmer, the phonetic
    key of the whole query and of its words one by one (a name typed with a space between family and given name
    is keyed as the two names are)."""
    text = to_ascii_digits(text or "").strip()
    compact = text.replace(" ", "").replace("-", "")
    if compact.startswith("+"):
        compact = compact[1:]
    if compact.isdigit():
        return [compact]
    key = match_key(text)
    keys = [key] if key else []
    for phonetic in (phonetic_key(text), "".join(phonetic_key(word) for word in _WORDS.split(text))):
        if len(phonetic) >= 3 and phonetic not in keys:  # shorter ones would match far too much
            keys.append(phonetic)
    return keys


def _phrase(key: str) -> str:
    return '"' + key.replace('"', '""') + '"'


def _match(keys: list[str]) -> str:
    return " OR ".join(_phrase(key) for key in keys)


def _walk_in_order(session: Session, text: str, state, since, until) -> bool:
    """Whether to walk the list's order index (``records_order``) and test each record against the matches, rather
    than fetch every match and sort them: for a common name (thousands of matches, e.g. 4,400 of 100,000) the walk
    stops once a page is found, in a few milliseconds; for a rare one (an ID, a full name) sorting the few matches
    is faster than walking. Only where nothing else filters the walk (a supervisor's search, no state or dates)."""
    if state or since or until or not session.is_supervisor:
        return False
    keys = _query_keys(text)
    if not keys or len(keys[0]) < 3:
        return False
    found = session.conn.execute("SELECT count(*) FROM (SELECT rowid FROM records_fts WHERE records_fts MATCH ? "
                                 "LIMIT ?)", (_match(keys), WALK_FROM + 1)).fetchone()[0]
    return found > WALK_FROM


def _where(session: Session, text: str, state, since, until) -> tuple[list[str], list]:
    where, params = [], []
    keys = _query_keys(text)
    if keys:
        if len(keys[0]) >= 3:
            where.append("r.rowid IN (SELECT rowid FROM records_fts WHERE records_fts MATCH ?)")
            params.append(_match(keys))
        else:
            where.append("instr(r.search_terms, ?) > 0")
            params.append(keys[0])
    if state:
        if state not in STATES:
            raise FieldappError("core.record.bad_state")
        where.append("r.state = ?")
        params.append(state)
    if since:
        where.append("r.created_at >= ?")
        params.append(since)
    if until:
        where.append("r.created_at < ?")
        params.append((date.fromisoformat(until) + timedelta(days=1)).isoformat())
    if not session.is_supervisor:
        where.append("r.created_by = ?")
        params.append(session.name)
    return where, params


def search(session: Session, text: str = "", state: str | None = None, since: str | None = None,
           until: str | None = None, limit: int = 200, offset: int = 0) -> list[dict]:
    """Records this user may see that match ``text``, newest first (returned records first).

    ``since``/``until`` are ISO dates (inclusive) on the creation date.
    """
    where, params = _where(session, text, state, since, until)
    source = "records r INDEXED BY records_order" if _walk_in_order(session, text, state, since, until) else "records r"
    sql = f"SELECT {', '.join('r.' + c for c in COLUMNS)} FROM {source}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY (r.state = 'returned') DESC, r.updated_at DESC, r.id LIMIT ? OFFSET ?"
    params += [int(limit), int(offset)]
    return [decode(dict(zip(COLUMNS, row)), session) for row in session.conn.execute(sql, params)]


def count(session: Session, text: str = "", state: str | None = None, since: str | None = None,
          until: str | None = None) -> int:
    """How many records ``search`` would find with no limit."""
    where, params = _where(session, text, state, since, until)
    sql = "SELECT count(*) FROM records r" + (" WHERE " + " AND ".join(where) if where else "")
    return session.conn.execute(sql, params).fetchone()[0]


def daily_counts(session: Session, days: int = 30, today: date | None = None, mine: bool = False) -> list[tuple[str, int]]:
    """(local date, records created that day) for the last ``days`` days, oldest first, zeros included.

    Timestamps are stored in UTC; days are counted in the laptop's local time (Cambodia is UTC+7).
    """
    today = today or datetime.now().astimezone().date()
    start = today - timedelta(days=days - 1)
    sql = ("SELECT date(created_at, 'localtime') AS day, count(*) FROM records WHERE created_at >= ?")
    params: list = [(start - timedelta(days=1)).isoformat()]
    if mine or not session.is_supervisor:
        sql += " AND created_by = ?"
        params.append(session.name)
    found = dict(session.conn.execute(sql + " GROUP BY day", params).fetchall())
    return [((start + timedelta(days=i)).isoformat(), found.get((start + timedelta(days=i)).isoformat(), 0))
            for i in range(days)]


def query_keys(text: str) -> list[str]:
    """What a search for ``text`` looks for (the same keys for records and looked-up members)."""
    return _query_keys(text)


def name_key(text) -> str:
    """``khmer.match_key`` of a name, cached (``search_terms`` and the lookup's keys compute many)."""
    return _name_key(text) if isinstance(text, str) else match_key(text)


def sound_key(text) -> str:
    """``khmer.phonetic_key`` of a name, cached."""
    return _sound_key(text) if isinstance(text, str) else phonetic_key(text)


def fts_query(keys: list[str]) -> str:
    """The full-text query (``MATCH``) of ``query_keys``."""
    return _match(keys)
