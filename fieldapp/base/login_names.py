"""The full names the login screen shows beside the login names, readable before anyone logs in.

The store's ``users`` table (with the full names) is encrypted, and the key slots hold only login names, so the
login list would show ``sokha.chan`` rather than "Chan Sokha". After each unlock the desktop client writes the
active users' full names here, ``login-names.json`` in the data folder (owner-only, written atomically):
``{"names": {"sokha.chan": "Chan Sokha", ...}}``. It holds nothing the login screen does not show to whoever sits
at the laptop anyway: staff names, never an enrolled person's data. The login screen shows a name only for a
login that still has a key slot, so a removed user's stale entry is never shown; a missing or damaged file means
login names only. Backups leave it out (the next login writes it again).
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from fieldapp.base.fsutil import atomic_write_json, read_json, secure_dir

FILE = "login-names.json"
MAX_NAME = 80
MAX_USERS = 500
MAX_BYTES = 256 * 1024
_LOGIN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")  # fieldapp.base.config.NAME_RE


def path_of(data_dir) -> Path:
    return Path(data_dir) / FILE


def clean_name(name) -> str | None:
    """A full name fit to show: no control or format characters (zero-width spaces), spaces collapsed, at most
    ``MAX_NAME`` characters; None when nothing is left."""
    if not isinstance(name, str):
        return None
    kept = "".join(" " if ch.isspace() else ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf"))
    kept = " ".join(kept.split())[:MAX_NAME].strip()
    return kept or None


def load(data_dir) -> dict[str, str]:
    """login name -> full name, only well-formed entries; empty if the file is missing or damaged."""
    path = path_of(data_dir)
    try:
        if path.stat().st_size > MAX_BYTES:
            return {}
        doc = read_json(path)
    except (OSError, ValueError, UnicodeDecodeError):
        return {}
    names = doc.get("names") if isinstance(doc, dict) else None
    if not isinstance(names, dict):
        return {}
    found = {}
    for login, name in list(names.items())[:MAX_USERS]:
        name = clean_name(name)
        if isinstance(login, str) and _LOGIN.fullmatch(login) and name:
            found[login] = name
    return found


def save(data_dir, users) -> dict[str, str]:
    """Write the full names of ``users`` (dicts with ``name``, ``full_name`` and ``disabled``, as
    ``fieldapp.store.users.list_users`` returns them); disabled users and users without a full name are left out.
    Writes nothing when nothing changed; returns what the file holds."""
    names = {}
    for user in users:
        login, name = user.get("name"), clean_name(user.get("full_name"))
        if isinstance(login, str) and _LOGIN.fullmatch(login) and name and not user.get("disabled"):
            names[login] = name
    if names != load(data_dir) or not path_of(data_dir).exists():
        secure_dir(Path(data_dir))
        atomic_write_json(path_of(data_dir), {"names": dict(sorted(names.items()))})
    return names


def label(login: str, names: dict[str, str], logins=()) -> str:
    """What the login list shows for ``login``: the full name, with the login name after it when another of
    ``logins`` has the same full name; the login name where there is no full name."""
    name = names.get(login)
    if not name:
        return login
    if sum(1 for other in logins if names.get(other) == name) > 1:
        return f"{name} ({login})"
    return name
