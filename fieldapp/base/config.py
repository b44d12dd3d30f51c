"""Desktop settings that must be readable before anyone logs in.

A small JSON file (``desktop.json``) in the data folder, outside the encrypted
store, written atomically. It holds the UI language, the idle-lock minutes,
the user name last used to log in (a login name, as in ``keyslots.json`` and
``lockout.json``) and the office's commune code where address searches start
when IT's provisioning names none (no enrollment data). Unknown keys and bad values fall back to
the defaults, so a damaged file never keeps the app from starting.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path

from fieldapp.base.fsutil import atomic_write_json, read_json, secure_dir
from fieldapp.base.i18n import DEFAULT_LANGUAGE, LANGUAGES
from fieldapp.base.paths import CONFIG_FILE, DataDir  # noqa: F401 (CONFIG_FILE: old importers)

DEFAULT_IDLE_MINUTES = 10
MIN_IDLE_MINUTES = 1
MAX_IDLE_MINUTES = 240

# A login name (also checked by fieldapp.store.users): read here before anyone has logged in.
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")
# A commune code of the gazetteer (fieldapp.domain.geo checks that it exists): six ASCII digits.
COMMUNE_RE = re.compile(r"^[0-9]{6}$")


@dataclass
class Config:
    language: str = DEFAULT_LANGUAGE
    idle_minutes: int = DEFAULT_IDLE_MINUTES
    last_user: str | None = None
    office_commune: str | None = None

    def cleaned(self) -> "Config":
        """A copy with every value valid (bad ones replaced by defaults)."""
        lang = self.language if self.language in LANGUAGES else DEFAULT_LANGUAGE
        try:
            idle = int(self.idle_minutes)
        except (TypeError, ValueError):
            idle = DEFAULT_IDLE_MINUTES
        idle = min(MAX_IDLE_MINUTES, max(MIN_IDLE_MINUTES, idle))
        user = self.last_user if isinstance(self.last_user, str) and NAME_RE.match(self.last_user) else None
        office = self.office_commune
        office = office if isinstance(office, str) and COMMUNE_RE.fullmatch(office) else None
        return Config(lang, idle, user, office)


def path_of(data_dir) -> Path:
    return DataDir(data_dir).config


def load(data_dir) -> Config:
    """The saved settings, or the defaults if the file is missing or unreadable."""
    try:
        data = read_json(path_of(data_dir))
    except (OSError, ValueError, UnicodeDecodeError):
        return Config()
    if not isinstance(data, dict):
        return Config()
    return Config(data.get("language", DEFAULT_LANGUAGE), data.get("idle_minutes", DEFAULT_IDLE_MINUTES),
                  data.get("last_user"), data.get("office_commune")).cleaned()


def save(data_dir, config: Config) -> Config:
    """Write the settings atomically (creating the data folder owner-only if needed)."""
    clean = config.cleaned()
    secure_dir(Path(data_dir))
    doc = asdict(clean)
    if doc["office_commune"] is None:  # left out unless set: a file an older release (and its backups) still reads
        del doc["office_commune"]
    atomic_write_json(path_of(data_dir), doc)
    return clean


def update(data_dir, **changes) -> Config:
    """Load, change some values, save; returns the saved settings."""
    current = asdict(load(data_dir))
    current.update({k: v for k, v in changes.items() if k in current})
    return save(data_dir, Config(**current))
