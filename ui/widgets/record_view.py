"""The read-only view of one record in any state: the household preview Review shows beside its queue and Records
opens on Enter.

It shows what ``fieldapp.store.preview.load`` read (on the worker thread): who the record is and its state (with
the supervisor's reason), everyone in the household with relationship, sex, date of birth, age and the illness
flag (and what the coverage rule says where it matters), the full address "Village — Commune, District,
Province", phone, IDs, occupation, the consent (method and time), the enrolling worker by full name and when,
the possible duplicates with the fields that differ, and the history in local time. Khmer digits in Khmer.
Everything wraps; the view scrolls up and down (arrow keys and Page Up/Down once it has the focus), never sideways.
An update (change request; ``ui.member_jobs.load_record`` gives its ``update`` preview) shows its member number, base
version, what changes with the reasons, and the member before and after (``UpdateSummary``) instead of a household.
"""

from __future__ import annotations

from fieldapp.domain import household, reasons
from fieldapp.domain.occupations import choice_label
from fieldapp.domain.problem import field_label
from fieldapp.domain.update import is_update
from fieldapp.proof.status import plain_status
from ui.qt import QFormLayout, QGroupBox, QLabel, QScrollArea, Qt, QtWidgets, QVBoxLayout, QWidget
from ui.widgets.duplicates import DuplicatesView, short_id
from ui.widgets.household_view import HistoryGrid, PeopleGrid, WrapLabel, fit_to_words, when_text
from ui.widgets.update_view import UpdateSummary

QHeaderView = QtWidgets.QHeaderView

#: The rows of the details box, in order: (key, label id or field name, shown even when empty).
DETAILS = (("member_no", "proof.field.member_no", False), ("address", "forms.preview.address", True), ("phone", "phone", False),
           ("national_id", "national_id", False), ("occupation", "occupation", True),
           ("employment_status", "employment_status", True), ("idpoor_household_id", "idpoor_household_id", False),
           ("disability_id", "disability_id", False), ("consent", "consent", True),
           ("enrolled_by", "forms.preview.enrolled_by", True), ("submitted", "forms.preview.submitted_at", False),
           ("notes", "notes", False))
_TEXT_FIELDS = ("idpoor_household_id", "disability_id", "notes")


def _wrapping(parent, object_name: str = "", data: bool = False) -> QLabel:
    label = WrapLabel(parent)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if object_name:
        label.setObjectName(object_name)
    if data:
        label.setProperty("i18n_exempt", True)  # a person's details: data, not interface text
    return label


def _set(label: QLabel, text: str) -> None:
    label.setText(text)
    fit_to_words(label)


def detail_values(ctx, preview: dict) -> dict[str, str]:
    """The details box's values in the reader's language ("" where there is nothing to show)."""
    record, data = preview["record"], preview["record"].get("data")
    data = data if isinstance(data, dict) else {}
    code = data.get("village_code") if isinstance(data.get("village_code"), str) else ""
    if preview.get("address"):
        address = household.address_text(preview["address"], ctx.lang)
    else:
        address = ctx.tr("forms.preview.unknown_village", code=code) if code else ctx.tr("forms.preview.no_village")
    occupation = choice_label("occupation", data["occupation"], ctx.lang) if data.get("occupation") else ""
    if data.get("occupation") == "other" and isinstance(data.get("occupation_other"), str):
        occupation = f"{occupation}: {data['occupation_other']}"
    consent = preview.get("consent") or household.consent(data)
    if consent["given"]:
        consent_text = ctx.tr("forms.preview.consent_given", when=when_text(ctx, consent["recorded_at"]),
                              method=choice_label("consent_method", consent["method"], ctx.lang)
                              if consent["method"] else "\u2014")
    else:
        consent_text = ctx.tr("forms.preview.consent_missing")
    worker = record.get("created_by") or ""
    values = {"address": address, "occupation": occupation or "\u2014",
              "employment_status": choice_label("employment_status", data["employment_status"], ctx.lang)
              if data.get("employment_status") else "\u2014",
              "consent": consent_text,
              "enrolled_by": ctx.tr("forms.preview.enrolled_value", name=preview.get("names", {}).get(worker, worker),
                                    when=when_text(ctx, record.get("created_at") or "")),
              "submitted": when_text(ctx, record.get("submitted_at") or ""), "member_no": record.get("member_no") or ""}
    for key in ("phone", "national_id"):
        values[key] = ctx.format_number(data[key]) if isinstance(data.get(key), str) and data[key] else ""
    for key in _TEXT_FIELDS:
        values[key] = data[key] if isinstance(data.get(key), str) else ""
    return values


