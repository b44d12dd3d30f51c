"""The registry's one refusal: an HTTP status, a machine-readable reason and an English detail.

Reasons are stable codes the laptops act on (docs/protocol.md lists them); the
detail is for people reading a raw answer and never holds personal data.
"""

from __future__ import annotations


class ApiError(Exception):
    """A refused request: ``status`` (HTTP), ``reason`` (stable code) and ``detail``."""

    def __init__(self, status: int, reason: str, detail: str = ""):
        super().__init__(reason)
        self.status, self.reason, self.detail = status, reason, detail


class BatchRefused(ApiError):
    """The whole batch is refused (logged as ``batch_refused``); nothing of it was stored."""
