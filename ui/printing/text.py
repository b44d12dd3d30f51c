"""Text on printed documents: the bundled fonts, paragraphs laid out by ``QTextLayout`` (HarfBuzz shapes Khmer),
wrapped or shrunk to fit, and drawn glyph run by glyph run so that the text of each run is known (``Recorder``:
``ui.printing.pdftext`` writes it into the PDF as ActualText, since Qt's own ToUnicode map loses shaped Khmer).

Sizes are in points and lengths in millimetres at the interfaces; inside, everything is in the paint device's
pixels (``Units``), so one layout serves a 300 dpi PDF, a 1200 dpi printer and a preview alike.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, replace

from ui.fonts import load_fonts
from ui.qt import (QColor, QFont, QFontMetricsF, QGuiApplication, QPointF, QTextLayout, QTextOption)

log = logging.getLogger("fieldapp.ui")

KHMER = re.compile("[\u1780-\u17ff\u19e0-\u19ff]")
#: Khmer text asks for the Khmer font by name (shaped by its own tables); Latin text for Noto Sans, with the Khmer
#: font as fallback for a Khmer name inside it.
KHMER_FAMILIES = ["Noto Sans Khmer", "Noto Sans"]
LATIN_FAMILIES = ["Noto Sans", "Noto Sans Khmer"]
#: Line height as a multiple of the font's height (which already holds Khmer's stacks: vowels and signs above,
#: subscripts below): airy on slips, tight on the small card.
KHMER_LEADING, LATIN_LEADING = 1.22, 1.08
TIGHT_KHMER_LEADING, TIGHT_LATIN_LEADING = 1.05, 1.0

INK, MUTED, ACCENT, RULE, SHADE, HEAD = "#111418", "#4a5361", "#17365d", "#8c97a6", "#f1f3f6", "#e3e8ef"
RETRIEVE_ALL = QTextLayout.GlyphRunRetrievalFlag.RetrieveAll
_state = {"fonts": None, "app": None}


def ensure_ready() -> list[str]:
    """A QGuiApplication (one that exists, else an offscreen one: a PDF needs no display) and the bundled fonts
    registered once. Returns the families loaded."""
    if QGuiApplication.instance() is None:
        argv = ["fieldapp"] if os.environ.get("QT_QPA_PLATFORM") else ["fieldapp", "-platform", "offscreen"]
        _state["app"] = QGuiApplication(argv)
    if _state["fonts"] is None:
        _state["fonts"] = load_fonts()
        if "Noto Sans Khmer" not in _state["fonts"]:
            log.warning("printing without the bundled Khmer font: Khmer text will not be shaped correctly")
    return _state["fonts"]


def has_khmer(text: str) -> bool:
    return bool(KHMER.search(text))


class Units:
    """Millimetres and points in a paint device's pixels."""

    def __init__(self, device):
        self.device = device
        self.dpi = float(device.logicalDpiY())
        self.px_per_mm = self.dpi / 25.4

    def mm(self, value: float) -> float:
        return value * self.px_per_mm

    def to_mm(self, px: float) -> float:
        return px / self.px_per_mm


class Recorder:
    """The text of every glyph run drawn, page by page, in drawing order."""

    def __init__(self):
        self.pages: list[list[str]] = [[]]

    def add(self, text: str) -> None:
        self.pages[-1].append(text)

    def new_page(self) -> None:
        self.pages.append([])


@dataclass(frozen=True)
class Style:
    size: float                 # points
    weight: int = 400           # the variable fonts' wght axis: 400 regular, 600 semibold, 700 bold
    color: str = INK
    align: str = "left"         # left, right, center
    spacing: float = 100.0      # letter spacing in percent (the reference code is spaced out)
    tight: bool = False         # the card's tighter line spacing

    def scaled(self, factor: float) -> "Style":
        return replace(self, size=self.size * factor)

    def with_(self, **kw) -> "Style":
        return replace(self, **kw)


