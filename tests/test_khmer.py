"""Khmer text helpers: digits, normalisation and match keys."""
import pytest

from fieldapp.domain.khmer import (is_khmer_name, is_khmer_text, is_latin_text, match_key,
                            normalize_text, to_ascii_digits)

ZWSP = "\u200b"


@pytest.mark.parametrize("text, expected", [
    ("០១២៣៤៥៦៧៨៩", "0123456789"),
    ("០១២ ៣៤៥", "012 345"),
    ("abc 123", "abc 123"),
    ("١٢٣", "123"),          # Arabic-Indic digits are decimal digits too
    ("๒๕๖๗", "2567"),        # Thai
    ("²", "²"),              # superscript is a digit but not a decimal digit
    ("", ""),
])
def test_to_ascii_digits(text, expected):
    assert to_ascii_digits(text) == expected


def test_normalize_trims_and_collapses_whitespace():
    assert normalize_text("  សុខ \t\n  ហេង  ") == "សុខ ហេង"
    assert normalize_text(None) == ""
    assert normalize_text("") == ""


def test_normalize_keeps_single_zwsp():
    assert normalize_text("សុខ" + ZWSP * 3 + "ហេង") == "សុខ" + ZWSP + "ហេង"
    assert normalize_text(ZWSP + "សុខ" + ZWSP) == "សុខ"
    assert normalize_text("សុខ " + ZWSP + " ហេង") == "សុខ" + ZWSP + "ហេង"


def test_normalize_removes_controls_and_invisible_format_chars():
    text = "ស\x00ុ\x07ខ\u2060\ufeff\u200e\u202e\u00ad"
    assert normalize_text(text) == "សុខ"
    assert normalize_text("a\ud800b") == "ab"       # lone surrogate
    assert "\u200c" in normalize_text("ក\u200cខ")    # ZWNJ kept
    assert "\u200d" in normalize_text("ក\u200dខ")    # ZWJ kept


@pytest.mark.parametrize("text", ["hello", "😀👍🏽", "Ünïcödé", "مرحبا", "\u17d2", "្្្",
                                  "ក" + "\u17d2" * 50, "\u17b6\u17b7ក", "ក" * 5000])
def test_normalize_never_raises_and_is_idempotent(text):
    once = normalize_text(text)
    assert isinstance(once, str)
    assert normalize_text(once) == once


def test_normalize_applies_khmer_normaliser():
    # coeng DA becomes coeng TA (the Khmer character specification's rule)
    assert normalize_text("ក\u17d2\u178a") == "ក\u17d2\u178f"
    # non-Khmer text is left alone apart from whitespace
    assert normalize_text("Sok  Heng") == "Sok Heng"


def test_normalize_nfc():
    assert normalize_text("e\u0301") == "\u00e9"


def test_match_key_ignores_zero_width_and_spaces():
    a = "សុខ" + ZWSP + "ហេង"
    b = "សុខ ហេង"
    c = "សុខហេង"
    d = "សុខ\u2060\ufeffហេង\u200c"
    assert match_key(a) == match_key(b) == match_key(c) == match_key(d)


def test_match_key_maps_variant_spellings():
    assert match_key("ទ្បើង") == match_key("ឡើង")             # legacy TO+coeng BA -> LA
    assert match_key("អណ្ដូង") == match_key("អណ្តូង")          # coeng DA vs coeng TA
    assert match_key("ស្ដី") == match_key("ស្តី")


def test_match_key_casefolds_latin():
    assert match_key("Sok HENG") == match_key("sokheng")
    assert match_key("Straße") == match_key("STRASSE")


def test_match_key_distinguishes_different_names():
    assert match_key("សុខ") != match_key("សុខា")


def test_is_khmer_text():
    assert is_khmer_text("សុខ")
    assert is_khmer_text("សុខ ១២")
    assert not is_khmer_text("Sok")
    assert not is_khmer_text("សុខ Sok")
    assert not is_khmer_text("១២៣")          # digits only: no Khmer letter
    assert not is_khmer_text("")
    assert not is_khmer_text(None)


def test_is_khmer_name_is_stricter():
    assert is_khmer_name("សុខ" + ZWSP + "ហេង")
    assert is_khmer_name("សុខ-ហេង")
    assert not is_khmer_name("សុខ😀")
    assert not is_khmer_name("សុខ@")


@pytest.mark.parametrize("text, ok", [
    ("Sok Heng", True), ("O'Neil", True), ("Jean-Luc", True), ("St. John", True),
    ("Sók", True), ("e\u0301a", True), ("Sok1", False), ("សុខ", False), ("", False),
    ("...", False), ("Sok_Heng", False), ("Сок", False), ("Sok\u17b6", False),
])
def test_is_latin_text(text, ok):
    assert is_latin_text(text) is ok


# ---- the syllable-cached normaliser must equal khmerspell on the whole text ----
from hypothesis import given, settings, strategies as st  # noqa: E402
from khmerspell import khnormal  # noqa: E402

from fieldapp.domain import khmer  # noqa: E402

_khmer_heavy = st.lists(st.one_of(
    st.characters(min_codepoint=0x1780, max_codepoint=0x17FF),
    st.sampled_from(["\u200b", "\u200c", "\u200d", " ", "a", "\u17d2", "\u17d2\u178a",
                     "\u1791\u17d2\u1794", "\x00", "\u2060"]),
), max_size=40).map("".join)


@settings(max_examples=300, deadline=None)
@given(_khmer_heavy)
def test_syllable_split_matches_khmerspell(text):
    expected = text
    for _ in range(khmer._MAX_PASSES):  # khmerspell applied until it settles
        expected, previous = khnormal(expected), expected
        if expected == previous:
            break
    assert khmer._khmer_normalise(text) == expected


@settings(max_examples=200, deadline=None)
@given(_khmer_heavy)
def test_match_key_is_stable_under_normalisation(text):
    assert match_key(normalize_text(text)) == match_key(text)


@settings(max_examples=300, deadline=None)
@given(st.one_of(_khmer_heavy, st.text(max_size=60)))
def test_normalize_text_is_idempotent(text):
    once = normalize_text(text)
    assert normalize_text(once) == once
