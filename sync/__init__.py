"""The sync engine: delivers sealed records from the spool to the central registry.

Public API (no Qt; ``sync`` may import ``fieldapp``, never the reverse):

- :func:`register` - enroll this laptop once with a one-time code (writes device.json);
- :class:`SyncService` - background drain loop for a desktop client (``start``, ``stop``,
  ``sync_once``, ``latest_progress``, ``abort``, ``kick``);
- :class:`Engine` / :class:`SyncConfig` / :class:`SyncResult` - one run, as ``fieldapp sync`` does;
- :mod:`sync.cli` - ``add_commands(subparsers, common)`` for the fieldapp CLI.

See docs/sync.md.
"""

from __future__ import annotations

__all__ = ["register", "SyncService", "Engine", "SyncConfig", "SyncResult", "Progress", "SyncError"]


def __getattr__(name):  # lazy: importing ``sync`` stays cheap and pulls in no HTTP stack
    if name == "register":
        from sync.registration import register
        return register
    if name == "SyncService":
        from sync.service import SyncService
        return SyncService
    if name in ("Engine", "SyncConfig", "SyncResult"):
        from sync import engine
        return getattr(engine, name)
    if name == "Progress":
        from sync.progress import Progress
        return Progress
    if name == "SyncError":
        from sync.errors import SyncError
        return SyncError
    raise AttributeError(name)
