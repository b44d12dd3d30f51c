"""Message catalogs, the current language, and locale-aware formatting.

Catalogs are gettext files, one domain per area (``core``, ``deploy``, ``sync``,
``ui``, ``ui_forms``, ``validation``): translators edit
``fieldapp/locale/<lang>/LC_MESSAGES/<domain>.po`` (Poedit, Weblate, Qt
Linguist) and ``scripts/i18n-extract`` compiles each to the ``.mo`` beside it,
which is what this module reads (no Babel at run time).
The msgid is the message ID (``core.auth.disabled``), the msgstr the text in
that language; the English ``.po`` holds the English text. Every domain of a
language is merged into one lookup table. Templates use ``str.format`` named
placeholders such as ``{field}``.

Lookup never raises: a missing message falls back to English, then to the
message id itself, and a missing placeholder parameter stays visible as
``{name}`` in the output.
"""
from __future__ import annotations

import os
import string
import struct
import threading
from datetime import date, datetime, timezone
from pathlib import Path

LANGUAGES = ("en", "km")
DEFAULT_LANGUAGE = "en"
LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"

_KHMER_DIGITS = str.maketrans("0123456789", "០១២៣៤៥៦៧៨៩")
_MONTHS = {
    "en": ("January", "February", "March", "April", "May", "June", "July",
           "August", "September", "October", "November", "December"),
    "km": ("មករា", "កុម្ភៈ", "មីនា", "មេសា", "ឧសភា", "មិថុនា", "កក្កដា",
           "សីហា", "កញ្ញា", "តុលា", "វិច្ឆិកា", "ធ្នូ"),
}

_MO_BYTE_ORDER = {0x950412DE: "<", 0xDE120495: ">"}  # gettext .mo magic, either endianness
_lock = threading.Lock()
_catalogs: dict[str, dict[str, str]] | None = None
_load_problems: list[str] = []
_current: str | None = None


# --------------------------------------------------------------------------- #
# Language selection
# --------------------------------------------------------------------------- #
def _env_language() -> str:
    """The language named by ``FIELDAPP_LANG`` if it is supported, else English."""
    value = os.environ.get("FIELDAPP_LANG", "").strip().lower()
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


def get_language() -> str:
    """The current UI language (``"en"`` or ``"km"``)."""
    return _current if _current is not None else _env_language()


def set_language(lang: str) -> None:
    """Make *lang* the current language. Raises ``ValueError`` if unsupported."""
    global _current
    if lang not in LANGUAGES:
        raise ValueError("unsupported language code")
    _current = lang


def _resolve_language(lang: str | None) -> str:
    """*lang* if supported, otherwise the current language."""
    return lang if lang in LANGUAGES else get_language()


# --------------------------------------------------------------------------- #
# Catalog loading
# --------------------------------------------------------------------------- #
def _catalog_files(lang: str) -> list[Path]:
    """All compiled ``<lang>/LC_MESSAGES/<domain>.mo`` files, in a stable order."""
    folder = LOCALE_DIR / lang / "LC_MESSAGES"
    if not folder.is_dir():
        return []
    return sorted(folder.glob("*.mo"))


def _parse_mo(blob: bytes) -> dict[str, str]:
    """The ``{msgid: msgstr}`` pairs of a compiled gettext catalog (UTF-8), header included as ``""``.

    The format is GNU gettext's (what ``msgfmt`` and Babel write). Read here rather than with
    :class:`gettext.GNUTranslations`, which does the same in a slower loop and compiles the plural rule of
    every file: this keeps start-up as fast as the old JSON catalogs. Raises ``ValueError`` if malformed.
    """
    try:
        order = _MO_BYTE_ORDER[struct.unpack_from("<I", blob)[0]]
        _revision, count, originals, translations = struct.unpack_from(order + "4I", blob, 4)
        keys = struct.unpack_from(f"{order}{2 * count}I", blob, originals)
        values = struct.unpack_from(f"{order}{2 * count}I", blob, translations)
    except (KeyError, struct.error):
        raise ValueError("not a gettext .mo file") from None
    size = len(blob)
    pairs = {}
    for i in range(0, 2 * count, 2):
        (klen, kpos), (vlen, vpos) = keys[i:i + 2], values[i:i + 2]
        if kpos + klen > size or vpos + vlen > size:
            raise ValueError("truncated .mo file")
        pairs[blob[kpos:kpos + klen].decode("utf-8")] = blob[vpos:vpos + vlen].decode("utf-8")
    return pairs


def _read_catalog(path: Path, problems: list[str]) -> dict[str, str]:
    """One compiled catalog as a dict; unreadable or malformed files add a problem."""
    name = "/".join(path.parts[-3:])
    try:
        data = _parse_mo(path.read_bytes())
    except (OSError, ValueError):  # UnicodeDecodeError is a ValueError
        problems.append(f"{name}: cannot be read as a UTF-8 gettext .mo file")
        return {}
    good = {}
    for key, value in data.items():
        if key == "":  # the PO header
            continue
        if "\x00" in key or "\x04" in key:
            problems.append(f"{name}: {key.split(chr(0))[0]}: plural forms and msgctxt are not used")
        else:
            good[key] = value
    return good


