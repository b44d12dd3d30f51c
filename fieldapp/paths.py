"""Where the data folder is: ``--data-dir``, else ``FIELDAPP_DATA_DIR``, else the platform's user data folder."""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_NAME = "fieldapp"
DB_FILE = "fieldapp.db"
SLOTS_FILE = "keyslots.json"
LOCKOUT_FILE = "lockout.json"


def default_data_dir() -> Path:
    """The platform's per-user data folder for the app."""
    if sys.platform.startswith("win"):
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / APP_NAME
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / APP_NAME
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / APP_NAME


def resolve_data_dir(arg: str | os.PathLike | None = None) -> Path:
    if arg:
        return Path(arg).expanduser().resolve()
    env = os.environ.get("FIELDAPP_DATA_DIR")
    if env:
        return Path(env).expanduser().resolve()
    return default_data_dir()


def log_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "logs"
