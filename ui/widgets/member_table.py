"""The table of looked-up members (Members screen): member no., names Khmer and Latin, birth date, village with its
commune, district and province, version. Searched through the DB worker (``ui.member_jobs.search_members``); an
older query's answer (the user typed on) is dropped."""

from __future__ import annotations

from ui.member_jobs import search_members
from ui.qt import QObject, Qt, QtCore, Signal
from ui.widgets.member_text import born_text, name_of, village_text

COLUMNS = ("member_no", "name", "name_latin", "born", "village", "version")


class MembersModel(QtCore.QAbstractTableModel):
    loaded = Signal(int)          # rows shown
    load_failed = Signal(object)

    def __init__(self, ctx, parent: QObject | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.text = ""
        self.loading = False
        self._rows: list[dict] = []
        self._generation = 0

    def set_query(self, text: str) -> None:
        self.text = text
        self._generation += 1
        self.loading = True
        self.ctx.worker.run(search_members, text, self._generation, on_done=self._got, on_error=self._failed)

    def _got(self, result) -> None:
        generation, rows = result
        if generation != self._generation:
            return
        self.loading = False
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()
        self.loaded.emit(len(self._rows))

    def _failed(self, exc) -> None:
        self.loading = False
        self.beginResetModel()
        self._rows = []
        self.endResetModel()
        self.load_failed.emit(exc)

    def row(self, index: int) -> dict:
        return self._rows[index]

    def rows(self) -> list[dict]:
        return list(self._rows)

    def rowCount(self, parent=QtCore.QModelIndex()) -> int:  # noqa: N802 (Qt name)
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent=QtCore.QModelIndex()) -> int:  # noqa: N802 (Qt name)
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        row, column = self._rows[index.row()], COLUMNS[index.column()]
        if role == Qt.DisplayRole:
            return self.cell(row, column)
        if role == Qt.ToolTipRole and column == "village":
            return self.cell(row, column)
        return None

    def cell(self, row: dict, column: str) -> str:
        if column == "member_no":
            return str(row.get("member_no") or "")
        if column == "name":
            return name_of(row)
        if column == "name_latin":
            return name_of(row, latin=True)
        if column == "born":
            return born_text(self.ctx, row)
        if column == "village":
            return village_text(row.get("village_code"), self.ctx.lang)
        return self.ctx.format_number(row.get("version") or "")

    def headerData(self, section, orientation, role=Qt.DisplayRole):  # noqa: N802 (Qt name)
        if orientation == Qt.Horizontal and role == Qt.DisplayRole and 0 <= section < len(COLUMNS):
            return self.ctx.tr(f"forms.member.col.{COLUMNS[section]}")
        return None

    def retranslate(self) -> None:
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, len(COLUMNS) - 1))
        self.headerDataChanged.emit(Qt.Horizontal, 0, len(COLUMNS) - 1)


__all__ = ["COLUMNS", "MembersModel"]
