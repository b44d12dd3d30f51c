"""Submitting the enrollment form: every problem listed at the top and the focus on the first, or the duplicate check,
then ``records.submit``; after it an empty form, at the top, ready for the next person.

``SubmitFlow`` is mixed into ``EnrollScreen``; the store calls go through the DB worker.
"""

from __future__ import annotations

from fieldapp.store import records
from ui.member_jobs import duplicate_check
from ui.qt import Qt
from ui.screens.enroll_fields import problem_order
from ui.widgets.duplicates import DuplicatesDialog


class SubmitFlow:
    # ------------------------------------------------------------------ submitting
    def submit(self) -> None:
        self._show_all = True
        if self.check():
            self._summary_on = True
            self._display(self.problems)
            count = len(self.problems)
            self.say(self.status, lambda: self.t("forms.enroll.fix_problems", count=self.ctx.format_number(count)))
            self.focus_problem(sorted(self.problems, key=problem_order)[0].path)
            return
        self.say(self.status, lambda: self.t("forms.enroll.checking_duplicates"))
        self.save_draft(force=True, then=self._check_duplicates)

    def _check_duplicates(self) -> None:
        self.ctx.worker.run(duplicate_check, self.collect(), self.record_id,
                            on_done=self._got_duplicates, on_error=self._submit_failed)

    def _got_duplicates(self, candidates: list) -> None:
        if not candidates:
            self._submit_now()
            return
        dialog = self.duplicates_dialog = DuplicatesDialog(self.ctx, candidates, self)
        dialog.accepted.connect(self._submit_now)
        dialog.rejected.connect(lambda: self.say(self.status, lambda: self.t("forms.enroll.submit_cancelled")))
        dialog.open_member.connect(self._open_member)
        dialog.finished.connect(lambda _r, back=self.focusWidget(): self._dialog_closed(back))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def _dialog_closed(self, back) -> None:
        """Keyboard focus goes back where it was before the dialog."""
        self.duplicates_dialog = None
        self.window().activateWindow()
        (back if back is not None and self.isAncestorOf(back) else self.submit_button).setFocus(Qt.PopupFocusReason)

    def _open_member(self, member_no: str) -> None:
        """The person is already registered: their member opens in Members (the draft is kept, not submitted)."""
        self.say(self.status, lambda: self.t("forms.enroll.opened_member", member_no=member_no))
        from ui.screens.records import workspace_of

        workspace = workspace_of(self)
        members = workspace.screens.get("members") if workspace is not None else None
        if members is not None:
            workspace.show_screen("members")
            members.open_member(member_no)

    def _submit_now(self) -> None:
        self.duplicates_dialog = None
        self.ctx.worker.run(records.submit, self.record_id, on_done=self._submitted, on_error=self._submit_failed)

    def _submitted(self, _duplicates) -> None:
        record_id = self.record_id
        self.clear_form()
        self.go_to_top()
        self.last_submitted = record_id
        self.say(self.status, lambda: self.t("forms.enroll.submitted_slip"))
        self.submitted.emit(record_id)
        self.ctx.notify_records_changed()

    def print_last_slip(self) -> None:
        """Ctrl+P after a submit: the acknowledgement slip of the record just submitted."""
        if self.last_submitted:
            self.printing.start("slip", self.last_submitted)

    def _submit_failed(self, exc) -> None:
        problems = getattr(exc, "problems", None)
        if problems is not None:
            self.problems, self._show_all, self._summary_on = list(problems), True, True
            self._display(self.problems)
            self.focus_problem(sorted(self.problems, key=problem_order)[0].path)
        self.say(self.status, lambda: self.error_text(exc))
