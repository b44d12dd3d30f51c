"""Blocks a printed page is stacked from: each knows its height for a width (device pixels) and draws itself at a
position. Pagination (``ui.printing.slip``) only ever moves whole blocks; a table is one block per row."""

from __future__ import annotations

from ui.printing.qr import QrSymbol
from ui.printing.text import ACCENT, HEAD, MUTED, RULE, SHADE, Para, Style
from ui.qt import QColor, QLineF, QPen, QRectF, Qt

NUMERIC = set("0123456789០១២៣៤៥៦៧៨៩.,:/- ")


def hline(painter, x1: float, x2: float, y: float, width: float, color: str = RULE) -> None:
    pen = QPen(QColor(color))
    pen.setWidthF(width)
    pen.setCapStyle(Qt.PenCapStyle.FlatCap)
    painter.setPen(pen)
    painter.drawLine(QLineF(x1, y, x2, y))


def frame(painter, rect: QRectF, width: float, color: str = RULE, fill: str | None = None) -> None:
    painter.save()
    pen = QPen(QColor(color))
    pen.setWidthF(width)
    pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
    painter.setPen(pen if width > 0 else Qt.PenStyle.NoPen)
    painter.setBrush(QColor(fill) if fill else Qt.BrushStyle.NoBrush)
    painter.drawRect(rect)
    painter.restore()


class Block:
    height = 0.0
    keep_with_next = False

    def draw(self, painter, x: float, y: float, rec) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class Space(Block):
    def __init__(self, height: float):
        self.height = height

    def draw(self, painter, x, y, rec) -> None:
        pass


class Text(Block):
    """One paragraph, optionally indented."""

    def __init__(self, units, text: str, style: Style, width: float, indent: float = 0.0, **fit):
        self.para = Para(units, text, style, width - indent, **fit)
        self.indent, self.height = indent, self.para.height

    def draw(self, painter, x, y, rec) -> None:
        self.para.draw(painter, x + self.indent, y, rec)


class Heading(Block):
    """A section heading over a thin accent rule; kept with what follows it."""

    keep_with_next = True

    def __init__(self, units, text: str, style: Style, width: float):
        self.units, self.width = units, width
        self.para = Para(units, text, style, width)
        self.gap = units.mm(1.2)
        self.height = self.para.height + self.gap + units.mm(1.6)

    def draw(self, painter, x, y, rec) -> None:
        self.para.draw(painter, x, y, rec)
        hline(painter, x, x + self.width, y + self.para.height + self.gap / 2, self.units.mm(0.35), ACCENT)


class FieldGrid(Block):
    """Label-over-value cells in a ruled grid, ``columns`` across, as on a paper form."""

    def __init__(self, units, fields, width: float, columns: int, label: Style, value: Style, shade: bool):
        self.units, self.width, self.columns, self.shade = units, width, columns, shade
        self.pad = units.mm(1.5)
        cell_w = width / columns - 2 * self.pad
        self.cells = [(Para(units, str(k), label, cell_w), Para(units, str(v), value, cell_w)) for k, v in fields]
        self.rows = [self.cells[i:i + columns] for i in range(0, len(self.cells), columns)]
        self.row_h = [max(a.height + b.height for a, b in row) + 2 * self.pad for row in self.rows]
        self.height = sum(self.row_h)

    def draw(self, painter, x, y, rec) -> None:
        line, cell_w = self.units.mm(0.25), self.width / self.columns
        top = y
        for row, h in zip(self.rows, self.row_h):
            for c, (label, value) in enumerate(row):
                cx = x + c * cell_w
                frame(painter, QRectF(cx, top, cell_w, h), line, RULE, SHADE if self.shade and c % 2 else None)
                label.draw(painter, cx + self.pad, top + self.pad * 0.8, rec)
                value.draw(painter, cx + self.pad, top + self.pad * 0.8 + label.height, rec)
            top += h


class Table:
    """Column widths for ``header`` and ``rows`` within ``width``: each column its natural width, the rest shared
    out; numbers (an age) right-aligned."""

    def __init__(self, units, header, rows, width: float, head: Style, cell: Style, fill: bool = True):
        self.units, self.width, self.head, self.cell, self.fill = units, width, head, cell, fill
        self.pad = units.mm(1.6)
        n = max([len(header)] + [len(r) for r in rows])
        self.header = list(header) + [""] * (n - len(header))
        self.rows = [list(r) + [""] * (n - len(r)) for r in rows]
        big = units.mm(400)
        natural = [max([Para(units, self.header[c], head, big).natural]
                       + [Para(units, r[c], cell, big).natural for r in self.rows]) + 2 * self.pad for c in range(n)]
        self.numeric = [bool(self.rows) and all(set(r[c]) <= NUMERIC for r in self.rows) for c in range(n)]
        total = sum(natural) or 1.0
        if total <= width:  # the spare room shared equally by the text columns
            spare = width - total
            grow = [0.0 if self.numeric[c] else 1.0 for c in range(n)]
            weight = sum(grow) or 1.0
            self.widths = [natural[c] + spare * grow[c] / weight for c in range(n)]
        else:  # squeeze the wide columns, never a column under its share or its natural width
            floor = [min(natural[c], width / n) for c in range(n)]
            spare = width - sum(floor)
            extra = [natural[c] - floor[c] for c in range(n)]
            weight = sum(extra) or 1.0
            self.widths = [floor[c] + spare * extra[c] / weight for c in range(n)]

    def row(self, cells, header: bool = False, shade: bool = False) -> "TableRow":
        return TableRow(self, cells, header, shade)


