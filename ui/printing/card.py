"""The membership card, ID-1 (85.6 x 54 mm): one to a page, or ten to an A4 sheet (2 x 5, sharing cut lines, with
crop marks in the margins).

Left: the issuer and the scheme, the member's name (Khmer, then Latin), birth date and sex, the dependents covered.
Right: the QR code (modules of at least 0.33 mm; about 34 mm across with its quiet zone) and the member number under
it. Across the foot: how to pay. When the left column does not fit, its type shrinks together (down to 60 %), then
wraps; the name first shrinks on its own to stay on one line.
"""

from __future__ import annotations

from ui.printing.blocks import hline
from ui.printing.pages import CARD_H_MM, CARD_W_MM, PageSpec
from ui.printing.qr import QrSymbol
from ui.printing.text import ACCENT, INK, MUTED, RULE, Para, Style, Units, ensure_ready
from ui.qt import QColor, QLineF, QPen, QPointF, QRectF

CARD_QR_MIN_MM = 0.33   # the smallest QR module on a card
CARD_QR_MAX_MM = 0.5
QR_SIDE_MM = 34.0
MARGIN_MM, STRIPE_MM, GAP_MM = 3.0, 1.6, 2.4
NAME_MIN_PT, LATIN_MIN_PT = 7.0, 5.0


def styles(k: float) -> dict[str, Style]:
    return {"issuer": Style(5.6 * k, 600, MUTED, tight=True), "title": Style(7 * k, 700, ACCENT, tight=True),
            "name": Style(11.5 * k, 700, INK, tight=True), "latin": Style(7 * k, 600, INK, spacing=104.0, tight=True),
            "label": Style(5.2 * k, 500, MUTED, tight=True), "value": Style(7.4 * k, tight=True),
            "dep_title": Style(5.4 * k, 700, MUTED, tight=True), "dep": Style(6.4 * k, tight=True)}


class CardLayout:
    """One card laid out in device pixels at the card's true size."""

    def __init__(self, doc: dict, units: Units):
        self.doc, self.u = doc, units
        u = units
        self.w, self.h = u.mm(CARD_W_MM), u.mm(CARD_H_MM)
        self.m = u.mm(MARGIN_MM)
        self.symbol = QrSymbol(doc["qr"]) if doc.get("qr") else None
        if self.symbol:
            self.module = self.symbol.module_px(u, CARD_QR_MIN_MM, CARD_QR_MAX_MM, QR_SIDE_MM)
            self.qr_side = self.symbol.side_px(self.module)
        else:
            self.module, self.qr_side = 0.0, u.mm(24)
        self.qr_x = self.w - u.mm(2.4) - self.qr_side
        self.qr_y = u.mm(STRIPE_MM + 1.4)
        self.left_w = self.qr_x - self.m - u.mm(GAP_MM)
        foot = Style(5.4, 400, MUTED)
        self.footer = Para(u, doc.get("footer", ""), foot, self.w - 2 * self.m, max_lines=2, min_size=4.2)
        self.footer_y = self.h - u.mm(2.4) - self.footer.height
        member_w = self.qr_side - u.mm(1)
        self.member_label = Para(u, doc.get("member_no_label", ""), Style(5.2, 500, MUTED, "center"), member_w)
        self.member_no = Para(u, doc.get("member_no", ""), Style(9, 700, INK, "center", 104.0), member_w,
                              max_lines=1, min_size=5.5)
        self.member_y = self.qr_y + self.qr_side + u.mm(0.6)
        member_bottom = self.member_y + self.member_label.height + self.member_no.height
        if member_bottom > self.footer_y - u.mm(1.2):  # the footer keeps clear of the number: left column only
            self.footer = Para(u, doc.get("footer", ""), foot, self.left_w, max_lines=3, min_size=4.2)
            self.footer_y = self.h - u.mm(2.4) - self.footer.height
        self.top = u.mm(STRIPE_MM + 1.8)
        room = self.footer_y - u.mm(1.6) - self.top
        self.scale = 1.0
        while True:
            self._left(self.scale)
            if self.left_h <= room or self.scale <= 0.6:
                break
            self.scale = max(0.6, self.scale - 0.04)

    def _left(self, k: float) -> None:
        u, doc, w, s = self.u, self.doc, self.left_w, styles(k)
        items: list[tuple[str, object]] = []
        if doc.get("issuer"):
            items.append(("para", Para(u, doc["issuer"], s["issuer"], w)))
        if doc.get("title"):
            items.append(("para", Para(u, doc["title"], s["title"], w, max_lines=2, min_size=s["title"].size * 0.8)))
        items.append(("rule", u.mm(2.2 * k)))
        # the names shrink to stay on one line, but not below legible (then they wrap)
        items.append(("para", Para(u, doc.get("name", ""), s["name"], w, max_lines=1, min_size=NAME_MIN_PT)))
        if doc.get("name_latin"):
            items.append(("para", Para(u, doc["name_latin"], s["latin"], w, max_lines=1, min_size=LATIN_MIN_PT)))
        fields = [f for f in doc.get("fields", []) if len(f) >= 2]
        if fields:
            items.append(("space", u.mm(1.2 * k)))
            items.append(("fields", self._fields(fields, w, s)))
        if doc.get("dependents"):
            items.append(("space", u.mm(1.2 * k)))
            if doc.get("dependents_title"):
                items.append(("para", Para(u, doc["dependents_title"], s["dep_title"], w)))
            for dep in doc["dependents"]:
                items.append(("para", Para(u, str(dep), s["dep"], w)))
        self.items = items
        self.left_h = sum(self._height(kind, item) for kind, item in items)

    def _fields(self, fields, w: float, s) -> list[list[tuple[Para, Para, float]]]:
        """Each label before its value on one line, pairs side by side while they fit."""
        gap, cells = self.u.mm(1.0), []
        for label, value in fields:
            a, b = Para(self.u, str(label), s["label"], w), Para(self.u, str(value), s["value"], w)
            cells.append((a, b, a.natural + gap + b.natural + self.u.mm(3)))
        rows, row, used = [], [], 0.0
        for cell in cells:
            if row and used + cell[2] > w:
                rows.append(row)
                row, used = [], 0.0
            row.append(cell)
            used += cell[2]
        return rows + ([row] if row else [])

    def _height(self, kind: str, item) -> float:
        if kind in ("space", "rule"):
            return item
        if kind == "fields":
            return sum(max(b.height for _, b, _ in row) for row in item)
        return item.height

    def paint(self, painter, x: float, y: float, rec=None) -> None:
        u = self.u
        painter.fillRect(QRectF(x, y, self.w, self.h), QColor("white"))
        painter.fillRect(QRectF(x, y, self.w, u.mm(STRIPE_MM)), QColor(ACCENT))
        top = y + self.top
        for kind, item in self.items:
            if kind == "rule":
                hline(painter, x + self.m, x + self.m + self.left_w, top + item * 0.45, u.mm(0.3), ACCENT)
            elif kind == "fields":
                for row in item:
                    cx = x + self.m
                    for label, value, width in row:  # label and value on one baseline
                        label.draw(painter, cx, top + value.ascent - label.ascent, rec)
                        value.draw(painter, cx + label.natural + u.mm(1.0), top, rec)
                        cx += width
                    top += max(b.height for _, b, _ in row)
                continue
            elif kind == "para":
                item.draw(painter, x + self.m, top, rec)
            top += self._height(kind, item)
        if self.symbol:
            self.symbol.draw(painter, x + self.qr_x, y + self.qr_y, self.module)
        mx = x + self.qr_x + u.mm(0.5)
        self.member_label.draw(painter, mx, y + self.member_y, rec)
        self.member_no.draw(painter, mx, y + self.member_y + self.member_label.height, rec)
        hline(painter, x + self.m, x + self.m + self.footer.width, y + self.footer_y - u.mm(0.8), u.mm(0.2), RULE)
        self.footer.draw(painter, x + self.m, y + self.footer_y, rec)


