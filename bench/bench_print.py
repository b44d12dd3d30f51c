"""Slips and cards: how long a PDF takes to render, against a blank page of the same size in the same run.

Rows (``run(quick)``), each the median of several renders into a file on the same disk:

- ``slip A4 km (household of 4)``, ``slip A5 km``, ``slip 80mm km``, ``slip A4 en``: the acknowledgement slip with
  its QR code (a realistic signed-text length), against a blank page of that size written by the same pipeline
  (``QPdfWriter`` at 300 dpi, the ActualText pass, the owner-only file);
- ``card id1 km (3 dependents)``: one card, against a blank ID-1 page;
- ``cards a4-sheet km (10 cards)``: a sheet of ten, against a blank A4 page;
- ``card credential signed``: building and signing the card's CWT (``credential.issue_card``) against hashing the
  same claims (no page: the signing cost alone).

Documents are the synthetic ones of ``ui.printing.samples`` (the shape ``fieldapp.proof.documents`` builds).
Nothing here asserts a time.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import tempfile
import time
from pathlib import Path


def _app():
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from ui.printing.cli import _application

    return _application()


def _median(func, repeat: int) -> float:
    func()  # warm: fonts loaded, glyph caches filled
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def _blank(kind: str, page: str, path: Path) -> None:
    from ui.printing.pages import page_layout, spec_for
    from ui.printing.render import write_pdf

    spec = spec_for(page, kind)
    layout = page_layout(spec, 200.0 if spec.roll else None)
    write_pdf(path, kind, lambda writer: [(layout, lambda painter, rect, recorder: None)])


def _row(name: str, value: float, baseline: float, note: str) -> dict:
    return {"name": name, "value": round(value, 2), "unit": "ms", "baseline": round(baseline, 2),
            "ratio": round(value / baseline, 2) if baseline else None, "note": note}


def _signing(repeat: int) -> dict:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from fieldapp.domain.card import card_claims
    from fieldapp.domain.synthetic import make_records
    from fieldapp.outbound import credential

    key = Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                                      serialization.NoEncryption())
    record = next(r for r in make_records(50, seed=3) if len(r.get("dependents") or ()) >= 2)
    claims = card_claims(record, "KH-REG-000001", "2026-12-05T02:00:00Z")
    signed = _median(lambda: credential.issue_card(claims, key), repeat)
    hashed = _median(lambda: hashlib.sha256(json.dumps(claims, ensure_ascii=False).encode()).digest(), repeat)
    return _row("card credential signed", signed, hashed, "issue_card against SHA-256 of the same claims as JSON")


def run(quick: bool = False) -> list[dict]:
    app = _app()
    from ui.printing import layout, samples

    repeat = 3 if quick else 9
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-print-") as tmp:
        out, blank = Path(tmp) / "doc.pdf", Path(tmp) / "blank.pdf"
        slips = [("A4", "km"), ("A5", "km"), ("80mm", "km"), ("A4", "en")]
        for page, lang in slips:
            doc = samples.sample_slip(lang, household=4, qr_length=270)
            value = _median(lambda: layout.render_slip_pdf(doc, out, page=page), repeat)
            base = _median(lambda: _blank("slip", page, blank), repeat)
            rows.append(_row(f"slip {page} {lang} (household of 4)", value, base,
                             f"against a blank {page} page, same pipeline; {out.stat().st_size // 1024} KiB"))
        card = samples.sample_card("km", index=0, dependents=3, qr_length=600)
        value = _median(lambda: layout.render_cards_pdf([card], out, layout="id1"), repeat)
        base = _median(lambda: _blank("card", "id1", blank), repeat)
        rows.append(_row("card id1 km (3 dependents)", value, base,
                         f"against a blank ID-1 page; {out.stat().st_size // 1024} KiB"))
        sheet = [samples.sample_card("km", index=i, dependents=i % 4, qr_length=600) for i in range(10)]
        value = _median(lambda: layout.render_cards_pdf(sheet, out, layout="a4-sheet"), repeat)
        base = _median(lambda: _blank("card", "a4-sheet", blank), repeat)
        rows.append(_row("cards a4-sheet km (10 cards)", value, base,
                         f"against a blank A4 page; {out.stat().st_size // 1024} KiB"))
    rows.append(_signing(repeat * 10))
    del app
    return rows
