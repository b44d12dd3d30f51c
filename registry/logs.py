"""Structured (JSON lines) logging with no personal data.

Only event names, codes, counts, durations and opaque IDs (device, batch) are logged:
never names, national IDs, phone numbers or record contents. Callers pass fields as
keyword arguments; values are expected to be such safe scalars.
"""

from __future__ import annotations

import json
import logging
import sys

from fieldapp.base.encoding import wire_time

LOGGER = logging.getLogger("registry")


class JsonFormatter(logging.Formatter):
    """Render a record as one JSON object: time, level, event and the safe fields."""

    def format(self, record: logging.LogRecord) -> str:
        doc = {"ts": wire_time(record.created),
               "level": record.levelname.lower(), "event": record.getMessage()}
        doc.update(getattr(record, "fields", {}))
        if record.exc_info and record.exc_info[0] is not None:
            doc["exception"] = record.exc_info[0].__name__  # the type only: messages may hold data
        return json.dumps(doc, default=str, sort_keys=True)


def setup(level: str = "info") -> None:
    """Send registry logs as JSON lines to stderr (idempotent)."""
    if any(isinstance(h.formatter, JsonFormatter) for h in LOGGER.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    LOGGER.addHandler(handler)
    LOGGER.setLevel(level.upper())
    LOGGER.propagate = False


def event(name: str, level: int = logging.INFO, exc: bool = False, **fields) -> None:
    """Log ``name`` with safe ``fields``."""
    LOGGER.log(level, name, extra={"fields": fields}, exc_info=exc)
