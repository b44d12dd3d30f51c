"""Columns that always fit their table: no sideways scrolling, no header cut short.

``fit_columns(table)`` gives every visible column at least the width of its header text (with the room for a sort
arrow), then what its contents ask for (the rows on screen), and, when that is more than the view has, cuts the
widest columns down to one common cap (never below their header): short columns such as dates and phone numbers
stay whole, a long name or reason is cut with "…" (its tooltip and the record view show it whole), never a
heading or a column pushed out of sight. What is
left over goes to the last visible column. ``ColumnFitter`` refits on every resize and whenever rows arrive.
"""

from __future__ import annotations

from ui.qt import QEvent, QObject, Qt, QTimer, QtGui, QtWidgets, isValid

QHeaderView, QStyle = QtWidgets.QHeaderView, QtWidgets.QStyle


def header_width(table, column: int) -> int:
    """Pixels the header of ``column`` needs: its text, the header's margins and a sort arrow."""
    header = table.horizontalHeader()
    text = table.model().headerData(column, Qt.Orientation.Horizontal, Qt.ItemDataRole.DisplayRole)
    fm = QtGui.QFontMetrics(header.font())
    widest = max((fm.horizontalAdvance(line) for line in str(text or "").split("\n")), default=0)
    style = header.style()
    margin = 2 * style.pixelMetric(QStyle.PixelMetric.PM_HeaderMargin, None, header)
    arrow = style.pixelMetric(QStyle.PixelMetric.PM_HeaderMarkSize, None, header) + margin // 2
    return widest + margin + arrow + 4


def fit_columns(table) -> None:
    model = table.model()
    if model is None:
        return
    header = table.horizontalHeader()
    columns = [c for c in range(model.columnCount()) if not header.isSectionHidden(c)]
    if not columns:
        return
    available = table.viewport().width()
    floor = {c: header_width(table, c) for c in columns}
    wanted = {c: max(floor[c], table.sizeHintForColumn(c) if model.rowCount() else 0) for c in columns}
    if sum(wanted.values()) > available:
        wanted = _capped(wanted, floor, available)
    used = sum(wanted.values())
    if used < available:
        wanted[columns[-1]] += available - used
    header.setStretchLastSection(False)
    for c in columns:
        header.setSectionResizeMode(c, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(c, max(wanted[c], 1))


def _capped(wanted: dict, floor: dict, available: int) -> dict:
    """Every column cut to one common cap (never below its header): the widest give way first, so short columns
    (dates, phone numbers, states) stay whole while long names and reasons end in "…". The largest cap that fits."""
    low, high = 0, max(wanted.values())
    while low < high:
        cap = (low + high + 1) // 2
        if sum(min(wanted[c], max(floor[c], cap)) for c in wanted) <= available:
            low = cap
        else:
            high = cap - 1
    return {c: min(wanted[c], max(floor[c], low)) for c in wanted}


class ColumnFitter(QObject):
    """Keeps ``table``'s columns fitted (``fit_columns``) as the view resizes, rows arrive or the language
    changes (header texts change)."""

    def __init__(self, table):
        super().__init__(table)
        self.table = table
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.fit)
        self._viewport = table.viewport()
        self._viewport.installEventFilter(self)
        table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        table.setTextElideMode(Qt.TextElideMode.ElideRight)
        # a column's contents are measured on the rows on screen only (Qt's default reads a thousand rows, each
        # one shaped: most of a second on the UI thread once pages of Khmer names have arrived)
        table.verticalHeader().setResizeContentsPrecision(0)
        model = table.model()
        self._fitted_rows = False
        model.modelReset.connect(self._reset)
        model.rowsInserted.connect(self._rows)
        for signal in (model.layoutChanged, model.headerDataChanged):
            signal.connect(self.schedule)

    def _reset(self) -> None:
        self._fitted_rows = False
        self.schedule()

    def _rows(self, *_args) -> None:
        if not self._fitted_rows:  # the first rows after a new query; later pages only scroll into view
            self._fitted_rows = True
            self.schedule()

    def schedule(self, *_args) -> None:
        self._timer.start()

    def fit(self) -> None:
        if isValid(self.table):
            fit_columns(self.table)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt name)
        if obj is self._viewport and event.type() == QEvent.Type.Resize:
            self.fit()  # now, not later: the first paint already shows fitting columns
        return False


__all__ = ["ColumnFitter", "fit_columns", "header_width"]