class TableRow(Block):
    def __init__(self, table: Table, cells, header: bool, shade: bool):
        self.table, self.header, self.shade = table, header, shade
        self.keep_with_next = header
        pad = table.pad
        self.paras = []
        for c, (text, w) in enumerate(zip(cells, table.widths)):
            style = table.head if header else table.cell
            if table.numeric[c]:
                style = style.with_(align="right")
            self.paras.append(Para(table.units, text, style, w - 2 * pad))
        self.baseline = max(p.ascent for p in self.paras)  # every cell's first line on one baseline
        self.height = max(self.baseline - p.ascent + p.height for p in self.paras) + 2 * pad * 0.6

    def draw(self, painter, x, y, rec) -> None:
        t, u = self.table, self.table.units
        if (self.header and t.fill) or self.shade:
            painter.fillRect(QRectF(x, y, t.width, self.height), QColor(HEAD if self.header else SHADE))
        cx = x
        for para, w in zip(self.paras, t.widths):
            para.draw(painter, cx + t.pad, y + t.pad * 0.6 + self.baseline - para.ascent, rec)
            cx += w
        hline(painter, x, x + t.width, y + self.height, u.mm(0.5 if self.header else 0.2),
              ACCENT if self.header else RULE)


class Bullets(Block):
    """A titled list: each line after a bullet, wrapped with a hanging indent."""

    def __init__(self, units, title: str, lines, width: float, title_style: Style, line_style: Style):
        self.units = units
        self.title = Para(units, title, title_style, width) if title else None
        self.indent = units.mm(4.2) * line_style.size / 10
        self.bullet = Para(units, "\u2022", line_style.with_(color=ACCENT), self.indent)
        self.lines = [Para(units, str(line), line_style, width - self.indent) for line in lines]
        self.gap = units.mm(0.8)
        self.height = ((self.title.height + self.gap) if self.title else 0) + sum(p.height for p in self.lines)

    def draw(self, painter, x, y, rec) -> None:
        if self.title:
            y += self.title.draw(painter, x, y, rec) + self.gap
        for para in self.lines:
            self.bullet.draw(painter, x, y + para.ascent - self.bullet.ascent, rec)
            y += para.draw(painter, x + self.indent, y, rec)


class QrPanel(Block):
    """The QR code in a framed panel with its caption under it; without a QR text, the caption alone."""

    def __init__(self, units, text: str, caption: str, width: float, side_mm: float, min_mm: float,
                 caption_style: Style, framed: bool = True):
        self.units, self.width, self.framed = units, width, framed
        self.pad = units.mm(2.5) if framed else 0.0
        self.symbol = QrSymbol(text) if text else None
        inner = width - 2 * self.pad
        side_mm = min(side_mm, units.to_mm(inner))
        if self.symbol:
            self.module = self.symbol.module_px(units, min_mm, 1.0, side_mm)
            self.side = self.symbol.side_px(self.module)
        else:
            self.module, self.side = 0.0, 0.0
        self.caption = Para(units, caption, caption_style.with_(align="center"), inner) if caption else None
        self.height = 2 * self.pad + self.side + (self.caption.height + units.mm(1) if self.caption else 0)

    def draw(self, painter, x, y, rec) -> None:
        if self.framed:
            frame(painter, QRectF(x, y, self.width, self.height), self.units.mm(0.3), RULE)
        top = y + self.pad
        if self.symbol:
            self.symbol.draw(painter, x + (self.width - self.side) / 2, top, self.module)
            top += self.side + self.units.mm(1)
        if self.caption:
            self.caption.draw(painter, x + self.pad, top, rec)


class Columns(Block):
    """Two stacks of blocks side by side (the slip's notes beside its QR panel)."""

    def __init__(self, left, right, left_w: float, gap: float):
        self.left, self.right, self.left_w, self.gap = left, right, left_w, gap
        self.height = max(sum(b.height for b in left), sum(b.height for b in right))

    def draw(self, painter, x, y, rec) -> None:
        top = y
        for b in self.left:
            b.draw(painter, x, top, rec)
            top += b.height
        top = y
        for b in self.right:
            b.draw(painter, x + self.left_w + self.gap, top, rec)
            top += b.height


__all__ = ["Block", "Bullets", "Columns", "FieldGrid", "Heading", "QrPanel", "Space", "Table", "TableRow", "Text",
           "frame", "hline", "MUTED"]