def paint_card(painter, doc: dict, rect: QRectF, *, recorder=None) -> None:
    """Draw the card ``doc`` at the top-left of ``rect`` (device pixels of the painter's device): at its true
    size when ``rect`` is an ID-1 card there, else scaled to fit ``rect``."""
    ensure_ready()
    units = Units(painter.device())
    card = CardLayout(doc, units)
    k = min(rect.width() / card.w, rect.height() / card.h)
    if abs(k - 1) < 0.003:
        card.paint(painter, rect.x(), rect.y(), recorder)
        return
    painter.save()
    painter.translate(QPointF(rect.x(), rect.y()))
    painter.scale(k, k)
    card.paint(painter, 0.0, 0.0, recorder)
    painter.restore()


def sheet_origin(spec: PageSpec, units: Units, page_w: float, page_h: float) -> tuple[float, float]:
    """The top-left of the card grid, centred on the page."""
    return ((page_w - spec.columns * units.mm(CARD_W_MM)) / 2, (page_h - spec.rows * units.mm(CARD_H_MM)) / 2)


def paint_crop_marks(painter, spec: PageSpec, units: Units, rect: QRectF) -> None:
    """Thin marks in the margins on the line of every cut, 2 mm clear of the cards."""
    x0, y0 = sheet_origin(spec, units, rect.width(), rect.height())
    x0, y0 = x0 + rect.x(), y0 + rect.y()
    cw, ch = units.mm(CARD_W_MM), units.mm(CARD_H_MM)
    gw, gh = spec.columns * cw, spec.rows * ch
    clear, length, width = units.mm(2), units.mm(5), units.mm(0.15)
    painter.save()
    for c in range(spec.columns + 1):
        x = x0 + c * cw
        _mark(painter, QPointF(x, y0 - clear), QPointF(x, y0 - clear - length), width)
        _mark(painter, QPointF(x, y0 + gh + clear), QPointF(x, y0 + gh + clear + length), width)
    for r in range(spec.rows + 1):
        y = y0 + r * ch
        _mark(painter, QPointF(x0 - clear, y), QPointF(x0 - clear - length, y), width)
        _mark(painter, QPointF(x0 + gw + clear, y), QPointF(x0 + gw + clear + length, y), width)
    painter.restore()


def _mark(painter, a: QPointF, b: QPointF, width: float) -> None:
    pen = QPen(QColor("black"))
    pen.setWidthF(width)
    painter.setPen(pen)
    painter.drawLine(QLineF(a, b))
