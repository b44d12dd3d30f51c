"""Bundled fonts: Noto Sans (Latin) and Noto Sans Khmer from their PyPI packages, never system fonts."""

from __future__ import annotations

import importlib
import logging
from pathlib import Path

from ui.qt import QApplication, QFont, QFontDatabase, QtCore

log = logging.getLogger("fieldapp.ui")

#: (python package, family) in fallback order: Latin first, then Khmer.
FONT_PACKAGES = (("fontpkg_noto_sans", "Noto Sans"), ("fontpkg_noto_sans_khmer", "Noto Sans Khmer"))


def font_files(package: str) -> list[Path]:
    """The .ttf/.otf files a fontpkg package ships (empty if it is not installed)."""
    try:
        mod = importlib.import_module(package)
    except ImportError:
        return []
    root = Path(getattr(mod, "ROOT", Path(mod.__file__).parent)) / "files"
    return sorted(p for p in root.glob("*") if p.suffix.lower() in (".ttf", ".otf"))


def load_fonts() -> list[str]:
    """Register the bundled fonts with Qt; returns the families loaded, Latin first.

    With a family list, Qt first tries Noto Sans for Khmer text, finds no Khmer
    shaping tables in it and falls back to Noto Sans Khmer, logging "OpenType
    support missing" (info level) each time: expected, so that category's info is off.
    """
    QtCore.QLoggingCategory.setFilterRules("qt.text.font.db.info=false")
    families: list[str] = []
    for package, family in FONT_PACKAGES:
        loaded = False
        for path in font_files(package):
            if QFontDatabase.addApplicationFont(str(path)) >= 0:
                loaded = True
        if loaded:
            families.append(family)
        else:
            log.warning("bundled font %s is missing", family)
    return families


def apply_fonts(app: QApplication, families: list[str] | None = None) -> QFont:
    """Make the bundled families the application font (Noto Sans, then Noto Sans Khmer as fallback)."""
    families = families if families is not None else load_fonts()
    font = QFont(app.font())
    if families:
        font.setFamilies(families)
    app.setFont(font)
    return font
