"""Reading JSON Lines and CSV files, then validating with line numbers."""
import csv
import json
from datetime import date

import pytest

from fieldapp.domain import importer
from fieldapp.domain.importer import ImportProblem, import_file, read_records, validate_import

TODAY = date(2024, 5, 1)


def good(**changes):
    base = {
        "family_name": "សុខ", "given_name": "ស្រីនី", "sex": "female",
        "date_of_birth": "1985-03-12", "village_code": "01020101",
        "occupation": "tuk_tuk_driver", "employment_status": "self_employed",
        "consent": {"given": True, "method": "signature", "recorded_at": "2024-05-01"},
    }
    base.update(changes)
    return base


def write(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def jsonl(*records):
    return "\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)
                     for r in records) + "\n"


def problem_set(problems):
    return {(p.line, p.path, p.code) for p in problems}


# ---- JSON Lines ----
@pytest.mark.parametrize("suffix", [".jsonl", ".ndjson", ".JSONL"])
def test_jsonl_reads_records_with_line_numbers(tmp_path, suffix):
    path = write(tmp_path, "in" + suffix, jsonl(good(), "", "   ", good(given_name="ដារា")))
    rows, problems = read_records(path)
    assert problems == []
    assert [line for line, _ in rows] == [1, 4]


def test_jsonl_bad_lines(tmp_path):
    content = jsonl(good(), "{not json", "[1, 2]", '"text"', '{"a": 1, "a": 2}', good())
    rows, problems = read_records(write(tmp_path, "in.jsonl", content))
    assert [line for line, _ in rows] == [1, 6]
    assert problem_set(problems) == {
        (2, "", "import.malformed_json"), (3, "", "import.not_object"),
        (4, "", "import.not_object"), (5, "", "import.duplicate_key")}


def test_jsonl_encoding_error_only_hits_its_line(tmp_path):
    content = jsonl(good()).encode() + b'{"family_name": "\xff\xfe"}\n' + jsonl(good()).encode()
    rows, problems = read_records(write(tmp_path, "in.jsonl", content))
    assert [line for line, _ in rows] == [1, 3]
    assert problem_set(problems) == {(2, "", "import.encoding")}


def test_jsonl_bom_and_crlf(tmp_path):
    content = b"\xef\xbb\xbf" + jsonl(good(), good()).replace("\n", "\r\n").encode()
    rows, problems = read_records(write(tmp_path, "in.jsonl", content))
    assert problems == [] and len(rows) == 2


def test_jsonl_deep_nesting_and_huge_numbers(tmp_path):
    content = "[" * 100_000 + "\n" + '{"n": ' + "9" * 10_000 + "}\n"
    rows, problems = read_records(write(tmp_path, "in.jsonl", content))
    assert rows == [] and {p.code for p in problems} == {"import.malformed_json"}


# ---- whole-file problems ----
@pytest.mark.parametrize("name, content, code", [
    ("in.txt", "x", "import.unknown_format"),
    ("in", "x", "import.unknown_format"),
    ("in.jsonl", "", "import.empty_file"),
    ("in.jsonl", "\n\n  \n", "import.empty_file"),
    ("in.csv", "", "import.empty_file"),
    ("in.csv", "family_name,given_name\n", "import.empty_file"),
])
def test_file_level_problems(tmp_path, name, content, code):
    rows, problems = read_records(write(tmp_path, name, content))
    assert rows == [] and [(p.line, p.code) for p in problems] == [(0, code)]


def test_missing_file_and_directory(tmp_path):
    assert read_records(tmp_path / "nope.jsonl")[1][0].code == "import.file_unreadable"
    folder = tmp_path / "dir.csv"
    folder.mkdir()
    assert read_records(folder)[1][0].code == "import.file_unreadable"


def test_too_large(tmp_path, monkeypatch):
    monkeypatch.setattr(importer, "MAX_FILE_BYTES", 100)
    rows, problems = read_records(write(tmp_path, "in.jsonl", jsonl(good(), good())))
    assert rows == [] and problems[0].code == "import.too_large"
    assert "100" not in problems[0].message("en")  # limit shown in MB, not bytes


