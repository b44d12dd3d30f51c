"""Message catalogs, language selection and date formatting."""
import json
from datetime import date

import pytest

from fieldapp.base import i18n


@pytest.fixture(autouse=True)
def _restore_language():
    saved = i18n._current
    yield
    i18n._current = saved
    i18n.reload_catalogs()


@pytest.fixture
def temp_locale(tmp_path, monkeypatch):
    """Point the catalogs at a temporary directory; returns a writer."""
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    i18n.reload_catalogs()

    def write(name, data):
        (tmp_path / name).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        i18n.reload_catalogs()
    return write


def test_shipped_catalogs_are_consistent():
    assert i18n.catalog_problems() == []


def test_languages_and_default(monkeypatch):
    assert i18n.LANGUAGES == ("en", "km")
    i18n._current = None
    monkeypatch.setenv("FIELDAPP_LANG", "km")
    assert i18n.get_language() == "km"
    monkeypatch.setenv("FIELDAPP_LANG", "fr")
    assert i18n.get_language() == "en"
    monkeypatch.delenv("FIELDAPP_LANG")
    assert i18n.get_language() == "en"


def test_set_language():
    i18n.set_language("km")
    assert i18n.get_language() == "km"
    assert i18n.tr("sex.female") == "ស្រី"
    assert i18n.tr("sex.female", "en") == "Female"
    with pytest.raises(ValueError):
        i18n.set_language("xx")
    assert i18n.get_language() == "km"


def test_placeholders_filled_and_missing_left_visible():
    assert i18n.tr("validation.too_long", "en", field="Notes", max=5) == \
        "Notes is too long (at most 5 characters)."
    text = i18n.tr("validation.too_long", "en", field="Notes")
    assert "{max}" in text


def test_fallback_to_english_then_id(temp_locale):
    temp_locale("demo.en.json", {"a": "Hello {name}", "b": "Only English"})
    temp_locale("demo.km.json", {"a": "សួស្តី {name}"})
    assert i18n.tr("a", "km", name="X") == "សួស្តី X"
    assert i18n.tr("b", "km") == "Only English"
    assert i18n.tr("missing.id", "km") == "missing.id"
    assert i18n.tr("a", "zz", name="Y") in ("Hello Y", "សួស្តី Y")  # unknown lang -> current


def test_bad_templates_never_raise(temp_locale):
    temp_locale("demo.en.json", {"x": "value {n:d} {", "y": "{0} {a.b}"})
    temp_locale("demo.km.json", {"x": "{n}", "y": "{0}"})
    assert isinstance(i18n.tr("x", "en"), str)
    assert isinstance(i18n.tr("y", "en", a=1), str)
    assert i18n.tr(12345) == "12345"


def test_catalog_problems_reports_every_kind(temp_locale):
    temp_locale("one.en.json", {"only_en": "x", "empty": " ", "ph": "{a} {b}", "same": "{a}"})
    temp_locale("one.km.json", {"only_km": "x", "empty": "y", "ph": "{a}", "same": "{a}"})
    temp_locale("broken.km.json", ["not", "an", "object"])
    problems = i18n.catalog_problems()
    text = "\n".join(problems)
    assert "only_en: missing in km" in text
    assert "only_km: missing in en" in text
    assert "empty: empty template in en" in text
    assert "ph: placeholders differ" in text
    assert "broken.km.json" in text
    assert not any(p.startswith("same") for p in problems)


def test_domains_are_merged(temp_locale):
    temp_locale("core.en.json", {"c": "core"})
    temp_locale("core.km.json", {"c": "ស្នូល"})
    temp_locale("ui.en.json", {"u": "ui"})
    temp_locale("ui.km.json", {"u": "ផ្ទៃ"})
    assert i18n.tr("c", "km") == "ស្នូល" and i18n.tr("u", "km") == "ផ្ទៃ"
    assert i18n.catalog_problems() == []


def test_khmer_digits():
    assert i18n.to_khmer_digits("2024-01-15") == "២០២៤-០១-១៥"
    assert i18n.to_khmer_digits(7) == "៧"
    assert i18n.to_khmer_digits("abc") == "abc"


@pytest.mark.parametrize("d, en, km", [
    (date(2024, 1, 15), "15 January 2024", "ថ្ងៃទី១៥ ខែមករា ឆ្នាំ២០២៤"),
    (date(1999, 12, 5), "5 December 1999", "ថ្ងៃទី៥ ខែធ្នូ ឆ្នាំ១៩៩៩"),
    (date(2023, 2, 28), "28 February 2023", "ថ្ងៃទី២៨ ខែកុម្ភៈ ឆ្នាំ២០២៣"),
])
def test_format_date(d, en, km):
    assert i18n.format_date(d, "en") == en
    assert i18n.format_date(d, "km") == km


def test_all_khmer_months():
    months = [i18n.format_date(date(2024, m, 1), "km").split(" ")[1] for m in range(1, 13)]
    assert months == ["ខែមករា", "ខែកុម្ភៈ", "ខែមីនា", "ខែមេសា", "ខែឧសភា", "ខែមិថុនា",
                      "ខែកក្កដា", "ខែសីហា", "ខែកញ្ញា", "ខែតុលា", "ខែវិច្ឆិកា", "ខែធ្នូ"]


def test_format_date_uses_current_language():
    i18n.set_language("km")
    assert i18n.format_date(date(2024, 1, 15)).startswith("ថ្ងៃទី")


def test_timestamps_are_shown_in_local_time(monkeypatch):
    import time

    from fieldapp.base import i18n as _i18n

    monkeypatch.setenv("TZ", "Asia/Phnom_Penh")  # UTC+7, no daylight saving
    time.tzset()
    try:
        assert _i18n.format_timestamp("2026-11-25T17:30:00+00:00", "en") == "26 November 2026 00:30"
        assert _i18n.format_timestamp("2026-11-25T17:30:00Z", "en") == "26 November 2026 00:30"
        assert _i18n.format_timestamp(1_795_000_000.0, "en").endswith(
            time.strftime("%H:%M", time.localtime(1_795_000_000)))
        km = _i18n.format_timestamp("2026-11-25T17:30:00+00:00", "km")
        assert km.endswith("០០:៣០") and "២៦" in km
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
