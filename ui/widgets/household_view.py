"""The parts of a record view that are grids of text: the household (one row per person) and the history (one row
per event). Labels that wrap, so nothing is ever cut, whatever the width and the language.

Texts come from ``fieldapp.domain.household`` (computed on the worker thread by ``fieldapp.store.preview.load``)
and are formatted here in the reader's language: codes as labels, dates day/month/year, Khmer digits in Khmer.
"""

from __future__ import annotations

from datetime import date

from fieldapp.domain import household, reasons
from fieldapp.domain.occupations import choice_label
from fieldapp.domain.problem import field_label
from fieldapp.domain.states import label_id
from ui.qt import QFrame, QGridLayout, QLabel, QSize, QSizePolicy, Qt, QtGui, QWidget

QFontMetrics = QtGui.QFontMetrics

WARNING_STYLE = "color: #b00020;"
NOTE_STYLE = "color: #555555;"
PEOPLE_COLUMNS = ("name", "relationship", "sex", "date_of_birth", "age", "illness")
HISTORY_COLUMNS = ("when", "who", "event", "reason")


def numeric_date(ctx, iso: str) -> str:
    """``21/11/2026`` (day/month/year, as written here), Khmer digits in Khmer; "" for no date."""
    try:
        day = date.fromisoformat(iso[:10])
    except (TypeError, ValueError):
        return ""
    return ctx.format_number(f"{day.day:02d}/{day.month:02d}/{day.year}")


def when_text(ctx, value: str) -> str:
    """A stored date (``2026-12-04``: as a date) or timestamp (UTC: in local time), in the reader's language."""
    if not value:
        return ""
    try:
        return ctx.format_date(value) if len(value) == 10 else ctx.format_timestamp(value)
    except ValueError:
        return value


def role_text(ctx, role: str) -> str:
    if role == household.MEMBER:
        return ctx.tr("forms.preview.role.member")
    return choice_label("relationship", role, ctx.lang) if role else "\u2014"


def rule_text(ctx, person: dict) -> str:
    """What the coverage rule says about this person, when there is something to say."""
    return "" if person["rule"] == household.RULE_OK else ctx.tr(f"forms.preview.rule.{person['rule']}")


def person_cells(ctx, person: dict) -> list[str]:
    """The texts of one person's row, in ``PEOPLE_COLUMNS`` order."""
    illness = {None: "\u2014", True: ctx.tr("forms.preview.yes"), False: ctx.tr("forms.preview.no")}[person["illness"]]
    name = person["name"] or ctx.tr("forms.preview.unnamed")
    return [name + (f"\n{person['name_latin']}" if person["name_latin"] else ""),
            role_text(ctx, person["role"]),
            choice_label("sex", person["sex"], ctx.lang) if person["sex"] else "\u2014",
            numeric_date(ctx, person["date_of_birth"]) or "\u2014",
            ctx.format_number(person["age"]) if person["age"] is not None else "\u2014", illness]


def event_cells(ctx, event: dict, names: dict) -> list[str]:
    """The texts of one history row, in ``HISTORY_COLUMNS`` order."""
    before, after = event.get("from_state"), event.get("to_state")
    states = f"{ctx.tr(label_id(before))} \u2192 {ctx.tr(label_id(after))}" if before and after and before != after else ""
    what = ctx.tr(f"forms.event.{event['event']}") + (f" ({states})" if states else "")
    actor = event.get("actor") or ""
    return [when_text(ctx, event.get("ts") or ""), names.get(actor, actor), what,
            reasons.render(event.get("reason"), ctx.lang) if event.get("reason") else ""]


class WrapLabel(QLabel):
    """A label that wraps between words. It asks for its text's natural width (each line unwrapped) and, as its
    minimum, its longest word's width and one line: the layout then gives it the height its text needs at the
    width it really gets (Qt's own guesses for a wrapping label assume a narrow width, so rows come out far taller
    than their text, or wider than the view)."""

    min_word = 0

    def minimumSizeHint(self):  # noqa: N802 (Qt name)
        return QSize(self.min_word + 2, self.fontMetrics().height() + 2)

    def sizeHint(self):  # noqa: N802 (Qt name)
        fm = self.fontMetrics()
        margins = self.contentsMargins()
        natural = max((fm.horizontalAdvance(line) for line in self.text().split("\n")), default=0)
        width = max(natural + margins.left() + margins.right() + 2, self.min_word + 2)
        return QSize(width, self.heightForWidth(width))