# ---- CSV ----
def csv_text(header, *rows):
    lines = []
    for row in (header, *rows):
        lines.append(",".join(row))
    return "\n".join(lines) + "\n"


BASE_COLUMNS = ["family_name", "given_name", "sex", "date_of_birth", "village_code",
                "occupation", "employment_status", "consent_given", "consent_method",
                "consent_recorded_at"]
BASE_VALUES = ["សុខ", "ស្រីនី", "female", "1985-03-12", "01020101", "farmer",
               "self_employed", "yes", "thumbprint", "2024-05-01"]


def test_csv_maps_columns_and_consent(tmp_path):
    path = write(tmp_path, "in.csv", csv_text(BASE_COLUMNS, BASE_VALUES))
    rows, problems = read_records(path)
    assert problems == []
    [(line, record)] = rows
    assert line == 2
    assert record["consent"] == {"given": True, "method": "thumbprint",
                                 "recorded_at": "2024-05-01"}
    clean, problems = validate_import(rows, TODAY)
    assert problems == [] and clean[0]["occupation"] == "farmer"


def test_csv_with_bom_blank_rows_and_empty_cells(tmp_path):
    header = BASE_COLUMNS + ["phone", "national_id"]
    content = "\ufeff" + csv_text(header, BASE_VALUES + ["", ""], [""] * len(header),
                                  BASE_VALUES + ["012 345 678", "០១២៣៤៥៦៧៨"])
    rows, problems = read_records(write(tmp_path, "in.csv", content))
    assert problems == [] and [line for line, _ in rows] == [2, 4]
    assert "phone" not in rows[0][1]
    clean, problems = validate_import(rows, TODAY)
    assert problems == [] and clean[1]["national_id"] == "012345678"


@pytest.mark.parametrize("word, value", [
    ("true", True), ("TRUE", True), ("Yes", True), ("1", True),
    ("false", False), ("no", False), ("0", False), ("maybe", "maybe"),
])
def test_csv_booleans(tmp_path, word, value):
    values = BASE_VALUES[:7] + [word] + BASE_VALUES[8:]
    rows, _ = read_records(write(tmp_path, "in.csv", csv_text(BASE_COLUMNS, values)))
    assert rows[0][1]["consent"]["given"] == value


def test_csv_numbered_dependent_columns(tmp_path):
    header = BASE_COLUMNS + ["dependent1_family_name", "dependent1_given_name",
                             "dependent1_relationship", "dependent1_sex",
                             "dependent1_date_of_birth",
                             "dependent1_disability_or_chronic_illness",
                             "dependent2_family_name", "dependent2_given_name",
                             "dependent2_relationship", "dependent2_sex",
                             "dependent2_date_of_birth"]
    values = BASE_VALUES + ["សុខ", "ដារា", "child", "male", "2000-01-01", "yes",
                            "សុខ", "វណ្ណា", "child", "female", "2030-01-01"]
    rows, problems = read_records(write(tmp_path, "in.csv", csv_text(header, values)))
    assert problems == []
    deps = rows[0][1]["dependents"]
    assert deps[0]["disability_or_chronic_illness"] is True and len(deps) == 2
    clean, problems = validate_import(rows, TODAY)
    assert problem_set(problems) == {(2, "dependents[1].date_of_birth",
                                      "validation.date.in_future")}


def test_csv_dependents_json_column(tmp_path):
    deps = [{"family_name": "សុខ", "given_name": "ដារា", "relationship": "child",
             "sex": "male", "date_of_birth": "2015-06-01"}]
    path = tmp_path / "in.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(BASE_COLUMNS + ["dependents"])
        writer.writerow(BASE_VALUES + [json.dumps(deps, ensure_ascii=False)])
        writer.writerow(BASE_VALUES + ["[not json"])
        writer.writerow(BASE_VALUES + [json.dumps(deps)])
    rows, problems = read_records(path)
    assert [line for line, _ in rows] == [2, 4]
    assert problem_set(problems) == {(3, "dependents", "import.csv.dependents_json")}
    clean, problems = validate_import(rows, TODAY)
    assert problems == [] and clean[0]["dependents"][0]["given_name"] == "ដារា"


