"""QR codes drawn as filled black rectangles (one path, no seams between modules) from segno's matrix."""

from __future__ import annotations

import math

import segno

from ui.qt import QBrush, QColor, QPainterPath, QRectF, Qt

QUIET = 4  # modules of white around the symbol


class QrSymbol:
    """The QR code of ``text`` (error correction at least M), sized by its module count."""

    def __init__(self, text: str):
        self.text = text
        self.qr = segno.make(text, error="m", micro=False)
        self.matrix = self.qr.matrix
        self.modules = len(self.matrix)

    @property
    def span(self) -> int:
        """Modules across, quiet zone included."""
        return self.modules + 2 * QUIET

    def module_px(self, units, min_mm: float, max_mm: float, side_mm: float) -> float:
        """The module size in device pixels for a symbol about ``side_mm`` across (quiet zone included), within
        [min_mm, max_mm]; on a printer or PDF of 200 dpi and more, a whole number of device pixels, never under
        ``min_mm``."""
        px = units.mm(max(min_mm, min(max_mm, side_mm / self.span)))
        if units.dpi >= 200:
            px = max(math.floor(px), math.ceil(units.mm(min_mm) - 1e-6))
        return px

    def side_px(self, module_px: float) -> float:
        return module_px * self.span

    def draw(self, painter, x: float, y: float, module_px: float) -> None:
        """Quiet zone (white) and dark modules, top-left corner of the quiet zone at (x, y)."""
        if float(module_px).is_integer():  # whole device pixels: every module edge on the device grid
            x, y = round(x), round(y)
        side = self.side_px(module_px)
        painter.save()
        painter.setRenderHint(painter.RenderHint.Antialiasing, False)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.fillRect(QRectF(x, y, side, side), QColor("white"))
        path = QPainterPath()
        path.setFillRule(Qt.FillRule.WindingFill)
        origin_x, origin_y = x + QUIET * module_px, y + QUIET * module_px
        for row, bits in enumerate(self.matrix):
            col, n = 0, len(bits)
            while col < n:
                if bits[col] & 1:
                    start = col
                    while col < n and bits[col] & 1:
                        col += 1
                    path.addRect(QRectF(origin_x + start * module_px, origin_y + row * module_px,
                                        (col - start) * module_px, module_px))
                else:
                    col += 1
        painter.fillPath(path, QBrush(QColor("black")))
        painter.restore()
