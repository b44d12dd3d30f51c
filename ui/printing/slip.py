"""The enrollment acknowledgement slip: laid out for A4, A5 or an 80 mm roll, paginated (A4/A5: the household
table continues on the next page, its header repeated; the roll grows to fit), drawn page by page.

Page 1: the scheme line and the title, the reference in a framed panel, the enrollment's fields in a ruled grid,
the household table, then the notes beside the QR panel (on the roll: one column, QR centred). Every page: the
footer and, when there is more than one, the page number; pages after the first repeat the title and reference.
"""

from __future__ import annotations

from ui.printing.blocks import (Block, Bullets, Columns, FieldGrid, Heading, QrPanel, Space, Table, frame, hline)
from ui.printing.pages import PageSpec
from ui.printing.text import ACCENT, INK, MUTED, RULE, SHADE, Para, Style, khmer_digits
from ui.qt import QRectF

SLIP_QR_MIN_MM = 0.5   # the smallest QR module on a slip
QR_SIDE_MM = {"A4": 42.0, "A5": 34.0, "80mm": 48.0}


def styles(k: float) -> dict[str, Style]:
    return {"subtitle": Style(9.5 * k, 500, MUTED), "title": Style(20 * k, 700, ACCENT),
            "ref_label": Style(8 * k, 600, MUTED), "ref": Style(20 * k, 700, INK, spacing=108.0),
            "label": Style(7.5 * k, 500, MUTED), "value": Style(11 * k),
            "heading": Style(12 * k, 700, ACCENT), "th": Style(9 * k, 700), "td": Style(10.5 * k),
            "section": Style(11 * k, 700), "line": Style(10 * k), "caption": Style(8 * k, 400, MUTED),
            "footer": Style(8 * k, 400, MUTED), "cont_title": Style(12 * k, 700, ACCENT),
            "cont_ref": Style(10 * k, 600)}


class RefPanel(Block):
    """The reference, big, under its label, in a framed and shaded panel."""

    def __init__(self, units, label: str, reference: str, width: float, s, center: bool, shade: bool):
        self.units, self.width, self.shade = units, width, shade
        self.pad = units.mm(2.6 * s["ref"].size / 20)
        inner = width - 2 * self.pad
        align = "center" if center else "left"
        self.label = Para(units, label, s["ref_label"].with_(align=align), inner)
        self.value = Para(units, reference, s["ref"].with_(align=align), inner, max_lines=1,
                          min_size=s["ref"].size * 0.6)
        self.height = 2 * self.pad + self.label.height + self.value.height

    @staticmethod
    def natural_width(units, label: str, reference: str, s) -> float:
        big = units.mm(300)
        pad = units.mm(2.6 * s["ref"].size / 20)
        return max(Para(units, label, s["ref_label"], big).natural, Para(units, reference, s["ref"], big).natural) \
            + 2 * pad + units.mm(1)

    def draw(self, painter, x, y, rec) -> None:
        frame(painter, QRectF(x, y, self.width, self.height), self.units.mm(0.5), ACCENT,
              SHADE if self.shade else None)
        top = y + self.pad
        top += self.label.draw(painter, x + self.pad, top, rec)
        self.value.draw(painter, x + self.pad, top, rec)


