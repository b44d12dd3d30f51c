"""Rotating log files in the data folder's ``logs``; messages never hold personal data.

Log only identifiers (record IDs, user names, counts, message ids), never field
values. ``tests/test_plaintext.py`` scans the logs for planted personal data.
"""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from fieldapp.fsutil import create_private, secure_dir

_configured: set[str] = set()


def setup(log_dir: Path, level: int = logging.INFO) -> None:
    log_dir = Path(log_dir)
    if str(log_dir) in _configured:
        return
    try:
        secure_dir(log_dir)
        path = log_dir / "fieldapp.log"
        create_private(path)
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=1_000_000, backupCount=5, encoding="utf-8")
    except OSError:
        return  # a read-only or full disk must not stop the app; the store reports its own errors
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    _configured.add(str(log_dir))
