"""Errors of the sync engine: a machine-readable code and a translated message.

Codes never carry personal data; message ids are ``sync.error.<code>`` in
``fieldapp/locale/<lang>/LC_MESSAGES/sync.po``.
"""

from __future__ import annotations

from fieldapp.base.errors import FieldappError
from fieldapp.base.exitcodes import Exit

# exit codes of `fieldapp sync` (see docs/sync.md): names for fieldapp.base.exitcodes.Exit
EXIT_OK = Exit.OK
EXIT_ERROR = Exit.FAIL
EXIT_UNREACHABLE = Exit.UNREACHABLE
EXIT_QUARANTINED = Exit.QUARANTINED
EXIT_REFUSED = Exit.REFUSED


class SyncError(FieldappError):
    """A sync failure; ``code`` is stable and safe to log."""

    exit_code = EXIT_ERROR

    def __init__(self, code: str, **params):
        self.code = code
        super().__init__(f"sync.error.{code}", **params)


class Unreachable(SyncError):
    """The registry could not be reached (or not trusted): nothing was lost, try later."""

    exit_code = EXIT_UNREACHABLE


class Refused(SyncError):
    """The registry refused this device (revoked, bad signature): needs an administrator."""

    exit_code = EXIT_REFUSED