class SlipHeader(Block):
    """The scheme line across the top; the title (left) beside the reference panel (right; on the roll, under
    the title); then a heavy rule."""

    def __init__(self, units, doc: dict, width: float, s, roll: bool, shade: bool):
        self.units, self.width, self.roll = units, width, roll
        ref = (doc.get("reference_label", ""), doc.get("reference", ""))
        if roll:
            self.panel_w = left_w = width
        else:
            self.panel_w = min(max(RefPanel.natural_width(units, *ref, s), units.mm(40)), width * 0.45)
            left_w = width - self.panel_w - units.mm(4)
        self.sub = Para(units, doc.get("subtitle", ""), s["subtitle"], width)
        self.title = Para(units, doc.get("title", ""), s["title"], left_w)
        self.panel = RefPanel(units, *ref, self.panel_w, s, center=roll, shade=shade)
        self.row_y = self.sub.height + units.mm(2.5)
        if roll:
            self.panel_y = self.row_y + self.title.height + units.mm(2)
            self.rule_y = self.panel_y + self.panel.height + units.mm(3)
        else:
            self.panel_y = self.row_y
            self.rule_y = self.row_y + max(self.title.height, self.panel.height) + units.mm(2.5)
        self.rule = units.mm(0.9)
        self.height = self.rule_y + self.rule

    def draw(self, painter, x, y, rec) -> None:
        self.sub.draw(painter, x, y, rec)
        title_y = y + self.row_y
        if not self.roll and self.panel.height > self.title.height:  # the title centred on the panel
            title_y += (self.panel.height - self.title.height) / 2
        self.title.draw(painter, x, title_y, rec)
        self.panel.draw(painter, x + self.width - self.panel_w, y + self.panel_y, rec)
        hline(painter, x, x + self.width, y + self.rule_y + self.rule / 2, self.rule, ACCENT)


class ContinuationHeader(Block):
    """Pages after the first: the title and the reference on one line, over a rule."""

    def __init__(self, units, doc: dict, width: float, s):
        self.units, self.width = units, width
        ref = f"{doc.get('reference_label', '')} {doc.get('reference', '')}".strip()
        self.ref = Para(units, ref, s["cont_ref"].with_(align="right"), width * 0.45)
        self.title = Para(units, doc.get("title", ""), s["cont_title"], width - self.ref.natural - units.mm(4))
        self.rule_y = max(self.title.height, self.ref.height) + units.mm(1.5)
        self.height = self.rule_y + units.mm(4)

    def draw(self, painter, x, y, rec) -> None:
        self.title.draw(painter, x, y, rec)
        self.ref.draw(painter, x + self.width - self.ref.width, y + self.title.ascent - self.ref.ascent, rec)
        hline(painter, x, x + self.width, y + self.rule_y, self.units.mm(0.5), ACCENT)


