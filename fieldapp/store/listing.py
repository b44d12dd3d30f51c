"""The records list in the order the reader picks: by state, name, Latin name, national ID, phone, creation time
or reason, either way, and otherwise ``search.search``'s own order (returned records first, then the most
recently changed).

The same records as ``search.search`` finds (its filters and its rule that an outreach worker sees only their
own records); only the order differs. Empty values sort last in both directions. A draft has no match keys yet,
so its name and numbers are read from its data.
"""

from __future__ import annotations

from fieldapp.domain.states import STATES
from fieldapp.store import search as _search
from fieldapp.store.database import Session
from fieldapp.store.rows import COLUMNS, decode


def _data(path: str) -> str:
    return f"json_extract(r.data, '$.{path}')"


_STATE_RANK = "CASE r.state " + " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(STATES)) + " END"
#: Column of the records list -> (the SQL it sorts on, read from an index; for a record without that key column
#: (a draft), the same read from its data, or None). Sorting touches indexes only, except for the few drafts.
ORDER_KEYS = {
    "state": (_STATE_RANK, None),
    "member_no": ("r.member_no", None),
    "name": ("r.name_key", f"lower({_data('family_name')} || '|' || {_data('given_name')})"),
    "name_latin": ("r.latin_key", f"lower({_data('family_name_latin')} || {_data('given_name_latin')})"),
    "national_id": ("r.national_id", _data("national_id")),
    "phone": ("r.phone", _data("phone")),
    "created": ("r.created_at", None),
    "reason": ("r.reason", None),
}


def search(session: Session, text: str = "", state: str | None = None, since: str | None = None,
           until: str | None = None, order: str | None = None, descending: bool = False, limit: int = 200,
           offset: int = 0) -> list[dict]:
    """``search.search`` sorted by ``order`` (a key of ``ORDER_KEYS``; None: the default order)."""
    if order is None:
        return _search.search(session, text, state, since, until, limit=limit, offset=offset)
    if order not in ORDER_KEYS:
        raise ValueError(f"no such order: {order!r}")  # a programming error, never the user's
    where, params = _search._where(session, text, state, since, until)
    key, fallback = ORDER_KEYS[order]
    direction = "DESC" if descending else "ASC"

    def part(expr: str, extra: str | None) -> str:
        conditions = ([extra] if extra else []) + where
        return f"SELECT r.rowid AS rid, {expr} AS k FROM records r" + (
            " WHERE " + " AND ".join(conditions) if conditions else "")

    if fallback is None:
        keys, key_params = part(key, None), list(params)
    else:  # records with the key column, from its index; drafts (no key column yet) from their data
        keys = f"{part(key, f'{key} IS NOT NULL')} UNION ALL {part(fallback, f'{key} IS NULL')}"
        key_params = list(params) * 2
    ordering = f"NULLIF(p.k, '') IS NULL, p.k {direction}, p.rid"  # empty values last, either way
    sql = (f"SELECT {', '.join('r.' + c for c in COLUMNS)} FROM (SELECT rid, k FROM ({keys}) p ORDER BY {ordering}"
           f" LIMIT ? OFFSET ?) p JOIN records r ON r.rowid = p.rid ORDER BY {ordering}")
    params = key_params + [int(limit), int(offset)]
    return [decode(dict(zip(COLUMNS, row)), session) for row in session.conn.execute(sql, params)]


__all__ = ["ORDER_KEYS", "search"]
