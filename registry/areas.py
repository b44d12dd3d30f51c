"""Device areas (protocol 4): the communes a device serves, which scope its member lookup.

An area is set by the operator: on the enrollment code (``fieldapp-registry enrollment-code --communes C,C``: the
device that enrolls with the code gets it) or later (``fieldapp-registry device-area DEVICE_ID --communes C,C``,
``--clear``). ``area_id`` is the first 16 hex digits of the SHA-256 of the comma-joined sorted commune codes: a
device that asks ``GET /v1/lookup`` with another ``area`` than its current one starts over (``reset``).
"""

from __future__ import annotations

import hashlib

from fieldapp.domain import geo
from registry.errors import ApiError

MAX_COMMUNES = 200


class AreaError(ApiError):
    """A refused area (the operator's CLI prints ``reason``): ``bad_area``, ``unknown_commune``, ``unknown_device``."""

    def __init__(self, reason: str):
        super().__init__(400, reason, "")


def area_id(communes) -> str:
    return hashlib.sha256(",".join(sorted(communes)).encode("ascii")).hexdigest()[:16]


def parse(text: str) -> list[str]:
    """``"010201,010202"`` -> sorted known commune codes; ``AreaError("unknown_commune")`` otherwise."""
    codes = sorted({c.strip() for c in (text or "").split(",") if c.strip()})
    if not codes or len(codes) > MAX_COMMUNES:
        raise AreaError("bad_area")
    for code in codes:
        if not code.isdigit() or geo.commune(code) is None:
            raise AreaError("unknown_commune")
    return codes


def get(tx, device_id: str) -> list[str]:
    return [r[0] for r in tx.execute("SELECT commune FROM device_areas WHERE device_id = ? ORDER BY commune",
                                     (device_id,))]


def put(tx, device_id: str, communes: list[str]) -> None:
    tx.execute("DELETE FROM device_areas WHERE device_id = ?", (device_id,))
    for code in communes:
        tx.execute("INSERT INTO device_areas (device_id, commune) VALUES (?, ?) ON CONFLICT DO NOTHING",
                   (device_id, code))


def show(db, device_id: str, communes: list[str] | None = None, clear: bool = False) -> dict:
    """The device's area (set first to ``communes``, or cleared); ``AreaError("unknown_device")``."""

    def work(tx) -> dict:
        if tx.one("SELECT 1 FROM devices WHERE device_id = ?", (device_id,)) is None:
            raise AreaError("unknown_device")
        if clear or communes is not None:
            put(tx, device_id, [] if clear else communes)
        area = get(tx, device_id)
        return {"device_id": device_id, "area": area, "area_id": area_id(area)}

    return db.run(work, write=clear or communes is not None)
