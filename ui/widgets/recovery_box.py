"""Settings' recovery key box (supervisors): IT's recovery key as the store holds it, and a provisioned change of it
that waits for a supervisor's confirmation (``fieldapp.store.recovery.pending``).

A provisioning file beside the store can only *ask* for another recovery key: whoever holds a recovery key's private
half can open every record, so the slot changes only when a supervisor reads the fingerprints here (or in
``fieldapp recovery-confirm``), checks them with IT, and confirms.
"""

from __future__ import annotations

from fieldapp.store import recovery
from ui.qt import QGroupBox, QLabel, QMessageBox, QPushButton, Qt, QVBoxLayout


def load_recovery(session) -> dict:
    """Worker job: the recovery slot's fingerprint and what waits for confirmation (fingerprints only)."""
    waiting = recovery.pending(session)
    return {"current": session.store.slots().recovery_fingerprint(), "pending": waiting}


class RecoveryBox(QGroupBox):
    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self._info: dict | None = None
        layout = QVBoxLayout(self)
        self.current = QLabel(self)
        self.current.setWordWrap(True)
        self.current.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.pending = QLabel(self)
        self.pending.setObjectName("settings_recovery_pending")
        self.pending.setWordWrap(True)
        self.confirm = QPushButton(self)
        self.confirm.setObjectName("settings_recovery_confirm")
        self.confirm.clicked.connect(self.confirm_pending)
        layout.addWidget(self.current)
        layout.addWidget(self.pending)
        layout.addWidget(self.confirm, 0, Qt.AlignLeft)
        self.retranslate()

    def t(self, msg_id: str, **params) -> str:
        return self.ctx.tr(msg_id, **params)

    def reload(self) -> None:
        if self.ctx.is_supervisor:
            self.ctx.worker.run(load_recovery, on_done=self._loaded, on_error=lambda _exc: None)

    def _loaded(self, info: dict) -> None:
        self._info = info
        self.retranslate()

    def retranslate(self) -> None:
        self.setTitle(self.t("ui.settings.recovery"))
        info = self._info or {}
        current = info.get("current")
        self.current.setText(self.t("ui.settings.recovery_current", fingerprint=current) if current
                             else self.t("ui.settings.recovery_none"))
        waiting = info.get("pending")
        self.pending.setVisible(bool(waiting))
        self.confirm.setVisible(bool(waiting))
        if waiting:
            key = "ui.settings.recovery_pending" if waiting.get("current") else "ui.settings.recovery_pending_new"
            self.pending.setText(self.t(key, new=waiting["fingerprint"], current=waiting.get("current") or "",
                                        signer=waiting.get("signer") or self.t("ui.settings.recovery_signer_pinned")))
        self.confirm.setText(self.t("ui.settings.recovery_confirm"))
        self.confirm.setAccessibleName(self.confirm.text())

    def confirm_pending(self) -> None:
        waiting = (self._info or {}).get("pending")
        if not waiting or not self.ctx.is_supervisor:
            return
        answer = QMessageBox.question(self, self.t("ui.settings.recovery"),
                                      self.t("ui.settings.recovery_confirm_question", fingerprint=waiting["fingerprint"]),
                                      QMessageBox.Yes | QMessageBox.No, QMessageBox.No)
        if answer != QMessageBox.Yes:
            return
        self.ctx.worker.run(recovery.confirm_pending, on_done=lambda _fp: self.reload(), on_error=lambda _exc: None)
