"""Backup files made by hand, the way an attacker with a copy of a stick (or an earlier release) writes them: the
zip's members read and written with the standard ``zipfile`` module, the manifest's entries recomputed.

Nothing here knows the store key: a manifest MAC can only be kept as it was, removed, or made up.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

MANIFEST = "manifest.json"
#: the fields of the manifest release 0.1.0 wrote (backup format 1: no MAC)
RELEASE_1_FIELDS = ("format", "version", "app_version", "store_id", "schema_version", "created_at", "counts", "files")


def read_members(archive: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(archive) as zf:
        return {i.filename: zf.read(i.filename) for i in zf.infolist()}


def write_members(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def manifest_of(members: dict[str, bytes]) -> dict:
    return json.loads(members[MANIFEST])


def reseal(members: dict[str, bytes], *, add: dict[str, bytes] | None = None, drop=(), **changes) -> dict[str, bytes]:
    """``members`` with some added, replaced or dropped, the manifest's ``files`` entries recomputed (SHA-256,
    size) and its fields changed as given (``name=None`` removes a field); the ``mac`` stays as it was."""
    out = {k: v for k, v in members.items() if k not in drop}
    out.update(add or {})
    manifest = manifest_of(out)
    for name, value in changes.items():
        if value is None:
            manifest.pop(name, None)
        else:
            manifest[name] = value
    manifest["files"] = {name: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
                         for name, data in out.items() if name != MANIFEST}
    out[MANIFEST] = json.dumps(manifest, sort_keys=True, indent=1).encode("utf-8")
    return out


def as_release_1(members: dict[str, bytes], *, add: dict[str, bytes] | None = None) -> dict[str, bytes]:
    """The same backup as release 0.1.0 wrote it (format 1, no MAC), with ``add`` among its members."""
    out = reseal(members, add=add, version=1, mac=None)
    manifest = manifest_of(out)
    assert tuple(sorted(manifest)) == tuple(sorted(RELEASE_1_FIELDS))
    return out
