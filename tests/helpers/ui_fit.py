"""Does a window's content fit it? Text cut short, widgets outside the window, a window larger than the screen.

``fit_problems(window, width, height)`` walks every visible widget of a top-level window and returns one line per
problem, naming the widget (class, object name or accessible name or text) so a failure can be routed:

- a ``QLabel`` whose text does not fit its contents rectangle (wider than the label without word wrap, or taller
  than the label once wrapped; a Khmer phrase with no break opportunity that is wider than the label counts);
- a ``QPushButton``, ``QCheckBox`` or ``QRadioButton`` (any button but a tool button) whose text is wider than the button leaves
  room for (a push button: its width less its frame; a check box: its indicator, spacing and text);
- a ``QGroupBox`` title wider than the box;
- a horizontal header section whose text (with the header's margins and sort arrow) is wider than the section,
  or a section that lies beyond the right edge of its view (a column one has to scroll sideways to see);
- a visible widget that lies outside its parent, hence outside the window (inside a scroll area only sideways:
  scrolling down is fine, scrolling sideways is not);
- a window larger than ``width`` x ``height``; a shown page of a stacked widget (the screen on show) whose layout
  needs more room than the stack gives it (the window is capped, so it would be squeezed), with the parts of
  it that ask for the most;
- a main window whose status bar is hidden or not inside the window.

Item views' own children (editors, index widgets) are not walked: they scroll with the view.
"""

from __future__ import annotations

import re

from ui.qt import (QAbstractItemView, QCheckBox, QGroupBox, QLabel, QMainWindow, QPoint, QRect, QSize, QStackedWidget,
                   Qt, QtGui, QtWidgets, QWidget)

QAbstractButton, QRadioButton, QToolButton = QtWidgets.QAbstractButton, QtWidgets.QRadioButton, QtWidgets.QToolButton
QAbstractScrollArea, QHeaderView, QFontMetrics = QtWidgets.QAbstractScrollArea, QtWidgets.QHeaderView, QtGui.QFontMetrics
QStyle = QtWidgets.QStyle
TAGS = re.compile(r"<[^>]+>")
SLACK = 1  # px: rounding


def describe(widget: QWidget) -> str:
    name = widget.objectName() or widget.accessibleName()
    if not name:
        text = getattr(widget, "text", None)
        name = text() if callable(text) else ""
        if not name and isinstance(widget, QGroupBox):
            name = widget.title()
    name = (name or "").replace("\n", " ")
    if len(name) > 40:
        name = name[:39] + "…"
    owner = widget.parentWidget()
    while owner is not None and not owner.objectName().startswith("screen_") and owner.parentWidget() is not None:
        owner = owner.parentWidget()
    where = f"{owner.objectName()}/" if owner is not None and owner.objectName().startswith("screen_") else ""
    return f"{where}{type(widget).__name__}({name!r})"


def _plain(text: str) -> str:
    return TAGS.sub("", text).replace("&nbsp;", " ")


def _label_problem(label: QLabel) -> str | None:
    text = label.text()
    if not text or label.pixmap() is not None and not label.pixmap().isNull():
        return None
    rich = label.textFormat() == Qt.TextFormat.RichText or (label.textFormat() == Qt.TextFormat.AutoText
                                                            and QtGui.Qt.mightBeRichText(text))
    plain = _plain(text.replace("<br>", "\n").replace("<br/>", "\n")) if rich else text
    fm = QFontMetrics(label.font())
    area = label.contentsRect().adjusted(label.margin(), label.margin(), -label.margin(), -label.margin())
    indent = max(label.indent(), 0)
    width = area.width() - indent
    if label.wordWrap():
        need = fm.boundingRect(QRect(0, 0, max(width, 1), 100_000), int(Qt.TextFlag.TextWordWrap), plain)
        if need.width() > width + SLACK:
            return f"text wider than the label ({need.width()} > {width} px) {plain[:60]!r}"
        if need.height() > area.height() + SLACK:
            return f"text cut at the bottom ({need.height()} > {area.height()} px) {plain[:60]!r}"
        return None
    lines = plain.split("\n")
    widest = max(fm.horizontalAdvance(line) for line in lines)
    if widest > width + SLACK:
        return f"text elided ({widest} > {width} px) {plain[:60]!r}"
    if fm.height() * len(lines) > area.height() + SLACK + fm.leading() * len(lines):
        return f"text cut at the bottom ({fm.height() * len(lines)} > {area.height()} px) {plain[:60]!r}"
    return None


