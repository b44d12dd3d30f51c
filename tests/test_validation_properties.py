"""Property tests: validation and import never raise and are deterministic."""
import json
from datetime import date

from hypothesis import HealthCheck, given, settings, strategies as st

from fieldapp.domain.importer import ImportProblem, read_records, validate_import
from fieldapp.domain.occupations import CONSENT_METHODS, OCCUPATIONS, SEXES
from fieldapp.domain.validation import SCHEMA_FIELDS, Problem, validate_record

TODAY = date(2024, 5, 1)
SETTINGS = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Text mixing Khmer, zero-width characters, emoji, right-to-left and control
# characters, and now and then a very long run.
_special = st.sampled_from(["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u202e",
                            "\u200f", "\x00", "\x1b", "\n", "\t", "😀", "👍🏽", "مرحبا",
                            "\u17d2", "\u17d2\u178a", "ទ្ប", "០១២", "\ud800"])
_char_text = st.text(alphabet=st.one_of(
    st.characters(min_codepoint=0x1780, max_codepoint=0x17FF),
    st.characters(codec="utf-8"),
), max_size=30)
texts = st.one_of(
    _char_text,
    st.lists(st.one_of(_char_text, _special), max_size=8).map("".join),
    st.builds(lambda s, n: s * n, st.sampled_from(["ក", "x", "\u200b", "1"]),
              st.integers(1000, 50_000)),
)
keys = st.one_of(st.sampled_from(SCHEMA_FIELDS + ("given", "method", "relationship",
                                                  "disability_or_chronic_illness")), texts)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), texts),
    lambda inner: st.one_of(st.lists(inner, max_size=5),
                            st.dictionaries(keys, inner, max_size=6)),
    max_leaves=25,
)
# Records that are nearly right, so the deeper rules get exercised too.
near_records = st.fixed_dictionaries({
    "family_name": st.one_of(st.just("សុខ"), texts),
    "given_name": st.one_of(st.just("ដារា"), texts),
    "sex": st.one_of(st.sampled_from(SEXES), json_values),
    "date_of_birth": st.one_of(st.dates().map(date.isoformat), texts),
    "village_code": st.one_of(st.sampled_from(["01020101", "02110305", "០១០២០១០១"]), texts),
    "occupation": st.sampled_from(OCCUPATIONS),
    "employment_status": st.sampled_from(["self_employed", "other", "x"]),
    "dependents": st.one_of(st.lists(st.fixed_dictionaries({
        "family_name": st.just("សុខ"), "given_name": texts,
        "relationship": st.sampled_from(["spouse", "child", "x"]),
        "sex": st.sampled_from(SEXES), "date_of_birth": st.dates().map(date.isoformat),
    }, optional={"disability_or_chronic_illness": json_values}), max_size=4), json_values),
    "consent": st.fixed_dictionaries({
        "given": st.one_of(st.booleans(), json_values),
        "method": st.sampled_from(CONSENT_METHODS),
        "recorded_at": st.one_of(st.dates().map(date.isoformat), texts)}),
}, optional={"phone": texts, "national_id": texts, "notes": texts, "record_id": texts,
             "province_code": texts})


def _assert_contract(result):
    clean, problems = result
    if clean is None:
        assert problems and all(isinstance(p, Problem) for p in problems)
        assert all(p.code != "validation.internal_error" for p in problems)
        for p in problems[:3]:
            assert isinstance(p.message("en"), str) and isinstance(p.message("km"), str)
    else:
        assert isinstance(clean, dict) and problems == []
        json.dumps(clean)  # the clean form is plain JSON


@SETTINGS
@given(json_values)
def test_any_json_value_never_raises(data):
    first = validate_record(data, today=TODAY)
    _assert_contract(first)
    assert validate_record(data, today=TODAY) == first


@SETTINGS
@given(near_records, st.booleans())
def test_near_records_never_raise_and_clean_is_stable(data, require_consent):
    first = validate_record(data, today=TODAY, require_consent=require_consent)
    _assert_contract(first)
    assert validate_record(data, today=TODAY, require_consent=require_consent) == first
    clean = first[0]
    if clean is not None:  # a clean record is valid as it stands and unchanged
        assert validate_record(clean, today=TODAY, require_consent=require_consent) == (clean, [])


