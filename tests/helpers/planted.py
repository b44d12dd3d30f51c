"""Planted-data scanning: look for personal data, in any common encoding, in every byte under some folders.

Used after a whole workflow to prove that names, national IDs and phone numbers
never reach the disk in plaintext (database, WAL, journals, temp files, logs,
exports, diagnostics). Reusable by any test: ``assert scan([...], needles_of(records)) == []``.
"""

from __future__ import annotations

import zipfile
from pathlib import Path


def needles_of(records) -> dict[str, str]:
    """The personal values of records (and their dependents) worth searching for, labelled."""
    out: dict[str, str] = {}
    for i, rec in enumerate(records):
        people = [rec] + list(rec.get("dependents") or [])
        for j, person in enumerate(people):
            for field in ("family_name", "given_name", "family_name_latin", "given_name_latin"):
                value = person.get(field)
                if value and len(value) >= 3:
                    out[f"{i}.{j}.{field}"] = value
        if rec.get("family_name") and rec.get("given_name"):
            out[f"{i}.full_name"] = rec["family_name"] + " " + rec["given_name"]
        if rec.get("national_id"):
            out[f"{i}.national_id"] = rec["national_id"]
        if rec.get("phone"):
            digits = "".join(ch for ch in rec["phone"] if ch.isdigit())
            local = "0" + digits[3:] if digits.startswith("855") else digits
            out[f"{i}.phone"] = local
            out[f"{i}.phone_e164"] = "+855" + local[1:]
    return out


def _encodings(value: str) -> list[bytes]:
    return [value.encode("utf-8"), value.encode("utf-16-le"), value.encode("utf-16-be")]


def _files(roots) -> list[Path]:
    files = []
    for root in roots:
        root = Path(root)
        if root.is_file():
            files.append(root)
        elif root.is_dir():
            files += [p for p in sorted(root.rglob("*")) if p.is_file()]
    return files


def _contents(path: Path):
    data = path.read_bytes()
    yield str(path), data
    if zipfile.is_zipfile(path):  # diagnostics archives and bundles: look inside too
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                yield f"{path}!{info.filename}", zf.read(info)


def scan(roots, needles: dict[str, str], ignore_short_latin: bool = True) -> list[str]:
    """``file: label`` for every planted value found anywhere under ``roots``; empty when clean."""
    patterns = []
    for label, value in needles.items():
        # Short Latin names ("Ly", "Um", "Sok") occur by chance in random ciphertext and in English words;
        # they are still covered inside longer needles such as the full name and the phone numbers.
        if ignore_short_latin and value.isascii() and not value.isdigit() and len(value) < 5:
            continue
        patterns += [(label, enc) for enc in _encodings(value)]
    found = []
    for path in _files(roots):
        for name, data in _contents(path):
            hits = {label for label, enc in patterns if enc in data}
            found += [f"{name}: {label}" for label in sorted(hits)]
    return found


def files_scanned(roots) -> int:
    return len(_files(roots))
