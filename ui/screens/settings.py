"""Settings: language, idle lock minutes, data folder, backup (supervisors), registry and device details, version."""

from __future__ import annotations

import time
from pathlib import Path

import fieldapp
from fieldapp.store import backup
from fieldapp.base import config as app_config
from fieldapp.outbound.status import delivery_status
from ui.qt import (QFileDialog, QFormLayout, QGroupBox, QKeySequence, QLabel, QPushButton, QScrollArea, QShortcut,
                   QVBoxLayout, QWidget, Qt, Signal)
from ui.screens.base import Screen
from ui.screens.login import heading, language_combo
from ui.widgets import DigitSpinBox
from ui.widgets.office_area import OfficeCommuneField
from ui.widgets.password_box import PasswordBox
from ui.widgets.recovery_box import RecoveryBox


def load_device(data_dir) -> dict | None:
    """Worker job: the public details of this laptop's registration (never the private key)."""
    status = delivery_status(data_dir, spool=None).check()
    if not status.registered:
        return None
    return {"device_id": status.device_id, "server_url": status.server_url, "registered_at": status.registered_at,
            "ca_file": status.ca_file}


BACKUP_KEYS = "Ctrl+B"


class SettingsScreen(Screen):
    title_id = "ui.nav.settings"
    shortcut = "Ctrl+7"
    #: the idle-lock delay changed (minutes); the main window applies it at once
    idle_minutes_changed = Signal(int)

    def __init__(self, ctx, parent=None):
        super().__init__(ctx, parent)
        self._device: dict | None = None
        self._device_error = None
        outer = QVBoxLayout(self)
        self.heading = heading(self, 1.4)
        outer.addWidget(self.heading)
        body = QWidget(self)  # scrolls: at 1024x768, in Khmer, the boxes are taller than the window
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)

        self.general = QGroupBox(self)
        form = QFormLayout(self.general)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        self.lang = language_combo(self)
        self.lang_label = QLabel(self.general)
        self.lang_label.setBuddy(self.lang)
        form.addRow(self.lang_label, self.lang)
        self.idle = DigitSpinBox(ctx, self.general)
        self.idle.setRange(app_config.MIN_IDLE_MINUTES, app_config.MAX_IDLE_MINUTES)
        self.idle.setValue(ctx.config.idle_minutes)
        self.idle_label = QLabel(self.general)
        self.idle_label.setBuddy(self.idle)
        form.addRow(self.idle_label, self.idle)
        self.office = OfficeCommuneField(ctx, self.general)  # where the form's address searches start
        self.office_label = QLabel(self.general)
        self.office_label.setBuddy(self.office.picker)
        form.addRow(self.office_label, self.office)
        self.folder_label = QLabel(self.general)
        self.folder = QLabel(str(ctx.data_dir), self.general)
        self.folder.setProperty("i18n_exempt", True)  # a path
        self.folder.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow(self.folder_label, self.folder)
        layout.addWidget(self.general)
        self.password_box = PasswordBox(ctx, self)  # the logged-in user's own password
        layout.addWidget(self.password_box)

        self.backup_box = QGroupBox(self)  # supervisors: the whole store to a USB stick (fieldapp.store.backup)
        backup_layout = QVBoxLayout(self.backup_box)
        self.backup_info = QLabel(self.backup_box)
        self.backup_info.setWordWrap(True)
        self.backup_button = QPushButton(self.backup_box)
        self.backup_button.setObjectName("settings_backup")
        self.backup_button.clicked.connect(self.choose_backup_file)
        self.backup_status = QLabel(self.backup_box)
        self.backup_status.setObjectName("settings_backup_status")
        self.backup_status.setWordWrap(True)
        backup_layout.addWidget(self.backup_info)
        backup_layout.addWidget(self.backup_button, 0, Qt.AlignLeft)
        backup_layout.addWidget(self.backup_status)
        layout.addWidget(self.backup_box)
        self.recovery_box = RecoveryBox(ctx, self)  # supervisors: IT's recovery key, and a change waiting for them
        layout.addWidget(self.recovery_box)
        shortcut = QShortcut(QKeySequence(BACKUP_KEYS), self)
        shortcut.setContext(Qt.WidgetWithChildrenShortcut)
        shortcut.activated.connect(self.choose_backup_file)

        self.registry = QGroupBox(self)
        self.registry_form = QFormLayout(self.registry)
        self.device_rows: dict[str, tuple[QLabel, QLabel]] = {}
        for key in ("status", "server_url", "device_id", "registered_at", "ca_file"):
            label, value = QLabel(self.registry), QLabel(self.registry)
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.registry_form.addRow(label, value)
            self.device_rows[key] = (label, value)
        layout.addWidget(self.registry)

        self.about = QGroupBox(self)
        about = QFormLayout(self.about)
        self.version_label = QLabel(self.about)
        self.version = QLabel(self.about)
        about.addRow(self.version_label, self.version)
        layout.addWidget(self.about)
        layout.addStretch(1)
        self.scroll = QScrollArea(self)
        self.scroll.setObjectName("settings_scroll")
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.scroll.setWidget(body)
        outer.addWidget(self.scroll, 1)

        self.setTabOrder(self.lang, self.idle)
        self.setTabOrder(self.idle, self.office.picker)
        self.idle.valueChanged.connect(self._idle_changed)
        ctx.user_changed.connect(self._apply_role)
        self.retranslate()

    def retranslate(self) -> None:
        self.heading.setText(self.t("ui.nav.settings"))
        self.general.setTitle(self.t("ui.settings.general"))
        self.lang_label.setText(self.t("ui.field.language"))
        self.lang.setAccessibleName(self.t("ui.field.language"))
        self.idle_label.setText(self.t("ui.settings.idle_minutes"))
        self.office_label.setText(self.t("forms.office.label"))
        self.office.retranslate()
        self.idle.setAccessibleName(self.t("ui.settings.idle_minutes"))
        self.folder_label.setText(self.t("ui.settings.data_folder"))
        self.registry.setTitle(self.t("ui.settings.registry"))
        for key, (label, _value) in self.device_rows.items():
            label.setText(self.t(f"ui.settings.device_{key}"))
        self.backup_box.setTitle(self.t("ui.settings.backup"))
        self.backup_info.setText(self.t("ui.settings.backup_info"))
        self.backup_button.setText(self.t("ui.settings.backup_button"))
        self.backup_button.setAccessibleName(self.t("ui.settings.backup_button"))
        self.backup_button.setToolTip(self.t("forms.shortcut_tip", action=self.t("ui.settings.backup_button"),
                                             keys=QKeySequence(BACKUP_KEYS).toString(QKeySequence.NativeText)))
        self.recovery_box.retranslate()
        self.password_box.retranslate()
        self._apply_role()
        self.about.setTitle(self.t("ui.settings.about"))
        self.version_label.setText(self.t("ui.settings.version"))
        self.version.setText(self.ctx.format_number(fieldapp.__version__))
        self._show_device()

    def activate(self) -> None:
        self.idle.blockSignals(True)
        self.idle.setValue(self.ctx.config.idle_minutes)
        self.idle.blockSignals(False)
        self.ctx.worker.call(load_device, self.ctx.data_dir, on_done=self._device_loaded, on_error=self._device_failed)
        self.recovery_box.reload()
        self.office.reload()

    def _device_loaded(self, info: dict | None) -> None:
        self._device, self._device_error = info, None
        self._show_device()

    def _device_failed(self, exc) -> None:
        self._device, self._device_error = None, exc
        self._show_device()

    def _show_device(self) -> None:
        info = self._device
        if self._device_error is not None:
            status = self.t("ui.settings.device_damaged")
        else:
            status = self.t("ui.settings.registered" if info else "ui.sync.not_registered")
        self.device_rows["status"][1].setText(status)
        for key in ("server_url", "device_id", "registered_at", "ca_file"):
            label, value = self.device_rows[key]
            text = (info or {}).get(key) or ""
            if key == "registered_at" and text:
                text = self.ctx.format_date(text)
            value.setText(text)
            value.setProperty("i18n_exempt", key != "registered_at")  # addresses, IDs, paths are data
            self.registry_form.setRowVisible(label, bool(text))

    def _apply_role(self) -> None:
        self.backup_box.setVisible(self.ctx.is_supervisor)
        self.recovery_box.setVisible(self.ctx.is_supervisor)
        if self.ctx.user is None:  # locked: typed passwords do not wait behind the lock screen
            self.password_box.clear()

    # ------------------------------------------------------------------ backup
    def choose_backup_file(self) -> None:
        if not self.ctx.is_supervisor or not self.backup_button.isEnabled():
            return
        suggested = str(Path.home() / f"fieldapp-{time.strftime('%Y-%m-%d-%H%M')}.fieldapp-backup")
        path, _filter = QFileDialog.getSaveFileName(self, self.t("ui.settings.backup_button"), suggested,
                                                    self.t("ui.settings.backup_filter"))
        if path:
            self.backup_to(path)

    def backup_to(self, path: str) -> None:
        """Write the backup in the worker (it holds the session); the button is off until it is done."""
        self.backup_button.setEnabled(False)
        self.say(self.backup_status, lambda: self.t("ui.settings.backup_running"))
        self.ctx.worker.run(backup.create, Path(path), on_done=lambda m: self._backed_up(path, m),
                            on_error=self._backup_failed)

    def _backed_up(self, path: str, manifest: dict) -> None:
        self.backup_button.setEnabled(True)
        self.say(self.backup_status, lambda: self.t("core.backup.written", path=path,
                                                    records=self.ctx.format_number(sum(manifest["counts"].values()))))

    def _backup_failed(self, exc) -> None:
        self.backup_button.setEnabled(True)
        self.say(self.backup_status, lambda: self.error_text(exc))

    def _idle_changed(self, minutes: int) -> None:
        self.ctx.save_config(idle_minutes=minutes)
        self.idle_minutes_changed.emit(self.ctx.config.idle_minutes)