def record_status(ctx, record: dict) -> str:
    """A record's status in plain words (``fieldapp.proof.status.plain_status``): an update's kind and version too
    where the core's status words take them."""
    data = record.get("data") if isinstance(record.get("data"), dict) else {}
    member_no = record.get("member_no") or record.get("member_ref") or data.get("member_no")
    if (record.get("kind") == "update" or is_update(data)) and record["state"] == "registered":
        return ctx.tr("forms.update.applied", member_no=member_no)
    return plain_status(record["state"], record.get("reason"), member_no, ctx.lang)


class RecordView(QScrollArea):
    """The household preview of one record; ``set_preview(None)`` shows a hint instead."""

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.preview: dict | None = None
        self.setObjectName("record_view")
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        body = QWidget(self)
        body.setObjectName("record_view_body")
        self.setWidget(body)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 4, 0)
        self.placeholder = _wrapping(body, "record_placeholder")
        self.title = _wrapping(body, "record_title", data=True)
        font = self.title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.2)
        self.title.setFont(font)
        self.state_line = _wrapping(body, "record_state")
        self.reason_line = _wrapping(body, "record_reason", data=True)
        self.reason_line.setStyleSheet("color: #8a4b00;")

        self.household_box = QGroupBox(body)
        self.people = PeopleGrid(self.household_box)
        QVBoxLayout(self.household_box).addWidget(self.people)
        self.details_box = QGroupBox(body)
        self.details = QFormLayout(self.details_box)
        self.details.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.details.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.detail_labels: dict[str, QLabel] = {}
        self.detail_values: dict[str, QLabel] = {}
        for key, _label, _always in DETAILS:
            self.detail_labels[key] = _wrapping(self.details_box)
            self.detail_values[key] = _wrapping(self.details_box, f"detail_{key}", data=True)
            self.details.addRow(self.detail_labels[key], self.detail_values[key])
        self.dup_box = QGroupBox(body)
        dup_layout = QVBoxLayout(self.dup_box)
        self.duplicates = DuplicatesView(ctx, self.dup_box)
        header = self.duplicates.header()  # the two value columns share what the field names leave: no sideways
        header.setStretchLastSection(False)  # scrolling in a narrow view
        for column in (1, 2):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)
        self.duplicates.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.no_duplicates = _wrapping(self.dup_box, "no_duplicates")
        dup_layout.addWidget(self.no_duplicates)
        dup_layout.addWidget(self.duplicates)
        self.history_box = QGroupBox(body)
        self.history = HistoryGrid(self.history_box)
        QVBoxLayout(self.history_box).addWidget(self.history)
        self.update_box = UpdateSummary(ctx, body)
        for widget in (self.placeholder, self.title, self.state_line, self.reason_line, self.update_box,
                       self.household_box, self.details_box, self.dup_box, self.history_box):
            layout.addWidget(widget)
        layout.addStretch(1)
        self.retranslate()

    # ------------------------------------------------------------------ texts
    def retranslate(self) -> None:
        tr = self.ctx.tr
        self.setAccessibleName(tr("forms.preview.title"))
        self.setToolTip(tr("forms.preview.keys_tip"))
        _set(self.placeholder, tr("forms.preview.empty"))
        for key, label, _always in DETAILS:
            _set(self.detail_labels[key], tr(label) if label.startswith(("forms.", "proof.")) else
                 field_label(label, self.ctx.lang))
        self.duplicates.retranslate()
        self.set_preview(self.preview)

    def set_preview(self, preview: dict | None) -> None:
        """Show ``fieldapp.store.preview.load``'s result (None: nothing chosen)."""
        self.preview = preview
        shown = preview is not None
        self.placeholder.setVisible(not shown)
        is_update = shown and "update" in preview
        for widget in (self.title, self.state_line, self.history_box):
            widget.setVisible(shown)
        for widget in (self.household_box, self.details_box, self.dup_box):
            widget.setVisible(shown and not is_update)
        self.update_box.setVisible(is_update)
        if is_update:
            self._show_update(preview)
            return
        if not shown:
            self.reason_line.hide()
            self.duplicates.set_candidates([])
            return
        tr, record = self.ctx.tr, preview["record"]
        people = preview["people"]
        member = people[0] if people else {"name": "", "name_latin": ""}
        _set(self.title, " \u00b7 ".join(t for t in (member["name"], member["name_latin"]) if t)
                           or tr("forms.preview.unnamed"))
        _set(self.state_line, tr("forms.preview.state_line", record=short_id(record["id"]),
                                   state=record_status(self.ctx, record)))
        reason = reasons.render(record.get("reason"), self.ctx.lang) if record.get("reason") else ""
        _set(self.reason_line, tr("forms.preview.reason", reason=reason) if reason else "")
        self.reason_line.setVisible(bool(reason))
        count = len(people)
        self.household_box.setTitle(tr("forms.preview.household_one") if count == 1 else
                                    tr("forms.preview.household", count=self.ctx.format_number(count)))
        self.people.show_people(self.ctx, people)
        self.details_box.setTitle(tr("forms.preview.details"))
        values = detail_values(self.ctx, preview)
        for row, (key, _label, always) in enumerate(DETAILS):
            _set(self.detail_values[key], values.get(key, ""))
            self.details.setRowVisible(row, always or bool(values.get(key)))
        self._show_duplicates(preview.get("duplicates") or [])
        self.history_box.setTitle(tr("forms.review.history"))
        self.history.show_history(self.ctx, preview.get("history") or [], preview.get("names") or {})

    def _show_update(self, preview: dict) -> None:
        tr, record = self.ctx.tr, preview["record"]
        data = record.get("data") or {}
        _set(self.title, tr("forms.update.title", member_no=data.get("member_no") or record.get("member_ref") or ""))
        _set(self.state_line, tr("forms.preview.state_line", record=short_id(record["id"]),
                                   state=record_status(self.ctx, record)))
        reason = reasons.render(record.get("reason"), self.ctx.lang) if record.get("reason") else ""
        _set(self.reason_line, tr("forms.preview.reason", reason=reason) if reason else "")
        self.reason_line.setVisible(bool(reason) and record.get("state") in ("returned", "rejected"))
        self.update_box.show_update(data, preview.get("update"))
        self.history_box.setTitle(tr("forms.review.history"))
        self.history.show_history(self.ctx, preview.get("history") or [], preview.get("names") or {})

    def _show_duplicates(self, candidates: list[dict]) -> None:
        tr = self.ctx.tr
        self.dup_box.setTitle(tr("forms.preview.duplicates", count=self.ctx.format_number(len(candidates)))
                              if candidates else tr("forms.dup.title"))
        _set(self.no_duplicates, tr("forms.preview.no_duplicates"))
        self.no_duplicates.setVisible(not candidates)
        self.duplicates.setVisible(bool(candidates))
        self.duplicates.set_candidates(candidates)
        if candidates:  # as tall as its rows: the view scrolls, not a box inside it
            rows = sum(1 + self.duplicates.topLevelItem(i).childCount()
                       for i in range(self.duplicates.topLevelItemCount()))
            row_height = self.duplicates.fontMetrics().height() + 8
            header = self.duplicates.header().sizeHint().height()
            self.duplicates.setFixedHeight(header + rows * row_height + 2 * self.duplicates.frameWidth())

    # ------------------------------------------------------------------ reading
    def record_id(self) -> str | None:
        return self.preview["record"]["id"] if self.preview else None

    def plain_text(self) -> str:
        """Everything the view shows, as text (what a screen reader or a test reads)."""
        if self.preview is None:
            return self.placeholder.text()
        parts = [self.title.text(), self.state_line.text()]
        if self.reason_line.isVisibleTo(self):
            parts.append(self.reason_line.text())
        if self.update_box.isVisibleTo(self):
            return "\n".join(parts + [self.update_box.text(), self.history_box.title(), self.history.text()])
        parts += [self.household_box.title(), self.people.text(), self.details_box.title()]
        for row, (key, _label, _always) in enumerate(DETAILS):
            if self.details.isRowVisible(row):
                parts.append(f"{self.detail_labels[key].text()}: {self.detail_values[key].text()}")
        parts.append(self.dup_box.title())
        if self.no_duplicates.isVisibleTo(self):
            parts.append(self.no_duplicates.text())
        for i in range(self.duplicates.topLevelItemCount()):
            top = self.duplicates.topLevelItem(i)
            parts.append(top.text(0))
            parts += [" | ".join(top.child(j).text(c) for c in range(3)) for j in range(top.childCount())]
        parts += [self.history_box.title(), self.history.text()]
        return "\n".join(p for p in parts if p)


__all__ = ["DETAILS", "RecordView", "detail_values"]
