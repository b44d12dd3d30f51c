"""Hostile import files: any CSV or JSON Lines shape gives records or a list of problems, never a crash.

tests/test_validation_properties.py already throws arbitrary bytes, text lines and JSON values at the reader and
the validator. This adds *shapes*: CSV with random and duplicate headers, ragged rows, BOMs, quotes, NULs, CR/LF
mixes and broken quoting; JSON Lines with deep nesting, duplicate keys, huge numbers, NaN and Infinity. And the same
through the real ``fieldapp import`` command: exit 0 or 1, one problem per line, never a traceback, nothing saved
on failure.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from datetime import date

import pytest
from helpers.attack_tools import case, run_cli, scaled
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldapp.outbound import wire
from fieldapp.domain.importer import ImportProblem, read_records, validate_import
from fieldapp.domain.validation import DEPENDENT_FIELDS, SCHEMA_FIELDS, validate_record

TODAY = date(2024, 5, 1)
PROPS = settings(max_examples=scaled(120), deadline=None, derandomize=False,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                        HealthCheck.function_scoped_fixture])

# ---------------------------------------------------------------- text and values
SPECIAL = ["\u200b", "\u200c", "\u200d", "\ufeff", "\u202e", "\u200f", "\x00", "\x1b[31m", "\r", "\n", "\r\n", "\t",
           '"', "'", ",", ";", "\\", "😀", "👩🏽‍🌾", "مرحبا", "שלום", "ស្ត្រី", "\u17d2\u178a\u17d2", "ក្ស\u200bត្រ",
           "០១២៣៤៥៦៧៨", "𝟘𝟙𝟚", "\ud7ff", "\U0010ffff", "NaN", "null", "true", "{}", "[]"]
texts = st.one_of(
    st.text(max_size=20),
    st.text(alphabet=st.characters(min_codepoint=0x1780, max_codepoint=0x17FF), max_size=20),
    st.lists(st.sampled_from(SPECIAL), max_size=6).map("".join),
    st.builds(lambda s, n: s * n, st.sampled_from(["ក", "x", "\u200b", "9", '"']), st.integers(200, 5000)),
)
GOOD = {"family_name": "សុខ", "given_name": "ស្រីនី", "sex": "female", "date_of_birth": "1985-03-12",
        "village_code": "01020101", "occupation": "tuk_tuk_driver", "employment_status": "self_employed",
        "consent_given": "yes", "consent_method": "signature", "consent_recorded_at": "2024-05-01",
        "national_id": "123 456 789", "phone": "012 345 678", "notes": "ok"}
KNOWN_COLUMNS = sorted(set(SCHEMA_FIELDS) - {"consent", "dependents"}) + [
    "consent_given", "consent_method", "consent_recorded_at", "dependents",
    *[f"dependent{n}_{f}" for n in (0, 1, 2, 21) for f in DEPENDENT_FIELDS]]
columns = st.one_of(st.sampled_from(KNOWN_COLUMNS), st.sampled_from([" Family_Name ", "FAMILY_NAME", "", " "]), texts)
cells = st.one_of(st.sampled_from(list(GOOD.values())), texts,
                  st.sampled_from(['[{"given_name": "ដារា"}]', '[{"a":1,"a":2}]', "[" * 3000, '{"x": NaN}', "yes",
                                   "no", "TRUE", "0"]))


@st.composite
def csv_files(draw) -> bytes:
    """CSV bytes: a header (known, random or duplicated columns), ragged rows, any quoting and line endings."""
    header = draw(st.lists(columns, max_size=10))
    if draw(st.booleans()):  # mostly-right files, so the validator is reached too
        header = list(GOOD) + (header[:2] if draw(st.booleans()) else [])
    rows = []
    for _ in range(draw(st.integers(0, 5))):
        width = draw(st.one_of(st.just(len(header)), st.integers(0, len(header) + 3)))
        hostile = draw(st.sampled_from([0.0, 0.1, 0.5, 1.0]))  # share of hostile cells in this row
        row = [draw(cells) if draw(st.floats(0, 1)) < hostile else GOOD.get(header[i] if i < len(header) else "", "")
               for i in range(width)]
        rows.append(row)
    style = draw(st.sampled_from(["writer", "writer-all", "naive"]))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    if style == "naive":  # no quoting at all: commas, quotes and newlines inside cells break the shape
        text = newline.join(",".join(r) for r in [header, *rows])
    else:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator=newline,
                            quoting=csv.QUOTE_ALL if style == "writer-all" else csv.QUOTE_MINIMAL)
        for r in [header, *rows]:
            writer.writerow(r)
        text = buf.getvalue()
    data = text.encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    tail = draw(st.sampled_from([b"", b"", b"\x00", b'"', b"\n\n\n", b"\xff\xfe", b"\r", b',,,\n"unterminated']))
    return data + tail


# Numbers that break naive JSON handling: NaN/Infinity literals, -0, 1e999, and integers past Python's
# 4,300-digit conversion limit.
NUMBERS = ["NaN", "-Infinity", "Infinity", "-0", "1e999", "-1e-999", "9" * 5000, "1" * 400, "0.1e1", "1E+2"]
json_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True), texts)


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=True)


json_values = st.recursive(json_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.one_of(st.sampled_from(SCHEMA_FIELDS), texts), inner, max_size=5)),
    max_leaves=20)


@st.composite
def jsonl_lines(draw) -> str:
    kind = draw(st.sampled_from(["record", "record", "dup", "nested", "number", "value", "garbage", "blank"]))
    if kind == "record":  # a valid record with one field replaced by something hostile
        rec = {"family_name": "សុខ", "given_name": "ស្រីនី", "sex": "female", "date_of_birth": "1985-03-12",
               "village_code": "01020101", "occupation": "tuk_tuk_driver", "employment_status": "self_employed",
               "consent": {"given": True, "method": "signature", "recorded_at": "2024-05-01"}}
        if draw(st.booleans()):
            rec[draw(st.sampled_from(SCHEMA_FIELDS + ("x",)))] = draw(json_values)
        return _dumps(rec)
    if kind == "dup":  # the same key twice, at the top or inside a dependent / consent
        key = draw(st.sampled_from(["national_id", "family_name", "consent", "given", "dependents"]))
        a, b = _dumps(draw(json_values)), _dumps(draw(json_values))
        where = draw(st.sampled_from(["top", "consent", "dependent"]))
        if where == "top":
            return '{"%s": %s, "sex": "male", "%s": %s}' % (key, a, key, b)
        if where == "consent":
            return '{"family_name": "សុខ", "consent": {"given": true, "given": %s}}' % b
        return '{"dependents": [{"given_name": "ដារា", "given_name": %s}]}' % b
    if kind == "nested":
        depth = draw(st.integers(1, 3000))
        return '{"notes": ' + "[" * depth + "]" * depth + "}"
    if kind == "number":
        return '{"family_name": "សុខ", "%s": %s}' % (draw(st.sampled_from(SCHEMA_FIELDS)), draw(st.sampled_from(NUMBERS)))
    if kind == "value":
        return _dumps(draw(json_values))
    if kind == "garbage":
        return draw(texts)
    return draw(st.sampled_from(["", "   ", "\t"]))


@st.composite
def jsonl_files(draw) -> bytes:
    lines = draw(st.lists(jsonl_lines(), max_size=6))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    data = newline.join(lines).encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    return data + draw(st.sampled_from([b"", b"\n", b"\x00", b"\xc3"]))


# ---------------------------------------------------------------- the contract
def _check_contract(path, data: bytes):
    rows, problems = read_records(path)
    n_lines = data.count(b"\n") + data.count(b"\r") + 2
    assert all(isinstance(p, ImportProblem) for p in problems)
    assert all(isinstance(p.line, int) and 0 <= p.line <= n_lines for p in problems), [p.line for p in problems]
    assert all(isinstance(line, int) and 1 <= line <= n_lines and isinstance(r, dict) for line, r in rows)
    clean, more = validate_import(rows, TODAY)
    assert rows or problems, "an empty or unreadable file must say so"
    for p in problems + more:
        assert p.code != "validation.internal_error"
        for lang in ("en", "km"):  # one problem is one printable line, whatever was in the file
            text = p.message(lang)
            assert isinstance(text, str) and text and all(ch.isprintable() for ch in text), repr(text[:200])
    for rec in clean:  # a clean record is what would be stored and sealed: it must survive both
        assert validate_record(rec, today=TODAY) == (rec, [])
        wire.content_hash(rec)  # canonical JSON, no NaN: approval could not seal it otherwise
        assert not any(isinstance(v, float) and not math.isfinite(v) for v in _leaves(rec))
    if not more:
        assert len(clean) == len(rows)
    return rows, problems, clean, more


def _no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    assert len(keys) == len(set(keys)), "a JSON object with a repeated key was taken as a record"
    return dict(pairs)


def _leaves(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v)
    else:
        yield value


@pytest.fixture(scope="module")
def prop_case():
    with case("import: hostile CSV and JSON Lines shapes (property)",
              "read_records + validate_import never raise; same input, same answer; problems are printable "
              "one-liners; clean records re-validate to themselves and seal") as c:
        yield c


@PROPS
@given(data=csv_files())
def test_csv_shapes_never_crash_and_are_deterministic(tmp_path_factory, prop_case, data):
    path = tmp_path_factory.mktemp("csv") / "in.csv"
    path.write_bytes(data)
    assert _check_contract(path, data) == _check_contract(path, data)
    prop_case.runs += 1


@PROPS
@given(data=jsonl_files(), suffix=st.sampled_from([".jsonl", ".ndjson"]))
def test_jsonl_shapes_never_crash_and_are_deterministic(tmp_path_factory, prop_case, data, suffix):
    path = tmp_path_factory.mktemp("jsonl") / ("in" + suffix)
    path.write_bytes(data)
    first = _check_contract(path, data)
    assert first == _check_contract(path, data)
    for line, _rec in first[0]:  # a line whose object repeats a key, at any depth, never becomes a record
        raw = data.split(b"\n")[line - 1].decode("utf-8").lstrip("\ufeff")
        json.loads(raw, object_pairs_hook=_no_duplicates)
    prop_case.runs += 1


def test_duplicate_keys_anywhere_in_a_jsonl_object_are_refused(tmp_path):
    lines = ['{"national_id": "111111111", "sex": "male", "national_id": "222222222"}',
             '{"family_name": "សុខ", "consent": {"given": false, "given": true}}',
             '{"dependents": [{"given_name": "ដារា", "given_name": "សុខា"}]}']
    path = tmp_path / "dup.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    with case("import: duplicate JSON keys (JSON Lines)", "a repeated key at any depth refuses the line") as c:
        rows, problems = read_records(path)
        c.runs += 1
        assert rows == [] and {(p.line, p.code) for p in problems} == {
            (1, "import.duplicate_key"), (2, "import.duplicate_key"), (3, "import.duplicate_key")}


def test_duplicate_keys_in_a_csv_dependents_cell_are_refused(tmp_path):
    path = tmp_path / "dup.csv"
    header = ",".join(k for k in GOOD) + ",dependents"
    cell = '"[{""family_name"": ""សុខ"", ""given_name"": ""ដារា"", ""given_name"": ""សុខា"", ' \
           '""relationship"": ""child"", ""sex"": ""male"", ""date_of_birth"": ""2015-01-01""}]"'
    path.write_text(header + "\n" + ",".join(GOOD.values()) + "," + cell + "\n", encoding="utf-8")
    with case("import: duplicate JSON keys (CSV dependents cell)", "a repeated key inside the cell refuses the row") as c:
        rows, problems = read_records(path)
        c.runs += 1
        assert rows == [] and [p.code for p in problems] == ["import.duplicate_key"], (rows, problems)


# ---------------------------------------------------------------- through the real command line
PROBLEM_LINE = re.compile(r"^line [0-9]+: [^\n]*$")
SUMMARY = re.compile(r"^Nothing was imported: ([0-9]+) problem\(s\) found\.$")


@pytest.fixture(scope="module")
def cli_store(tmp_path_factory):
    """A store for the CLI examples, and an open session on it (WAL: the CLI may write meanwhile)."""
    from helpers.clitools import PASSWORD

    from fieldapp.store.database import Store

    data = tmp_path_factory.mktemp("importcli") / "data"
    assert run_cli(data, "init", "--user", "sup", password=PASSWORD).returncode == 0
    session = Store(data).unlock("sup", PASSWORD)
    yield data, session
    session.close()


def _count(session) -> int:
    return session.conn.execute("SELECT count(*) FROM records").fetchone()[0]


def _cli_import(cli_store, path, c):
    from helpers.clitools import PASSWORD

    data, session = cli_store
    before = _count(session)
    proc = run_cli(data, "import", "--user", "sup", path, password=PASSWORD)
    c.runs += 1
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr[-3000:]
    assert proc.returncode in (0, 1), (proc.returncode, proc.stderr[-2000:])
    after = _count(session)
    err = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    if proc.returncode == 1:
        assert after == before, "a failed import saved something"
        assert proc.stdout == ""
        if len(err) > 1:  # every problem on its own line, then the count
            found = SUMMARY.match(err[-1])
            assert found and int(found.group(1)) == len(err) - 1, err[-3:]
            assert all(PROBLEM_LINE.match(ln) for ln in err[:-1]), [ln for ln in err[:-1] if not PROBLEM_LINE.match(ln)][:3]
        else:
            assert len(err) == 1
        assert all(ch.isprintable() for ln in err for ch in ln), "control characters reached the terminal"
    else:
        ids = proc.stdout.split()
        assert after == before + len(ids) and len(set(ids)) == len(ids) > 0
    return proc


@pytest.fixture(scope="module")
def cli_case():
    with case("import: hostile files through `fieldapp import`",
              "exit 0 or 1, no traceback, one printable problem per line plus the count, nothing saved on "
              "failure, printed IDs = records saved") as c:
        yield c


@settings(max_examples=scaled(6), deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.one_of(csv_files().map(lambda d: (".csv", d)), jsonl_files().map(lambda d: (".jsonl", d))))
def test_cli_import_of_generated_files(tmp_path_factory, cli_store, cli_case, data):
    suffix, content = data
    path = tmp_path_factory.mktemp("clif") / ("in" + suffix)
    path.write_bytes(content)
    _cli_import(cli_store, path, cli_case)


HAND_PICKED = {
    "bom-crlf.jsonl": b"\xef\xbb\xbf" + (json.dumps({k: v for k, v in {
        "family_name": "សុខ", "given_name": "ស្រីនី", "sex": "female", "date_of_birth": "1985-03-12",
        "village_code": "01020101", "occupation": "tuk_tuk_driver", "employment_status": "self_employed",
        "consent": {"given": True, "method": "signature", "recorded_at": "2024-05-01"}}.items()},
        ensure_ascii=False) + "\r\n").encode() * 2,
    "nan.jsonl": b'{"family_name": NaN, "given_name": Infinity, "notes": 1e999}\n',
    "dupcol.csv": b'"fam\nily\x1b[31m",x,"fam\nily\x1b[31m"\n1,2,3\n',
    "nul.csv": b"family_name,given_name\n\x00\xe1\x9e\x9f,\x00\n",
    "ragged.csv": ",".join(GOOD).encode() + b"\n" + ",".join(GOOD.values()).encode() + b",extra,cells\n",
    "half.jsonl": b'{"family_name": "\xe1\x9e\x9f\n{"not": "closed"\n',
    "deep.jsonl": b'{"notes": ' + b"[" * 50000 + b"]" * 50000 + b"}\n",
    "huge-int.jsonl": b'{"national_id": ' + b"9" * 6000 + b"}\n",
}


@pytest.mark.parametrize("name", sorted(HAND_PICKED))
def test_cli_import_of_hand_picked_files(tmp_path, cli_store, cli_case, name):
    path = tmp_path / name
    path.write_bytes(HAND_PICKED[name])
    proc = _cli_import(cli_store, path, cli_case)
    assert proc.returncode == (0 if name == "bom-crlf.jsonl" else 1), proc.stderr