def _check_import(path):
    rows, problems = read_records(path)
    assert all(isinstance(p, ImportProblem) for p in problems)
    assert all(isinstance(line, int) and line >= 1 and isinstance(r, dict) for line, r in rows)
    clean, more = validate_import(rows, TODAY)
    assert all(p.code != "validation.internal_error" for p in more)
    for p in (problems + more)[:3]:
        p.to_dict()
    assert rows or problems  # an empty file is reported too
    return rows, problems, clean, more


@SETTINGS
@given(st.binary(max_size=2000), st.sampled_from([".jsonl", ".csv", ".ndjson"]))
def test_importer_on_arbitrary_bytes(tmp_path_factory, data, suffix):
    path = tmp_path_factory.mktemp("imp") / ("in" + suffix)
    path.write_bytes(data)
    assert _check_import(path) == _check_import(path)


@SETTINGS
@given(st.lists(st.one_of(json_values.map(lambda v: json.dumps(v, ensure_ascii=False)),
                          texts), max_size=6),
       st.sampled_from([".jsonl", ".csv"]))
def test_importer_on_arbitrary_text_lines(tmp_path_factory, lines, suffix):
    path = tmp_path_factory.mktemp("imp") / ("in" + suffix)
    path.write_bytes("\n".join(lines).encode("utf-8", "surrogatepass"))
    assert _check_import(path) == _check_import(path)


# Records built only from valid parts (in many spellings): they must come out
# clean, and the clean form must validate to itself.
_khmer_names = st.lists(st.sampled_from(["សុខ", "ស្រី", "នី", "ចាន់", "ទ្បើង", "អណ្ដូង",
                                         "\u200b", " ", "\u200b\u200b"]),
                        min_size=1, max_size=4).map(lambda parts: "សុ" + "".join(parts))
_latin_names = st.from_regex(r"[A-Z][a-z]{1,8}( [A-Z][a-z'.-]{1,8})?", fullmatch=True)
_child = st.fixed_dictionaries({
    "family_name": _khmer_names, "given_name": _khmer_names,
    "relationship": st.just("child"), "sex": st.sampled_from(SEXES),
    "date_of_birth": st.dates(date(2007, 6, 1), TODAY).map(date.isoformat),
}, optional={"disability_or_chronic_illness": st.booleans(),
             "given_name_latin": _latin_names})
valid_records = st.fixed_dictionaries({
    "family_name": _khmer_names, "given_name": _khmer_names,
    "sex": st.sampled_from(SEXES + ("Female", " MALE ")),
    "date_of_birth": st.dates(date(1925, 1, 1), date(2009, 1, 1)).map(date.isoformat),
    "village_code": st.sampled_from(["01020101", "02110305", "០១០២០១០១", " 12010101 "]),
    "occupation": st.sampled_from(OCCUPATIONS[:-1]),
    "employment_status": st.sampled_from(["self_employed", "informal_wage_worker", "other"]),
    "dependents": st.lists(_child, max_size=5),
    "consent": st.fixed_dictionaries({
        "given": st.just(True), "method": st.sampled_from(CONSENT_METHODS),
        "recorded_at": st.sampled_from(["2024-05-01", "2024-04-30T10:00:00+07:00",
                                        "២០២៤-០៤-៣០", "2024-04-01T03:00:00Z"])}),
}, optional={
    "phone": st.sampled_from(["012 345 678", "+855 12 345 678", "85512345678",
                              "០១២ ៣៤៥ ៦៧៨", "097 7777 777"]),
    "national_id": st.from_regex(r"[0-9]{3} ?[0-9]{3} ?[0-9]{3}", fullmatch=True),
    "family_name_latin": _latin_names, "given_name_latin": _latin_names,
    "notes": texts.map(lambda t: t[:200]),
    "record_id": st.uuids().map(str),
})


@SETTINGS
@given(valid_records)
def test_valid_records_come_out_clean_and_stable(data):
    clean, problems = validate_record(data, today=TODAY)
    assert problems == [], [(p.path, p.code) for p in problems]
    assert validate_record(clean, today=TODAY) == (clean, [])
    assert validate_record(json.loads(json.dumps(clean)), today=TODAY) == (clean, [])
