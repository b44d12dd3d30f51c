"""Adaptive batch size and frozen batches.

The size starts near 50 records, doubles after each verified receipt up to
``max_items`` (500) or ``max_bytes`` (128 KB compressed), and halves after a
timeout or a dropped connection. A batch's body is built once and frozen in the
spool together with its Idempotency-Key before the first byte is sent; retries -
also after a crash - send exactly those bytes again.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from dataclasses import dataclass, field

from fieldapp.outbound import wire
from fieldapp.outbound.spool import Spool

START_ITEMS = 50
MAX_ITEMS = 500
MAX_BYTES = 128 * 1024
_META = "batch_size"


@dataclass
class Batch:
    batch_id: str
    idempotency_key: str
    body: bytes
    sha256: str
    record_ids: list[str] = field(default_factory=list)
    attempts: int = 0

    @property
    def n_items(self) -> int:
        return len(self.record_ids)


class BatchSizer:
    """Thread-safe adaptive target for the number of records in the next batch."""

    def __init__(self, start: int = START_ITEMS, max_items: int = MAX_ITEMS, max_bytes: int = MAX_BYTES,
                 min_items: int = 1):
        self.max_items, self.max_bytes, self.min_items = max_items, max_bytes, min_items
        self._target = max(min_items, min(start, max_items))
        self._lock = threading.Lock()

    @property
    def target(self) -> int:
        return self._target

    def on_success(self, n_sent: int) -> None:
        with self._lock:
            if n_sent >= self._target // 2:
                self._target = min(self.max_items, max(self._target, n_sent) * 2)

    def on_timeout(self) -> None:
        with self._lock:
            self._target = max(self.min_items, self._target // 2)

    def on_too_large(self, n_items: int) -> None:
        with self._lock:
            self._target = max(self.min_items, min(self._target, n_items // 2))
            self.max_bytes = max(8 * 1024, self.max_bytes // 2) if n_items <= 1 else self.max_bytes

    def load(self, spool: Spool) -> None:
        saved = spool.get_meta(_META)
        if isinstance(saved, int) and saved > 0:
            self._target = max(self.min_items, min(saved, self.max_items))

    def save(self, spool: Spool) -> None:
        spool.set_meta(_META, self._target)


def build_frozen(spool: Spool, device_id: str, n_items: int, max_bytes: int, audit_head: dict | None = None) -> Batch | None:
    """Build the next batch from unbatched queued items and freeze it; None if nothing is left. ``audit_head``: the
    store's newest signed audit head (spool meta), carried by the batch for the registry to keep."""
    for _attempt in range(5):
        items = spool.unbatched(max(1, n_items))
        if not items:
            return None
        # estimate compressed size from the stored JSON size, then check the real body
        batch_id = str(uuid.uuid4())
        body = wire.build_batch([i["sealed"] for i in items], device_id=device_id, batch_id=batch_id,
                                audit_head=audit_head)
        while len(body) > max_bytes and len(items) > 1:
            keep = max(1, int(len(items) * max_bytes / len(body) * 0.95))
            items = items[:min(keep, len(items) - 1)]
            body = wire.build_batch([i["sealed"] for i in items], device_id=device_id, batch_id=batch_id,
                                    audit_head=audit_head)
        ids = [i["record_id"] for i in items]
        batch = Batch(batch_id=batch_id, idempotency_key=f"fa-{uuid.uuid4()}", body=body,
                      sha256=hashlib.sha256(body).hexdigest(), record_ids=ids)
        if spool.freeze_batch(batch_id=batch.batch_id, idempotency_key=batch.idempotency_key,
                              body=body, sha256=batch.sha256, record_ids=ids):
            return batch
    return None  # other processes kept claiming the same items


def from_spool(row: dict) -> Batch:
    return Batch(batch_id=row["batch_id"], idempotency_key=row["idempotency_key"], body=row["body"],
                 sha256=row["sha256"], record_ids=row["record_ids"], attempts=row["attempts"])
