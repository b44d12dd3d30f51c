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
    max_batch_bytes: int = wire.MAX_COMPRESSED  # compressed request body
    max_batch_decompressed: int = wire.MAX_DECOMPRESSED
    max_batch_items: int = wire.MAX_ITEMS
    max_json_bytes: int = 64 * 1024  # every other request body
    status_page: int = 1000  # rows per status answer
    housekeeping_interval: float = 1.0  # seconds between background passes

    @property
    def receipt_retention_seconds(self) -> int:
        return self.receipt_retention_days * 86400
