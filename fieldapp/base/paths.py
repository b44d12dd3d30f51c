"""Where things are: the data folder, the log folder and the machine-wide provisioning file.

Data folder: ``--data-dir``, else ``FIELDAPP_DATA_DIR``, else the platform's user data folder.
Log folder: ``FIELDAPP_LOG_DIR``, else the platform's user log folder (never inside the data folder, so a
diagnostics archive or a support session never needs the store's folder).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

APP_NAME = "fieldapp"
# The data folder's file names: defined here only (use DataDir, or these names where only the name is wanted).
DB_FILE = "fieldapp.db"
SLOTS_FILE = "keyslots.json"
ESCROW_FILE = "recovery-slot.json"  # a second copy of the recovery slot (see keyslots.py)
LOCKOUT_FILE = "lockout.json"
LOCKOUT_LOCK_FILE = "lockout.lock"  # held while one login attempt is checked, made and recorded
SPOOL_FILE = "spool.db"
DEVICE_FILE = "device.json"
CONFIG_FILE = "desktop.json"
APPLIED_FILE = "provisioning.json"  # the provisioning file applied here (not the machine-wide one)
CA_FILE = "provisioned-ca.pem"
REGISTRY_CA_FILE = "registry-ca.pem"  # the CA copied in at registration
SYNC_LOCK_FILE = "sync.lock"
BACKUPS_DIR = "backups"


@dataclass(frozen=True)
class DataDir:
    """The data folder and every file in it: ``DataDir(path).spool``, ``.db``, ``.slots`` ..."""

    root: Path

    def __init__(self, root: str | os.PathLike):
        object.__setattr__(self, "root", Path(root))

    db = property(lambda self: self.root / DB_FILE)
    slots = property(lambda self: self.root / SLOTS_FILE)
    escrow = property(lambda self: self.root / ESCROW_FILE)
    lockout = property(lambda self: self.root / LOCKOUT_FILE)
    lockout_lock = property(lambda self: self.root / LOCKOUT_LOCK_FILE)
    spool = property(lambda self: self.root / SPOOL_FILE)
    device = property(lambda self: self.root / DEVICE_FILE)
    config = property(lambda self: self.root / CONFIG_FILE)
    provisioning = property(lambda self: self.root / APPLIED_FILE)
    provisioned_ca = property(lambda self: self.root / CA_FILE)
    registry_ca = property(lambda self: self.root / REGISTRY_CA_FILE)
    sync_lock = property(lambda self: self.root / SYNC_LOCK_FILE)
    backups = property(lambda self: self.root / BACKUPS_DIR)
    legacy_logs = property(lambda self: self.root / "logs")


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


def default_log_dir() -> Path:
    """The platform's per-user log folder: Linux ``$XDG_STATE_HOME/fieldapp/logs`` (else
    ``~/.local/state/fieldapp/logs``), Windows ``%LOCALAPPDATA%\\fieldapp\\Logs``, macOS ``~/Library/Logs/fieldapp``."""
    if sys.platform.startswith("win"):
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / APP_NAME / "Logs"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Logs" / APP_NAME
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / APP_NAME / "logs"


def resolve_log_dir() -> Path:
    """``FIELDAPP_LOG_DIR`` if set, else the platform's log folder."""
    env = os.environ.get("FIELDAPP_LOG_DIR")
    if env:
        return Path(env).expanduser().resolve()
    return default_log_dir()


def log_dir(data_dir: Path | None = None) -> Path:
    """The log folder (the argument is ignored: logs no longer live in the data folder; kept for old callers)."""
    return resolve_log_dir()


def legacy_log_dir(data_dir: Path) -> Path:
    """Where releases before 0.2 wrote their logs (inside the data folder); diagnostics still read it."""
    return DataDir(data_dir).legacy_logs


def machine_provisioning_file() -> Path:
    """The machine-wide provisioning file an installer or IT leaves for every user of the laptop
    (``FIELDAPP_PROVISIONING_FILE`` overrides): Windows ``%ProgramData%\\fieldapp\\provisioning.json``,
    Linux ``/etc/fieldapp/provisioning.json``, macOS ``/Library/Application Support/fieldapp/provisioning.json``."""
    env = os.environ.get("FIELDAPP_PROVISIONING_FILE")
    if env:
        return Path(env).expanduser()
    if sys.platform.startswith("win"):
        return Path(os.environ.get("PROGRAMDATA") or r"C:\ProgramData") / APP_NAME / "provisioning.json"
    if sys.platform == "darwin":
        return Path("/Library/Application Support") / APP_NAME / "provisioning.json"
    return Path("/etc") / APP_NAME / "provisioning.json"
