"""``DailyChart``: enrollments per day as bars, drawn with QPainter (QtCharts is not in PySide6-Essentials)."""

from __future__ import annotations

from ui.qt import QColor, QPainter, QPen, QRectF, QSize, QSizePolicy, Qt, QtCore, QWidget


class DailyChart(QWidget):
    """Bars for ``[(iso_date, count), ...]``, oldest first. Sizes follow the font, so it scales with DPI."""

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self._data: list[tuple[str, int]] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        ctx.language_changed.connect(self._update_text)
        self._update_text()

    def set_data(self, data) -> None:
        self._data = [(str(day), int(count)) for day, count in data]
        self._update_text()
        self.update()

    @property
    def data(self) -> list[tuple[str, int]]:
        return list(self._data)

    def _update_text(self) -> None:
        total = sum(c for _d, c in self._data)
        self.setAccessibleName(self.ctx.tr("ui.home.chart_title"))
        self.setAccessibleDescription(self.ctx.tr("ui.home.chart_summary", days=self.ctx.format_number(len(self._data)),
                                                  total=self.ctx.format_number(total)))
        self.setToolTip(self.accessibleDescription())
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt name)
        em = self.fontMetrics().height()
        return QSize(em * 30, em * 12)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt name)
        em = self.fontMetrics().height()
        return QSize(em * 14, em * 7)

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt name)
        painter = QPainter(self)
        try:
            self._paint(painter)
        finally:
            painter.end()

    def _paint(self, painter: QPainter) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        fm = self.fontMetrics()
        line_h = fm.height()
        peak = max([c for _d, c in self._data] or [0])
        top_label = self.ctx.format_number(max(peak, 1))
        left = fm.horizontalAdvance(top_label) + line_h * 0.6
        # two lines at the bottom for the dates (Khmer dates are long), half a line of air at the top
        plot = QRectF(left, line_h * 0.6, self.width() - left - line_h * 0.5, self.height() - line_h * 3.0)
        if plot.width() <= 0 or plot.height() <= 0:
            return
        text_pen = QPen(pal.color(pal.ColorRole.WindowText))
        grid = QColor(pal.color(pal.ColorRole.WindowText))
        grid.setAlpha(50)
        painter.setPen(QPen(grid, 1))
        for frac in (0.0, 0.5, 1.0):
            y = plot.bottom() - frac * plot.height()
            painter.drawLine(QtCore.QLineF(plot.left(), y, plot.right(), y))
        painter.setPen(text_pen)
        scale = max(peak, 1)
        for frac, value in ((0.0, 0), (1.0, scale)):
            y = plot.bottom() - frac * plot.height()
            rect = QRectF(0, y - line_h / 2, left - line_h * 0.3, line_h)
            painter.drawText(rect, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                             self.ctx.format_number(value))
        if not self._data:
            painter.drawText(plot, Qt.AlignmentFlag.AlignCenter, self.ctx.tr("ui.home.chart_empty"))
            return
        n = len(self._data)
        slot = plot.width() / n
        gap = max(1.0, slot * 0.2)
        bar_color = pal.color(pal.ColorRole.Highlight)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(bar_color)
        for i, (_day, count) in enumerate(self._data):
            if count <= 0:
                continue
            h = plot.height() * count / scale
            painter.drawRect(QRectF(plot.left() + i * slot + gap / 2, plot.bottom() - h, slot - gap, h))
        painter.setPen(text_pen)
        first, last = self.ctx.format_date(self._data[0][0]), self.ctx.format_date(self._data[-1][0])
        label_y = plot.bottom() + line_h * 0.4
        half = plot.width() / 2
        painter.drawText(QRectF(plot.left(), label_y, half, line_h * 2),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap, first)
        painter.drawText(QRectF(plot.left() + half, label_y, half, line_h * 2),
                         Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap, last)
