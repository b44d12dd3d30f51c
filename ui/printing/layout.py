"""The public face of ``ui.printing``: page sizes, painting a slip or a card with any QPainter, writing PDFs,
printing from the app.

    PAGE_SIZES                                      "A4", "A5", "80mm" (slips); "id1", "a4-sheet" (cards)
    paint_slip(painter, doc, rect, page="A4", page_index=0, *, recorder=None) -> int   (the slip's page count)
    paint_card(painter, doc, rect, *, recorder=None) -> None
    slip_page_count(doc, page="A4", device=None) -> int
    render_slip_pdf(doc, path, page="A4") -> int     render_slips_pdf(docs, path, page="A4") -> int
    render_cards_pdf(docs, path, layout="id1") -> int
    print_documents(parent, docs, kind, page, preview=True) -> "printed" | "cancelled" | "no_printer"
    preview_dialog(parent, docs, kind, page) -> QPrintPreviewDialog

``rect`` is in the painter's device pixels; lengths inside follow the device's resolution, so the same call draws
on a 300 dpi PDF, a printer or an image. Documents are the plain dicts ``fieldapp.proof.documents`` builds, already
in the person's language; nothing here translates or formats. PDFs need a QGuiApplication only (one is created,
offscreen, if there is none), embed the bundled Noto fonts (the glyphs used), carry ActualText so Khmer extracts as
typed (``ui.printing.pdftext``), and hold no personal data in their metadata.
"""

from __future__ import annotations

from ui.printing.card import paint_card
from ui.printing.pages import CARD_PAGES, PAGE_SIZES, SLIP_PAGES, PageSpec, page_layout, spec_for
from ui.printing.printer import has_printer, paint_documents, preview_dialog, print_documents
from ui.printing.render import render_cards_pdf, render_slip_pdf, render_slips_pdf
from ui.printing.slip import SlipLayout
from ui.printing.text import Recorder, Units, ensure_ready
from ui.qt import QImage


def _layout(doc: dict, page: str, device, rect=None) -> SlipLayout:
    spec = spec_for(page, "slip")
    units = Units(device)
    if spec.roll:
        return SlipLayout(doc, spec, units, rect.width() if rect is not None else units.mm(spec.width_mm))
    if rect is None:  # the page as the PDF and the printer have it (whole points)
        full = page_layout(spec).fullRectPixels(int(units.dpi))
        return SlipLayout(doc, spec, units, full.width(), full.height())
    return SlipLayout(doc, spec, units, rect.width(), rect.height())


def paint_slip(painter, doc: dict, rect, page: str = "A4", page_index: int = 0, *,
               recorder: Recorder | None = None) -> int:
    """Draw page ``page_index`` of the slip ``doc`` laid out for ``page`` into ``rect`` (the full page, in the
    painter's device pixels; on the roll, 80 mm wide and ``slip_height_mm`` long). Returns the slip's page count."""
    ensure_ready()
    lay = _layout(doc, page, painter.device(), rect)
    if 0 <= page_index < lay.page_count:
        lay.paint(painter, rect, page_index, recorder)
    return lay.page_count


def slip_page_count(doc: dict, page: str = "A4", device=None) -> int:
    """How many pages the slip takes on ``page`` (laid out for ``device``, by default a 300 dpi image)."""
    ensure_ready()
    return _layout(doc, page, device or _dpi300()).page_count


def slip_height_mm(doc: dict, device=None) -> float:
    """The length of 80 mm roll the slip needs."""
    ensure_ready()
    return _layout(doc, "80mm", device or _dpi300()).height_mm


def _dpi300():
    image = QImage(1, 1, QImage.Format.Format_RGB32)
    image.setDotsPerMeterX(11811)
    image.setDotsPerMeterY(11811)
    return image


__all__ = ["CARD_PAGES", "PAGE_SIZES", "SLIP_PAGES", "PageSpec", "Recorder", "has_printer", "paint_card",
           "paint_documents", "paint_slip", "preview_dialog", "print_documents", "render_cards_pdf",
           "render_slip_pdf", "render_slips_pdf", "slip_height_mm", "slip_page_count"]
