"""Accounts and timeouts shared by the desktop-client tests (a plain module, so no conftest can shadow it)."""

PASSWORD = "correct horse battery"  # the same accounts as tests/conftest.py's ``initialized``
OUTREACH_PASSWORD = "outreach pass 1"
SUPERVISOR, OUTREACH = "sup", "ow"
WORKER_TIMEOUT_MS = 20000
