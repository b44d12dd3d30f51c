"""Printing a slip or a card from the desktop: the document is built by the core on the DB worker
(``fieldapp.proof.documents``: it reads the store), then drawn on the UI thread (``ui.printing``) into the print
preview, or, when no printer is installed, into a PDF the user names in a save dialog that says the file holds
personal data. Nothing is written anywhere else. Messages go to ``message`` (one translated line).
"""

from __future__ import annotations

import os
from datetime import datetime

from fieldapp.proof import documents
from ui.qt import QFileDialog, QObject, QtCore, Signal


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def build(session, kind: str, record_id: str, lang: str) -> dict:
    """Worker side: the document model of ``record_id``."""
    if kind == "slip":
        return documents.slip_document(session, record_id, lang, _now())
    return documents.card_document(session, record_id, lang)


class PrintFlow(QObject):
    message = Signal(str)

    def __init__(self, ctx, parent_widget):
        super().__init__(parent_widget)
        self.ctx, self.parent_widget = ctx, parent_widget
        self.page = {"slip": "A4", "card": "id1"}

    def start(self, kind: str, record_id: str) -> None:
        self.message.emit(self.ctx.tr("forms.print.preparing"))
        self.ctx.worker.run(build, kind, record_id, self.ctx.lang,
                            on_done=lambda doc: self._print(kind, doc), on_error=self._failed)

    def _failed(self, exc) -> None:
        message = getattr(exc, "message", None)
        self.message.emit(message() if callable(message) else self.ctx.tr("forms.print.cancelled"))

    def _print(self, kind: str, doc: dict) -> None:
        from ui.printing import layout

        outcome = layout.print_documents(self.parent_widget, [doc], kind, self.page[kind], preview=True)
        if outcome == "no_printer":
            self._save(kind, doc)
            return
        self.message.emit(self.ctx.tr("forms.print.sent" if outcome == "printed" else "forms.print.cancelled"))

    def _save(self, kind: str, doc: dict) -> None:
        from ui.printing import layout

        self.message.emit(self.ctx.tr("forms.print.no_printer"))
        folder = QtCore.QStandardPaths.writableLocation(QtCore.QStandardPaths.StandardLocation.DocumentsLocation)
        suggested = os.path.join(folder or os.path.expanduser("~"), f"{kind}.pdf")  # not the program's folder
        path, _filter = QFileDialog.getSaveFileName(self.parent_widget, self.ctx.tr("forms.print.save_title"),
                                                    suggested, "PDF (*.pdf)")
        if not path:
            self.message.emit(self.ctx.tr("forms.print.cancelled"))
            return
        if kind == "slip":
            layout.render_slip_pdf(doc, path, page=self.page[kind])
        else:
            layout.render_cards_pdf([doc], path, layout=self.page[kind])
        os.chmod(path, 0o600)  # personal data: the owner only
        self.message.emit(self.ctx.tr("forms.print.saved", path=path))
