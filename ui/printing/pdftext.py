"""Make the text Qt writes into a PDF extract as the characters that were drawn (ActualText).

Qt's PDF engine (qpdf.cpp, ``QPdfEnginePrivate::drawTextItem``) writes each glyph run as one text object
(``BT ... ET``) of glyph IDs, and the font's ToUnicode map by inverting its cmap
(``QFontSubset::createToUnicodeMap``). Shaped Khmer does not survive that: a glyph no single character maps to (a
subscript consonant, coeng + consonant; a ligature such as ដា) extracts as nothing, and a pre-base vowel (េ ែ ៃ)
extracts before its consonant, in visual order, so "ចាន់ សុភ័ក្ត្រ" comes back as "ន់ សុភ័ ក". Qt has the code
for ActualText spans disabled (``#if 0 // #### implement actual text for complex languages``).

So, after the writer has finished: ``ui.printing.text`` draws every run itself and records its characters
(``Recorder``), and ``add_actual_text`` wraps the n-th text object of each page in
``/Span << /ActualText <UTF-16 of the n-th run> >> BDC ... EMC`` (PDF 1.5+), appended as an incremental update
(new content streams, a new cross-reference section pointing back to Qt's). The glyphs drawn are unchanged. If
the file is not laid out as expected (a page whose text objects do not match the runs recorded for it), nothing
is changed and the reason is returned.
"""

from __future__ import annotations

import re
import zlib

_OBJ = re.compile(rb"(\d+)\s+0\s+obj\b")


class PdfShapeError(ValueError):
    pass


def _hex_text(text: str) -> bytes:
    return b"<FEFF" + text.encode("utf-16-be").hex().upper().encode() + b">" if text else b"<>"


class _Pdf:
    def __init__(self, data: bytes):
        self.data = data
        tail = re.search(rb"startxref\s+(\d+)\s+%%EOF\s*$", data)
        if not tail:
            raise PdfShapeError("no startxref")
        self.prev = int(tail.group(1))
        section = data[self.prev:tail.start()]
        if not section.startswith(b"xref"):
            raise PdfShapeError("not a classic cross-reference table")
        table, _, trailer = section.partition(b"trailer")
        self.trailer = trailer
        self.offsets: dict[int, int] = {}
        lines = table.split(b"\n")[1:]
        i = 0
        while i < len(lines):
            head = lines[i].split()
            i += 1
            if len(head) != 2:
                continue
            first, count = int(head[0]), int(head[1])
            for k in range(count):
                fields = lines[i + k].split()
                if len(fields) == 3 and fields[2] == b"n":
                    self.offsets[first + k] = int(fields[0])
            i += count

    def body(self, num: int) -> bytes:
        start = self.offsets[num]
        m = _OBJ.match(self.data, start)
        if not m or int(m.group(1)) != num:
            raise PdfShapeError(f"object {num} not at its offset")
        end = self.data.index(b"endobj", m.end())
        return self.data[m.end():end]

    def ref(self, body: bytes, key: bytes) -> int:
        m = re.search(rb"/" + key + rb"\s+(\d+)\s+0\s+R", body)
        if not m:
            raise PdfShapeError(f"no /{key.decode()} reference")
        return int(m.group(1))

    def pages(self, num: int) -> list[int]:
        body = self.body(num)
        if re.search(rb"/Type\s*/Pages\b", body):
            kids = re.search(rb"/Kids\s*\[(.*?)\]", body, re.S)
            out: list[int] = []
            for kid in re.findall(rb"(\d+)\s+0\s+R", kids.group(1) if kids else b""):
                out += self.pages(int(kid))
            return out
        return [num]

    def stream(self, num: int) -> bytes:
        body = self.body(num)
        head, sep, rest = body.partition(b"stream")
        if not sep:
            raise PdfShapeError(f"object {num} has no stream")
        rest = rest[2:] if rest.startswith(b"\r\n") else rest[1:]
        m = re.search(rb"/Length\s+(\d+)(\s+0\s+R)?", head)
        if not m:
            raise PdfShapeError(f"object {num} has no /Length")
        length = int(self.body(int(m.group(1))).strip()) if m.group(2) else int(m.group(1))
        raw = rest[:length]
        return zlib.decompress(raw) if b"/FlateDecode" in head else raw


def wrap_text_objects(content: bytes, texts: list[str]) -> bytes:
    """``content`` with its n-th ``BT ... ET`` in an ActualText span of ``texts[n]``."""
    lines = content.split(b"\n")
    count = sum(1 for line in lines if line.strip() == b"BT")
    if count != len(texts):
        raise PdfShapeError(f"{count} text objects on the page, {len(texts)} runs drawn")
    out, n = [], 0
    for line in lines:
        if line.strip() == b"BT":
            out.append(b"/Span << /ActualText " + _hex_text(texts[n]) + b" >> BDC")
            n += 1
        out.append(line)
        if line.strip() == b"ET":
            out.append(b"EMC")
    return b"\n".join(out)


def add_actual_text(data: bytes, pages: list[list[str]]) -> tuple[bytes, str | None]:
    """``data`` (a PDF QPdfWriter wrote) with ActualText for each page's runs; ``(data, None)`` when done, else the
    PDF unchanged and why."""
    try:
        pdf = _Pdf(data)
        root = pdf.ref(pdf.trailer, b"Root")
        page_objs = pdf.pages(pdf.ref(pdf.body(root), b"Pages"))
        if len(page_objs) != len(pages):
            raise PdfShapeError(f"{len(page_objs)} pages in the file, {len(pages)} drawn")
        updates = []
        for page, texts in zip(page_objs, pages):
            contents = pdf.ref(pdf.body(page), b"Contents")
            updates.append((contents, wrap_text_objects(pdf.stream(contents), texts)))
    except (PdfShapeError, KeyError, ValueError, zlib.error) as exc:
        return data, f"{type(exc).__name__}: {exc}"
    out = bytearray(data if data.endswith(b"\n") else data + b"\n")
    offsets = []
    for num, content in updates:
        packed = zlib.compress(content, 6)
        offsets.append((num, len(out)))
        out += b"%d 0 obj\n<<\n/Length %d\n/Filter /FlateDecode\n>>\nstream\n" % (num, len(packed))
        out += packed + b"\nendstream\nendobj\n"
    xref = len(out)
    out += b"xref\n"
    for num, offset in sorted(offsets):
        out += b"%d 1\n%010d 00000 n \n" % (num, offset)
    fields = re.findall(rb"/(?:Size|Root|Info)\s+\d+(?:\s+0\s+R)?", pdf.trailer)
    ident = re.search(rb"/ID\s*\[[^\]]*\]", pdf.trailer)
    out += b"trailer\n<<\n" + b"\n".join(fields + ([ident.group(0)] if ident else []))
    out += b"\n/Prev %d\n>>\nstartxref\n%d\n%%%%EOF\n" % (pdf.prev, xref)
    return bytes(out), None
