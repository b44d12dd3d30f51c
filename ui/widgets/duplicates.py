"""Possible duplicates with the fields that differ: a view (review screen) and a confirm dialog (before submit).

Candidates come from the core (``records.duplicate_candidates``: record_id, reasons,
state, differences ``{field: {"this", "other"}}``, visible) or from a record's stored
``duplicates`` (record_id, reasons only). For another worker's record the core sends an
outreach worker no differences at all (``visible`` false): one line says the supervisor compares them. A looked-up
member (``registered`` true: ``member_no``, ``office_commune``, ``entry``) reads "Already registered: member no. …, at
… office" with the member's names, birth date and village; the dialog's *Open member* (Ctrl+O) opens it instead
of enrolling the person again.
"""

from __future__ import annotations

from fieldapp.domain import geo
from fieldapp.domain.occupations import choice_label
from fieldapp.domain.states import label_id
from fieldapp.domain.validation import field_label
from ui.qt import QDialog, QDialogButtonBox, QKeySequence, QLabel, Qt, QtWidgets, QVBoxLayout, Signal
from ui.widgets.address import unit_text
from ui.widgets.member_text import registered_rows, registered_title

_CHOICE_FIELDS = ("sex", "occupation", "employment_status")
MEMBER_ROLE = Qt.UserRole + 1
OPEN_MEMBER_KEYS = "Ctrl+O"
OPEN_MEMBER = 2  # the dialog's result when the worker chose to open the registered member


def short_id(record_id: str) -> str:
    return (record_id or "")[:8]


def state_text(ctx, state: str | None) -> str:
    return ctx.tr(label_id(state)) if state else ""


def display_value(ctx, field: str, value) -> str:
    """A stored value as the user reads it (labels for codes, local dates, place names)."""
    if value is None or value == "":
        return ctx.tr("forms.value.empty")
    if field in _CHOICE_FIELDS:
        return choice_label(field, str(value), ctx.lang)
    if field == "village_code":
        unit = geo.village(str(value))
        return unit_text(unit, ctx.lang) if unit else str(value)
    if field == "date_of_birth":
        try:
            return ctx.format_date(str(value))
        except ValueError:
            return str(value)
    return str(value)


def candidate_title(ctx, cand: dict) -> str:
    if cand.get("registered"):
        return registered_title(ctx, cand)
    if not cand.get("visible", True):
        return ctx.tr("forms.dup.candidate_hidden", record=short_id(cand.get("record_id")))
    reasons = ", ".join(ctx.tr(f"forms.dup.reason.{r}") for r in cand.get("reasons", []))
    return ctx.tr("forms.dup.candidate", record=short_id(cand.get("record_id")),
                  state=state_text(ctx, cand.get("state")), reasons=reasons)


class DuplicatesView(QtWidgets.QTreeWidget):
    """One top-level row per candidate; one child row per differing field: field, this record, the other."""

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self._candidates: list[dict] = []
        self.setColumnCount(3)
        self.setRootIsDecorated(True)
        self.setUniformRowHeights(True)
        self.setObjectName("duplicates_view")
        self.retranslate()

    def retranslate(self) -> None:
        self.setHeaderLabels([self.ctx.tr("forms.dup.col.field"), self.ctx.tr("forms.dup.col.this"),
                              self.ctx.tr("forms.dup.col.other")])
        self.setAccessibleName(self.ctx.tr("forms.dup.title"))
        self.set_candidates(self._candidates)

    def set_candidates(self, candidates: list[dict]) -> None:
        self._candidates = list(candidates or [])
        self.clear()
        for cand in self._candidates:
            top = QtWidgets.QTreeWidgetItem([candidate_title(self.ctx, cand), "", ""])
            top.setData(0, Qt.UserRole, cand.get("record_id"))
            top.setData(0, MEMBER_ROLE, cand.get("member_no") if cand.get("registered") else None)
            top.setToolTip(0, top.text(0))
            self.addTopLevelItem(top)
            top.setFirstColumnSpanned(True)
            if cand.get("registered"):
                for label, value in registered_rows(self.ctx, cand):
                    child = QtWidgets.QTreeWidgetItem([label, "", value])
                    child.setData(0, MEMBER_ROLE, cand.get("member_no"))
                    top.addChild(child)
                continue
            diffs = cand.get("differences")
            if not cand.get("visible", True):
                hidden = QtWidgets.QTreeWidgetItem([self.ctx.tr("forms.dup.hidden"), "", ""])
                top.addChild(hidden)
                hidden.setFirstColumnSpanned(True)  # only once in the tree: Qt ignores it before
                hidden.setToolTip(0, hidden.text(0))  # the whole sentence where the row cuts it short
            if diffs is None:
                continue
            if not diffs:
                top.addChild(QtWidgets.QTreeWidgetItem([self.ctx.tr("forms.dup.no_differences"), "", ""]))
            for name, pair in diffs.items():
                other = display_value(self.ctx, name, pair.get("other"))
                top.addChild(QtWidgets.QTreeWidgetItem([field_label(name, self.ctx.lang),
                                                         display_value(self.ctx, name, pair.get("this")), other]))
        self.expandAll()
        for col in (1, 2):
            self.resizeColumnToContents(col)
        # The field column fits the field names only: a row spanning all columns (a candidate's title, the
        # "another worker's record" line) must not widen it and push the values out of view.
        fm = self.fontMetrics()
        names = [top.child(i).text(0) for top in (self.topLevelItem(n) for n in range(self.topLevelItemCount()))
                 for i in range(top.childCount()) if not top.child(i).isFirstColumnSpanned()]
        widest = max([fm.horizontalAdvance(t) for t in names + [self.headerItem().text(0)]])
        self.setColumnWidth(0, widest + 2 * self.indentation() + fm.averageCharWidth() * 2)

    def member_numbers(self) -> list[str]:
        return [c["member_no"] for c in self._candidates if c.get("registered") and c.get("member_no")]

    def chosen_member(self) -> str | None:
        """The registered member of the row the keyboard is on, else the first one listed."""
        item = self.currentItem()
        found = item.data(0, MEMBER_ROLE) if item is not None else None
        numbers = self.member_numbers()
        return found or (numbers[0] if numbers else None)

    def differing_fields(self) -> list[str]:
        return [name for cand in self._candidates for name in (cand.get("differences") or {})]


