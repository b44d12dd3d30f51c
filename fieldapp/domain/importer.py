"""Read enrollment records from JSON Lines or CSV files, then validate them.

Two steps, so a caller can show reading problems before validating:

* :func:`read_records` turns a file into ``[(line, record_dict), ...]`` plus
  :class:`ImportProblem` s (bad encoding, malformed JSON, ...). It never raises.
* :func:`validate_import` runs :func:`fieldapp.domain.validation.validate_record` on
  each row and attaches the line number to every problem.

Line numbers are 1-based physical lines of the file (in CSV the header is
line 1; a quoted cell spanning lines reports the line the row starts on);
line 0 means the whole file. Messages never contain field values.
The CSV column mapping is described in ``docs/record-format.md``.
"""
from __future__ import annotations

import codecs
import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from fieldapp.base.i18n import format_number, tr
from fieldapp.domain.validation import DEPENDENT_FIELDS, MAX_DEPENDENTS, Problem, validate_record

MAX_FILE_BYTES = 50 * 1024 * 1024
JSONL_SUFFIXES = (".jsonl", ".ndjson")
CSV_SUFFIXES = (".csv",)
TRUE_WORDS = ("true", "yes", "1")
FALSE_WORDS = ("false", "no", "0")
CONSENT_COLUMNS = {"consent_given": "given", "consent_method": "method",
                   "consent_recorded_at": "recorded_at"}
BOOLEAN_FIELDS = ("given", "disability_or_chronic_illness")
_NUMBERED = re.compile(r"dependent([0-9]{1,2})_([a-z_]+)")


@dataclass(frozen=True)
class ImportProblem:
    """A problem found while importing: where (line, path) and what (code)."""

    line: int
    path: str
    code: str
    params: dict = field(default_factory=dict)

    def message(self, lang: str | None = None) -> str:
        """Message in *lang*, prefixed with the line number when there is one."""
        text = Problem(self.path, self.code, self.params).message(lang)
        if self.line <= 0:
            return text
        return tr("import.at_line", lang, line=format_number(self.line, lang), message=text)

    def __hash__(self) -> int:  # params is a dict, so hash the rest
        return hash((self.line, self.path, self.code))

    def to_dict(self) -> dict:
        return {"line": self.line, "path": self.path, "code": self.code,
                "message_en": self.message("en"), "message_km": self.message("km")}


Rows = list[tuple[int, dict]]


# ---- Reading ----
def read_records(path) -> tuple[Rows, list[ImportProblem]]:
    """Read a ``.jsonl``/``.ndjson`` or ``.csv`` file into numbered records."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in JSONL_SUFFIXES + CSV_SUFFIXES:
        return [], [ImportProblem(0, "", "import.unknown_format")]
    too_large = ImportProblem(0, "", "import.too_large",
                              {"max_mb": MAX_FILE_BYTES // (1024 * 1024)})
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return [], [too_large]
        with path.open("rb") as fh:  # bounded read: the file may grow or be special
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError:
        return [], [ImportProblem(0, "", "import.file_unreadable")]
    if len(data) > MAX_FILE_BYTES:
        return [], [too_large]
    if suffix in JSONL_SUFFIXES:
        rows, problems = _read_jsonl(data)
    else:
        rows, problems = _read_csv(data)
    if not rows and not problems:
        problems.append(ImportProblem(0, "", "import.empty_file"))
    return rows, problems


def _loads(text: str) -> tuple[object, bool]:
    """``json.loads`` that also says whether an object repeated a key."""
    repeated = []

    def pairs_to_dict(pairs):
        out = {}
        for key, value in pairs:
            if key in out:
                repeated.append(True)
            out[key] = value
        return out

    return json.loads(text, object_pairs_hook=pairs_to_dict), bool(repeated)


def _read_jsonl(data: bytes) -> tuple[Rows, list[ImportProblem]]:
    """One JSON object per line; blank lines are skipped."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    rows: Rows = []
    problems: list[ImportProblem] = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            problems.append(ImportProblem(number, "", "import.encoding"))
            continue
        if not text.strip():
            continue
        try:
            value, repeated = _loads(text)
        except (ValueError, RecursionError):
            problems.append(ImportProblem(number, "", "import.malformed_json"))
            continue
        if not isinstance(value, dict):
            problems.append(ImportProblem(number, "", "import.not_object"))
        elif repeated:
            problems.append(ImportProblem(number, "", "import.duplicate_key"))
        else:
            rows.append((number, value))
    return rows, problems


