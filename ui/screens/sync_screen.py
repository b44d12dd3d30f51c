"""Sync: progress of batches going to the central registry, quarantined records, "Sync now", registration.

The sync service runs its own background loop (``SyncService.start()``: it sends whenever the registry is
reachable); this screen only polls its immutable progress snapshot with a timer and never blocks. Network calls
(registration, "Sync now") run on a plain background thread; store calls go through the DB worker. After each
pass, ``outbox.refresh`` moves record states on (synced, registered, quarantined).
"""

from __future__ import annotations

import time

from fieldapp.outbound import outbox
from fieldapp.domain import reasons
from fieldapp.domain.states import label_id
from fieldapp.store import search
from fieldapp.domain.khmer import to_ascii_digits
from fieldapp.outbound.status import REGISTERED, delivery_status
from ui.models import slim
from ui.tasks import Task
from ui.qt import (QFormLayout, QGroupBox, QHBoxLayout, QKeySequence, QLabel, QLineEdit, QListWidget, QPushButton,
                   QShortcut, Qt, QTimer, QtWidgets, QVBoxLayout)
from ui.screens.base import Screen
from ui.widgets.duplicates import short_id

POLL_MS = 250
LIVE_LINES = 100  # the newest lines of this session's sending kept in the list
SYNC_KEYS, REGISTER_KEYS, BROWSE_KEYS, REQUEUE_KEYS = "F5", "Ctrl+Return", "Ctrl+O", "Ctrl+Shift+Q"
_ACTIVE = ("probing", "authenticating", "sending", "polling")


def load_files(data_dir) -> dict:
    """Worker job (no session): the device identity summary and the spool counts."""
    status = delivery_status(data_dir, spool=REGISTERED, batches=20).check()
    return {"device_id": status.device_id, "server_url": status.server_url,
            "counts": status.counts, "batches": status.batches}


def load_quarantined(session) -> list[dict]:
    return [slim(r) for r in search.search(session, "", "quarantined", limit=500)]


def make_service(data_dir):
    from sync.service import SyncService

    return SyncService(data_dir)