def make_font(text: str, style: Style, size: float | None = None) -> QFont:
    font = QFont()
    font.setFamilies(KHMER_FAMILIES if has_khmer(text) else LATIN_FAMILIES)
    font.setPointSizeF(size or style.size)
    font.setHintingPreference(QFont.HintingPreference.PreferNoHinting)  # the same widths at every resolution
    if style.weight != 400:  # the real instance of the variable font, never a synthesized (double-drawn) bold
        font.setVariableAxis(QFont.Tag("wght"), float(style.weight))
    if style.spacing != 100.0:
        font.setLetterSpacing(QFont.SpacingType.PercentageSpacing, style.spacing)
    return font


class Para:
    """``text`` laid out into ``width`` pixels: wrapped at word (or, for a long Khmer run, syllable) boundaries,
    first shrunk towards ``min_size`` if it needs more than ``max_lines`` lines or does not fit at all. Nothing is
    ever cut: what does not fit at the smallest size wraps onto more lines."""

    def __init__(self, units: Units, text: str, style: Style, width: float, *, max_lines: int = 0,
                 min_size: float | None = None):
        self.units, self.text, self.style, self.width = units, (text or "").replace("\n", "\u2028"), style, width
        self.khmer = has_khmer(self.text)
        size, floor = style.size, min(min_size or style.size, style.size)
        while True:
            self._layout(size)
            fits = self.natural <= width + 0.5 and (not max_lines or self.layout.lineCount() <= max_lines)
            if fits or size <= floor:
                break
            size = max(floor, size - max(0.25, size * 0.04))
        self.size = size

    def _layout(self, size: float) -> None:
        font = make_font(self.text, self.style, size)
        self.font = font
        self.metrics = QFontMetricsF(font, self.units.device)
        if self.style.tight:
            factor = TIGHT_KHMER_LEADING if self.khmer else TIGHT_LATIN_LEADING
        else:
            factor = KHMER_LEADING if self.khmer else LATIN_LEADING
        self.line_height = self.metrics.height() * factor
        layout = QTextLayout(self.text, font, self.units.device)
        option = QTextOption()
        option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        layout.setTextOption(option)
        layout.setCacheEnabled(True)
        y, natural = 0.0, 0.0
        layout.beginLayout()
        while self.text:
            line = layout.createLine()
            if not line.isValid():
                break
            line.setLineWidth(max(1.0, self.width))
            line.setPosition(QPointF(0, y + (self.line_height - line.height()) / 2))
            natural = max(natural, line.naturalTextWidth())
            y += self.line_height
        layout.endLayout()
        self.layout, self.height, self.natural = layout, y, natural

    @property
    def lines(self) -> int:
        return self.layout.lineCount()

    @property
    def ascent(self) -> float:
        """From the top of the first line box to its baseline (to align a label with a larger value)."""
        return (self.line_height - self.metrics.height()) / 2 + self.metrics.ascent()

    def draw(self, painter, x: float, y: float, recorder: Recorder | None = None) -> float:
        """Draw with the top-left of the first line box at (x, y); returns the height used."""
        painter.setPen(QColor(self.style.color))
        for i in range(self.layout.lineCount()):
            line = self.layout.lineAt(i)
            dx = 0.0
            if self.style.align == "right":
                dx = self.width - line.naturalTextWidth()
            elif self.style.align == "center":
                dx = (self.width - line.naturalTextWidth()) / 2
            for run, text in _runs_with_text(line):
                painter.drawGlyphRun(QPointF(x + dx, y), run)
                if recorder is not None:
                    recorder.add(text)
        return self.height


def _runs_with_text(line):
    """The line's glyph runs in logical order, each with the characters it draws (one QPainter text item each)."""
    runs = [r for r in line.glyphRuns(-1, -1, RETRIEVE_ALL) if r.glyphIndexes()]
    if not runs:
        return []
    source = runs[0].sourceString()
    start_of = [min(r.stringIndexes()) if r.stringIndexes() else line.textStart() for r in runs]
    order = sorted(range(len(runs)), key=lambda i: start_of[i])
    end = line.textStart() + line.textLength()
    out = []
    for k, i in enumerate(order):
        stop = start_of[order[k + 1]] if k + 1 < len(order) else end
        text = source[start_of[i]:stop]
        out.append((runs[i], text.rstrip() if k + 1 == len(order) else text))
    return out


def khmer_digits(text: str, lang: str) -> str:
    from fieldapp.base.i18n import to_khmer_digits

    return to_khmer_digits(text) if lang == "km" else text
