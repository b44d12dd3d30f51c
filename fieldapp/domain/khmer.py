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
* :func:`phonetic_key` is a looser key beside it: spellings of a name that
  *sound* alike, such as ដារ៉ា / ដារា, share it (its rules are below, at the
  function). Search and the duplicate check use both keys.

A personal name is stored by :func:`clean_name`: the normalised text without any
zero-width space (the Khmer keyboard types one between words, and it never
belongs inside a name).
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


def clean_name(text) -> str:
    """Storage form of a personal name: :func:`normalize_text` without zero-width
    spaces. A zero-width space between two words is removed, not made a space:
    Khmer writes a compound given name as one word (ស្រីមុំ)."""
    return normalize_text(text).replace(ZWSP, "")


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



# --------------------------------------------------------------------------- #
# Phonetic key
# --------------------------------------------------------------------------- #
def phonetic_key(text) -> str:
    """Key equal for Khmer spellings of a name that sound alike; ``""`` for text with no Khmer letter.

    Computed from :func:`match_key` (equal match keys give equal phonetic keys), one run of Khmer letters at a
    time; anything else (Latin, digits, punctuation) is left out. The key is Khmer letters and vowel signs without
    coeng, so it can sit in the same trigram index as the match keys. Each written syllable is read as
    *onset + vowel + final*:

    1. Independent vowels are written out as អ (or រ, ល) with the vowel they sound like: ឧ = អុ, ឥ = អិ, ឱ = អោ.
       A subscript អ is silent (ស្អាង = សាង); ហ before a subscript sonorant only marks its series (ហ្លួង = លួង).
    2. Series are ignored: each series-1/series-2 pair is one letter (ក/គ, ខ/ឃ, ច/ជ, ឆ/ឈ, ដ/ឌ), and so are
       letters that sound alike: ត/ថ/ទ/ធ/ឋ/ឍ, ព/ភ/ផ, ណ/ន, ល/ឡ, ស/ឝ/ឞ. The register shifters ៉ and ៊ are
       dropped (ដារ៉ា = ដារា), except that ប៉ is p (ព). Aspiration stays: ក/ខ and ច/ឆ are different names.
    3. Vowel length is ignored: ិ/ី, ុ/ូ, ឹ/ឺ; ោ is read as ុ (សោភា = សុភា, Sophea); ា shortened by bantoc ់
       before a final is read as no vowel (ចាន់ = ចន); ំ with no vowel is a final m (សំបត្តិ = សម្បត្តិ).
       Other vowels stay apart (ួ/ូ, េ/ិ, ែ/េ, ៀ/េ), and so do ុំ/ុម and ៈ (ស៊ុំ Sum is not សោម Saom,
       វណ្ណៈ Vannak is not វណ្ណា Vanna).
    4. Finals: a consonant after a syllable with no final yet, with no vowel of its own, ends that syllable.
       Finals that sound alike are one letter: ក/ខ/គ/ឃ, ច/ឆ/ជ/ឈ, ដ/ឌ/ត/ថ/ទ/ធ/ឋ/ឍ, ប/ផ/ព/ភ; a final រ is
       silent (រការ = រកា). At the end of a word the subscripts under a final are silent (សាន្ត = សាន,
       ពេជ្រ = ពេជ, វង្ស = វង), and so is a short ិ or ុ after such a stack (សិទ្ធិ = សិទ្ធ).
    5. Inside a word a stack whose base ends the previous syllable is split (ចន្ទ្រា = ចន + ទ្រា) when the
       subscript doubles the base (ត្ត, ប្ផ, ក្ខ, ជ្ជ, ណ្ណ: written once, មេត្តា = មេតា) or the base is a
       nasal before a stop (ន្ទ, ម្ប, ង្គ, ញ្ច). Other stacks are onsets (ស្រី).
    6. Silent letters: ៍ drops the consonant under it (or the subscripts of its stack: វង្ស៍ = វង); ៌ ៎ ៏ ័
       ៑ ៓ ៝ are dropped (ច័ន្ទ = ចន្ទ).

    tests/test_khmer_phonetic.py measures it on the 1,000 names of ``../shared/data/khmer-names`` (spellings
    romanised alike are joined, different names kept apart) and on the NCDD gazetteer's village names. A change to
    these rules needs a migration that recomputes the stored keys, as migration 5 computed them.
    """
    return "".join(_run_key(run) for run in _KHMER_RUN.findall(match_key(text)))


def phonetic_name_key(family, given) -> str | None:
    """The duplicate check's phonetic key of a person, ``family|given``; ``None`` unless both parts have one."""
    fam, giv = phonetic_key(family), phonetic_key(given)
    return f"{fam}|{giv}" if fam and giv else None


_COENG = "\u17d2"
_KHMER_RUN = re.compile("[\u1780-\u17d3\u17dd]+")
_INDEPENDENT = str.maketrans({"ឣ": "អ", "ឤ": "អា", "ឥ": "អិ", "ឦ": "អី", "ឧ": "អុ", "ឨ": "អុក", "ឩ": "អូ",
                              "ឪ": "អៅ", "ឫ": "រឹ", "ឬ": "រឺ", "ឭ": "លឹ", "ឮ": "លឺ", "ឯ": "អែ", "ឰ": "អៃ",
                              "ឱ": "អោ", "ឲ": "អោ", "ឳ": "អៅ"})
