"""Slips and cards rendered to PDF, then read back with other tools: poppler's pdftotext (the Khmer names come
back exactly as typed: shaped, not boxes), pdffonts (the bundled fonts embedded), pdftoppm + zxing-cpp (every QR,
drawn by segno's matrix, decodes to its text), pdfinfo (no personal data in the metadata); nothing cut off (a
household of ten on A5 and on the roll, a long name on a card: every word present and inside its card)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ui.printing.samples import PEOPLE, sample_card, sample_slip

TOOLS = ("pdftotext", "pdftoppm", "pdffonts", "pdfinfo")
pytestmark = pytest.mark.skipif(any(shutil.which(t) is None for t in TOOLS),
                                reason="poppler-utils (pdftotext, pdftoppm, pdffonts, pdfinfo) not installed")

ROOT = Path(__file__).resolve().parents[2]
SLIP_PAGES = ("A4", "A5", "80mm")
LONG_LATIN = "SOKUNTHEARY CHANVATHANAK RATANAK"  # shrinks onto one line
LONGEST_LATIN = "SOKUNTHEARY CHANVATHANAK RATANAKPHEAKDEY SAMBATHVIREAK"  # shrinks, then wraps
LONG_KHMER = "សុខ សុគន្ធារី ច័ន្ទវឌ្ឍនៈ រតនភក្តី"
PT_PER_MM = 72 / 25.4


def norm(text: str) -> str:
    """Zero-width spaces out, runs of white space as one space."""
    return re.sub(r"\s+", " ", text.replace("\u200b", "")).strip()


def run(*args) -> str:
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def khmer_names(doc: dict) -> list[str]:
    if doc["kind"] == "slip":
        return [row[0].split(" (")[0] for row in doc["household"]]
    return [doc["name"]] + [d.split(" (")[0] for d in doc["dependents"]]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, ui_app):
    """Every PDF once: slips (a household of ten, Khmer and English) on each page size, cards one to a page and
    ten to a sheet, and a card with long names; each page also as a 150 dpi PNG."""
    from ui.printing.layout import render_cards_pdf, render_slip_pdf

    out = tmp_path_factory.mktemp("printing")
    made = {}
    for n, lang in enumerate(("km", "en")):
        for k, page in enumerate(SLIP_PAGES):
            doc = sample_slip(lang, household=10, qr_length=150 + 40 * k + n * 5, seed=10 * n + k)
            path = out / f"slip-{lang}-{page}.pdf"
            made[f"slip-{lang}-{page}"] = (path, [doc], render_slip_pdf(doc, path, page))
        cards = [sample_card(lang, i, dependents=i % 7, qr_length=300 + 66 * i) for i in range(10)]
        path = out / f"cards-{lang}-sheet.pdf"
        made[f"sheet-{lang}"] = (path, cards, render_cards_pdf(cards, path, "a4-sheet"))
        path = out / f"cards-{lang}-id1.pdf"
        made[f"id1-{lang}"] = (path, cards[:3], render_cards_pdf(cards[:3], path, "id1"))
    long_cards = [sample_card("km", 3, dependents=6, qr_length=900, name_latin=latin)
                  for latin in (LONG_LATIN, LONGEST_LATIN)]
    for card in long_cards:
        card["name"] = LONG_KHMER
    path = out / "card-long.pdf"
    made["long"] = (path, long_cards, render_cards_pdf(long_cards, path, "id1"))
    for key, (path, _docs, _pages) in made.items():
        run("pdftoppm", "-r", "150", "-png", str(path), str(out / key))
    return out, made


def pngs(out: Path, key: str) -> list[Path]:
    return sorted(out.glob(f"{key}-*.png"))


KEYS = [f"slip-{lang}-{page}" for lang in ("km", "en") for page in SLIP_PAGES] + \
       [f"{kind}-{lang}" for kind in ("sheet", "id1") for lang in ("km", "en")] + ["long"]


@pytest.mark.parametrize("key", KEYS)
def test_every_khmer_name_extracts_exactly(rendered, key):
    _out, made = rendered
    path, docs, _pages = made[key]
    text = norm(run("pdftotext", "-layout", str(path), "-"))
    assert "\u25cc" not in text and "\ufffd" not in text  # no dotted circle (a broken cluster), no unknown glyph
    for doc in docs:
        for name in khmer_names(doc):
            assert norm(name) in text, f"{name!r} not in the text of {path.name}"
        if doc["kind"] == "slip":
            assert doc["reference"] in text
            for row in doc["household"]:  # every row, Latin names and relationship too: nothing cut off
                assert norm(" ".join(row[:2])) in text, row
        else:
            assert doc["member_no"] in text and norm(doc["name_latin"]) in text


def test_qt_alone_loses_khmer_clusters(tmp_path, ui_app, monkeypatch):
    """Why ui.printing.pdftext exists: without ActualText, Qt's ToUnicode map drops subscript consonants and puts
    pre-base vowels first. If this fails, Qt writes extractable Khmer by itself and pdftext may be dropped."""
    from ui.printing import render

    monkeypatch.setattr(render, "add_actual_text", lambda data, pages: (data, None))
    path = tmp_path / "raw.pdf"
    render.render_slip_pdf(sample_slip("km", household=4), path, "A4")
    text = norm(run("pdftotext", "-layout", str(path), "-"))
    assert "ចាន់ សុភ័ក្ត្រ" not in text and "ហេង សំណាង" not in text


def test_pdftext_leaves_an_unexpected_file_alone(tmp_path, ui_app, monkeypatch):
    from ui.printing import render
    from ui.printing.pdftext import add_actual_text

    seen = {}
    monkeypatch.setattr(render, "add_actual_text", lambda data, pages: seen.update(data=data, pages=pages) or
                        (data, None))
    render.render_slip_pdf(sample_slip("km", household=2), tmp_path / "x.pdf", "A4")
    fewer = [runs[:-1] for runs in seen["pages"]]
    data, problem = add_actual_text(seen["data"], fewer)
    assert data == seen["data"] and "text objects" in problem
    data, problem = add_actual_text(seen["data"], seen["pages"])
    assert problem is None and data.startswith(seen["data"]) and data.count(b"%%EOF") == 2


@pytest.mark.parametrize("key", ["slip-km-A4", "slip-en-80mm", "sheet-km", "id1-en"])
def test_fonts_are_the_bundled_ones_and_embedded(rendered, key):
    _out, made = rendered
    rows = run("pdffonts", str(made[key][0])).splitlines()[2:]
    assert rows
    names = [row.split()[0] for row in rows]
    assert all(row.split()[-5] == "yes" for row in rows), rows  # the emb column
    assert any(n.startswith("NotoSansKhmer") for n in names), names
    assert all(n.startswith(("NotoSansKhmer", "NotoSans")) for n in names), names


@pytest.mark.parametrize("key", KEYS)
def test_every_qr_reads_back(rendered, key):
    zxingcpp = pytest.importorskip("zxingcpp")
    image = pytest.importorskip("PIL.Image")
    out, made = rendered
    _path, docs, _pages = made[key]
    found = []
    for png in pngs(out, key):
        found += [r.text for r in zxingcpp.read_barcodes(image.open(png)) if r.format.name == "QRCode"]
    assert sorted(found) == sorted(d["qr"] for d in docs)
    if key.startswith("sheet"):
        assert len(set(found)) == 10


def test_slips_continue_on_a_next_page_or_grow(rendered):
    _out, made = rendered
    path, (doc,), pages = made["slip-km-A5"]
    assert pages == 2
    second = norm(run("pdftotext", "-f", "2", "-l", "2", "-layout", str(path), "-"))
    assert doc["title"] in second and doc["reference"] in second and "២ / ២" in second
    path, (doc,), pages = made["slip-en-80mm"]
    assert pages == 1
    width, height = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", run("pdfinfo", str(path))).groups())
    assert abs(width - 80 * PT_PER_MM) < 1 and height > 297 * PT_PER_MM  # ten people: longer than an A4 page


def words(path: Path):
    """(page width, page height, [(text, x0, y0, x1, y1)]) of each page, from pdftotext -bbox (points)."""
    html = run("pdftotext", "-bbox", str(path), "-")
    for page in re.finditer(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', html, re.S):
        found = [(m.group(5), *map(float, m.group(1, 2, 3, 4))) for m in re.finditer(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>', page.group(3))]
        yield float(page.group(1)), float(page.group(2)), found


def test_a_long_name_shrinks_onto_one_line_inside_the_card(rendered):
    """A long Latin name shrinks onto one line left of the QR; a longer one shrinks to the smallest legible size,
    then wraps: every word is there, every text box inside the card."""
    from ui.printing.card import CardLayout
    from ui.printing.text import Units
    from ui.qt import QImage

    _out, made = rendered
    path, docs, _pages = made["long"]
    image = QImage(1, 1, QImage.Format.Format_RGB32)
    image.setDotsPerMeterX(11811)
    image.setDotsPerMeterY(11811)
    for doc, (width, height, found) in zip(docs, words(path)):
        card = CardLayout(doc, Units(image))
        left_edge = (card.qr_x - Units(image).mm(0.2)) / Units(image).px_per_mm * PT_PER_MM
        for text, x0, y0, x1, y1 in found:
            assert 0 <= x0 and x1 <= width and 0 <= y0 and y1 <= height, text
        latin = [w for w in found if w[0].isascii() and w[0] in doc["name_latin"]]
        assert norm(" ".join(w[0] for w in latin)) == doc["name_latin"]
        assert max(w[3] for w in latin) <= left_edge
        lines = len({round(w[2]) for w in latin})
        assert lines == (1 if doc["name_latin"] == LONG_LATIN else 2), latin
    assert norm(LONG_KHMER) in norm(run("pdftotext", "-layout", str(path), "-"))


def test_on_the_sheet_every_word_stays_inside_its_card(rendered):
    from ui.printing.pages import CARD_H_MM, CARD_W_MM

    _out, made = rendered
    for key in ("sheet-km", "sheet-en"):
        (width, height, found), = list(words(made[key][0]))
        cw, ch = CARD_W_MM * PT_PER_MM, CARD_H_MM * PT_PER_MM
        x0, y0 = (width - 2 * cw) / 2, (height - 5 * ch) / 2
        assert len(found) > 100
        for text, a, b, c, d in found:
            col, row = int((a - x0) // cw), int((b - y0) // ch)
            assert 0 <= col < 2 and 0 <= row < 5, text
            assert c <= x0 + (col + 1) * cw + 0.5 and d <= y0 + (row + 1) * ch + 0.5, (text, col, row)


@pytest.mark.parametrize("key", KEYS)
def test_metadata_holds_no_personal_data(rendered, key):
    _out, made = rendered
    path, docs, _pages = made[key]
    info = run("pdfinfo", str(path)) + run("pdfinfo", "-meta", str(path))
    assert re.search(r"Title:\s+fieldapp (slip|card)\n", info) and re.search(r"Creator:\s+fieldapp\n", info)
    secrets = {p[0] for p in PEOPLE} | {p[1] for p in PEOPLE} | {p[1].title() for p in PEOPLE}
    for doc in docs:
        secrets |= {doc.get("reference", ""), doc.get("member_no", "")} | set(khmer_names(doc))
    assert not [s for s in secrets if s and s in info]


def test_pdf_needs_only_a_qguiapplication_and_no_display(tmp_path):
    code = ("import sys; from ui.printing.layout import render_cards_pdf, render_slip_pdf;"
            "from ui.printing.samples import sample_card, sample_slip; from ui.qt import QApplication, "
            "QGuiApplication; render_slip_pdf(sample_slip('km'), sys.argv[1], '80mm');"
            "render_cards_pdf([sample_card('km')], sys.argv[2], 'id1'); app = QGuiApplication.instance();"
            "assert app is not None and not isinstance(app, QApplication), type(app)")
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY")}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "s.pdf"), str(tmp_path / "c.pdf")],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "s.pdf").read_bytes().startswith(b"%PDF-1.6")


def test_paint_functions_draw_on_any_device(ui_app):
    from ui.printing.layout import paint_card, paint_slip
    from ui.qt import QColor, QImage, QPainter, QRectF

    image = QImage(int(148 / 25.4 * 150), int(210 / 25.4 * 150), QImage.Format.Format_RGB32)
    image.setDotsPerMeterX(5906)
    image.setDotsPerMeterY(5906)
    image.fill(QColor("white"))
    painter = QPainter(image)
    assert paint_slip(painter, sample_slip("km", household=10), QRectF(image.rect()), "A5", 1) == 2
    paint_card(painter, sample_card("km"), QRectF(0, 0, 200, 126))
    painter.end()
    dark = sum(1 for y in range(0, image.height(), 4) for x in range(0, image.width(), 4)
               if QColor(image.pixel(x, y)).lightness() < 128)
    assert dark > 500


def test_preview_and_no_printer(ui_app, qtbot, monkeypatch):
    from ui.printing import printer
    from ui.printing.layout import preview_dialog, print_documents, slip_page_count
    from ui.qt import QWidget

    monkeypatch.setattr(printer, "has_printer", lambda: False)
    assert print_documents(None, [sample_slip("km")], "slip", "A4") == "no_printer"
    docs = [sample_slip("km", household=10), sample_slip("en", household=2)]
    assert [slip_page_count(d, "A5") for d in docs] == [2, 1]  # ten people continue on a second page
    dialog = preview_dialog(None, docs, "slip", "A5")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    view = [w for w in dialog.findChildren(QWidget) if hasattr(w, "pageCount")]
    qtbot.waitUntil(lambda: view[0].pageCount() == 3)
    dialog.close()
    with pytest.raises(ValueError):
        preview_dialog(None, [sample_card("km")], "card", "A4")
