"""Qt table model of records, fetched lazily in pages through the DB worker.

``RecordsModel`` never queries on the UI thread: ``fetchMore`` queues
``fieldapp.store.listing.search`` (limit/offset, in the order picked with ``sort``) on the worker and
appends the page when it arrives; results of an older query (the user typed on) are dropped. A page asks
for one row more than it keeps, so the model knows whether there is more; when there is, the number of
matching records is counted in a second job (``total``). Rows keep only what the table shows, so
scrolling through 100,000 records stays light.
"""

from __future__ import annotations

from collections import deque
from datetime import date

from fieldapp.domain import reasons
from fieldapp.domain.states import label_id
from fieldapp.proof.status import plain_status
from fieldapp.store import listing, search
from ui.qt import QColor, QFont, QObject, Qt, QtCore, Signal

PAGE_SIZE = 200
COLUMNS = ("state", "name", "name_latin", "national_id", "phone", "created", "member_no", "reason")
ID_ROLE = Qt.UserRole + 1
STATE_ROLE = Qt.UserRole + 2
_RETURNED = QColor("#fff4ce")


def _name(data: dict, family: str, given: str) -> str:
    return " ".join(str(data[k]) for k in (family, given) if isinstance(data.get(k), str) and data[k])


def slim(record: dict) -> dict:
    """What a row of the table needs from a record (computed on the worker thread)."""
    data = record.get("data") if isinstance(record.get("data"), dict) else {}
    return {"id": record["id"], "state": record["state"], "reason": record.get("reason") or "",
            "created_at": record.get("created_at") or "", "name": _name(data, "family_name", "given_name"),
            "name_latin": _name(data, "family_name_latin", "given_name_latin"),
            "national_id": str(data.get("national_id") or ""), "phone": str(data.get("phone") or ""),
            "duplicates": len(record.get("duplicates") or []), "member_no": record.get("member_no") or "",
            "kind": "update" if record.get("kind") == "update" or data.get("kind") == "update" else "enrollment",
            "member_ref": record.get("member_ref") or (data.get("member_no") if data.get("kind") == "update" else "")
            or ""}


def fetch_page(session, query: dict, offset: int, limit: int, generation: int = 0) -> tuple[int, list[dict]]:
    """Worker side: one page of ``listing.search`` (``limit`` rows, one more if there are more), slimmed,
    tagged with the query's generation."""
    rows = listing.search(session, query.get("text") or "", query.get("state"), query.get("since"),
                          query.get("until"), order=query.get("order"), descending=bool(query.get("descending")),
                          limit=limit + 1, offset=offset)
    return generation, [slim(r) for r in rows]


def count_matches(session, query: dict, generation: int = 0) -> tuple[int, int]:
    """Worker side: how many records match the query (every page together)."""
    return generation, search.count(session, query.get("text") or "", query.get("state"), query.get("since"),
                                    query.get("until"))


