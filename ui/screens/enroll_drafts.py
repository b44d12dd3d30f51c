"""The enrollment form's drafts: saved as you go, started only once the member has a name, discarded on request,
and offered again after a restart.

``DraftFlow`` is mixed into ``EnrollScreen``. Every store call goes through the DB worker (one save in flight at a
time; later changes are saved after it). A save is durable when it is reported: the draft survives a crash.
"""

from __future__ import annotations

from datetime import datetime

from fieldapp.domain.states import label_id
from fieldapp.domain.update import is_update
from fieldapp.store import drafts, records
from ui.qt import QMessageBox, Qt
from ui.screens.enroll_fields import has_name


class DraftFlow:
    # ------------------------------------------------------------------ saving
    def save_draft(self, force: bool = False, then=None) -> None:
        """Queue ``records.save_draft``. Nothing is saved while the member has no name and there is no draft yet
        (a stray wheel or a default must not leave a nameless draft behind); ``then`` runs after the save."""
        self._autosave_timer.stop()
        if then is not None:
            self._after_save.append(then)
        if self._saving:
            return
        data = self.collect()
        if self.record_id is None and not has_name(data):
            self._run_after_save()
            return
        if not (self._dirty or (force and self.record_id is None)):
            self._run_after_save()
            return
        self._saving, self._dirty = True, False
        self.ctx.worker.run(records.save_draft, data, self.record_id, on_done=self._saved, on_error=self._save_failed)

    def save_now(self) -> None:
        """Ctrl+S or *Save draft*."""
        if self.record_id is None and not has_name(self.collect()):
            self.say(self.status, lambda: self.t("forms.enroll.needs_name"))
            return
        self.save_draft(force=True)

    def _saved(self, record_id: str) -> None:
        self._saving = False
        created = self.record_id is None
        self.record_id, self.state = record_id, self.state or "draft"
        saved_at = datetime.now()
        self.say(self.status, lambda: self.t("forms.enroll.draft_saved", time=self.ctx.format_time(saved_at, True)))
        self.draft_saved.emit(record_id)
        self._update_buttons()
        if created:
            self.resume_notice.setVisible(False)
            self.ctx.notify_records_changed()
        if self._dirty:
            self.save_draft()
        else:
            self._run_after_save()

    def _run_after_save(self) -> None:
        callbacks, self._after_save = self._after_save, []
        for callback in callbacks:
            callback()

    def _save_failed(self, exc) -> None:
        self._saving, self._dirty, self._after_save = False, True, []
        self.say(self.status, lambda: self.t("forms.enroll.save_failed", error=self.error_text(exc)))

    def flush(self) -> None:
        """Save what is pending now (call before closing the session: logout, idle lock, exit)."""
        if self._dirty and not self._saving:
            try:
                self.save_draft()
            except RuntimeError:  # the worker already stopped (application exit): the last autosave stands
                self._saving = False

    # ------------------------------------------------------------------ new, discard
    def new_record(self) -> None:
        """Save what is pending, then an empty form, scrolled to the top, the focus in the first field."""
        self.save_draft(then=self._start_new)

    def _start_new(self) -> None:
        self.clear_form()
        self.say(self.status, None)
        self.go_to_top()

    def discard(self) -> None:
        """*Discard draft*: after a confirmation, delete this draft (or clear what was typed when nothing is saved)."""
        if self.state not in (None, "draft") or self.discard_dialog is not None:
            return
        box = self.discard_dialog = QMessageBox(QMessageBox.Icon.Question, self.t("forms.enroll.discard_title"),
                                                self.t("forms.enroll.discard_question"), parent=self)
        box.setObjectName("discard_dialog")
        yes = box.addButton(self.t("forms.enroll.discard_confirm"), QMessageBox.ButtonRole.DestructiveRole)
        no = box.addButton(self.t("forms.enroll.discard_keep"), QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(no)
        box.setEscapeButton(no)
        yes.setObjectName("discard_yes")
        no.setObjectName("discard_no")
        box.finished.connect(lambda _r: self._discard_answered(box.clickedButton() is yes))
        box.open()

    def _discard_answered(self, confirmed: bool) -> None:
        self.discard_dialog.deleteLater()
        self.discard_dialog = None
        if not confirmed:
            self.widgets["family_name"].setFocus(Qt.OtherFocusReason)
            return
        self._autosave_timer.stop()
        self._dirty = False  # what was typed since the last save is not saved: it is being thrown away

        def go() -> None:
            if self.record_id is None:
                self._discarded(None)
            else:
                self.ctx.worker.run(drafts.discard_draft, self.record_id, on_done=self._discarded,
                                    on_error=self._submit_failed)

        if self._saving:  # a save in flight may be creating the draft: discard it once it exists
            self._after_save.append(go)
        else:
            go()

    def _discarded(self, _result) -> None:
        was_saved = self.record_id is not None
        self.clear_form()
        self.go_to_top()
        self.say(self.status, lambda: self.t("forms.enroll.discarded"))
        if was_saved:
            self.draft_discarded.emit()
            self.ctx.notify_records_changed()

    # ------------------------------------------------------------------ resume after a restart
    def offer_resume(self) -> None:
        """Once per login, on an empty form: the worker's last draft, offered at the top of the form."""
        if self._resume_checked or self.record_id is not None or self._dirty or self.ctx.user is None:
            return
        self._resume_checked = True
        self.ctx.worker.run(drafts.latest_draft, on_done=self._got_latest, on_error=lambda _exc: None)

    def _got_latest(self, found) -> None:
        if not found or self.record_id is not None or has_name(self.collect()) or is_update(found.get("data")):
            return  # an update's draft is offered in its own form (Members), not here
        self._resume = found
        self.resume_notice.setVisible(True)
        self._retranslate_resume()

    def _retranslate_resume(self) -> None:
        if not self._resume:
            return
        data = self._resume["data"] if isinstance(self._resume.get("data"), dict) else {}
        name = " ".join(str(data.get(k) or "").strip() for k in ("family_name", "given_name")).strip() or \
            " ".join(str(data.get(k) or "").strip() for k in ("family_name_latin", "given_name_latin")).strip()
        self.resume_notice.set_texts(
            self.t("forms.enroll.resume_offer", name=name or self.t("forms.enroll.no_name"),
                   time=self.ctx.format_timestamp(self._resume["updated_at"])),
            self.t("forms.enroll.resume"), self.t("forms.enroll.resume_not_now"))

    def resume(self) -> None:
        found, self._resume = self._resume, None
        self.resume_notice.setVisible(False)
        if found:
            self.open_record(found["id"])

    def dismiss_resume(self) -> None:
        self._resume = None
        self.resume_notice.setVisible(False)
        self.widgets["family_name"].setFocus(Qt.OtherFocusReason)

    # ------------------------------------------------------------------ opening a record
    def open_record(self, record_id: str) -> None:
        """Load a draft or returned record into the form (what is pending is saved first)."""
        self.save_draft(then=lambda: self.ctx.worker.run(records.get, record_id, on_done=self._loaded,
                                                         on_error=self._submit_failed))

    def _loaded(self, record: dict) -> None:
        if is_update(record.get("data")):  # a change request: its own form, in Members
            from ui.screens.records import workspace_of

            workspace = workspace_of(self)
            members = workspace.screens.get("members") if workspace is not None else None
            if members is not None:
                workspace.show_screen("members")
                members.edit_update(record["id"])
            return
        if record["state"] not in records.EDITABLE:
            state = record["state"]
            self.say(self.status, lambda: self.t("forms.enroll.not_editable", state=self.t(label_id(state))))
            return
        self.clear_form()
        self.record_id, self.state, self.reason = record["id"], record["state"], record.get("reason")
        self.fill(record["data"])
        self._show_all = record["state"] == "returned"  # a returned record: show what to correct at once
        self.widgets["dependents"].show_all = self._show_all
        self._show_banner()
        self._update_buttons()
        self.resume_notice.setVisible(False)
        self.check()
        self.say(self.status, lambda: self.t("forms.enroll.opened"))
        self.go_to_top()
        self.record_loaded.emit(record["id"])
