"""USB bundles: queued records, sealed and device-signed, for a registry without a network.

The bundle holds the spool's frozen batches (the same Idempotency-Key and bytes the
network path would send) plus new frozen batches for the rest. The registry's
``import-bundle`` takes each batch through normal intake; when the laptop later syncs
over the network, the same keys and bodies get the stored receipts back, so the
records become ``synced`` without being stored twice. Records stay ``queued``
locally until then: a bundle is never taken as proof of delivery.
"""

from __future__ import annotations

from pathlib import Path

from fieldapp.base import fsutil
from fieldapp.outbound import bundle as wire_bundle
from fieldapp.outbound.spool import Spool
from sync import batching

BUNDLE_BATCH_BYTES = batching.MAX_BYTES  # the network's size, so a later resend is cheap


def write_bundle(data_dir, device, out: Path) -> tuple[int, int]:
    """Write the bundle file atomically; returns ``(records, batches)`` (``(0, 0)``: nothing written)."""
    pairs, n_records = [], 0
    with Spool(data_dir) as spool:
        for bid in spool.open_batch_ids():
            row = spool.batch(bid)
            if row is not None:
                pairs.append((row["idempotency_key"], row["body"]))
                n_records += len(row["record_ids"])
        while True:
            batch = batching.build_frozen(spool, device.device_id, batching.MAX_ITEMS, BUNDLE_BATCH_BYTES)
            if batch is None:
                break
            pairs.append((batch.idempotency_key, batch.body))
            n_records += batch.n_items
    if not pairs:
        return 0, 0
    data = wire_bundle.build_bundle(pairs, device_id=device.device_id, device_private=device.private_raw)
    fsutil.atomic_write(Path(out), data)
    return n_records, len(pairs)
