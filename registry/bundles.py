"""Operator data paths: ``export`` (decrypted JSON lines) and ``import-bundle`` (USB bundles).

A USB bundle (``wire_bundle.build_bundle``) is read in memory with every member name, size and
hash checked (``wire_bundle.read_bundle``); nothing is extracted to disk. Each batch inside then
goes through the same intake as ``POST /v1/batches`` under its own idempotency key, so
importing a bundle twice, or a batch that also arrived over the network, changes nothing.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from pathlib import Path
from typing import TextIO

from fieldapp.outbound import wire, bundle as wire_bundle
from registry import intake, logs, members
from registry.errors import BatchRefused
from registry.sealed import open_stored
from registry.app import Context
from registry.storage import Tx

PAGE = 500


def _export_page(tx: Tx, after: int) -> list[tuple]:
    return tx.execute("SELECT p.id, r.record_id, r.item, p.registry_id, r.device_id, d.public_key, m.version "
                      "FROM people p JOIN records r ON r.device_id = p.device_id AND r.record_id = p.record_id "
                      "JOIN devices d ON d.device_id = r.device_id LEFT JOIN members m ON m.registry_id = p.registry_id "
                      "WHERE p.id > ? ORDER BY p.id LIMIT ?", (after, PAGE))


def export_jsonl(ctx: Context, out: TextIO) -> dict:
    """Write each registered person's record once (the first record held for them), decrypted (the stored copy's
    signature checked again: the device's, or the approval key's for a version 2 item), with ``registry_id``,
    ``source_device`` and ``version`` added; a member updated since (version 2 or later) is written as its current
    version (``registry.members``). Held records are not registered people and are not exported. Returns counts."""
    after, written, failed = 0, 0, 0
    approvals: dict[tuple[str, str], bytes | None] = {}

    def approval_public(device_id: str, item: dict) -> bytes | None:  # a version 2 item's key, even if since retired
        fp = (item.get("approval") or {}).get("key") if item.get("v") == wire.ITEM_V2 else None
        if fp is None:
            return None
        if (device_id, fp) not in approvals:
            row = ctx.db.run(lambda tx: tx.one("SELECT public_key FROM approval_keys WHERE device_id = ? AND "
                                               "fingerprint = ?", (device_id, fp)), write=False)
            approvals[(device_id, fp)] = wire.b64d(row[0]) if row else None
        return approvals[(device_id, fp)]

    while True:
        rows = ctx.db.run(lambda tx: _export_page(tx, after), write=False)
        if not rows:
            return {"exported": written, "failed": failed}
        for pid, record_id, item, registry_id, device_id, public_key, version in rows:
            after = pid
            try:
                stored = json.loads(item)
                record = open_stored(stored, ctx.keys, wire.b64d(public_key), approval_public(device_id, stored))
                if version and int(version) > 1:
                    record = ctx.db.run(lambda tx: members.version_record(tx, ctx.keys, registry_id, int(version)),
                                        write=False) or record
            except wire.WireError as exc:
                logs.event("export_failed", logging.ERROR, reason=exc.reason, registry_id=registry_id)
                failed += 1
                continue
            line = {**record, "record_id": record_id, "registry_id": registry_id, "source_device": device_id,
                    "version": int(version or 1)}
            out.write(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n")
            written += 1


def export_to_file(ctx: Context, path: Path) -> dict:
    """Export to ``path`` atomically, owner-only (it holds personal data)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            counts = export_jsonl(ctx, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if tmp.exists():
            tmp.unlink()
        raise
    return counts


def _device_key(ctx: Context):
    def lookup(device_id: str) -> bytes:
        row = ctx.db.run(lambda tx: tx.one("SELECT public_key, revoked_at FROM devices WHERE device_id = ?",
                                           (device_id,)), write=False)
        if row is None:
            raise wire.WireError("unknown_device")
        if row[1] is not None:
            raise wire.WireError("device_revoked")
        return wire.b64d(row[0])

    return lookup


def import_bundle(ctx: Context, source) -> dict:
    """Take every batch of a USB bundle; returns a summary and the signed receipts.

    Raises ``wire.WireError`` when the bundle itself is unreadable, unsafe, too large,
    from an unknown or revoked device, or not signed by its device.
    """
    lookup = _device_key(ctx)
    s = ctx.settings
    bundle = wire_bundle.read_bundle(source, device_public=lookup, max_member=s.max_batch_bytes)
    device_id, public = bundle["device_id"], lookup(bundle["device_id"])
    tally, receipts, refused = Counter(), [], []
    for n, batch in enumerate(bundle["batches"], start=1):
        try:
            envelope = intake.process_batch(ctx.db, ctx.keys, s, device_id=device_id, device_public=public,
                                            body=batch["body"], idempotency_key=batch["idempotency_key"],
                                            signature=batch["signature"])
        except BatchRefused as exc:
            refused.append({"batch": n, "error": exc.reason})
            continue
        receipts.append(envelope)
        tally.update(r["status"] for r in envelope["receipt"]["results"])
    logs.event("bundle_imported", device_id=device_id, batches=len(bundle["batches"]), refused=len(refused), **tally)
    return {"device_id": device_id, "batches": len(bundle["batches"]), "results": dict(tally), "refused": refused,
            "receipts": receipts}