def _cell(parent, text: str, header: bool = False, data: bool = False) -> QLabel:
    label = WrapLabel(text, parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
    policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
    policy.setHeightForWidth(True)  # the height follows the width it gets
    label.setSizePolicy(policy)
    if header:
        font = label.font()
        font.setBold(True)
        label.setFont(font)
    if data:
        label.setProperty("i18n_exempt", True)  # a person's name, a date, a worker's name: data
    fit_to_words(label)
    return label


def fit_to_words(label: "WrapLabel") -> None:
    """As narrow as its longest word, no narrower (Qt's own guess for a wrapping label is far wider, which
    would push the grid out of the view); the text then wraps between words."""
    fm = QFontMetrics(label.font())
    label.min_word = max((fm.horizontalAdvance(word) for word in label.text().split()), default=0)
    label.updateGeometry()


class TextGrid(QWidget):
    """Rows of wrapping labels under a bold header row; ``note`` lines span the row below a row."""

    def __init__(self, object_name: str, stretch: tuple[int, ...], parent=None):
        super().__init__(parent)
        self.setObjectName(object_name)
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setHorizontalSpacing(8)
        self.grid.setVerticalSpacing(4)
        self.stretch = stretch
        self.rows: list[list[str]] = []
        self.notes: dict[int, str] = {}
        self.warnings: set[int] = set()  # rows whose note is a warning (shown in red)

    def set_rows(self, headers: list[str], rows: list[list[str]], notes: dict[int, str] | None = None,
                 data_columns: tuple[int, ...] = ()) -> None:
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item.widget() is not None:
                item.widget().hide()
                item.widget().deleteLater()
        self.rows, self.notes = rows, dict(notes or {})
        for col, text in enumerate(headers):
            self.grid.addWidget(_cell(self, text, header=True), 0, col)
            self.grid.setColumnStretch(col, self.stretch[col] if col < len(self.stretch) else 0)
        line = 1
        for index, row in enumerate(rows):
            rule = QFrame(self)
            rule.setFrameShape(QFrame.Shape.HLine)
            rule.setFrameShadow(QFrame.Shadow.Sunken)
            self.grid.addWidget(rule, line, 0, 1, len(headers))
            line += 1
            for col, text in enumerate(row):
                self.grid.addWidget(_cell(self, text, data=col in data_columns), line, col)
            line += 1
            if self.notes.get(index):
                note = _cell(self, self.notes[index])
                note.setObjectName("grid_note")
                note.setStyleSheet(WARNING_STYLE if index in self.warnings else NOTE_STYLE)
                self.grid.addWidget(note, line, 0, 1, len(headers))
                line += 1

    def text(self) -> str:
        """Everything the grid shows, a row a line (for tests and screen readers' summaries)."""
        out = []
        for index, row in enumerate(self.rows):
            out.append(" | ".join(cell.replace("\n", " / ") for cell in row))
            if self.notes.get(index):
                out.append("  " + self.notes[index])
        return "\n".join(out)


class PeopleGrid(TextGrid):
    def __init__(self, parent=None):
        super().__init__("household_people", (4, 2, 1, 2, 1, 2), parent)

    def show_people(self, ctx, people: list[dict]) -> None:
        headers = [ctx.tr("forms.preview.col.name"), field_label("relationship", ctx.lang),
                   field_label("sex", ctx.lang), ctx.tr("forms.preview.col.born"), ctx.tr("forms.preview.col.age"),
                   field_label("disability_or_chronic_illness", ctx.lang)]
        rows = [person_cells(ctx, p) for p in people]
        notes = {i: rule_text(ctx, p) for i, p in enumerate(people) if p["rule"] != household.RULE_OK}
        self.warnings = {i for i, p in enumerate(people) if p["rule"] in (household.RULE_OVER_AGE,
                                                                        household.RULE_UNDER_AGE)}
        self.set_rows(headers, rows, notes, data_columns=(0, 3))
        fm, em = self.fontMetrics(), self.fontMetrics().height()
        widest = max((fm.horizontalAdvance(line) for row in rows for line in row[0].split("\n")), default=0)
        self.grid.setColumnMinimumWidth(0, min(widest + 4, 8 * em))  # a name wraps only when long
        self.setAccessibleName(ctx.tr("forms.preview.household_title"))


class HistoryGrid(TextGrid):
    def __init__(self, parent=None):
        super().__init__("record_history", (2, 2, 3, 3), parent)

    def show_history(self, ctx, history: list[dict], names: dict) -> None:
        headers = [ctx.tr(f"forms.review.history.{c}") for c in HISTORY_COLUMNS]
        self.set_rows(headers, [event_cells(ctx, e, names) for e in history], data_columns=(0, 1, 3))
        self.setAccessibleName(ctx.tr("forms.review.history"))


__all__ = ["HistoryGrid", "PeopleGrid", "event_cells", "numeric_date", "person_cells", "when_text"]
