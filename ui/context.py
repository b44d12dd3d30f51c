"""``AppContext``: what every screen shares (worker, data folder, user, language, sync service)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from fieldapp.base import config as app_config
from fieldapp.base import i18n
from fieldapp.domain.khmer import to_ascii_digits
from ui.qt import QObject, Signal
from ui.worker import DbWorker


class AppContext(QObject):
    language_changed = Signal()
    records_changed = Signal()
    user_changed = Signal()

    def __init__(self, data_dir, worker: DbWorker | None = None, sync=None, demo: dict | None = None, parent=None):
        super().__init__(parent)
        self.data_dir = Path(data_dir)
        self.worker = worker or DbWorker(self)
        self.sync = sync
        self.demo = demo
        self.config = app_config.load(self.data_dir)
        self.user: dict | None = None
        self.lang = self.config.language
        i18n.set_language(self.lang)

    # ---------------------------------------------------------- language
    def tr(self, msg_id: str, **params) -> str:
        return i18n.tr(msg_id, self.lang, **params)

    def format_date(self, value) -> str:
        """A date (``date`` or ISO text) in the local long form; Khmer digits in Khmer."""
        if isinstance(value, str):
            value = date.fromisoformat(value[:10])
        return i18n.format_date(value, self.lang)

    def format_timestamp(self, ts) -> str:
        """A stored UTC timestamp as local date and time; Khmer digits in Khmer."""
        return i18n.format_timestamp(ts, self.lang)

    def format_time(self, moment=None, seconds: bool = False) -> str:
        """A local clock time (a ``datetime``, seconds since the epoch, or now) as ``HH:MM``; Khmer digits in
        Khmer."""
        if moment is None:
            moment = datetime.now()
        elif isinstance(moment, (int, float)):
            moment = datetime.fromtimestamp(moment)
        return i18n.format_number(moment.strftime("%H:%M:%S" if seconds else "%H:%M"), self.lang)

    def format_number(self, value) -> str:
        return i18n.format_number(value, self.lang)

    @staticmethod
    def ascii_digits(text: str) -> str:
        """Khmer (or other) digits typed by the user, as ASCII digits."""
        return to_ascii_digits(text)

    def set_language(self, lang: str) -> None:
        if lang not in i18n.LANGUAGES or lang == self.lang:
            return
        self.lang = lang
        i18n.set_language(lang)
        self.save_config(language=lang)
        self.language_changed.emit()

    # ---------------------------------------------------------- settings
    def save_config(self, **changes) -> None:
        """Change non-secret settings (language, idle_minutes, last_user) and write them atomically."""
        self.config = app_config.update(self.data_dir, **changes)

    # ---------------------------------------------------------- session
    @property
    def is_supervisor(self) -> bool:
        return bool(self.user) and self.user.get("role") == "supervisor"

    def set_user(self, user: dict | None) -> None:
        self.user = dict(user) if user else None
        if user:
            self.save_config(last_user=user["name"])
        self.user_changed.emit()

    def notify_records_changed(self) -> None:
        self.records_changed.emit()
