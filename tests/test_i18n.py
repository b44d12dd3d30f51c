"""Message catalogs (gettext .po/.mo), language selection and date formatting."""
import gettext
import io
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from fieldapp.base import i18n

ROOT = Path(__file__).resolve().parents[1]


def compile_mo(pairs: dict) -> bytes:
    """A .mo file holding *pairs* (msgid -> msgstr), written by Babel as scripts/i18n-extract does."""
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo

    catalog = Catalog(fuzzy=False)
    for key, value in pairs.items():
        catalog.add(key, value)
    out = io.BytesIO()
    write_mo(out, catalog)
    return out.getvalue()


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
        """``write("demo.km", {...})`` -> tmp/km/LC_MESSAGES/demo.mo; bytes are written as they are."""
        domain, lang = name.split(".")
        path = tmp_path / lang / "LC_MESSAGES" / f"{domain}.mo"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data if isinstance(data, bytes) else compile_mo(data))
        i18n.reload_catalogs()
    return write


def test_shipped_catalogs_are_consistent():
    assert i18n.catalog_problems() == []


def test_shipped_layout_is_gettext():
    locale = ROOT / "fieldapp" / "locale"
    domains = sorted(p.stem for p in locale.glob("*.pot"))
    assert domains == ["core", "deploy", "sync", "ui", "ui_forms", "validation"]
    for lang in i18n.LANGUAGES:
        folder = locale / lang / "LC_MESSAGES"
        assert sorted(p.stem for p in folder.glob("*.po")) == domains
        assert sorted(p.stem for p in folder.glob("*.mo")) == domains
    assert not list(locale.glob("*.json")), "the JSON catalogs were replaced by gettext files"


def test_mo_reader_matches_stdlib_gettext():
    for mo in sorted((ROOT / "fieldapp" / "locale").glob("*/LC_MESSAGES/*.mo")):
        with mo.open("rb") as fh:
            expected = {k: v for k, v in gettext.GNUTranslations(fh)._catalog.items() if k}
        assert {k: v for k, v in i18n._parse_mo(mo.read_bytes()).items() if k} == expected, mo


def test_po_files_are_valid_and_match_the_compiled_mo():
    pofile = pytest.importorskip("babel.messages.pofile")
    for po in sorted((ROOT / "fieldapp" / "locale").glob("*/LC_MESSAGES/*.po")):
        with po.open("rb") as fh:
            catalog = pofile.read_po(fh, abort_invalid=True)
        wanted = {m.id: m.string for m in catalog if m.id and m.string and not m.fuzzy}
        got = {k: v for k, v in i18n._parse_mo(po.with_suffix(".mo").read_bytes()).items() if k}
        assert got == wanted, f"{po.with_suffix('.mo')} is stale: run scripts/i18n-extract"


def test_khmer_po_shows_translators_the_english():
    pofile = pytest.importorskip("babel.messages.pofile")
    path = ROOT / "fieldapp/locale/km/LC_MESSAGES/core.po"
    with path.open("rb") as fh:
        message = pofile.read_po(fh).get("core.auth.locked_out")
    assert message.auto_comments == ["Too many wrong passwords. Try again in {seconds} seconds."]
    assert "{seconds}" in message.string
    # no python-brace-format flag: msgfmt -c and the translators' tools would compare with the msgid (an ID)
    assert "python-brace-format" not in path.read_text(encoding="utf-8")


def test_extract_finds_nothing_missing_or_stale():
    pytest.importorskip("babel")
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "i18n-extract"), "--check"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr


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
    temp_locale("demo.en", {"a": "Hello {name}", "b": "Only English"})
    temp_locale("demo.km", {"a": "សួស្តី {name}"})
    assert i18n.tr("a", "km", name="X") == "សួស្តី X"
    assert i18n.tr("b", "km") == "Only English"
    assert i18n.tr("missing.id", "km") == "missing.id"
    assert i18n.tr("a", "zz", name="Y") in ("Hello Y", "សួស្តី Y")  # unknown lang -> current


def test_bad_templates_never_raise(temp_locale):
    temp_locale("demo.en", {"x": "value {n:d} {", "y": "{0} {a.b}"})
    temp_locale("demo.km", {"x": "{n}", "y": "{0}"})
    assert isinstance(i18n.tr("x", "en"), str)
    assert isinstance(i18n.tr("y", "en", a=1), str)
    assert i18n.tr(12345) == "12345"


def test_catalog_problems_reports_every_kind(temp_locale):
    temp_locale("one.en", {"only_en": "x", "empty": " ", "ph": "{a} {b}", "same": "{a}"})
    temp_locale("one.km", {"only_km": "x", "empty": "y", "ph": "{a}", "same": "{a}"})
    temp_locale("broken.km", b"not a .mo file")
    temp_locale("cut.km", compile_mo({"z": "long enough to be cut"})[:-8])
    problems = i18n.catalog_problems()
    text = "\n".join(problems)
    assert "only_en: missing in km" in text
    assert "only_km: missing in en" in text
    assert "empty: empty template in en" in text
    assert "ph: placeholders differ" in text
    assert "km/LC_MESSAGES/broken.mo: cannot be read" in text
    assert "km/LC_MESSAGES/cut.mo: cannot be read" in text
    assert not any(p.startswith("same") for p in problems)


def test_domains_are_merged(temp_locale):
    temp_locale("core.en", {"c": "core"})
    temp_locale("core.km", {"c": "ស្នូល"})
    temp_locale("ui.en", {"u": "ui"})
    temp_locale("ui.km", {"u": "ផ្ទៃ"})
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
