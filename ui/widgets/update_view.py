"""An update (change request) as it reads in Review, Records and its own form: the member number, the version it was
based on, what changes (one line each, with its reason), the member before and after, and any problem the preview
found (one translated line each). Fed with ``fieldapp.store.updates.preview``'s answer (before, after, summary,
problems) and the update's data."""

from __future__ import annotations

from ui.qt import QGroupBox, QVBoxLayout, QWidget
from ui.widgets.household_view import TextGrid
from ui.widgets.member_text import before_after, both_names, problem_lines, summary_line
from ui.widgets.member_text import text_label as _label
from ui.widgets.problems import PROBLEM_STYLE



class UpdateSummary(QWidget):
    def __init__(self, ctx, parent=None, with_heading: bool = True):
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("update_summary")
        self.data: dict = {}
        self.preview: dict | None = None
        self.heading = _label(self, "update_heading", data=True)
        self.heading.setVisible(with_heading)
        self.problems = _label(self, "update_problems")
        self.problems.setStyleSheet(PROBLEM_STYLE)
        self.changes_box = QGroupBox(self)
        self.changes = _label(self.changes_box, "update_changes", data=True)
        QVBoxLayout(self.changes_box).addWidget(self.changes)
        self.compare_box = QGroupBox(self)
        self.compare = TextGrid("update_compare", (2, 3, 3), self.compare_box)
        QVBoxLayout(self.compare_box).addWidget(self.compare)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.heading, self.problems, self.changes_box, self.compare_box):
            layout.addWidget(widget)
        self.retranslate()

    def retranslate(self) -> None:
        self.show_update(self.data, self.preview)

    def show_update(self, data: dict | None, preview: dict | None) -> None:
        ctx, tr = self.ctx, self.ctx.tr
        self.data, self.preview = dict(data or {}), preview
        preview = preview or {}
        before, after = preview.get("before") or {}, preview.get("after")
        version = self.data.get("base_version")
        self.heading.setText(tr("forms.update.heading", name=both_names(before) or "\u2014",
                                member_no=self.data.get("member_no") or "",
                                version=ctx.format_number(version) if version else "\u2014"))
        lines = problem_lines(ctx, preview.get("problems"))
        self.problems.setText("\n".join(lines))
        self.problems.setVisible(bool(lines))
        summary = [summary_line(ctx, item, before) for item in preview.get("summary") or []]
        self.changes_box.setTitle(tr("forms.update.changes"))
        self.changes.setText("\n".join(f"\u2022 {line}" for line in summary) or tr("forms.update.no_changes"))
        self.compare_box.setTitle(tr("forms.update.before_after"))
        rows = before_after(ctx, before, after) if before else []
        self.compare.set_rows([tr("forms.update.col.what"), tr("forms.update.col.before"),
                               tr("forms.update.col.after")], [list(r) for r in rows], data_columns=(1, 2))
        self.compare_box.setVisible(bool(rows))

    def text(self) -> str:
        parts = [self.heading.text() if self.heading.isVisibleTo(self) else "",
                 self.problems.text() if self.problems.isVisibleTo(self) else "",
                 self.changes_box.title(), self.changes.text()]
        if self.compare_box.isVisibleTo(self):
            parts += [self.compare_box.title(), self.compare.text()]
        return "\n".join(p for p in parts if p)


__all__ = ["UpdateSummary"]