def _read_csv(data: bytes) -> tuple[Rows, list[ImportProblem]]:
    """A header line of column names, then one record per row."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return [], [ImportProblem(data.count(b"\n", 0, exc.start) + 1, "", "import.encoding")]
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: Rows = []
    problems: list[ImportProblem] = []
    header: list[str] | None = None
    start = 1
    try:
        for cells in reader:
            line, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue
            if header is None:
                header = [cell.strip().lower() for cell in cells]
                if _duplicate_columns(header, problems):
                    return [], problems
                continue
            record = _row_to_record(header, cells, line, problems)
            if record is not None:
                rows.append((line, record))
    except csv.Error:
        problems.append(ImportProblem(start, "", "import.csv.malformed"))
    return rows, problems


def _duplicate_columns(header: list[str], problems: list[ImportProblem]) -> bool:
    """Report named columns that appear twice in the header."""
    seen: set[str] = set()
    for name in header:
        if name and name in seen:
            problems.append(ImportProblem(1, "", "import.csv.duplicate_column",
                                          {"name": "".join(ch for ch in name if ch.isprintable())[:40]}))
        seen.add(name)
    return any(p.code == "import.csv.duplicate_column" for p in problems)


def _cell_value(name: str, cell: str):
    """A cell as a record value: booleans parsed, everything else as text."""
    if name in BOOLEAN_FIELDS:
        word = cell.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    return cell


def _row_to_record(header, cells, line, problems) -> dict | None:
    """Map one CSV row to the JSON form; ``None`` (with a problem) if impossible."""
    if any(cell.strip() for cell in cells[len(header):]):
        problems.append(ImportProblem(line, "", "import.csv.extra_cells"))
        return None
    record: dict = {}
    consent: dict = {}
    numbered: dict[int, dict] = {}
    for name, cell in zip(header, cells):
        if not cell.strip():
            continue  # an empty cell is an absent field
        found = _NUMBERED.fullmatch(name)
        if name in CONSENT_COLUMNS:
            key = CONSENT_COLUMNS[name]
            consent[key] = _cell_value(key, cell)
        elif found and found.group(2) in DEPENDENT_FIELDS and \
                1 <= int(found.group(1)) <= MAX_DEPENDENTS:
            key = found.group(2)
            numbered.setdefault(int(found.group(1)), {})[key] = _cell_value(key, cell)
        elif name == "dependents":
            try:
                record[name], repeated = _loads(cell)
            except (ValueError, RecursionError):
                problems.append(ImportProblem(line, "dependents", "import.csv.dependents_json"))
                return None
            if repeated:  # one reader takes the first value, another the last: refuse the ambiguity
                problems.append(ImportProblem(line, "dependents", "import.duplicate_key"))
                return None
        else:
            record[name] = cell
    if consent:
        record["consent"] = consent
    if numbered:
        if "dependents" in record:
            problems.append(ImportProblem(line, "dependents", "import.csv.dependents_both"))
            return None
        record["dependents"] = [numbered[n] for n in sorted(numbered)]
    return record


# ---- Validating ----
def validate_import(rows, today: date | None = None, *,
                    require_consent: bool = True) -> tuple[list[dict], list[ImportProblem]]:
    """Validate numbered records; returns the clean ones and every problem."""
    clean_list: list[dict] = []
    problems: list[ImportProblem] = []
    for line, record in rows:
        clean, found = validate_record(record, today=today, require_consent=require_consent)
        if clean is not None:
            clean_list.append(clean)
        problems.extend(ImportProblem(line, p.path, p.code, p.params) for p in found)
    return clean_list, problems


def import_file(path, today: date | None = None, *,
                require_consent: bool = True) -> tuple[list[dict], list[ImportProblem]]:
    """Read and validate a file in one call."""
    rows, problems = read_records(path)
    clean, more = validate_import(rows, today, require_consent=require_consent)
    return clean, problems + more
