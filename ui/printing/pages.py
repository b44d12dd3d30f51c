"""The page sizes documents are printed on: A4, A5 and an 80 mm receipt roll for slips; one ID-1 card per page or
ten to an A4 sheet for cards."""

from __future__ import annotations

from dataclasses import dataclass

from ui.qt import QMarginsF, QPageLayout, QPageSize, QSizeF

CARD_W_MM, CARD_H_MM = 85.6, 54.0  # ISO/IEC 7810 ID-1


@dataclass(frozen=True)
class PageSpec:
    name: str
    kind: str                   # "slip" or "card"
    width_mm: float
    height_mm: float | None     # None: as long as the content (a receipt roll)
    margin_mm: float            # slips: around the content; sheets: at least, around the grid of cards
    scale: float = 1.0          # slips: the type scale
    columns: int = 1            # cards across a page
    rows: int = 1               # cards down a page
    label: str = ""

    @property
    def per_page(self) -> int:
        return self.columns * self.rows

    @property
    def roll(self) -> bool:
        return self.height_mm is None


PAGE_SIZES: dict[str, PageSpec] = {
    "A4": PageSpec("A4", "slip", 210.0, 297.0, 14.0, 1.0, label="A4 (210 x 297 mm)"),
    "A5": PageSpec("A5", "slip", 148.0, 210.0, 10.0, 0.8, label="A5 (148 x 210 mm)"),
    "80mm": PageSpec("80mm", "slip", 80.0, None, 4.0, 0.74, label="80 mm receipt roll"),
    "id1": PageSpec("id1", "card", CARD_W_MM, CARD_H_MM, 0.0, label="ID-1 card (85.6 x 54 mm)"),
    "a4-sheet": PageSpec("a4-sheet", "card", 210.0, 297.0, 8.0, columns=2, rows=5,
                         label="A4 sheet of 10 cards, with crop marks"),
}
SLIP_PAGES = tuple(k for k, v in PAGE_SIZES.items() if v.kind == "slip")
CARD_PAGES = tuple(k for k, v in PAGE_SIZES.items() if v.kind == "card")


def spec_for(page: str, kind: str) -> PageSpec:
    spec = PAGE_SIZES.get(page)
    if spec is None or spec.kind != kind:
        choices = ", ".join(k for k, v in PAGE_SIZES.items() if v.kind == kind)
        raise ValueError(f"unknown {kind} page {page!r} (one of {choices})")
    return spec


def page_size(spec: PageSpec, height_mm: float | None = None) -> QPageSize:
    if spec.name in ("A4", "a4-sheet"):
        return QPageSize(QPageSize.PageSizeId.A4)
    if spec.name == "A5":
        return QPageSize(QPageSize.PageSizeId.A5)
    height = spec.height_mm if spec.height_mm is not None else height_mm
    return QPageSize(QSizeF(spec.width_mm, height), QPageSize.Unit.Millimeter, spec.label,
                     QPageSize.SizeMatchPolicy.ExactMatch)


def page_layout(spec: PageSpec, height_mm: float | None = None) -> QPageLayout:
    """The page with no margins: the documents draw their own (the full page is the painter's rectangle)."""
    return QPageLayout(page_size(spec, height_mm), QPageLayout.Orientation.Portrait, QMarginsF(0, 0, 0, 0),
                       QPageLayout.Unit.Millimeter)
