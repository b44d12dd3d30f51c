"""Address search that starts in an area and widens to the whole country, with every candidate's parents.

``find(text, level, area)`` is what the address pickers call on each keystroke: it looks for units of one level
first inside ``area`` (the office's commune, or the parent the worker already chose) and, when nothing there
matches, in the whole country, nearest to the area first. Each :class:`Candidate` carries its parents so a list
can show "Village — Commune, District, Province" and never leave a worker guessing which of the dozens of
villages named Svay is meant. :meth:`AreaResult.unique` says when one candidate may be taken without asking.

Pure and in memory (the gazetteer of :mod:`fieldapp.domain.geo`); re-exported by that module.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

from fieldapp.domain import geo
from fieldapp.domain.khmer import match_key, to_ascii_digits

EXACT, PREFIX, CONTAINS = 0, 1, 2
_lock = threading.Lock()
_by_level: dict[str, list[tuple[str, str, str]]] | None = None


@dataclass(frozen=True)
class Candidate:
    """One unit that matches, with its parents nearest first (commune, district, province for a village)."""

    unit: geo.Unit
    parents: tuple[geo.Unit, ...]
    rank: int                    # EXACT, PREFIX or CONTAINS (a typed code: EXACT or PREFIX)

    @property
    def code(self) -> str:
        return self.unit.code

    def label(self, lang: str) -> str:
        """"Svay (ស្វាយ) — Thma Puok, Thma Puok, Banteay Meanchey" (in Khmer: Khmer first, Latin in brackets)."""
        return _line(self.unit, self.parents, lang)


@dataclass(frozen=True)
class AreaResult:
    """What ``find`` found. ``scope`` is where the candidates come from: ``area``, or ``None`` (whole country)."""

    text: str
    level: str
    area: str | None
    scope: str | None
    candidates: tuple[Candidate, ...]
    total: int                   # matches in the scope (``candidates`` holds at most ``limit`` of them)
    exact: int                   # exact matches in the scope
    outside: int                 # matches outside the area (when the scope is the area)

    @property
    def widened(self) -> bool:
        """Nothing matched in the area, so the candidates come from the whole country."""
        return self.area is not None and self.scope is None

    sole_exact: Candidate | None = None   # the exact match when there is only one in the scope

    def unique(self) -> Candidate | None:
        """The one candidate that may be taken without asking: the only match in the scope, or the only exact one.

        Never one among several equally good matches (the dozens of villages named Svay): then ``None``.
        """
        if not self.text.strip() or not self.candidates:
            return None
        if self.total == 1:
            return self.candidates[0]
        return self.sole_exact if self.exact == 1 else None


def name(unit: geo.Unit, lang: str) -> str:
    """The unit's name in ``lang`` (the other script when that one is missing)."""
    if lang == "km":
        return unit.name_km or unit.name_latin
    return unit.name_latin or unit.name_km


def both_names(unit: geo.Unit, lang: str) -> str:
    """The name in ``lang`` with the other script in brackets: "ស្វាយ (Svay)" or "Svay (ស្វាយ)"."""
    first, other = name(unit, lang), unit.name_latin if lang == "km" else unit.name_km
    return f"{first} ({other})" if other and other != first else first


def parents_of(code: str) -> tuple[geo.Unit, ...]:
    """The units above ``code``, nearest first."""
    units = geo._loaded().units
    out = []
    for level in reversed(geo.LEVELS):
        size = geo.CODE_LENGTHS[level]
        if size < len(code) and code[:size] in units:
            out.append(units[code[:size]])
    return tuple(out)


def _line(unit: geo.Unit, parents, lang: str) -> str:
    head = both_names(unit, lang)
    return f"{head} — {', '.join(name(p, lang) for p in parents)}" if parents else head


def address_line(code, lang: str) -> str:
    """"Village — Commune, District, Province" for a unit code of any level, in ``lang`` (the unit itself with
    the other script in brackets); ``""`` for an unknown code. For Review and any read-only view of an address."""
    unit = geo.unit(code)
    return _line(unit, parents_of(unit.code), lang) if unit else ""


def place_name(code, lang: str) -> str:
    """An area named with its parents, "Thma Puok, Thma Puok, Banteay Meanchey" (``""`` if unknown)."""
    unit = geo.unit(code)
    if unit is None:
        return ""
    return ", ".join(name(u, lang) for u in (unit, *parents_of(unit.code)))