class SyncScreen(Screen):
    title_id = "ui.nav.sync"
    shortcut = "Ctrl+5"

    def __init__(self, ctx, parent=None):
        super().__init__(ctx, parent)
        self.tasks: list[Task] = []
        self.files: dict = {}
        self._phase: str | None = None
        self._seen = (0, 0, 0)  # batches, sent, quarantined already listed
        self._live: list[tuple[float, int, int]] = []  # this session's sends (time, sent, set aside), newest first
        self.device_box, self.progress_box = QGroupBox(self), QGroupBox(self)
        self.batches_box, self.quarantine_box = QGroupBox(self), QGroupBox(self)
        self.device_label = QLabel(self.device_box)
        self.device_label.setObjectName("sync_device")
        self.device_label.setWordWrap(True)
        self.register_form = QtWidgets.QWidget(self.device_box)
        form = QFormLayout(self.register_form)
        self.url, self.code, self.ca = (QLineEdit(self.register_form) for _ in range(3))
        for name, widget in (("url", self.url), ("code", self.code), ("ca", self.ca)):
            widget.setObjectName(f"sync_{name}")
        self.browse = QPushButton(self.register_form)
        self.browse.clicked.connect(self._browse)
        self.register_button = QPushButton(self.register_form)
        self.register_button.setObjectName("sync_register")
        self.register_button.clicked.connect(self.register)
        self.form_labels = {k: QLabel(self.register_form) for k in ("url", "code", "ca")}
        ca_row = QHBoxLayout()
        ca_row.addWidget(self.ca, 1)
        ca_row.addWidget(self.browse)
        form.addRow(self.form_labels["url"], self.url)
        form.addRow(self.form_labels["code"], self.code)
        form.addRow(self.form_labels["ca"], ca_row)
        form.addRow(self.register_button)
        for key, widget in (("url", self.url), ("code", self.code), ("ca", self.ca)):
            self.form_labels[key].setBuddy(widget)
        device_layout = QVBoxLayout(self.device_box)
        device_layout.addWidget(self.device_label)
        device_layout.addWidget(self.register_form)

        self.phase = QLabel(self.progress_box)
        self.phase.setObjectName("sync_phase")
        self.bar = QtWidgets.QProgressBar(self.progress_box)
        self.bar.setObjectName("sync_progress")
        self.counts = QLabel(self.progress_box)
        self.counts.setObjectName("sync_counts")
        self.counts.setWordWrap(True)
        self.sync_button = QPushButton(self.progress_box)
        self.sync_button.setObjectName("sync_now")
        self.sync_button.clicked.connect(self.sync_now)
        top = QHBoxLayout()
        top.addWidget(self.phase, 1)
        top.addWidget(self.sync_button)
        progress_layout = QVBoxLayout(self.progress_box)
        progress_layout.addLayout(top)
        progress_layout.addWidget(self.bar)
        progress_layout.addWidget(self.counts)
        self.batches = QListWidget(self.batches_box)
        self.batches.setObjectName("sync_batches")
        self.batches.setWordWrap(True)  # a long line wraps (Khmer at 1024x768) rather than scrolling sideways
        self.batches.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.batches.setResizeMode(QtWidgets.QListView.Adjust)
        QVBoxLayout(self.batches_box).addWidget(self.batches)
        self.quarantine = QtWidgets.QTreeWidget(self.quarantine_box)
        self.quarantine.setObjectName("sync_quarantine")
        self.quarantine.setRootIsDecorated(False)
        self.quarantine.setColumnCount(3)
        self.quarantine.setSelectionMode(QtWidgets.QAbstractItemView.ExtendedSelection)
        self.requeue_button = QPushButton(self.quarantine_box)
        self.requeue_button.setObjectName("sync_requeue")
        self.requeue_button.clicked.connect(self.requeue)
        quarantine_layout = QVBoxLayout(self.quarantine_box)
        quarantine_layout.addWidget(self.quarantine)
        quarantine_layout.addWidget(self.requeue_button, 0, Qt.AlignRight)
        self.status = QLabel(self)
        self.status.setObjectName("sync_status")
        self.status.setWordWrap(True)
        layout = QVBoxLayout(self)
        for widget in (self.device_box, self.progress_box):
            layout.addWidget(widget)
        lists = QHBoxLayout()
        lists.addWidget(self.batches_box)
        lists.addWidget(self.quarantine_box)
        layout.addLayout(lists, 1)
        layout.addWidget(self.status)
        for keys, slot, scope in ((SYNC_KEYS, self.sync_now, self), (REGISTER_KEYS, self.register, self.register_form),
                                  (BROWSE_KEYS, self._browse, self.register_form), (REQUEUE_KEYS, self.requeue, self)):
            shortcut = QShortcut(QKeySequence(keys), scope)
            shortcut.setContext(Qt.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.poll)
        self.timer.start()
        if ctx.sync is not None:
            ctx.sync.start()  # automatic sync whenever the registry is reachable (idempotent)
        ctx.user_changed.connect(self._apply_role)
        self.retranslate()
        self.reload()

    # ------------------------------------------------------------------ texts
    def retranslate(self) -> None:
        tr = self.t
        self.device_box.setTitle(tr("forms.sync.device"))
        self.progress_box.setTitle(tr("forms.sync.progress"))
        self.batches_box.setTitle(tr("forms.sync.batches"))
        self.quarantine_box.setTitle(tr("forms.sync.quarantined"))
        for key, label in self.form_labels.items():
            label.setText(tr(f"forms.sync.{key}"))
        for key, widget in (("url", self.url), ("code", self.code), ("ca", self.ca)):
            widget.setAccessibleName(tr(f"forms.sync.{key}"))
        self.url.setPlaceholderText("https://")
        for button, action, keys in ((self.register_button, "forms.sync.register", REGISTER_KEYS),
                                     (self.sync_button, "forms.sync.now", SYNC_KEYS),
                                     (self.browse, "forms.sync.browse", BROWSE_KEYS),
                                     (self.requeue_button, "forms.sync.requeue", REQUEUE_KEYS)):
            button.setText(tr(action))
            button.setAccessibleName(tr(action))
            button.setToolTip(tr("forms.shortcut_tip", action=tr(action),
                                 keys=QKeySequence(keys).toString(QKeySequence.NativeText)))
        self.bar.setAccessibleName(tr("forms.sync.progress"))
        self.batches.setAccessibleName(tr("forms.sync.batches"))
        self.quarantine.setAccessibleName(tr("forms.sync.quarantined"))
        self.quarantine.setHeaderLabels([tr("forms.sync.col.record"), tr("forms.records.col.name"),
                                         tr("forms.sync.col.reason")])
        self._show_files()
        self._apply_role()
        if self._seen == (0, 0, 0):
            self._show_past_batches()
        else:
            self._show_live_batches()
        self.poll()

    def _apply_role(self) -> None:
        registered = bool(self.files.get("device_id"))
        self.register_form.setVisible(self.ctx.is_supervisor and not registered)
        self.requeue_button.setVisible(self.ctx.is_supervisor)
        self.requeue_button.setEnabled(self.quarantine.topLevelItemCount() > 0)

    # ------------------------------------------------------------------ data
    def activate(self) -> None:
        self.reload()

    def reload(self) -> None:
        self.ctx.worker.call(load_files, self.ctx.data_dir, on_done=self._files_loaded,
                             on_error=self._task_failed)
        if self.ctx.user:
            self.ctx.worker.run(load_quarantined, on_done=self._show_quarantined, on_error=self._task_failed)

    def _files_loaded(self, files: dict) -> None:
        self.files = files
        self._show_files()
        self._apply_role()
        if self._seen == (0, 0, 0):  # nothing from a live pass listed yet: show the spool's recent batches
            self._show_past_batches()

    def _show_past_batches(self) -> None:
        self.batches.clear()
        for batch in self.files.get("batches") or []:
            results = ", ".join(f"{self.t(label_id(state))} {self.ctx.format_number(n)}"
                                for state, n in sorted(batch["results"].items()))
            self.batches.addItem(self.t(
                "forms.sync.batch_past", time=self.ctx.format_timestamp(batch["updated_at"]),
                batch=short_id(batch["batch_id"]), items=self.ctx.format_number(batch["items"]),
                results=results or self.t(f"forms.sync.batch_state.{batch['state']}")))
            self.batches.item(self.batches.count() - 1).setToolTip(short_id(batch["batch_id"]))  # for IT

    def _show_live_batches(self) -> None:
        self.batches.clear()
        for entry in self._live:
            self.batches.addItem(self._live_line(*entry))

    def _live_line(self, when, sent, set_aside) -> str:
        return self.t("forms.sync.batch_line", time=self.ctx.format_time(when), sent=self.ctx.format_number(sent),
                      quarantined=self.ctx.format_number(set_aside))

    def _show_files(self) -> None:
        if self.files.get("device_id"):
            self.device_label.setText(self.t("forms.sync.registered", device=self.files["device_id"],
                                             url=self.files["server_url"]))
        else:
            self.device_label.setText(self.t("forms.sync.not_registered"))
        counts = self.files.get("counts") or {}
        self.counts.setText(self.t("forms.sync.counts", **{k: self.ctx.format_number(counts.get(k, 0)) for k in (
            "queued", "synced", "registered", "quarantined", "registry_rejected")}))

    def _show_quarantined(self, rows: list[dict]) -> None:
        self.quarantine.clear()
        for row in rows:
            item = QtWidgets.QTreeWidgetItem([short_id(row["id"]), row["name"] or row["name_latin"],
                                              reasons.render(row["reason"], self.ctx.lang)])
            item.setData(0, Qt.UserRole, row["id"])
            self.quarantine.addTopLevelItem(item)
        self._apply_role()

    # ------------------------------------------------------------------ progress
    def poll(self) -> None:
        """Timer tick: collect finished background calls and show the service's latest snapshot."""
        for task in [t for t in self.tasks if t.done]:
            self.tasks.remove(task)
            task.deliver()
        snap = self.ctx.sync.latest_progress() if self.ctx.sync is not None else None
        busy = bool(self.tasks) or (snap is not None and snap.phase in _ACTIVE)
        self.sync_button.setEnabled(not busy and bool(self.files.get("device_id")))
        if snap is None:
            self.phase.setText(self.t("forms.sync.no_service"))
            self.bar.setRange(0, 1)
            self.bar.setValue(0)
            self.bar.setFormat(self.t("forms.sync.bar_idle"))
            return
        text = self.t(f"sync.phase.{snap.phase}")
        if snap.last_error:
            text += " \u2014 " + self.t(f"sync.error.{snap.last_error}")
        if snap.last_success_at:
            text += " \u2014 " + self.t("forms.sync.last_success", time=self.ctx.format_time(snap.last_success_at))
        self.phase.setText(text)
        self.bar.setRange(0, max(snap.records_total, 1))
        self.bar.setValue(min(snap.records_sent + snap.quarantined, max(snap.records_total, 1)))
        if snap.records_total or snap.phase in _ACTIVE:
            self.bar.setFormat(self.t("forms.sync.bar", sent=self.ctx.format_number(snap.records_sent),
                                      total=self.ctx.format_number(snap.records_total)))
        else:  # not "0 of 0 sent" beside the counts of what was sent before
            self.bar.setFormat(self.t("forms.sync.bar_idle"))
        self._note_batches(snap)
        if self._phase in _ACTIVE and snap.phase not in _ACTIVE:
            self.after_pass()
        self._phase = snap.phase

    def _note_batches(self, snap) -> None:
        batches, sent, quarantined = self._seen
        if snap.batches_done < batches or snap.records_sent < sent:
            batches = sent = quarantined = 0  # a new run started
        if snap.batches_done > batches or snap.quarantined > quarantined:
            entry = (time.time(), snap.records_sent - sent, snap.quarantined - quarantined)
            shown = bool(self._live)  # live lines already listed: add the new one on top (no rebuild mid-sync)
            self._live.insert(0, entry)
            del self._live[LIVE_LINES:]
            if shown:
                self.batches.insertItem(0, self._live_line(*entry))
                self.batches.takeItem(LIVE_LINES) if self.batches.count() > LIVE_LINES else None
            else:
                self._show_live_batches()
        self._seen = (snap.batches_done, snap.records_sent, snap.quarantined)

    def after_pass(self) -> None:
        """A sync pass ended: pull the spool's states into the records, then refresh what is shown."""
        if self.ctx.user:
            self.ctx.worker.run(outbox.refresh, on_done=self._refreshed, on_error=self._task_failed)
        else:
            self.reload()

    def _refreshed(self, _result=None) -> None:
        self.ctx.notify_records_changed()
        self.reload()

    # ------------------------------------------------------------------ actions
    def ensure_service(self):
        if self.ctx.sync is None:
            self.ctx.sync = make_service(self.ctx.data_dir)
        self.ctx.sync.start()
        return self.ctx.sync

    def sync_now(self) -> None:
        """Hand approved records to the spool, then run one pass now (on a background thread)."""
        if not self.files.get("device_id") or self.tasks:
            return
        self.say(self.status, lambda: self.t("forms.sync.starting"))
        service = self.ensure_service()

        def run_pass(_result=None):
            self.tasks.append(Task(service.sync_once, on_done=self._pass_done, on_error=self._task_failed))
        if self.ctx.user and self.ctx.user.get("role") == "supervisor":
            self.ctx.worker.run(outbox.enqueue_approved, on_done=run_pass, on_error=self._task_failed)
        else:
            run_pass()

    def requeue(self) -> None:
        """Supervisors: send the selected quarantined records again (all of them when none is selected)."""
        if not self.ctx.is_supervisor or self.quarantine.topLevelItemCount() == 0:
            return
        ids = [item.data(0, Qt.UserRole) for item in self.quarantine.selectedItems()] or None
        self.requeue_button.setEnabled(False)
        self.ctx.worker.run(outbox.requeue_quarantined, ids, on_done=self._requeued, on_error=self._task_failed)

    def _requeued(self, ids: list[str]) -> None:
        self.say(self.status, lambda: self.t("forms.sync.requeued", count=self.ctx.format_number(len(ids))))
        self.ctx.notify_records_changed()
        self.reload()
        if ids and self.ctx.sync is not None:
            self.ctx.sync.kick()

    def _pass_done(self, result) -> None:
        key = "forms.sync.pass_done" if result.outcome == "complete" else "forms.sync.pass_failed"
        self.say(self.status, lambda: self.t(key, error=self.t(f"sync.error.{result.error}") if result.error else ""))
        self.after_pass()

    def _task_failed(self, exc) -> None:
        self.say(self.status, lambda: self.error_text(exc))
        self.register_button.setEnabled(True)

    def register(self) -> None:
        url, code = to_ascii_digits(self.url.text().strip()), to_ascii_digits(self.code.text().strip())
        ca = self.ca.text().strip()
        if not url or not code:
            self.say(self.status, lambda: self.t("forms.sync.fill_in"))
            return
        from sync.registration import register_store

        self.register_button.setEnabled(False)
        self.say(self.status, lambda: self.t("forms.sync.registering"))
        # on the DB worker: the store records the registration it holds from now on (a network call, never on
        # the UI thread)
        self.ctx.worker.run(register_store, url, code, ca or None, on_done=self._registered,
                            on_error=self._task_failed)

    def _registered(self, dev) -> None:
        self.register_button.setEnabled(True)
        self.code.clear()
        self.say(self.status, lambda: self.t("forms.sync.registered_now", device=dev.device_id))
        self.files = dict(self.files, device_id=dev.device_id, server_url=dev.server_url)
        self._show_files()
        self._apply_role()
        self.ensure_service().set_device(dev)
        self.sync_now()

    def _browse(self) -> None:
        path, _filter = QtWidgets.QFileDialog.getOpenFileName(self, self.t("forms.sync.ca"), "",
                                                              self.t("forms.sync.ca_filter"))
        if path:
            self.ca.setText(path)
