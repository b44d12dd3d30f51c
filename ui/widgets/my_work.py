"""Home's "Your work": the user's records returned for correction and their drafts, each opened in the form with
Enter (or a double click). Filled from ``fieldapp.store.my_work.my_work`` (run by Home on the DB worker)."""

from __future__ import annotations

from fieldapp.domain import reasons
from ui.qt import QGroupBox, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, Qt, QVBoxLayout, Signal

KINDS = ("returned", "drafts")


class MyWorkBox(QGroupBox):
    """Two lists side by side; ``open_record(record_id)`` when the user opens an item."""

    open_record = Signal(str)

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("my_work")
        self._data: dict = {}
        self.titles: dict[str, QLabel] = {}
        self.lists: dict[str, QListWidget] = {}
        self.empty: dict[str, QLabel] = {}
        row = QHBoxLayout(self)
        for kind in KINDS:
            column = QVBoxLayout()
            title = QLabel(self)
            title.setObjectName(f"my_{kind}_title")
            items = QListWidget(self)
            items.setObjectName(f"my_{kind}")
            items.setProperty("i18n_exempt", True)  # people's names (the rest of each line is translated)
            items.setMaximumHeight(self.fontMetrics().height() * 6)
            # a long line ends in "…" (its tooltip holds it whole) rather than behind a sideways scroll bar
            items.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
            items.setTextElideMode(Qt.ElideRight)
            items.itemActivated.connect(self._activated)
            title.setBuddy(items)
            empty = QLabel(self)
            empty.setObjectName(f"my_{kind}_empty")
            empty.setWordWrap(True)
            empty.setStyleSheet("color: #555;")
            column.addWidget(title)
            column.addWidget(items)
            column.addWidget(empty)
            column.addStretch(1)
            row.addLayout(column, 1)
            self.titles[kind], self.lists[kind], self.empty[kind] = title, items, empty

    def set_data(self, data: dict) -> None:
        self._data = dict(data or {})
        self.retranslate()

    def retranslate(self) -> None:
        tr, number = self.ctx.tr, self.ctx.format_number
        self.setTitle(tr("ui.home.my_work"))
        for kind in KINDS:
            total = self._data.get(f"{kind}_total", 0)
            self.titles[kind].setText(tr(f"ui.home.{kind}_title", count=number(total)))
            items = self.lists[kind]
            items.setAccessibleName(self.titles[kind].text())
            items.setToolTip(tr("ui.home.open_hint"))
            current = items.currentRow()
            items.clear()
            for entry in self._data.get(kind) or []:
                item = QListWidgetItem(self._line(kind, entry))
                item.setData(Qt.ItemDataRole.UserRole, entry["id"])
                item.setToolTip(item.text())
                items.addItem(item)
            if items.count():
                items.setCurrentRow(min(max(current, 0), items.count() - 1))
            items.setVisible(items.count() > 0)
            self.empty[kind].setText(tr(f"ui.home.no_{kind}"))
            self.empty[kind].setVisible(items.count() == 0)

    def _line(self, kind: str, entry: dict) -> str:
        name = entry.get("name") or self.ctx.tr("ui.home.no_name")
        if kind == "returned":
            return self.ctx.tr("ui.home.returned_item", name=name,
                               reason=reasons.render(entry.get("reason"), self.ctx.lang) or "")
        return self.ctx.tr("ui.home.draft_item", name=name, when=self.ctx.format_timestamp(entry["updated_at"]))

    def _activated(self, item: QListWidgetItem) -> None:
        record_id = item.data(Qt.ItemDataRole.UserRole)
        if record_id:
            self.open_record.emit(record_id)