class RecordsModel(QtCore.QAbstractTableModel):
    """Every record the user may see that matches the query: returned records first, then the most recently
    changed; or by a column (``sort``, from a click on its header or ``set_order``)."""

    page_loaded = Signal(int)       # rows loaded so far
    load_failed = Signal(object)
    counted = Signal(int)           # how many records match (asked only when there is more than a page)

    def __init__(self, ctx, page_size: int = PAGE_SIZE, parent: QObject | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.page_size = page_size
        self.query: dict = {}
        self.order: tuple[str, bool] | None = None  # (column, descending); None: the default order
        self.total: int | None = None
        self._rows: list[dict] = []
        self._more = False
        self._loading = False
        self._generation = 0
        self._issued: deque[int] = deque()  # generations of the pages in flight (the worker answers in order)
        self.pages_loaded = 0

    # ------------------------------------------------------------------ query
    def set_query(self, text: str = "", state: str | None = None, since: str | None = None,
                  until: str | None = None) -> None:
        self.query = {"text": text, "state": state, "since": since, "until": until}
        self.refresh()

    def set_order(self, column: str | None, descending: bool = False) -> None:
        """Sort by ``column`` (one of ``COLUMNS``), or in the default order for None; then reload."""
        self.order = (column, bool(descending)) if column in COLUMNS else None
        if self.query:
            self.refresh()

    def sort(self, column: int, order=Qt.AscendingOrder) -> None:  # Qt's name: the view's header asks
        self.set_order(COLUMNS[column] if 0 <= column < len(COLUMNS) else None, order == Qt.DescendingOrder)

    @property
    def more(self) -> bool:
        """Whether more records match than are loaded."""
        return self._more

    def refresh(self) -> None:
        """Drop the loaded rows and fetch the first page again (e.g. after records changed)."""
        self._generation += 1
        self.beginResetModel()
        self._rows = []
        self._more, self._loading = True, False
        self.pages_loaded = 0
        self.total = None
        self.endResetModel()
        self.fetchMore(QtCore.QModelIndex())

    @property
    def loading(self) -> bool:
        return self._loading

    # ------------------------------------------------------------------ lazy fetching
    def canFetchMore(self, parent=QtCore.QModelIndex()) -> bool:
        return not parent.isValid() and self._more and not self._loading

    def fetchMore(self, parent=QtCore.QModelIndex()) -> None:
        if parent.isValid() or not self._more or self._loading:
            return
        self._loading = True
        self._issued.append(self._generation)
        query = dict(self.query, order=self.order[0] if self.order else None,
                     descending=bool(self.order and self.order[1]))
        self.ctx.worker.run(fetch_page, query, len(self._rows), self.page_size, self._generation,
                            on_done=self._append, on_error=self._failed)

    def _append(self, result: tuple[int, list[dict]]) -> None:
        generation, rows = result
        self._issued.popleft()
        if generation != self._generation:
            return  # an older query's page
        self._loading = False
        self._more = len(rows) > self.page_size
        rows = rows[:self.page_size]
        if rows:
            start = len(self._rows)
            self.beginInsertRows(QtCore.QModelIndex(), start, start + len(rows) - 1)
            self._rows.extend(rows)
            self.endInsertRows()
        self.pages_loaded += 1
        if not self._more:
            self.total = len(self._rows)
        elif self.total is None and self.pages_loaded == 1:
            self.ctx.worker.run(count_matches, dict(self.query), self._generation, on_done=self._counted,
                                on_error=lambda _exc: None)  # the count only adds to the status line
        self.page_loaded.emit(len(self._rows))

    def _counted(self, result: tuple[int, int]) -> None:
        generation, total = result
        if generation == self._generation:
            self.total = total
            self.counted.emit(total)

    def _failed(self, exc) -> None:
        if self._issued.popleft() == self._generation:
            self._loading, self._more = False, False
            self.load_failed.emit(exc)

    # ------------------------------------------------------------------ model
    def rowCount(self, parent=QtCore.QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent=QtCore.QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def row(self, index: int) -> dict:
        return self._rows[index]

    def record_id(self, index: int) -> str:
        return self._rows[index]["id"]

    def rows(self) -> list[dict]:
        return list(self._rows)

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        row = self._rows[index.row()]
        column = COLUMNS[index.column()]
        if role == Qt.DisplayRole:
            return self._display(row, column)
        if role == Qt.ToolTipRole and column == "created" and row["created_at"]:
            return self._long_date(row["created_at"])
        if role == Qt.ToolTipRole and row["reason"]:
            return self.ctx.tr("forms.records.reason_tip", reason=reasons.render(row["reason"], self.ctx.lang))
        if role == Qt.BackgroundRole and row["state"] == "returned":
            return _RETURNED
        if role == Qt.FontRole and row["state"] == "returned":
            font = QFont()
            font.setBold(True)
            return font
        if role == ID_ROLE:
            return row["id"]
        if role == STATE_ROLE:
            return row["state"]
        return None

    def _display(self, row: dict, column: str) -> str:
        if row.get("kind") == "update" and column in ("state", "name", "member_no"):
            return self._update_cell(row, column)
        if column == "state":  # in plain words once it has left ("Sent, waiting for the registry"); the number has
            # its own column
            if row["state"] == "registered":
                return self.ctx.tr(label_id(row["state"]))
            return plain_status(row["state"], row.get("reason") or None, None, self.ctx.lang)
        if column == "created":  # day/month/year, as dates are written here: narrow enough for any list
            try:
                day = date.fromisoformat(row["created_at"][:10]) if row["created_at"] else None
            except ValueError:
                return ""
            return self.ctx.format_number(f"{day.day:02d}/{day.month:02d}/{day.year}") if day else ""
        if column in ("national_id", "phone"):
            return self.ctx.format_number(row[column]) if self.ctx.lang == "km" else row[column]
        if column == "reason":
            return reasons.render(row["reason"], self.ctx.lang)
        return row[column]

    def _update_cell(self, row: dict, column: str) -> str:
        """An update's row: its kind where the name goes ("Update of member no. …", with the member's names when
        the search found them), the member number, and its status in plain words."""
        if column == "member_no":
            return row["member_ref"]
        if column == "name":
            kind = self.ctx.tr("forms.records.kind_update", member_no=row["member_ref"])
            return f"{kind}: {row['name']}" if row["name"] else kind
        if row["state"] == "registered":
            return self.ctx.tr("forms.update.applied", member_no=row["member_ref"])
        return plain_status(row["state"], row.get("reason") or None, None, self.ctx.lang)

    def _long_date(self, value: str) -> str:
        try:
            return self.ctx.format_date(value)
        except ValueError:
            return ""

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if orientation != Qt.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role == Qt.DisplayRole:
            return self.ctx.tr(f"forms.records.col.{COLUMNS[section]}")
        if role == Qt.ToolTipRole:
            return self.ctx.tr("forms.records.sort_tip")
        return None

    def retranslate(self) -> None:
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, len(COLUMNS) - 1))
        self.headerDataChanged.emit(Qt.Horizontal, 0, len(COLUMNS) - 1)
