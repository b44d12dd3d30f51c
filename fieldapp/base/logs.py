"""Rotating log files in the platform's log folder; messages never hold personal data.

The folder is ``fieldapp.base.paths.resolve_log_dir()``: ``FIELDAPP_LOG_DIR``, else Linux
``$XDG_STATE_HOME/fieldapp/logs`` (``~/.local/state/fieldapp/logs``), Windows ``%LOCALAPPDATA%\\fieldapp\\Logs``,
macOS ``~/Library/Logs/fieldapp``. Log only identifiers (record IDs, user names, counts, message ids), never field
values. As a second line of defence every line passes ``scrub`` (long digit runs, phone numbers, e-mail addresses
and Khmer text are masked) before it reaches the file; ``fieldapp diagnostics`` scrubs again when it copies logs.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
from pathlib import Path

from fieldapp.base.fsutil import create_private, secure_dir

LOG_FILE = "fieldapp.log"
_configured: set[str] = set()

# 9 or more digits (national IDs, phone numbers), possibly split by spaces, dots or dashes
_DIGITS = re.compile(r"(?<![\w-])\+?\d(?:[ .-]?\d){7,}(?![\w-])")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_KHMER = re.compile(r"[\u1780-\u17ff\u19e0-\u19ff]+(?:[\s\u200b]+[\u1780-\u17ff\u19e0-\u19ff]+)*")
# identifiers the app logs on purpose and that must survive: UUIDs, hex digests, ISO timestamps
_KEEP = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b|\b(?=[0-9a-f]*[a-f])[0-9a-f]{16,}\b"
                   r"|\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?", re.I)


def scrub(text: str) -> str:
    """``text`` with anything shaped like personal data masked (IDs and timestamps are kept)."""
    kept: list[str] = []

    def hold(m: re.Match) -> str:
        kept.append(m.group(0))
        return f"\x00{len(kept) - 1}\x00"

    text = _KEEP.sub(hold, text)
    text = _DIGITS.sub("[number]", text)
    text = _EMAIL.sub("[email]", text)
    text = _KHMER.sub("[khmer]", text)
    return re.sub("\x00(\\d+)\x00", lambda m: kept[int(m.group(1))], text)


class ScrubbingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


def setup(log_dir: Path | None = None, level: int = logging.INFO) -> Path | None:
    """Log to ``log_dir`` (default: the platform's log folder); returns the log file, or None if it cannot be written."""
    from fieldapp.base.paths import resolve_log_dir

    log_dir = Path(log_dir) if log_dir is not None else resolve_log_dir()
    path = log_dir / LOG_FILE
    if str(log_dir) in _configured:
        return path
    try:
        secure_dir(log_dir)
        create_private(path)
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=1_000_000, backupCount=5, encoding="utf-8")
    except OSError:
        return None  # a read-only or full disk must not stop the app; the store reports its own errors
    handler.setFormatter(ScrubbingFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    _configured.add(str(log_dir))
    return path
