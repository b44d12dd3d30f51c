"""Printing from the desktop app: a print preview (or the print dialog) on the chosen page size, painted page by
page by the same functions as the PDF; with no printer installed, the caller offers to save a PDF instead."""

from __future__ import annotations

import logging

from ui.printing.pages import page_layout, spec_for
from ui.printing.render import paint_pages, plan_pages
from ui.printing.slip import SlipLayout
from ui.printing.text import Units, ensure_ready
from ui.qt import QDialog, QPrintDialog, QPrinter, QPrinterInfo, QPrintPreviewDialog

log = logging.getLogger("fieldapp.ui")

DOC_NAMES = {"slip": "fieldapp slip", "card": "fieldapp card"}  # what the print queue shows: no personal data


def has_printer() -> bool:
    return QPrinterInfo is not None and bool(QPrinterInfo.availablePrinters())


def _prepare(printer, docs: list[dict], kind: str, page: str) -> None:
    """The printer set to the page: full page (the documents draw their own margins); an 80 mm roll as long as
    the longest slip."""
    spec = spec_for(page, kind)
    height = None
    if spec.roll:
        units = Units(printer)
        height = max(SlipLayout(doc, spec, units, units.mm(spec.width_mm)).height_mm for doc in docs)
    printer.setFullPage(True)
    if not printer.setPageLayout(page_layout(spec, height)):
        log.warning("the printer did not take the %s page layout", page)
    printer.setDocName(DOC_NAMES[kind])
    printer.setCreator("fieldapp")


def paint_documents(printer, docs: list[dict], kind: str, page: str) -> int:
    """Every page of ``docs`` onto ``printer`` (as the user left its page size), one painter; returns pages."""
    ensure_ready()
    return paint_pages(printer, plan_pages(list(docs), kind, page, printer), None, vary_size=False)


def preview_dialog(parent, docs: list[dict], kind: str, page: str):
    """A print preview of ``docs`` (``kind`` "slip" or "card") on ``page``, ready to ``show()`` or ``exec()``.
    Without a physical printer it previews a PDF printer."""
    if QPrinter is None:
        raise RuntimeError("this build has no printing support (QtPrintSupport)")
    ensure_ready()
    docs = list(docs)
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    if not has_printer():
        printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    _prepare(printer, docs, kind, page)
    dialog = QPrintPreviewDialog(printer, parent)
    dialog.setWindowTitle(DOC_NAMES[kind])
    dialog.paintRequested.connect(lambda p: paint_documents(p, docs, kind, page))
    dialog.fieldapp_printer = printer  # the dialog does not own the printer: keep it alive as long as the dialog
    return dialog


def print_documents(parent, docs: list[dict], kind: str, page: str, preview: bool = True) -> str:
    """Print ``docs`` from the app: "no_printer" when there is none (the caller offers a PDF instead), else
    "printed" or "cancelled" after the preview (``preview``) or the print dialog."""
    if not has_printer():
        return "no_printer"
    ensure_ready()
    docs = list(docs)
    if preview:
        dialog = preview_dialog(parent, docs, kind, page)
        return "printed" if dialog.exec() == QDialog.DialogCode.Accepted else "cancelled"
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    _prepare(printer, docs, kind, page)
    dialog = QPrintDialog(printer, parent)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return "cancelled"
    paint_documents(printer, docs, kind, page)
    return "printed"