class SlipLayout:
    """A slip laid out for ``spec`` on a device (``units``): ``pages`` of (block, y) and, on a roll, the page
    height it needs (``height_mm``)."""

    def __init__(self, doc: dict, spec: PageSpec, units, width_px: float, height_px: float | None = None):
        self.doc, self.spec, self.units = doc, spec, units
        u, k = units, spec.scale
        self.s = s = styles(k)
        self.margin = u.mm(spec.margin_mm)
        self.width = cw = width_px - 2 * self.margin
        self.shade = not spec.roll  # a thermal roll prints shading as noise
        self.lang = doc.get("lang", "en")
        self.pagenum_w = 0.0 if spec.roll else Para(u, "00 / 00", s["footer"], u.mm(100)).natural + u.mm(4)
        self.footer = Para(u, doc.get("footer", ""), s["footer"], cw - self.pagenum_w)
        self.footer_h = self.footer.height + u.mm(5 * k)
        first = [SlipHeader(u, doc, cw, s, spec.roll, self.shade)]
        self.cont = ContinuationHeader(u, doc, cw, s)
        if spec.roll:
            blocks = first + self._body(None)
            self.pages = [list(self._place(blocks))]
            used = sum(b.height for b in blocks)
            self.height_mm = u.to_mm(used + self.footer_h + 2 * self.margin) + 2
            self.page_h = u.mm(self.height_mm)
        else:
            self.page_h = height_px
            avail = height_px - 2 * self.margin - self.footer_h
            self.pages = self._paginate(first + self._body(avail - self.cont.height), avail)
            self.height_mm = u.to_mm(height_px)

    # ------------------------------------------------------------------ content
    def _body(self, page_room: float | None) -> list[Block]:
        u, s, cw, k, doc = self.units, self.s, self.width, self.spec.scale, self.doc
        gap = u.mm(5 * k)
        blocks: list[Block] = [Space(u.mm(4 * k))]
        fields = [f for f in doc.get("fields", []) if len(f) >= 2]
        if fields:
            cols = 1 if self.spec.roll else 2
            blocks += [FieldGrid(u, fields, cw, cols, s["label"], s["value"], False), Space(gap)]
        rows = doc.get("household", [])
        if rows or doc.get("household_header"):
            table = Table(u, doc.get("household_header", []), rows, cw, s["th"], s["td"], self.shade)
            heading = Heading(u, doc.get("household_title", ""), s["heading"], cw)
            header = table.row(table.header, header=True)
            blocks += [heading, header]
            for i, r in enumerate(table.rows):
                row = table.row(r, shade=self.shade and i % 2 == 1)
                row.repeat = [Heading(u, doc.get("household_title", ""), s["heading"], cw),
                              table.row(table.header, header=True)]
                blocks.append(row)
            blocks.append(Space(gap))
        notes = self._notes(cw)
        side = QR_SIDE_MM[self.spec.name]
        if self.spec.roll:
            qr = QrPanel(u, doc.get("qr", ""), doc.get("qr_caption", ""), cw, side, SLIP_QR_MIN_MM, s["caption"],
                         framed=False)
            return blocks + notes + ([Space(gap)] if notes else []) + [qr]
        qr_w = u.mm(side) + 2 * u.mm(2.5)
        qr = QrPanel(u, doc.get("qr", ""), doc.get("qr_caption", ""), qr_w, side, SLIP_QR_MIN_MM, s["caption"])
        qr_w = qr.width
        left_w = cw - qr_w - u.mm(6 * k)
        pair = Columns(self._notes(left_w), [qr], left_w, u.mm(6 * k))
        if page_room is None or pair.height <= page_room:
            return blocks + [pair]
        return blocks + notes + [Space(gap), qr]  # taller than a page: one column, the QR after

    def _notes(self, width: float) -> list[Block]:
        u, s, out = self.units, self.s, []
        for sec in self.doc.get("sections", []):
            if out:
                out.append(Space(u.mm(3 * self.spec.scale)))
            out.append(Bullets(u, sec.get("title", ""), sec.get("lines", []), width, s["section"], s["line"]))
        return out

    @staticmethod
    def _place(blocks):
        y = 0.0
        for b in blocks:
            yield b, y
            y += b.height

    def _paginate(self, blocks: list[Block], avail: float) -> list[list[tuple[Block, float]]]:
        """Whole blocks onto pages of ``avail`` height; a block and those it is kept with move on together; a
        table row starting a page brings the table's heading and header row with it."""
        pages: list[list[tuple[Block, float]]] = [[]]
        y, placed, i = 0.0, False, 0
        while i < len(blocks):
            b = blocks[i]
            if isinstance(b, Space) and not placed and len(pages) > 1:
                i += 1
                continue
            need, j = b.height, i
            while blocks[j].keep_with_next and j + 1 < len(blocks):
                j += 1
                need += blocks[j].height
            if y + need > avail and placed:
                pages.append([(self.cont, 0.0)])
                y, placed = self.cont.height, False
                for extra in getattr(b, "repeat", []):
                    pages[-1].append((extra, y))
                    y += extra.height
                continue
            pages[-1].append((b, y))
            y += b.height
            placed, i = True, i + 1
        return pages

    # ------------------------------------------------------------------ drawing
    @property
    def page_count(self) -> int:
        return len(self.pages)

    def paint(self, painter, rect, index: int, rec=None) -> None:
        u, k = self.units, self.spec.scale
        x0, y0 = rect.x() + self.margin, rect.y() + self.margin
        bottom = y0
        for block, y in self.pages[index]:
            block.draw(painter, x0, y0 + y, rec)
            bottom = max(bottom, y0 + y + block.height)
        top = (bottom + u.mm(2 * k)) if self.spec.roll else (rect.y() + self.page_h - self.margin - self.footer_h)
        hline(painter, x0, x0 + self.width, top + u.mm(2.2 * k), u.mm(0.25), RULE)
        self.footer.draw(painter, x0, top + u.mm(3.4 * k), rec)
        if self.page_count > 1:
            number = khmer_digits(f"{index + 1} / {self.page_count}", self.lang)
            Para(u, number, self.s["footer"].with_(align="right"), self.pagenum_w).draw(
                painter, x0 + self.width - self.pagenum_w, top + u.mm(3.4 * k), rec)
