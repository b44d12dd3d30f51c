"""Documents onto pages: one plan of pages for a PDF (``QPdfWriter``) and for a printer (``QPrinter``), painted by
the same functions. PDFs need only a QGuiApplication (no widgets, no display): a command line can write them."""

from __future__ import annotations

import logging
import os
from typing import Callable

from ui.printing.card import CardLayout, paint_card, paint_crop_marks, sheet_origin
from ui.printing.pages import CARD_H_MM, CARD_W_MM, PageSpec, page_layout, spec_for
from ui.printing.pdftext import add_actual_text
from ui.printing.slip import SlipLayout
from ui.printing.text import Recorder, Units, ensure_ready
from ui.qt import QPagedPaintDevice, QPainter, QPdfWriter, QRectF, QtCore

log = logging.getLogger("fieldapp.ui")

PDF_DPI = 300
PDF_TITLES = {"slip": "fieldapp slip", "card": "fieldapp card"}  # fixed words: no personal data in the metadata

#: one page: its page layout (mm, for the device) and how to draw it into the page's rectangle
Page = tuple[object, Callable]


def plan_pages(docs: list[dict], kind: str, page: str, device) -> list[Page]:
    """Every page of ``docs`` (slips: each slip its pages; cards: one per page or ten per sheet), laid out for
    ``device``'s resolution. A page's rectangle is the device's full page: A4/A5 slips take their height from it."""
    spec = spec_for(page, kind)
    units = Units(device)
    if kind == "slip":
        return _slip_pages(docs, spec, units, device)
    return _card_pages(docs, spec, units)


def _slip_pages(docs, spec: PageSpec, units: Units, device) -> list[Page]:
    pages: list[Page] = []
    for doc in docs:
        if spec.roll:
            lay = SlipLayout(doc, spec, units, units.mm(spec.width_mm))
            layout = page_layout(spec, lay.height_mm)
        else:
            layout = page_layout(spec)
            full = layout.fullRectPixels(int(units.dpi))
            lay = SlipLayout(doc, spec, units, full.width(), full.height())
        for index in range(lay.page_count):
            pages.append((layout, lambda painter, rect, rec, lay=lay, index=index: lay.paint(painter, rect, index,
                                                                                                rec)))
    return pages


def _card_pages(docs, spec: PageSpec, units: Units) -> list[Page]:
    layout = page_layout(spec)
    pages: list[Page] = []
    for start in range(0, len(docs), spec.per_page):
        chunk = docs[start:start + spec.per_page]
        pages.append((layout, lambda painter, rect, rec, chunk=chunk: _paint_cards(painter, spec, units, chunk,
                                                                                      rect, rec)))
    return pages


def _paint_cards(painter, spec: PageSpec, units: Units, docs, rect: QRectF, rec) -> None:
    cw, ch = units.mm(CARD_W_MM), units.mm(CARD_H_MM)
    if spec.per_page == 1:  # the page is the card (or, on larger paper, the card at its true size at the corner)
        larger = rect.width() > cw * 1.05 or rect.height() > ch * 1.05
        paint_card(painter, docs[0], QRectF(rect.x(), rect.y(), cw, ch) if larger else rect, recorder=rec)
        return
    x0, y0 = sheet_origin(spec, units, rect.width(), rect.height())
    for i, doc in enumerate(docs):
        row, col = divmod(i, spec.columns)
        CardLayout(doc, units).paint(painter, rect.x() + x0 + col * cw, rect.y() + y0 + row * ch, rec)
    paint_crop_marks(painter, spec, units, rect)


def paint_pages(device, pages: list[Page], recorder: Recorder | None = None, vary_size: bool = True) -> int:
    """Paint ``pages`` onto a paged device (``QPdfWriter``, ``QPrinter``) with one painter; a page of another
    size than the last gets its own page layout when ``vary_size`` (a PDF; a printer keeps the size it was given).
    Returns the pages painted."""
    painter = QPainter()
    try:
        for i, (layout, draw) in enumerate(pages):
            if i == 0 or (vary_size and not layout.isEquivalentTo(device.pageLayout())):
                device.setPageLayout(layout)
            if i == 0:
                if not painter.begin(device):
                    raise OSError("could not start painting (is the file writable?)")
            else:
                device.newPage()
                if recorder is not None:
                    recorder.new_page()
            draw(painter, QRectF(0, 0, device.width(), device.height()), recorder)
    finally:
        if painter.isActive():
            painter.end()
    return len(pages)


def write_pdf(path, kind: str, plan: Callable[[object], list[Page]]) -> int:
    """Paint ``plan(writer)`` (the pages, laid out for the writer's resolution) with a 300 dpi ``QPdfWriter`` into
    memory, add the ActualText, write the file (new files readable by the owner only: personal data). Returns the
    pages written."""
    ensure_ready()
    buffer = QtCore.QBuffer()
    buffer.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buffer)
    writer.setResolution(PDF_DPI)
    writer.setPdfVersion(QPagedPaintDevice.PdfVersion.PdfVersion_1_6)  # ActualText is PDF 1.5
    writer.setTitle(PDF_TITLES[kind])
    writer.setCreator("fieldapp")
    recorder = Recorder()
    count = paint_pages(writer, plan(writer), recorder)
    buffer.close()
    data, problem = add_actual_text(bytes(buffer.data()), recorder.pages)
    if problem:
        log.warning("PDF text left as Qt wrote it (Khmer may not copy or search correctly): %s", problem)
    fd = os.open(os.fspath(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    return count


def _pdf(docs: list[dict], kind: str, page: str, path) -> int:
    if not docs:
        raise ValueError("nothing to render")
    spec_for(page, kind)  # an unknown page fails before any file is touched
    return write_pdf(path, kind, lambda writer: plan_pages(docs, kind, page, writer))


def render_slip_pdf(doc: dict, path, page: str = "A4") -> int:
    """Write the slip ``doc`` to a PDF at ``path`` on ``page`` ("A4", "A5", "80mm"); returns the page count."""
    return _pdf([doc], "slip", page, path)


def render_slips_pdf(docs: list[dict], path, page: str = "A4") -> int:
    """Several slips in one PDF, each starting on a new page."""
    return _pdf(list(docs), "slip", page, path)


def render_cards_pdf(docs: list[dict], path, layout: str = "id1") -> int:
    """Write the cards ``docs`` to a PDF at ``path``: "id1" (one card per page) or "a4-sheet" (ten per A4 page,
    with crop marks); returns the page count."""
    return _pdf(list(docs), "card", layout, path)
