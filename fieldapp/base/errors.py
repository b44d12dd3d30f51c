"""Errors the core raises towards users.

Every error carries a message id from the translation catalogs and the
placeholders for it, so the CLI and the desktop client can show it in the
user's language. Placeholders never hold personal data.
"""

from __future__ import annotations

from fieldapp.base.exitcodes import Exit


class FieldappError(Exception):
    """A failure with a translated, one-line explanation for the user."""

    exit_code = Exit.FAIL

    def __init__(self, msg_id: str, **params):
        self.msg_id = msg_id
        self.params = params
        super().__init__(msg_id)

    def message(self, lang: str | None = None) -> str:
        from fieldapp.base.i18n import tr

        return tr(self.msg_id, lang, **self.params)

    def __str__(self) -> str:  # English, for logs and tracebacks
        try:
            return self.message("en")
        except Exception:  # pragma: no cover - catalogs missing
            return self.msg_id


class AuthError(FieldappError):
    """Wrong password, unknown user, disabled user or lockout."""


class LockedOut(AuthError):
    def __init__(self, seconds: int):
        super().__init__("core.auth.locked_out", seconds=int(seconds))
        self.seconds = int(seconds)


class PermissionDenied(FieldappError):
    """The user's role does not allow the operation."""


class StoreError(FieldappError):
    """The store is missing, damaged or cannot be written."""


class TamperError(StoreError):
    """A file was changed by someone other than the app."""


class StateError(FieldappError):
    """A record is not in a state that allows the operation."""
