"""Inline problem display: a small message beside a field, and the mapping of problem paths to fields.

The rules themselves live in ``fieldapp.domain.validation``; this module only shows the
``Problem`` objects it returns, in the current language, next to the widget a
path names (``"phone"``, ``"consent.method"``, ``"dependents[1].date_of_birth"``).
"""

from __future__ import annotations

import re

from ui.qt import QLabel, QSizePolicy, Qt

_DEPENDENT = re.compile(r"^dependents\[(\d+)\](?:\.(.+))?$")
PROBLEM_STYLE = "color: #b00020;"


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
    yet (e.g. only once touched); ``tables``: field key -> widget with ``show_problems(problems)``.
    """
    groups = group_by_field(problems, aliases)
    tables = tables or {}
    for key, label in labels.items():
        found = groups.get(key, []) if shown is None or shown(key) else []
        if key in tables:
            tables[key].show_problems(found)
        else:
            label.set_messages([p.message(lang) for p in found])
    return [p for key, found in groups.items() if key not in labels for p in found]


class ProblemLabel(QLabel):
    """The message(s) shown beside one field; hidden while there is none.

    It also becomes the field's accessible description, so a screen reader
    announces the problem with the field.
    """

    def __init__(self, field_widget=None, parent=None):
        super().__init__(parent)
        self.field_widget = field_widget
        self.setObjectName("problem")
        self.setStyleSheet(PROBLEM_STYLE)
        self.setWordWrap(True)
        self.setTextFormat(Qt.PlainText)
        self.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Minimum)
        self.setVisible(False)

    def set_messages(self, messages: list[str]) -> None:
        text = "\n".join(dict.fromkeys(m for m in messages if m))
        self.setText(text)
        self.setAccessibleName(text)
        self.setVisible(bool(text))
        if self.field_widget is not None:
            self.field_widget.setAccessibleDescription(text)
            self.field_widget.setProperty("has_problem", bool(text))

    def messages(self) -> list[str]:
        return [line for line in self.text().split("\n") if line]

    def clear_messages(self) -> None:
        self.set_messages([])
