"""Registry settings: limits, lifetimes and delays, with their defaults."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fieldapp.outbound import wire


@dataclass(frozen=True)
class Settings:
    """Everything a registry process is configured with (see ``fieldapp-registry serve --help``)."""

    data_dir: Path
    database_url: str | None = None
    code_ttl: int = 600  # enrollment codes: single use, 10 minutes
    nonce_ttl: int = 60  # login challenges
    token_ttl: int = 900  # bearer tokens, 15 minutes
    register_delay: float = 3.0  # received -> registered; 0 = at once
    receipt_retention_days: int = 90  # idempotent replays of batch receipts
    # A batch: the largest one the client builds is 128 KiB compressed (sync/batching.py MAX_BYTES), about
    # 210 KiB inflated (sealed items are base64 ciphertext: ~1.6x); one item can be at most ~342 KiB
    # (wire.MAX_CT_BYTES as base64). 1 MiB is ~5x the first and ~3x the second (docs/registry.md "Limits").
    max_batch_bytes: int = 1024 * 1024  # compressed request body, from an authenticated device only
    max_batch_decompressed: int = 1024 * 1024
    max_batch_items: int = wire.MAX_ITEMS
    max_json_bytes: int = 64 * 1024  # every other request body, and any body before authentication
    status_page: int = 1000  # rows per status answer
    housekeeping_interval: float = 1.0  # seconds between background passes
    # the server (registry/server.py): connections, timeouts (seconds)
    header_timeout: float = 10.0  # a request head must be complete this long after its first byte
    body_timeout: float = 30.0  # longest wait for the next piece of a request body
    keep_alive_timeout: float = 5.0  # an idle kept-alive connection is closed after this
    max_connections: int = 512  # open connections + requests in progress; beyond: 503 (uvicorn limit_concurrency)
    max_header_bytes: int = 16 * 1024  # a request head larger than this: 400 and closed
    backlog: int = 256  # connections the kernel queues before they are accepted
    # batch intake in progress (body read, checks, transaction)
    batch_concurrency: int = 8  # in all; a batch beyond waits, then 503 busy
    device_batch_concurrency: int = 2  # per device; a batch beyond waits, then 429 too_many_batches
    intake_wait: float = 30.0  # longest wait for an intake slot (the body is not read meanwhile)
    # token buckets (per client address; per second, burst) and one global bucket across the three groups
    rate_auth: float = 20.0  # POST /v1/auth/challenge and POST /v1/auth/token, each its own bucket
    rate_auth_burst: int = 200
    rate_enroll: float = 10.0  # POST /v1/devices/enroll (a wrong code costs a read; codes are 80 bits)
    rate_enroll_burst: int = 300
    rate_global: float = 200.0  # the three together, every client
    rate_global_burst: int = 1000
    max_nonces_per_device: int = 8  # outstanding login challenges per device; a new one replaces the oldest

    @property
    def receipt_retention_seconds(self) -> int:
        return self.receipt_retention_days * 86400
