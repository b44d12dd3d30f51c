"""Delivery status: this laptop's registration (device.json) and its delivery queue (spool.db).

The one place that reads it for everyone who shows it: Home, Sync and Settings (ui/screens), ``fieldapp status``
and the diagnostics archive. Files only, no network and no store session; it opens spool.db, so the UI calls it
in its DB worker (ui/worker.py), never on the UI thread.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from fieldapp.base.paths import DataDir
from fieldapp.outbound import device as device_file
from fieldapp.outbound.spool import Spool, SpoolError

# Which callers open the spool: only an existing spool.db, or also (creating it) once the laptop is registered.
EXISTING, REGISTERED = "existing", "registered"


@dataclass(frozen=True)
class DeliveryStatus:
    registered: bool = False
    device_id: str | None = None
    server_url: str | None = None
    registered_at: str | None = None
    ca_file: str | None = None
    pins: int = 0
    spool_present: bool = False  # spool.db was there before this call
    spool_opened: bool = False
    counts: dict = field(default_factory=dict)  # records by spool state (every state); {} if the spool was not opened
    summary: dict | None = None  # Spool.summary(): by state, reasons, batches, errors, times (epoch seconds)
    batches: list = field(default_factory=list)  # Spool.recent_batches(n), when asked for
    device_error: Exception | None = field(default=None, compare=False)  # device.json damaged
    spool_error: Exception | None = field(default=None, compare=False)  # spool.db unusable

    @property
    def last_success(self) -> float | None:
        """When the registry last answered for an item (it left ``queued``)."""
        return (self.summary or {}).get("last_success")

    @property
    def last_attempt(self) -> float | None:
        """When a batch was last sent (or tried)."""
        return (self.summary or {}).get("last_attempt")

    def check(self) -> "DeliveryStatus":
        """Raise what went wrong reading the files (device.json first), else return self."""
        for exc in (self.device_error, self.spool_error):
            if exc is not None:
                raise exc
        return self


def delivery_status(data_dir, *, spool: str | None = EXISTING, batches: int = 0) -> DeliveryStatus:
    """Read device.json and (``spool``: ``EXISTING``, ``REGISTERED`` or None) spool.db; errors are kept, not raised
    (``DeliveryStatus.check`` raises them)."""
    paths = DataDir(data_dir)
    info: dict = {"spool_present": paths.spool.exists()}
    try:
        dev = device_file.load(paths.root)
    except device_file.DeviceFileError as exc:
        dev, info["device_error"] = None, exc
    if dev is not None:
        info.update(registered=True, device_id=dev.device_id, server_url=dev.server_url,
                    registered_at=dev.registered_at, ca_file=dev.ca_file, pins=len(dev.pins))
    if spool is None or not (info["spool_present"] or (spool == REGISTERED and dev is not None)):
        return DeliveryStatus(**info)
    try:
        with Spool(paths.root) as sp:
            info.update(spool_opened=True, counts=sp.counts(), summary=sp.summary())
            if batches:
                info["batches"] = sp.recent_batches(batches)
    except (SpoolError, sqlite3.Error, OSError) as exc:
        info["spool_error"] = exc
    return DeliveryStatus(**info)


def error_name(exc: Exception) -> str:
    """The SQLite error's class name behind a spool error (diagnostics shows only that)."""
    inner = exc.__context__ if isinstance(exc, SpoolError) else None
    return type(inner if isinstance(inner, sqlite3.Error) else exc).__name__


__all__ = ["DeliveryStatus", "delivery_status", "error_name", "EXISTING", "REGISTERED"]
