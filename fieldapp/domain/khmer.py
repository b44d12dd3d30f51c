"""Khmer text helpers: digits, normalisation for storage, keys for matching.

Two forms of a piece of text are used across the app:

* :func:`normalize_text` is what we **store and display**: trimmed, single
  spaces, invisible junk removed, Khmer syllables put in canonical order by the
  Khmer Character Specification normaliser (``khmerspell``). Zero-width spaces,
  which the Khmer keyboard inserts between words, are kept (a run of them
  becomes one).
* :func:`match_key` is what we **compare and search** with: the normalised text
  without any zero-width characters or whitespace, case-folded, with known
  variant spellings mapped to one form. Two spellings of the same name that
  differ only in those respects get equal keys.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

try:  # pragma: no cover - the import itself is exercised by every test
    from khmerspell import khnormal as _khnormal
except Exception:  # pragma: no cover - a broken install must not break the app
    _khnormal = None

ZWSP, ZWNJ, ZWJ, WORD_JOINER, BOM = "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"
#: Invisible format characters that carry meaning in Khmer and are kept.
_KEPT_FORMAT = {ZWSP, ZWNJ, ZWJ}
#: Removed by match_key on top of whitespace.
_IGNORED_FOR_MATCHING = {ord(c): None for c in (ZWSP, ZWNJ, ZWJ, WORD_JOINER, BOM)}
#: Khmer inherent vowels U+17B4/U+17B5: invisible and discouraged by Unicode.
_DISCOURAGED = {"\u17b4", "\u17b5"}

#: A gap between words: whitespace and/or ZWSP. It becomes one ZWSP if it
#: holds one, else one space.
_GAP = re.compile(r"[\s" + ZWSP + "]+")

#: Spelling variants mapped to one form in match keys (legacy -> modern).
_VARIANTS = (
    ("\u1791\u17d2\u1794", "\u17a1"),  # ទ្ប (TO + coeng BA) -> ឡ (LA)
    ("\u17d2\u178a", "\u17d2\u178f"),  # coeng DA -> coeng TA (if not done already)
)

_KHMER_RANGES = ((0x1780, 0x17FF), (0x19E0, 0x19FF))
_LATIN_PUNCTUATION = set(" -'.\u2019")
_KHMER_NAME_EXTRA = set("-.'()\u2019") | _KEPT_FORMAT


# --------------------------------------------------------------------------- #
# Digits
# --------------------------------------------------------------------------- #
def to_ascii_digits(text: str) -> str:
    """Replace every Unicode decimal digit (Khmer ០-៩, Thai, Arabic-Indic, ...)
    with the ASCII digit of the same value. Other characters are unchanged."""
    text = str(text)
    if text.isascii():
        return text
    out = []
    for ch in text:
        value = unicodedata.decimal(ch, None) if not ch.isascii() else None
        out.append(str(value) if value is not None else ch)
    return "".join(out)


# --------------------------------------------------------------------------- #
# Normalisation
# --------------------------------------------------------------------------- #
def _is_removed(ch: str) -> bool:
    """True for characters that never belong in stored text.

    Control characters (except whitespace, which is collapsed later),
    surrogates, and invisible format characters other than ZWSP/ZWNJ/ZWJ.
    """
    if ch in _KEPT_FORMAT:
        return False
    if ch in _DISCOURAGED:
        return True
    category = unicodedata.category(ch)
    if category == "Cc":
        return not ch.isspace()
    return category in ("Cf", "Cs")


#: khmerspell sorts each syllable on its own; a syllable starts at a base
#: character that does not follow a coeng or ZWJ. Splitting there gives the
#: same result as normalising the whole text, and short syllables repeat a lot.
_SYLLABLE_START = re.compile("(?<![\u17d2\u200d])(?=[\u1780-\u17a2\u17a5-\u17b3])")
_CACHED_PIECE_MAX = 32
_MAX_PASSES = 4


@lru_cache(maxsize=16384)
def _khnormal_cached(piece: str) -> str:
    return _khnormal_safe(piece)


def _khnormal_safe(text: str) -> str:
    """khmerspell's normaliser, applied defensively: never raises."""
    try:
        result = _khnormal(text)
    except Exception:  # the third-party normaliser must never break input
        return text
    return result if isinstance(result, str) else text


def _khmer_normalise(text: str) -> str:
    """Khmer normaliser, syllable by syllable with a cache (about 70 us per
    name uncached, which matters when indexing the gazetteer)."""
    if _khnormal is None or not any(0x1780 <= ord(c) <= 0x17FF for c in text):
        return text
    for _ in range(_MAX_PASSES):  # odd ZWJ/ZWNJ runs need a second pass to settle
        result = "".join(_khnormal_cached(piece) if len(piece) <= _CACHED_PIECE_MAX
                         else _khnormal_safe(piece) for piece in _SYLLABLE_START.split(text))
        if result == text:
            break
        text = result
    return text


def normalize_text(text) -> str:
    """Storage/display form of *text* (``None`` becomes ``""``).

    Removes control and invisible format characters (keeping ZWSP, ZWNJ and
    ZWJ), collapses runs of whitespace to one space and runs of ZWSP to one,
    trims, applies NFC and the Khmer normaliser.
    """
    if text is None:
        return ""
    text = str(text)
    text = "".join(ch for ch in text if not _is_removed(ch))
    text = unicodedata.normalize("NFC", text)
    text = _khmer_normalise(text)
    text = _GAP.sub(lambda gap: ZWSP if ZWSP in gap.group() else " ", text)
    return text.strip(" " + ZWSP)


def match_key(text) -> str:
    """Key for comparing and searching: equal for spellings that differ only
    in zero-width characters, whitespace, letter case or known variants."""
    text = normalize_text(text).translate(_IGNORED_FOR_MATCHING)
    text = "".join(text.split())
    for old, new in _VARIANTS:
        text = text.replace(old, new)
    return text.casefold()


# --------------------------------------------------------------------------- #
# Script checks
# --------------------------------------------------------------------------- #
def _is_khmer_char(ch: str) -> bool:
    code = ord(ch)
    return any(lo <= code <= hi for lo, hi in _KHMER_RANGES)


def _is_latin_letter(ch: str) -> bool:
    return ch.isalpha() and "LATIN" in unicodedata.name(ch, "")


def is_khmer_text(text) -> bool:
    """True if *text* has at least one Khmer letter and no Latin letters."""
    if not isinstance(text, str):
        return False
    has_khmer = any(_is_khmer_char(ch) and ch.isalpha() for ch in text)
    return has_khmer and not any(_is_latin_letter(ch) for ch in text)


def is_latin_text(text) -> bool:
    """True if *text* has at least one letter and every character is a Latin
    letter (accents allowed) or a space, hyphen, apostrophe or dot."""
    if not isinstance(text, str):
        return False
    has_letter = False
    for ch in unicodedata.normalize("NFC", text):
        if _is_latin_letter(ch):
            has_letter = True
        elif ch not in _LATIN_PUNCTUATION and not 0x300 <= ord(ch) <= 0x36F:
            return False
    return has_letter


def is_khmer_name(text) -> bool:
    """Stricter than :func:`is_khmer_text`, for personal names: Khmer
    characters, spaces, zero-width characters and ``- . ' ( )`` only."""
    if not is_khmer_text(text):
        return False
    return all(_is_khmer_char(ch) or ch.isspace() or ch in _KHMER_NAME_EXTRA for ch in text)
