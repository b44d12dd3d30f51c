"""The sync engine: drain the spool to the registry in frozen, signed batches.

One run (:meth:`Engine.run`): take the inter-process lock, probe ``/v1/health``,
log in, send batches with ``parallel`` workers over one ``requests.Session``
(two in flight keep a high-latency uplink busy while the previous receipt is on
its way), apply verified receipts, then poll ``/v1/status`` for records that
are synced but not yet registered, and fetch the area's member lookup pages
(``sync.lookup``, sealed into the spool's inbox for the store). Only a receipt whose Ed25519 signature
verifies with the registry key in device.json *and* that names this batch's
SHA-256 marks anything; everything else is a transient failure.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from fieldapp.outbound import device as device_file
from fieldapp.outbound import proofs, wire
from fieldapp.outbound.spool import Spool
from sync import batching
from sync.auth import TokenAuth
from sync.connectivity import Backoff, sleep, wait_online
from sync.errors import EXIT_OK, EXIT_QUARANTINED, EXIT_REFUSED, EXIT_UNREACHABLE, Refused, SyncError, Unreachable
from sync.calls import RegistryCalls
from sync.lookup import LookupCalls
from sync.lock import ProcessLock
from sync.progress import ProgressTracker
from sync.transport import Client, Reply, TransportError, raise_for_transient

log = logging.getLogger("fieldapp.sync")


@dataclass
class SyncConfig:
    connect_timeout: float = 10.0
    read_timeout: float = 30.0        # plus time for the body at 16 KB/s
    parallel: int = 2                 # batches in flight
    backoff_base: float = 1.0
    backoff_cap: float = 60.0
    max_failures: int = 6             # consecutive failures of one batch before the run gives up
    abandon_after_timeouts: int = 3   # re-batch a frozen batch smaller after this many timeouts
    start_items: int = batching.START_ITEMS
    max_items: int = batching.MAX_ITEMS
    max_bytes: int = batching.MAX_BYTES
    poll_status: bool = True


@dataclass(frozen=True)
class SyncResult:
    outcome: str                 # complete | unreachable | refused | aborted | busy
    error: str | None = None     # machine-readable code
    sent: int = 0
    quarantined: int = 0
    batches: int = 0
    counts: dict = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        if self.outcome == "refused":
            return EXIT_REFUSED
        if self.counts.get("queued", 0) > 0 or self.outcome in ("unreachable", "busy", "aborted"):
            return EXIT_UNREACHABLE
        if self.counts.get("quarantined", 0) > 0:
            return EXIT_QUARANTINED
        return EXIT_OK

    def as_dict(self) -> dict:
        return {"outcome": self.outcome, "error": self.error, "sent": self.sent,
                "quarantined": self.quarantined, "batches": self.batches, "counts": dict(self.counts),
                "exit_code": self.exit_code}


class _Stop(Exception):
    def __init__(self, error: SyncError):
        super().__init__(error.code)
        self.error = error


def resolve_ca(data_dir, dev) -> str | None:
    if not dev.ca_file:
        return None
    p = Path(dev.ca_file)
    return str(p if p.is_absolute() else Path(data_dir) / p)


def make_client(data_dir, dev, config: SyncConfig) -> Client:
    return Client(dev.server_url, ca_file=resolve_ca(data_dir, dev), pins=dev.pins,
                  connect_timeout=config.connect_timeout, read_timeout=config.read_timeout,
                  pool_size=max(2, config.parallel + 1))



def load_device(data_dir):
    """The registered device; ``SyncError`` with the code ``device_file`` or ``not_registered`` otherwise."""
    try:
        dev = device_file.load(data_dir)
    except device_file.DeviceFileError as exc:
        raise SyncError(exc.code) from None
    if dev is None:
        raise SyncError("not_registered")
    return dev

class Engine(RegistryCalls, LookupCalls):
    def __init__(self, data_dir, *, config: SyncConfig | None = None, progress: ProgressTracker | None = None,
                 abort: threading.Event | None = None, device=None):
        """``device``: the registration as an unlocked store holds it (``identity.trusted_device``); without it the
        engine reads device.json, and the store checks every outcome at the next unlock."""
        self.data_dir = data_dir
        self.device = device
        self.config = config or SyncConfig()
        self.progress = progress or ProgressTracker()
        self.abort_event = abort or threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._inflight: set[str] = set()
        self._fatal: SyncError | None = None
        self._deadline: float | None = None
        self._tally = {"sent": 0, "quarantined": 0, "batches": 0}

    # ------------------------------------------------------------------ run
    def run(self, timeout: float | None = None) -> SyncResult:
        dev = self.device or load_device(self.data_dir)
        self._deadline = time.monotonic() + timeout if timeout else None
        lock = ProcessLock(self.data_dir)
        if not lock.acquire(deadline=self._deadline, stop=self.abort_event):
            return self._finish(None, "busy", "sync_running")
        try:
            with Spool(self.data_dir) as spool:
                return self._run_locked(dev, spool)
        finally:
            lock.release()

    def _run_locked(self, dev, spool: Spool) -> SyncResult:
        cfg = self.config
        self.dev, self.spool = dev, spool
        self.sizer = batching.BatchSizer(cfg.start_items, cfg.max_items, cfg.max_bytes)
        self.sizer.load(spool)
        counts = spool.counts()
        self.progress.update(phase="probing", records_sent=0, batches_done=0, quarantined=0,
                             records_total=counts["queued"], queued=counts["queued"], last_error=None)
        if counts["queued"] == 0 and (counts["synced"] == 0 or not cfg.poll_status) and not (
                cfg.poll_status and self._lookup_due(time.time())):  # nothing to send, ask or fetch
            return self._finish(spool, "complete")
        self.client = make_client(self.data_dir, dev, cfg)
        try:
            try:
                online = wait_online(self.client, stop=self.abort_event, deadline=self._deadline,
                                     backoff=Backoff(cfg.backoff_base, cfg.backoff_cap),
                                     on_probe=lambda ok: self.progress.update(online=ok),
                                     max_probes=None if self._deadline else cfg.max_failures)
            except TransportError as exc:
                return self._finish(spool, "unreachable", self._transport_code(exc))
            if not online:
                self.progress.update(phase="offline")
                outcome = "aborted" if self.abort_event.is_set() else "unreachable"
                return self._finish(spool, outcome, "unreachable")
            self.auth = TokenAuth(self.client, dev)
            self.progress.update(phase="authenticating")
            try:
                if not self._register_approval_key():
                    return self._finish(spool, "unreachable", "unexpected_answer")
            except SyncError as exc:
                return self._finish(spool, "refused" if isinstance(exc, Refused) else "unreachable", exc.code)
            except TransportError as exc:
                return self._finish(spool, "unreachable", self._transport_code(exc))
            workers = [threading.Thread(target=self._worker, name=f"sync-worker-{i}", daemon=True)
                       for i in range(max(1, cfg.parallel))]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            self.sizer.save(spool)
            if self._fatal is not None:
                outcome = "refused" if isinstance(self._fatal, Refused) else "unreachable"
                return self._finish(spool, outcome, self._fatal.code)
            if self.abort_event.is_set():
                return self._finish(spool, "aborted", "aborted")
            if cfg.poll_status:
                self._poll_status()
                self._fetch_lookup(time.time())
                self._ask_again_for_members()
                self._fetch_scheme_facts(time.time())
            return self._finish(spool, "complete")
        finally:
            self.client.close()

    def _finish(self, spool, outcome: str, error: str | None = None) -> SyncResult:
        counts = spool.counts() if spool is not None else {}
        phase = {"complete": "done", "aborted": "aborted"}.get(outcome, "error")
        if error in ("unreachable", "timed_out", "timeout", "registry_busy", "unexpected_answer"):
            phase = "offline"
        self.progress.update(phase=phase, last_error=error, queued=counts.get("queued", 0))
        log.info("sync %s (%s): sent=%d quarantined=%d batches=%d", outcome, error or "-",
                 self._tally["sent"], self._tally["quarantined"], self._tally["batches"])
        return SyncResult(outcome, error, counts=counts, **self._tally)

    # ------------------------------------------------------------------ workers
    def _worker(self) -> None:
        backoff = Backoff(self.config.backoff_base, self.config.backoff_cap)
        while not self._stop.is_set() and not self.abort_event.is_set():
            try:
                batch = self._claim()
                if batch is None:
                    return
                try:
                    self._deliver(batch, backoff)
                finally:
                    with self._lock:
                        self._inflight.discard(batch.batch_id)
            except (_Stop, SyncError) as stop:
                error = stop.error if isinstance(stop, _Stop) else stop
                with self._lock:
                    if self._fatal is None or isinstance(error, Refused):
                        self._fatal = error
                self._stop.set()
            except Exception as exc:  # never let a worker die silently
                from fieldapp.base.fsutil import is_disk_full

                log.error("sync worker failed: %s", type(exc).__name__)
                error = Unreachable("disk_full") if is_disk_full(exc, self.data_dir) else \
                    SyncError("internal", kind=type(exc).__name__)
                with self._lock:
                    self._fatal = self._fatal or error
                self._stop.set()

    def _claim(self) -> batching.Batch | None:
        with self._lock:
            for bid in self.spool.open_batch_ids():
                row = self.spool.batch(bid) if bid not in self._inflight else None
                if row is not None:
                    self._inflight.add(bid)
                    return batching.from_spool(row)
            batch = batching.build_frozen(self.spool, self.dev.device_id, self.sizer.target,
                                          self.sizer.max_bytes, audit_head=self.spool.get_meta("audit_head"))
            if batch is not None:
                self._inflight.add(batch.batch_id)
            return batch

    def _deliver(self, batch: batching.Batch, backoff: Backoff) -> None:
        cfg, failures, busy, timeouts, auth_retries = self.config, 0, 0, 0, 0
        while not self._stop.is_set() and not self.abort_event.is_set():
            if self._deadline is not None and time.monotonic() > self._deadline:
                raise _Stop(Unreachable("timed_out"))
            retry_after = None
            try:
                hdr = self.auth.header()
                if self.progress.snapshot().phase != "sending":
                    self.progress.update(phase="sending")
                self.spool.note_attempt(batch.batch_id)
                r = self.client.request("POST", "/v1/batches", body=batch.body, headers={
                    **hdr, "Idempotency-Key": batch.idempotency_key, "Content-Encoding": "gzip",
                    "Content-Type": "application/json",
                    "X-Batch-Signature": wire.sign_batch(batch.body, idempotency_key=batch.idempotency_key,
                                                         device_private=self.dev.private_raw)},
                    read_timeout=cfg.read_timeout + len(batch.body) / 16384)
                if r.status == 401 and auth_retries < 2:
                    auth_retries += 1
                    self.auth.invalidate(hdr)
                    continue
                if self._handle(batch, r):
                    backoff.reset()
                    return
            except TransportError as exc:
                code = self._transport_code(exc)
                if exc.kind in ("tls", "pin"):
                    raise _Stop(Unreachable(code)) from None
                self.progress.update(last_error=code)
                if exc.kind in ("timeout", "reset"):
                    self.sizer.on_timeout()
                    timeouts += 1
                    if timeouts >= cfg.abandon_after_timeouts and batch.n_items > self.sizer.target:
                        self.spool.abandon_batch(batch.batch_id, "timeouts")
                        return
                retry_after = exc.retry_after
                if exc.kind == "busy":  # the registry is there: be far more patient
                    busy += 1
                else:
                    failures += 1
                if failures >= cfg.max_failures or busy >= cfg.max_failures * 5:
                    raise _Stop(Unreachable(code)) from None
            if not sleep(backoff.next_delay(retry_after), self.abort_event, self._deadline):
                if not self.abort_event.is_set():
                    raise _Stop(Unreachable("timed_out"))

    def _handle(self, batch: batching.Batch, r: Reply) -> bool:
        """True when the batch is finished with (receipt applied, abandoned or quarantined)."""
        if r.status == 200 and r.is_json:
            try:
                receipt = proofs.verify_receipt(r.data, registry_sign_public=self.dev.sign_public_raw,
                                              batch_sha256=batch.sha256)
                if receipt.get("batch_id") != batch.batch_id or \
                        receipt.get("device_id", self.dev.device_id) != self.dev.device_id:
                    raise wire.WireError("bad_receipt_signature", "another batch")
            except wire.WireError:
                raise TransportError("bad_receipt", status=r.status) from None
            self._apply(batch, receipt, r.data)
            return True
        raise_for_transient(r)  # 5xx, 429, redirects, non-JSON (captive portals)
        err = r.error or f"http_{r.status}"
        if r.status in (401, 403):
            raise _Stop(Refused("device_revoked" if r.status == 403 and err in (
                "device_revoked", f"http_{r.status}") else "auth_failed"))
        if err == "bad_batch_signature":
            raise _Stop(Refused("auth_failed"))
        if r.status == 409 or err == "idempotency_key_reused":
            self.spool.abandon_batch(batch.batch_id, "idempotency_key_reused")
            return True
        if r.status == 413 or err == "batch_too_large":
            self.sizer.on_too_large(batch.n_items)
            if batch.n_items > 1:
                self.spool.abandon_batch(batch.batch_id, "batch_too_large")
            else:
                self._quarantine(batch, "batch_too_large")
            return True
        if 400 <= r.status < 500:  # the registry says this body is bad: bisect down to the culprit
            if batch.n_items > 1:
                self.sizer.on_too_large(batch.n_items)
                self.spool.abandon_batch(batch.batch_id, err)
            else:
                self._quarantine(batch, err)
            return True
        raise TransportError("unexpected", status=r.status)

    def _quarantine(self, batch: batching.Batch, reason: str) -> None:
        self.spool.quarantine(batch.record_ids, reason)
        self.spool.abandon_batch(batch.batch_id, reason)
        self._count(0, batch.n_items)

    def _apply(self, batch: batching.Batch, receipt: dict, envelope: dict) -> None:
        """Apply a verified receipt; the signed envelope is kept as the records' proof (``outbox.pull_states``)."""
        results = receipt["results"]
        if len(results) == batch.n_items:  # results come in item order: name unnamed (malformed) items
            results = [r if r.get("record_id") else dict(r, record_id=rid)
                       for r, rid in zip(results, batch.record_ids)]
        tally = self.spool.apply_receipt(batch.batch_id, results,
                                         json.dumps(envelope, separators=(",", ":"), ensure_ascii=False))
        ok = tally.get("accepted", 0) + tally.get("duplicate", 0)
        bad = tally.get("rejected", 0) + tally.get("conflict", 0) + tally.get("not_in_receipt", 0)
        self.sizer.on_success(batch.n_items)
        self._count(ok, bad, batches=1)

    def _count(self, ok: int, bad: int, batches: int = 0) -> None:
        with self._lock:
            self._tally["sent"] += ok
            self._tally["quarantined"] += bad
            self._tally["batches"] += batches
            self.progress.add(records_sent=ok, quarantined=bad, batches_done=batches)
            self.progress.update(last_success_at=time.time() if batches else
                                 self.progress.snapshot().last_success_at,
                                 queued=self.spool.pending_count(), last_error=None, online=True)

    @staticmethod
    def _transport_code(exc: TransportError) -> str:
        return {"tls": "tls_failed", "pin": "pin_mismatch", "busy": "registry_busy",
                "timeout": "timeout", "bad_receipt": "bad_receipt",
                "unexpected": "unexpected_answer"}.get(exc.kind, "unreachable")