_ONSET = str.maketrans({"គ": "ក", "ឃ": "ខ", "ជ": "ច", "ឈ": "ឆ", "ឌ": "ដ", "ថ": "ត", "ទ": "ត", "ធ": "ត", "ឋ": "ត",
                        "ឍ": "ត", "ណ": "ន", "ផ": "ព", "ភ": "ព", "ឡ": "ល", "ឝ": "ស", "ឞ": "ស"})
_FINAL = str.maketrans({"ខ": "ក", "ឆ": "ច", "ដ": "ត", "ប": "ព"})  # after _ONSET
_VOWEL = str.maketrans({"ី": "ិ", "ូ": "ុ", "ោ": "ុ", "ឺ": "ឹ"})
_NUCLEUS_SIGNS = "ំះៈ"
_SONORANTS = set("ងញណនមយរលវឡ")
#: Stops by place of articulation: a subscript of the same place as its base doubles it (ត្ត, ក្ខ, ប្ផ).
_PLACE = {**dict.fromkeys("កខគឃ", "k"), **dict.fromkeys("ចឆជឈ", "c"), **dict.fromkeys("ដឋឌឍតថទធ", "t"),
          **dict.fromkeys("បផពភ", "p")}
_NASALS = set("ងញណនម")


def _clusters(run: str) -> list[tuple[str, list[str], str, str]]:
    """(base, subscripts, vowels, signs) of each written cluster of a run of Khmer letters (rule 1 applied)."""
    out: list[tuple[str, list[str], str, str]] = []
    chars = run.translate(_INDEPENDENT)
    i = 0
    while i < len(chars):
        ch = chars[i]
        if "\u1780" <= ch <= "\u17a2":
            out.append((ch, [], "", ""))
        elif ch == _COENG:
            if out and i + 1 < len(chars) and "\u1780" <= chars[i + 1] <= "\u17a2":
                out[-1][1].append(chars[i + 1])
                i += 1
        elif out:
            base, subs, vowels, signs = out[-1]
            is_vowel = "\u17b6" <= ch <= "\u17c5"
            out[-1] = (base, subs, vowels + ch if is_vowel else vowels, signs if is_vowel else signs + ch)
        i += 1
    for n, (base, subs, vowels, signs) in enumerate(out):
        subs = [s for s in subs if s != "អ"]
        if base == "ហ" and subs and subs[0] in _SONORANTS:
            base, subs = subs[0], subs[1:]
        out[n] = (base, subs, vowels, signs)
    return out


def _onset(base: str, subs: list[str], signs: str = "") -> str:
    first = "ព" if base == "ប" and "៉" in signs else base.translate(_ONSET)
    return first + "".join(s.translate(_ONSET) for s in subs)


def _final(base: str) -> str:
    return base.translate(_ONSET).translate(_FINAL)


def _same_place(a: str, b: str) -> bool:
    return _PLACE.get(a, a.translate(_ONSET)) == _PLACE.get(b, b.translate(_ONSET))


@lru_cache(maxsize=8192)
def _run_key(run: str) -> str:
    clusters = _clusters(run)
    syllables: list[list[str]] = []  # [onset, vowel, final]
    last = len(clusters) - 1
    for index, (base, subs, vowels, signs) in enumerate(clusters):
        if index and "៍" in signs:
            if not subs:
                continue
            subs = []
        if index == last and index and subs and vowels in ("ិ", "ុ"):
            vowels = ""  # the silent final vowel of a Pali or Sanskrit spelling
        vowel = vowels.translate(_VOWEL)
        nucleus = "".join(c for c in signs if c in _NUCLEUS_SIGNS)
        final_m = "ម" if nucleus == "ំ" and not vowel else ""
        vowel += "" if final_m else nucleus
        has_vowel = bool(vowel or final_m) or "័" in signs
        prev = syllables[-1] if syllables else None
        is_open = prev is not None and not prev[2] and not any(c in prev[1] for c in _NUCLEUS_SIGNS)
        if prev is None:
            syllables.append([_onset(base, subs, signs), vowel, final_m])
        elif not has_vowel and (not subs or index == last):
            if is_open:  # at the end of a word the subscripts are silent
                prev[2] = _final(base)
            else:
                syllables.append([_onset(base, [] if index == last else subs, signs), "", ""])
        elif is_open and subs and (_same_place(base, subs[0]) or (base in _NASALS and subs[0] in _PLACE)):
            if not _same_place(base, subs[0]):
                prev[2] = _final(base)
            syllables.append([_onset(subs[0], subs[1:]), vowel, final_m])
        else:
            syllables.append([_onset(base, subs, signs), vowel, final_m])
        if "់" in signs and syllables[-1][2] and syllables[-1][1] == "ា":
            syllables[-1][1] = ""  # ា shortened by bantoc
    return "".join(onset + vowel + ("" if final == "រ" else final) for onset, vowel, final in syllables)