def area_for(level: str, area) -> str | None:
    """``area`` cut to a unit above ``level`` (a commune area for a commune search becomes its district)."""
    code = geo.normalize_code(area) if area else None
    if not code or level not in geo.LEVELS or level == "province":
        return None
    parent_size = geo.CODE_LENGTHS[geo.LEVELS[geo.LEVELS.index(level) - 1]]
    return code[:parent_size] if code[:parent_size] in geo._loaded().units else None


def _level_keys() -> dict[str, list[tuple[str, str, str]]]:
    """Per level, (code, Khmer key, Latin key) in code order: the search loops over one level only."""
    global _by_level
    if _by_level is None:
        keys = geo._search_keys()
        units = geo._loaded().units
        with _lock:
            if _by_level is None:
                table: dict[str, list[tuple[str, str, str]]] = {level: [] for level in geo.LEVELS}
                for code in sorted(units):
                    table[units[code].level].append((code, *keys[code]))
                _by_level = table
    return _by_level


def _rank(key: str, query: str) -> int | None:
    if not key or not query:
        return None
    if key == query:
        return EXACT
    if key.startswith(query):
        return PREFIX
    return CONTAINS if query in key else None


def _shared(code: str, area: str) -> int:
    """How many levels ``code`` shares with ``area`` (more is nearer)."""
    return sum(1 for size in (2, 4, 6) if size <= len(area) and code[:size] == area[:size])


def _matches(text: str, level: str) -> list[tuple[int, str]]:
    """(rank, code) of every unit of ``level`` matching ``text`` (a name in either script, or a code)."""
    digits = to_ascii_digits(text.strip())
    rows = _level_keys()[level]
    if digits.isascii() and digits.isdigit():
        return [(EXACT if code == digits else PREFIX, code) for code, _k, _l in rows if code.startswith(digits)]
    key_km, key_latin = match_key(text), geo._latin_key(text)
    if not key_km:
        return []
    out = []
    for code, km, latin in rows:
        rank_km, rank_latin = _rank(km, key_km), _rank(latin, key_latin)
        if rank_km is not None or rank_latin is not None:
            out.append((min(r for r in (rank_km, rank_latin) if r is not None), code))
    return out


def find(text, level: str, area=None, limit: int | None = 50, widen: bool = False) -> AreaResult:
    """Units of ``level`` matching ``text``: inside ``area`` when any match there, else the whole country.

    ``area`` is any unit code above ``level`` (a lower one is cut to the level above; an unknown one is ignored).
    With ``widen`` the whole country is searched even when the area has matches. In the area, candidates are
    ordered exact, prefix, substring, then by code; in the whole country, exact and prefix matches come before
    substring ones, each nearest to the area first. An empty ``text`` lists the units of ``level`` in the area
    (the provinces for a province search without one).
    """
    text = text if isinstance(text, str) and len(text) <= 200 else ""
    if level not in geo.LEVELS:
        return AreaResult(text, str(level), None, None, (), 0, 0, 0)
    area = area_for(level, area)
    units = geo._loaded().units
    if not text.strip():
        scope = area
        found = [(EXACT, code) for code, _k, _l in _level_keys()[level]
                 if (scope is None and level == "province") or (scope is not None and code.startswith(scope))]
        return _result(text, level, area, scope, found, 0, limit, units)
    found = _matches(text, level)
    inside = [m for m in found if area is not None and m[1].startswith(area)]
    if inside and not widen:
        inside.sort()
        return _result(text, level, area, area, inside, len(found) - len(inside), limit, units)
    near = area or ""
    found.sort(key=lambda m: (m[0] == CONTAINS, -_shared(m[1], near), m[0], m[1]))
    return _result(text, level, area, None, found, 0, limit, units)


def _result(text, level, area, scope, ranked, outside, limit, units) -> AreaResult:
    shown = ranked if limit is None or limit < 0 else ranked[:limit]
    candidates = tuple(Candidate(units[code], parents_of(code), rank) for rank, code in shown)
    exact = [code for rank, code in ranked if rank == EXACT]
    sole = Candidate(units[exact[0]], parents_of(exact[0]), EXACT) if len(exact) == 1 else None
    return AreaResult(text, level, area, scope, candidates, len(ranked), len(exact), outside, sole)