def _load_all() -> tuple[dict[str, dict[str, str]], list[str]]:
    """Read and merge every catalog of every language."""
    problems: list[str] = []
    merged: dict[str, dict[str, str]] = {}
    for lang in LANGUAGES:
        table: dict[str, str] = {}
        for path in _catalog_files(lang):
            for key, value in _read_catalog(path, problems).items():
                if key in table and table[key] != value:
                    problems.append(f"{lang}: {key}: defined differently in two domains")
                table[key] = value
        merged[lang] = table
    return merged, problems


def _tables() -> dict[str, dict[str, str]]:
    """The merged catalogs, loaded once (thread-safe)."""
    global _catalogs, _load_problems
    if _catalogs is None:
        with _lock:
            if _catalogs is None:
                _catalogs, _load_problems = _load_all()
    return _catalogs


def reload_catalogs() -> None:
    """Forget the loaded catalogs so the next lookup re-reads the files."""
    global _catalogs
    with _lock:
        _catalogs = None


# --------------------------------------------------------------------------- #
# Lookup and rendering
# --------------------------------------------------------------------------- #
class _KeepMissing(dict):
    """Mapping for ``format_map`` that leaves unknown placeholders visible."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _render(template: str, params: dict) -> str:
    """Fill *template* with *params*; on any formatting error return it unfilled."""
    if not params and "{" not in template:
        return template
    try:
        return template.format_map(_KeepMissing(params))
    except (ValueError, IndexError, KeyError, AttributeError, TypeError):
        return template


def has_message(msg_id: str, lang: str | None = None) -> bool:
    """True if *msg_id* has a template in *lang* (default: English)."""
    return msg_id in _tables().get(lang or DEFAULT_LANGUAGE, {})


def tr(msg_id: str, lang: str | None = None, **params) -> str:
    """Translate *msg_id* into *lang* (default: current language) and fill it.

    Falls back to English, then to *msg_id* itself. Never raises.
    """
    key = msg_id if isinstance(msg_id, str) else str(msg_id)
    tables = _tables()
    chosen = _resolve_language(lang)
    template = tables.get(chosen, {}).get(key)
    if template is None:
        template = tables.get(DEFAULT_LANGUAGE, {}).get(key)
    if template is None:
        return key
    return _render(template, params)


# --------------------------------------------------------------------------- #
# Consistency check
# --------------------------------------------------------------------------- #
def placeholders(template: str) -> set[str] | None:
    """Names of the placeholders in *template*; ``None`` if it is malformed."""
    names: set[str] = set()
    try:
        for _literal, field, _spec, _conv in string.Formatter().parse(template):
            if field is not None:
                names.add(field.split(".")[0].split("[")[0])
    except ValueError:
        return None
    return names


def catalog_problems() -> list[str]:
    """Every inconsistency between the language catalogs (empty list = OK).

    Reports ids present in one language but not another, empty templates,
    malformed templates and placeholder sets that differ between languages.
    """
    reload_catalogs()
    tables = _tables()
    problems = list(_load_problems)
    all_ids = sorted(set().union(*(tables[lang].keys() for lang in LANGUAGES)))
    for msg_id in all_ids:
        found: dict[str, set[str] | None] = {}
        for lang in LANGUAGES:
            template = tables[lang].get(msg_id)
            if template is None:
                problems.append(f"{msg_id}: missing in {lang}")
                continue
            if not template.strip():
                problems.append(f"{msg_id}: empty template in {lang}")
            found[lang] = placeholders(template)
            if found[lang] is None:
                problems.append(f"{msg_id}: malformed template in {lang}")
        sets = [s for s in found.values() if s is not None]
        if any(s != sets[0] for s in sets[1:]):
            problems.append(f"{msg_id}: placeholders differ between languages")
    return problems


# --------------------------------------------------------------------------- #
# Formatting
# --------------------------------------------------------------------------- #
def to_khmer_digits(text) -> str:
    """Replace ASCII digits 0-9 in *text* with Khmer digits ០-៩."""
    return str(text).translate(_KHMER_DIGITS)


def format_number(value, lang: str | None = None) -> str:
    """A number as text, with Khmer digits when the language is Khmer."""
    text = str(value)
    return to_khmer_digits(text) if _resolve_language(lang) == "km" else text


def format_timestamp(ts, lang: str | None = None) -> str:
    """A stored timestamp (ISO 8601 text, UTC unless it says otherwise, or seconds since the epoch) as the
    laptop's local date and hour:minute, in *lang*."""
    if isinstance(ts, (int, float)):
        moment = datetime.fromtimestamp(ts, timezone.utc)
    else:
        moment = datetime.fromisoformat(str(ts).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    local = moment.astimezone()
    return f"{format_date(local.date(), lang)} {format_number(local.strftime('%H:%M'), lang)}"


def format_date(d: date, lang: str | None = None) -> str:
    """Long-form date: ``15 January 2024`` or ``ថ្ងៃទី១៥ ខែមករា ឆ្នាំ២០២៤``."""
    chosen = _resolve_language(lang)
    month = _MONTHS[chosen][d.month - 1]
    if chosen == "km":
        return f"ថ្ងៃទី{to_khmer_digits(d.day)} ខែ{month} ឆ្នាំ{to_khmer_digits(d.year)}"
    return f"{d.day} {month} {d.year}"