def _button_problem(button: QAbstractButton) -> str | None:
    text = button.text().replace("&&", "\0").replace("&", "").replace("\0", "&")
    if not text:
        return None
    fm = QFontMetrics(button.font())
    widest = max(fm.horizontalAdvance(line) for line in text.split("\n"))
    if isinstance(button, (QCheckBox, QRadioButton)):
        style = button.style()
        metric = QStyle.PixelMetric
        indicator = style.pixelMetric(metric.PM_IndicatorWidth if isinstance(button, QCheckBox)
                                      else metric.PM_ExclusiveIndicatorWidth, None, button)
        spacing = style.pixelMetric(metric.PM_CheckBoxLabelSpacing if isinstance(button, QCheckBox)
                                    else metric.PM_RadioButtonLabelSpacing, None, button)
        need, have = indicator + spacing + widest, button.width()
    else:
        icon = button.iconSize().width() + 4 if not button.icon().isNull() else 0
        frame = 2 * button.style().pixelMetric(QStyle.PixelMetric.PM_DefaultFrameWidth, None, button)
        need, have = widest + icon, button.width() - frame
    if need > have + SLACK:
        return f"text cut ({need} > {have} px) {text[:60]!r}"
    return None


def _group_problem(box: QGroupBox) -> str | None:
    title = box.title().replace("&", "")
    if not title:
        return None
    need = QFontMetrics(box.font()).horizontalAdvance(title)
    if need > box.width() + SLACK:
        return f"title cut ({need} > {box.width()} px) {title[:60]!r}"
    return None


def _header_problems(header: QHeaderView) -> list[str]:
    if header.orientation() != Qt.Orientation.Horizontal or not header.isVisible():
        return []
    model = header.model()
    if model is None:
        return []
    found = []
    fm = QFontMetrics(header.font())
    style = header.style()
    margin = 2 * style.pixelMetric(QStyle.PixelMetric.PM_HeaderMargin, None, header)
    arrow = style.pixelMetric(QStyle.PixelMetric.PM_HeaderMarkSize, None, header) + margin // 2
    visible_width = header.viewport().width()
    for col in range(header.count()):
        if header.isSectionHidden(col):
            continue
        text = model.headerData(col, Qt.Orientation.Horizontal, Qt.ItemDataRole.DisplayRole)
        text = "" if text is None else str(text)
        size = header.sectionSize(col)
        start = header.sectionViewportPosition(col)
        if start + size > visible_width + SLACK or start < -SLACK:
            found.append(f"column {col} {text[:40]!r} lies outside the view ({start}+{size} > {visible_width} px)")
            continue
        if not text:
            continue
        sorted_here = header.isSortIndicatorShown() and header.sortIndicatorSection() == col
        need = max(fm.horizontalAdvance(line) for line in text.split("\n")) + margin + (arrow if sorted_here else 0)
        if need > size + SLACK:
            found.append(f"column {col} header elided ({need} > {size} px) {text[:40]!r}")
    return found


def _inside(child: QRect, parent: QRect) -> bool:
    return parent.adjusted(-SLACK, -SLACK, SLACK, SLACK).contains(child)