def test_csv_both_dependent_styles_is_a_problem(tmp_path):
    header = BASE_COLUMNS + ["dependents", "dependent1_family_name"]
    path = tmp_path / "in.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([header, BASE_VALUES + ["[]", "សុខ"]])
    rows, problems = read_records(path)
    assert rows == [] and problems[0].code == "import.csv.dependents_both"


def test_csv_structure_problems(tmp_path):
    content = csv_text(["family_name", "family_name"], ["a", "b"])
    rows, problems = read_records(write(tmp_path, "dup.csv", content))
    assert rows == [] and problem_set(problems) == {(1, "", "import.csv.duplicate_column")}
    content = csv_text(["family_name", "sex"], ["សុខ", "female", "extra"], ["សុខ", "male"])
    rows, problems = read_records(write(tmp_path, "extra.csv", content))
    assert [line for line, _ in rows] == [3]
    assert problem_set(problems) == {(2, "", "import.csv.extra_cells")}


def test_csv_multiline_cell_line_numbers(tmp_path):
    content = "family_name,notes\nសុខ,\"line one\nline two\"\nសុខ,x\n"
    rows, problems = read_records(write(tmp_path, "in.csv", content))
    assert [line for line, _ in rows] == [2, 4]


def test_csv_encoding_error_line(tmp_path):
    content = "family_name\nសុខ\n".encode() + b"\xff\n"
    rows, problems = read_records(write(tmp_path, "in.csv", content))
    assert rows == [] and problem_set(problems) == {(3, "", "import.encoding")}


def test_csv_unknown_columns_become_unknown_fields(tmp_path):
    path = write(tmp_path, "in.csv", csv_text(BASE_COLUMNS + ["Famly_Name"], BASE_VALUES + ["x"]))
    rows, _ = read_records(path)
    _, problems = validate_import(rows, TODAY)
    assert problem_set(problems) == {(2, "famly_name", "validation.unknown_field")}


def test_csv_unterminated_quote_or_huge_field(tmp_path):
    content = "family_name,notes\nសុខ,\"" + "x" * 200_000 + "\n"
    rows, problems = read_records(write(tmp_path, "in.csv", content))
    assert rows == [] and problems and all(isinstance(p, ImportProblem) for p in problems)


# ---- validation with line numbers ----
def test_validate_import_lines_paths_and_messages(tmp_path):
    secret = "ស្រីនីសម្ងាត់x"
    content = jsonl(good(), good(given_name=secret, phone="123"), good())
    clean, problems = import_file(write(tmp_path, "in.jsonl", content), TODAY)
    assert len(clean) == 2
    assert problem_set(problems) == {(2, "given_name", "validation.not_khmer"),
                                     (2, "phone", "validation.phone.invalid")}
    for p in problems:
        d = p.to_dict()
        assert set(d) == {"line", "path", "code", "message_en", "message_km"}
        assert d["message_en"].startswith("Line 2: ")
        assert d["message_km"].startswith("បន្ទាត់ទី ២៖ ")
        assert secret not in d["message_en"] + d["message_km"]
        assert "123" not in d["message_en"] + d["message_km"]


def test_validate_import_passes_require_consent(tmp_path):
    record = good()
    del record["consent"]
    rows = [(1, record)]
    assert validate_import(rows, TODAY)[1][0].code == "validation.consent.given"
    clean, problems = validate_import(rows, TODAY, require_consent=False)
    assert problems == [] and len(clean) == 1


def test_whole_file_problem_message_has_no_line_prefix():
    p = ImportProblem(0, "", "import.empty_file")
    assert p.message("en") == "The file contains no records."
