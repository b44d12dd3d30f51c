"""The ``fieldapp.gui`` plug-in ``render`` that ``fieldapp slip`` and ``fieldapp card`` call: documents to a PDF file,
with Qt but without a window (the offscreen platform when there is no display)."""

from __future__ import annotations

import os
import sys


def _application():
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) and sys.platform.startswith("linux"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from ui.qt import QGuiApplication

    return QGuiApplication.instance() or QGuiApplication(["fieldapp"])


def render(kind: str, docs: list[dict], path, page: str) -> None:
    """Write ``docs`` (document models of ``fieldapp.proof.documents``) to the PDF at ``path``: one slip on ``page``
    (A4, A5, 80mm), or cards in ``page`` layout (id1, a4-sheet)."""
    app = _application()
    from ui.printing import layout

    if kind == "slip":
        layout.render_slip_pdf(docs[0], path, page=page)
    else:
        layout.render_cards_pdf(docs, path, layout=page)
    del app
