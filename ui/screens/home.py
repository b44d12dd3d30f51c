"""Home: the user's own work (returned to them, their drafts, what they submitted today), records by state, sync
status and the 30-day chart."""

from __future__ import annotations

from datetime import datetime

from fieldapp.domain.states import label_id
from fieldapp.store import records, search
from fieldapp.store.my_work import my_work
from fieldapp.store.records import STATES
from fieldapp.outbound.status import REGISTERED, delivery_status
from ui.qt import QFont, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QTimer, QVBoxLayout
from ui.screens.base import Screen
from ui.widgets.chart import DailyChart
from ui.widgets.my_work import MyWorkBox

CHART_DAYS = 30


def load_home(session, days: int = CHART_DAYS) -> dict:
    """Worker job: everything the home screen shows from the store."""
    work = my_work(session)
    return {"counts": records.counts(session),
            "daily": search.daily_counts(session, days=days),
            "today_mine": work["submitted_today"], "work": work}


def load_sync_files(data_dir) -> dict:
    """Worker job: spool counts and whether this laptop is registered (files, no network)."""
    status = delivery_status(data_dir, spool=REGISTERED).check()
    return {"registered": status.registered, "spool": status.counts, "last_success": status.last_success}


class HomeScreen(Screen):
    title_id = "ui.nav.home"
    shortcut = "Ctrl+1"

    def __init__(self, ctx, parent=None):
        super().__init__(ctx, parent)
        self._counts: dict = {}
        self._today_mine = 0
        self._sync_files: dict = {}
        layout = QVBoxLayout(self)
        self.heading = QLabel(self)
        font = QFont(self.heading.font())
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        self.heading.setFont(font)
        layout.addWidget(self.heading)
        self.today_label = QLabel(self)
        self.today_label.setObjectName("today")
        self.today_label.setWordWrap(True)
        layout.addWidget(self.today_label)
        self.my_work = MyWorkBox(ctx, self)
        self.my_work.open_record.connect(self.open_record)
        layout.addWidget(self.my_work)

        row = QHBoxLayout()
        self.counts_box = QGroupBox(self)
        grid = QGridLayout(self.counts_box)
        self.state_names: dict[str, QLabel] = {}
        self.state_values: dict[str, QLabel] = {}
        for i, state in enumerate(STATES):
            name, value = QLabel(self.counts_box), QLabel(self.counts_box)
            value.setObjectName(f"count_{state}")
            grid.addWidget(name, i % 5, (i // 5) * 2)
            grid.addWidget(value, i % 5, (i // 5) * 2 + 1)
            self.state_names[state], self.state_values[state] = name, value
        row.addWidget(self.counts_box, 3)

        self.sync_box = QGroupBox(self)
        sync_grid = QGridLayout(self.sync_box)
        self.sync_labels: dict[str, tuple[QLabel, QLabel]] = {}
        for i, key in enumerate(("connection", "last_sync", "waiting")):
            name, value = QLabel(self.sync_box), QLabel(self.sync_box)
            value.setObjectName(f"sync_{key}")
            value.setWordWrap(True)
            sync_grid.addWidget(name, i, 0)
            sync_grid.addWidget(value, i, 1)
            self.sync_labels[key] = (name, value)
        sync_grid.setColumnStretch(1, 1)
        row.addWidget(self.sync_box, 2)
        layout.addLayout(row)

        self.chart_box = QGroupBox(self)
        chart_layout = QVBoxLayout(self.chart_box)
        self.chart = DailyChart(ctx, self.chart_box)
        chart_layout.addWidget(self.chart)
        layout.addWidget(self.chart_box, 1)

        self._poll = QTimer(self)
        self._poll.setInterval(5000)
        self._poll.timeout.connect(self._show_sync)
        ctx.records_changed.connect(self._refresh_if_visible)
        ctx.user_changed.connect(self.retranslate)
        self.retranslate()

    # ------------------------------------------------------------ texts
    def retranslate(self) -> None:
        name = (self.ctx.user or {}).get("full_name") or (self.ctx.user or {}).get("name") or ""
        self.heading.setText(self.t("ui.home.welcome", name=name) if name else self.t("ui.nav.home"))
        self.counts_box.setTitle(self.t("ui.home.counts_title"))
        self.sync_box.setTitle(self.t("ui.home.sync_title"))
        self.chart_box.setTitle(self.t("ui.home.chart_title"))
        self.my_work.retranslate()
        for state, label in self.state_names.items():
            label.setText(self.t(label_id(state)))
        for key, (label, _value) in self.sync_labels.items():
            label.setText(self.t(f"ui.home.sync_{key}"))
        self._show_counts()
        self._show_sync()

    def _show_counts(self) -> None:
        for state, label in self.state_values.items():
            label.setText(self.ctx.format_number(self._counts.get(state, 0)))
        self.today_label.setText(self.t("ui.home.submitted_today", count=self.ctx.format_number(self._today_mine)))

    def _show_sync(self) -> None:
        progress = self.ctx.sync.latest_progress() if self.ctx.sync is not None else None
        registered = self._sync_files.get("registered", False)
        if not registered and progress is None:
            connection = self.t("ui.sync.not_registered")
        elif progress is None or progress.online is None:
            connection = self.t("ui.sync.unknown")
        else:
            connection = self.t("ui.sync.online" if progress.online else "ui.sync.offline")
        self.sync_labels["connection"][1].setText(connection)
        last = (progress.last_success_at if progress is not None else None) or self._sync_files.get("last_success")
        self.sync_labels["last_sync"][1].setText(self._when(last) if last else self.t("ui.home.never"))
        # waiting: what the store holds as not yet delivered (spool.db is a plain file; the store counts a record as
        # sent only on the registry's signed answer), or the engine's live count while it sends
        queued = self._sync_files.get("spool", {}).get("queued", 0)
        if self.ctx.is_supervisor and "queued" in self._counts:  # a supervisor's counts are the whole store's
            queued = self._counts["queued"]
        if progress is not None and progress.phase == "sending":
            queued = progress.queued
        self.sync_labels["waiting"][1].setText(self.ctx.format_number(queued))

    def _when(self, timestamp: float) -> str:
        moment = datetime.fromtimestamp(timestamp)
        return self.t("ui.home.date_time", date=self.ctx.format_date(moment.date()), time=self.ctx.format_time(moment))

    # ------------------------------------------------------------- data
    def activate(self) -> None:
        if self.ctx.user is None:
            return
        self.ctx.worker.run(load_home, on_done=self._loaded, on_error=self._failed)
        self.ctx.worker.call(load_sync_files, self.ctx.data_dir, on_done=self._sync_loaded, on_error=self._failed)
        self._poll.start()

    def hideEvent(self, event) -> None:  # noqa: N802 (Qt name)
        self._poll.stop()
        super().hideEvent(event)

    def _refresh_if_visible(self) -> None:
        if self.isVisible():
            self.activate()

    def _loaded(self, data: dict) -> None:
        self._counts = data["counts"]
        self._today_mine = data["today_mine"]
        self.say(self.today_label, None)  # an earlier error is gone
        self.my_work.set_data(data["work"])
        self.chart.set_data(data["daily"])
        self._show_counts()
        self._show_sync()

    def _sync_loaded(self, data: dict) -> None:
        self._sync_files = data
        self._show_sync()

    def _failed(self, exc) -> None:
        self.say(self.today_label, lambda: self.error_text(exc))

    def open_record(self, record_id: str) -> None:
        """A returned record or a draft from "Your work": into the enrollment form."""
        workspace = self.parentWidget()
        while workspace is not None and not hasattr(workspace, "show_screen"):
            workspace = workspace.parentWidget()
        enroll = workspace.screens.get("enroll") if workspace is not None else None
        if enroll is None or not hasattr(enroll, "open_record"):
            return
        enroll.open_record(record_id)
        workspace.show_screen("enroll", focus=True)

