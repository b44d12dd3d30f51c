"""Problem display: a small message beside a field, a tint on the field, the list at the top of a form after a
failed submit, and the mapping of problem paths to fields.

The rules themselves live in ``fieldapp.domain.validation``; this module only shows the ``Problem`` objects it
returns, in the current language, next to the widget a path names (``"phone"``, ``"consent.method"``,
``"dependents[1].date_of_birth"``). Nothing here changes a widget's size: a message's space can be kept while it
is empty (``keep_space``) and a field with a problem is tinted through its palette, never restyled.
"""

from __future__ import annotations

import re

from ui.qt import QColor, QComboBox, QFrame, QLabel, QListWidget, QListWidgetItem, QPalette, QSizePolicy, Qt, \
    QVBoxLayout, QtWidgets, Signal

_DEPENDENT = re.compile(r"^dependents\[(\d+)\](?:\.(.+))?$")
PROBLEM_STYLE = "color: #b00020;"
PROBLEM_TINT = QColor("#fde7ea")
PATH_ROLE = Qt.UserRole + 1


def split_path(path: str) -> tuple[str, int | None, str | None]:
    """``("dependents", 1, "date_of_birth")`` for a dependent's path, else ``(path, None, None)``."""
    found = _DEPENDENT.match(path or "")
    if found:
        return "dependents", int(found.group(1)), found.group(2)
    return path or "", None, None


def group_by_field(problems, aliases: dict | None = None) -> dict[str, list]:
    """Problems keyed by the field they belong to (dependents' problems under ``"dependents"``).

    ``aliases`` maps a path to the field that shows it (e.g. the province code to the address picker).
    """
    aliases = aliases or {}
    out: dict[str, list] = {}
    for problem in problems:
        key, _row, _col = split_path(problem.path)
        out.setdefault(aliases.get(key, key), []).append(problem)
    return out


def show_inline(problems, labels: dict, lang: str, aliases: dict | None = None, shown=None, tables=None) -> list:
    """Put each problem's message beside its field; returns the problems no field shows.

    ``labels``: field key -> ``ProblemLabel``; ``shown(key)`` says whether a field's problems are shown
    yet (e.g. only once the keyboard has left it); ``tables``: field key -> widget with
    ``show_problems(problems)`` that decides itself what to show.
    """
    groups = group_by_field(problems, aliases)
    tables = tables or {}
    for key, label in labels.items():
        if key in tables:
            tables[key].show_problems(groups.get(key, []))
            continue
        found = groups.get(key, []) if shown is None or shown(key) else []
        label.set_messages([p.message(lang) for p in found])
    return [p for key, found in groups.items() if key not in labels for p in found]


def mark_problem(widget, bad: bool) -> None:
    """Tint ``widget`` (a line edit, combo box, text box or check box) while it has a problem; size unchanged."""
    if bool(widget.property("has_problem")) == bad:
        return
    widget.setProperty("has_problem", bad)
    if not bad:
        widget.setPalette(QPalette())
        return
    palette = widget.palette()
    roles = [QPalette.ColorRole.Base, QPalette.ColorRole.Button] if isinstance(widget, QComboBox) else \
        [QPalette.ColorRole.Base, QPalette.ColorRole.Window] if isinstance(widget, QtWidgets.QCheckBox) else \
        [QPalette.ColorRole.Base]
    for role in roles:
        palette.setColor(role, PROBLEM_TINT)
    widget.setPalette(palette)
    if isinstance(widget, QtWidgets.QCheckBox):
        widget.setAutoFillBackground(True)


class ProblemLabel(QLabel):
    """The message(s) shown beside one field; hidden while there is none.

    It also becomes the field's accessible description, so a screen reader announces the problem with the
    field, and tints the field. ``keep_space``: the label keeps its room while empty, so nothing moves when a
    message appears.
    """

    def __init__(self, field_widget=None, parent=None, keep_space: bool = False):
        super().__init__(parent)
        self.field_widget = field_widget
        self.setObjectName("problem")
        self.setStyleSheet(PROBLEM_STYLE)
        self.setWordWrap(True)
        self.setTextFormat(Qt.PlainText)
        policy = QSizePolicy(QSizePolicy.Preferred, QSizePolicy.Minimum)
        policy.setRetainSizeWhenHidden(keep_space)
        self.setSizePolicy(policy)
        if keep_space:
            self.setMinimumHeight(self.fontMetrics().height())
        self.setVisible(False)

    def set_messages(self, messages: list[str]) -> None:
        text = "\n".join(dict.fromkeys(m for m in messages if m))
        if text == self.text() and self.isVisibleTo(self.parentWidget() or self) == bool(text):
            return
        self.setText(text)
        self.setAccessibleName(text)
        self.setVisible(bool(text))
        if self.field_widget is not None:
            self.field_widget.setAccessibleDescription(text)
            if isinstance(self.field_widget, (QtWidgets.QLineEdit, QComboBox, QtWidgets.QCheckBox,
                                              QtWidgets.QPlainTextEdit)):
                mark_problem(self.field_widget, bool(text))
            else:
                self.field_widget.setProperty("has_problem", bool(text))

    def messages(self) -> list[str]:
        return [line for line in self.text().split("\n") if line]

    def clear_messages(self) -> None:
        self.set_messages([])


class ProblemSummary(QFrame):
    """After a failed submit: "Fix these N problems", one line each; Enter or a click on a line goes to its field.

    ``chosen(path)`` is emitted for the line picked. The list shows a few lines and scrolls for more, so the
    form below keeps most of the window.
    """

    chosen = Signal(str)
    VISIBLE_LINES = 4

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("problem_summary")
        self.setFrameShape(QFrame.StyledPanel)
        self.setStyleSheet("QFrame#problem_summary { border: 1px solid #b00020; background: #fff5f6; }")
        self.heading = QLabel(self, objectName="problem_summary_heading", wordWrap=True)
        self.heading.setStyleSheet(PROBLEM_STYLE + " font-weight: bold;")
        self.list = QListWidget(self)
        self.list.setObjectName("problem_list")
        self.list.setFrameShape(QFrame.NoFrame)
        self.list.itemActivated.connect(lambda item: self.chosen.emit(item.data(PATH_ROLE)))
        self.list.itemClicked.connect(lambda item: self.chosen.emit(item.data(PATH_ROLE)))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addWidget(self.heading)
        layout.addWidget(self.list)
        self.setVisible(False)

    def show_problems(self, heading: str, items: list[tuple[str, str]]) -> None:
        """``items``: (path, message) in form order; an empty list hides the summary."""
        self.list.clear()
        for path, message in items:
            item = QListWidgetItem(message)
            item.setData(PATH_ROLE, path)
            self.list.addItem(item)
        self.heading.setText(heading)
        self.list.setAccessibleName(heading)
        rows = min(len(items), self.VISIBLE_LINES)
        if rows:
            height = sum(self.list.sizeHintForRow(i) for i in range(rows)) + 2 * self.list.frameWidth() + 2
            self.list.setFixedHeight(height)
        self.setVisible(bool(items))
