"""Record rules of fieldapp.domain.validation for the people around the worker: dependents and consent."""

import pytest

from helpers.validation_helpers import check, codes, dependent, record


# ---- dependents ----
def test_dependents_path_format_and_numbering():
    data = record(dependents=[dependent(), dependent(date_of_birth="2030-01-01")])
    clean, problems = check(data)
    [p] = problems
    assert p.path == "dependents[1].date_of_birth" and p.code == "validation.date.in_future"
    assert p.message("en").startswith("Dependent 2: ")
    assert p.message("km").startswith("អ្នកនៅក្នុងបន្ទុកទី ២៖ ")


@pytest.mark.parametrize("value, path, code", [
    ("x", "dependents", "validation.wrong_type"),
    ({"a": 1}, "dependents", "validation.wrong_type"),
    (["x"], "dependents[0]", "validation.dependent.not_object"),
    ([dependent(relationship="cousin")], "dependents[0].relationship", "validation.invalid_choice"),
    ([dependent(relationship=None)], "dependents[0].relationship", "validation.required"),
    ([dependent(disability_or_chronic_illness="yes")],
     "dependents[0].disability_or_chronic_illness", "validation.wrong_type"),
    ([dependent(nickname="x")], "dependents[0].nickname", "validation.unknown_field"),
    ([dependent(given_name="Dara")], "dependents[0].given_name", "validation.not_khmer"),
    ([dependent(date_of_birth="2006-01-01")], "dependents[0].date_of_birth",
     "validation.dependent.child_too_old"),
    ([dependent(relationship="spouse", date_of_birth="2010-01-01")],
     "dependents[0].date_of_birth", "validation.dependent.spouse_too_young"),
    ([dependent()] * 21, "dependents", "validation.dependents.too_many"),
])
def test_dependent_rules(value, path, code):
    assert (path, code) in codes(record(dependents=value))


def test_twenty_dependents_are_allowed():
    assert check(record(dependents=[dependent()] * 20))[1] == []


def test_at_most_one_spouse():
    spouse = dependent(relationship="spouse", sex="male", date_of_birth="1983-01-01")
    assert check(record(dependents=[spouse, dependent()]))[1] == []
    found = codes(record(dependents=[spouse, dependent(), spouse]))
    assert found == {("dependents[2].relationship", "validation.dependents.multiple_spouses")}


def test_child_age_and_disability_exception():
    ok = dependent(date_of_birth="2006-01-01", disability_or_chronic_illness=True)
    clean, problems = check(record(dependents=[ok]))
    assert problems == [] and clean["dependents"][0]["disability_or_chronic_illness"] is True
    assert check(record(dependents=[dependent(date_of_birth="2006-05-02")]))[1] == []  # 17


# ---- consent ----
def test_consent_required():
    assert codes(record(consent=None)) == {("consent.given", "validation.consent.given")}
    assert ("consent.given", "validation.consent.given") in \
        codes(record(consent={"given": False}))
    clean, problems = check(record(consent=None), require_consent=False)
    assert problems == [] and "consent" not in clean
    clean, problems = check(record(consent={"given": False}), require_consent=False)
    assert problems == [] and clean["consent"] == {"given": False}


@pytest.mark.parametrize("consent, path, code", [
    ("yes", "consent", "validation.wrong_type"),
    ({"given": "yes", "method": "signature", "recorded_at": "2024-05-01"},
     "consent.given", "validation.wrong_type"),
    ({"given": True, "recorded_at": "2024-05-01"}, "consent.method", "validation.required"),
    ({"given": True, "method": "email", "recorded_at": "2024-05-01"},
     "consent.method", "validation.invalid_choice"),
    ({"given": True, "method": "signature"}, "consent.recorded_at", "validation.required"),
    ({"given": True, "method": "signature", "recorded_at": "yesterday"},
     "consent.recorded_at", "validation.datetime.format"),
    ({"given": True, "method": "signature", "recorded_at": "2024-06-01T10:00:00"},
     "consent.recorded_at", "validation.date.in_future"),
    ({"given": True, "method": "signature", "recorded_at": "2024-05-01", "by": "x"},
     "consent.by", "validation.unknown_field"),
])
def test_consent_rules(consent, path, code):
    assert (path, code) in codes(record(consent=consent))


@pytest.mark.parametrize("stamp, stored", [
    ("2024-05-01", "2024-05-01"),
    ("2024-04-30T09:30:00+07:00", "2024-04-30T09:30:00+07:00"),
    ("2024-04-30T02:30:00Z", "2024-04-30T02:30:00+00:00"),
    ("2024-04-30 09:30", "2024-04-30T09:30:00"),
    ("២០២៤-០៤-៣០", "2024-04-30"),
    ("2024-05-02T01:00:00+07:00", "2024-05-02T01:00:00+07:00"),  # one day of slack
])
def test_consent_recorded_at_forms(stamp, stored):
    clean, problems = check(record(consent={"given": True, "method": "signature",
                                            "recorded_at": stamp}))
    assert problems == [] and clean["consent"]["recorded_at"] == stored