def _position_problem(widget: QWidget, window: QWidget) -> str | None:
    """Outside its parent (or, through the chain of parents, outside the window)?"""
    current = widget
    while current is not window and current.parentWidget() is not None:
        parent = current.parentWidget()
        geometry = current.geometry()
        scroller = parent.parentWidget()
        if isinstance(scroller, QAbstractScrollArea) and parent is scroller.viewport():
            if geometry.width() > parent.width() + SLACK:  # sideways scrolling needed
                return f"wider than its scroll area ({geometry.width()} > {parent.width()} px)"
        elif not _inside(geometry, parent.rect()):
            if current is widget:
                return (f"outside its parent {type(parent).__name__}({parent.objectName()!r}): "
                        f"{_rect(geometry)} not in {_rect(parent.rect())}")
            return None  # reported for that ancestor itself
        current = parent
    return None


def _rect(r: QRect) -> str:
    return f"{r.x()},{r.y()} {r.width()}x{r.height()}"


def _in_item_view(widget: QWidget, window: QWidget) -> bool:
    parent = widget.parentWidget()
    while parent is not None and parent is not window:
        if isinstance(parent, QAbstractItemView):
            return not isinstance(widget, QHeaderView) or widget.parentWidget() is not parent
        parent = parent.parentWidget()
    return False


def _minimum(widget: QWidget) -> QSize:
    return widget.minimumSizeHint().expandedTo(widget.minimumSize())


def _culprits(page: QWidget, room: QSize) -> str:
    """The page's direct children that ask for the most room (to route a failure to the screen's owner)."""
    kids = [(c, _minimum(c)) for c in page.findChildren(QWidget, options=Qt.FindChildOption.FindDirectChildrenOnly)
            if c.isVisibleTo(page)]
    wide = sorted(kids, key=lambda k: -k[1].width() if _minimum(page).width() > room.width() else -k[1].height())
    return ", ".join(f"{describe(c)} {m.width()}x{m.height()}" for c, m in wide[:3])


def _too_big(window: QWidget, width: int, height: int) -> list[str]:
    """The window larger than the screen, or a shown page of a stack whose layout needs more than its place."""
    found = []
    if window.width() > width or window.height() > height:
        found.append(f"window is {window.width()}x{window.height()}, larger than {width}x{height}")
    for stack in window.findChildren(QStackedWidget):
        page = stack.currentWidget()
        if page is None or not stack.isVisible() or any(inner.isVisible() for inner in page.findChildren(QStackedWidget)):
            continue  # an outer stack: its minimum counts every page of the stacks inside it, shown or not
        need = _minimum(page)
        if need.width() > stack.width() + SLACK or need.height() > stack.height() + SLACK:
            found.append(f"{describe(page)} needs at least {need.width()}x{need.height()} px, its place has "
                         f"{stack.width()}x{stack.height()} (the window is {window.width()}x{window.height()}); "
                         f"widest parts: {_culprits(page, stack.size())}")
    return found


def fit_problems(window: QWidget, width: int, height: int) -> list[str]:
    """Every fit problem of ``window`` drawn at ``width`` x ``height`` (see the module text)."""
    found = _too_big(window, width, height)
    if isinstance(window, QMainWindow):
        bar = window.statusBar()
        if not bar.isVisible() or not _inside(bar.geometry(), window.rect()):
            found.append(f"status bar not visible inside the window ({_rect(bar.geometry())})")
    for widget in window.findChildren(QWidget):
        if (not widget.isVisible() or widget.isWindow() or _in_item_view(widget, window)
                or isinstance(widget, QtWidgets.QFocusFrame)):  # the focus ring lies just outside its widget
            continue
        where = describe(widget)
        problem = _position_problem(widget, window)
        if problem:
            found.append(f"{where}: {problem}")
        if isinstance(widget, QLabel):
            problem = _label_problem(widget)
        elif isinstance(widget, QAbstractButton) and not isinstance(widget, QToolButton):
            problem = _button_problem(widget)
        elif isinstance(widget, QGroupBox):
            problem = _group_problem(widget)
        else:
            problem = None
        if problem:
            found.append(f"{where}: {problem}")
        if isinstance(widget, QHeaderView):
            found += [f"{where}: {p}" for p in _header_problems(widget)]
    return found


def point_in(widget: QWidget, window: QWidget) -> QPoint:
    return widget.mapTo(window, QPoint(0, 0))