class DuplicatesDialog(QDialog):
    """Shown before submit when the core finds possible duplicates: submit anyway, go back, or (for a member already
    registered) open that member (``open_member``; the dialog then finishes with ``OPEN_MEMBER``)."""

    open_member = Signal(str)

    def __init__(self, ctx, candidates: list[dict], parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("duplicates_dialog")
        self.setModal(True)
        self.intro = QLabel(self)
        self.intro.setWordWrap(True)
        self.view = DuplicatesView(ctx, self)
        self.view.set_candidates(candidates)
        self.buttons = QDialogButtonBox(self)
        self.confirm_button = self.buttons.addButton("", QDialogButtonBox.AcceptRole)
        self.cancel_button = self.buttons.addButton("", QDialogButtonBox.RejectRole)
        self.member_button = self.buttons.addButton("", QDialogButtonBox.ActionRole)
        self.member_button.setObjectName("dup_open_member")
        self.member_button.setVisible(bool(self.view.member_numbers()))
        self.member_button.clicked.connect(self._open_member)
        self.cancel_button.setDefault(True)  # the safe choice on a plain Enter
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.buttons)
        if self.view.member_numbers() and parent is not None:  # the office's name is long: room for the whole line
            self.resize(max(640, min(1000, parent.window().width() - 80)), 360)
        else:
            self.resize(640, 360)
        self.retranslate()
        if self.view.member_numbers():
            self.view.setCurrentItem(self.view.topLevelItem(0))

    def _open_member(self) -> None:
        member_no = self.view.chosen_member()
        if member_no:
            self.open_member.emit(member_no)
            self.done(OPEN_MEMBER)

    def retranslate(self) -> None:
        tr = self.ctx.tr
        self.setWindowTitle(tr("forms.dup.title"))
        intro = tr("forms.dup.intro", count=self.ctx.format_number(len(self.view._candidates)))
        self.intro.setText(f"{intro} {tr('forms.dup.intro_registered')}" if self.view.member_numbers() else intro)
        self.confirm_button.setText(tr("forms.dup.confirm"))
        self.confirm_button.setToolTip(tr("forms.shortcut_tip", action=tr("forms.dup.confirm"),
                                          keys=QKeySequence("Ctrl+Return").toString(QKeySequence.NativeText)))
        self.confirm_button.setAccessibleName(tr("forms.dup.confirm"))
        self.cancel_button.setText(tr("forms.dup.cancel"))
        self.cancel_button.setToolTip(tr("forms.shortcut_tip", action=tr("forms.dup.cancel"), keys="Esc"))
        self.cancel_button.setAccessibleName(tr("forms.dup.cancel"))
        self.member_button.setText(tr("forms.dup.open_member"))
        # after setText: a button's text sets its mnemonic shortcut, which replaces any shortcut set before
        self.confirm_button.setShortcut(QKeySequence("Ctrl+Return"))
        self.member_button.setShortcut(QKeySequence(OPEN_MEMBER_KEYS))
        self.member_button.setAccessibleName(tr("forms.dup.open_member"))
        self.member_button.setToolTip(tr("forms.shortcut_tip", action=tr("forms.dup.open_member"),
                                         keys=QKeySequence(OPEN_MEMBER_KEYS).toString(QKeySequence.NativeText)))
        self.view.retranslate()
