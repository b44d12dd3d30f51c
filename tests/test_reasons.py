"""Review reasons: a code every reader sees in their own language, plus the free text as typed."""

from __future__ import annotations

import pytest

from helpers.clitools import OUTREACH_PASSWORD, write_jsonl
from fieldapp.domain import reasons
from fieldapp.base.errors import FieldappError
from fieldapp.base.i18n import tr
from fieldapp.domain.synthetic import make_records


@pytest.mark.parametrize("code,text,stored", [
    ("wrong_name", "check the Latin spelling", "wrong_name: check the Latin spelling"),
    ("wrong_address", "", "wrong_address"),
    ("other", "  ភូមិខុស  ", "other: ភូមិខុស"),
    (None, "typed only", "typed only"),
    (None, "  ", None),
])
def test_compose_and_split_round_trip(code, text, stored):
    assert reasons.compose(code, text) == stored
    if stored:
        assert reasons.split(stored) == (code, text.strip())


def test_each_reader_sees_the_label_in_their_language():
    stored = reasons.compose("wrong_date_of_birth", "see the ID card")
    assert reasons.render(stored, "en") == "Date of birth wrong: see the ID card"
    assert reasons.render(stored, "km") == tr("forms.reason.wrong_date_of_birth", "km") + ": see the ID card"
    assert tr("forms.reason.wrong_date_of_birth", "km") != tr("forms.reason.wrong_date_of_birth", "en")


@pytest.mark.parametrize("legacy", ["Name spelled wrong: check it", "other reason", "wrong_name is not a code here",
                                    "wrong_namex: text", ""])
def test_plain_text_from_before_codes_is_shown_as_it_is(legacy):
    assert reasons.split(legacy)[0] is None
    assert reasons.render(legacy, "km") == legacy


def test_unknown_code_is_refused():
    with pytest.raises(FieldappError) as err:
        reasons.compose("because", "x")
    assert err.value.msg_id == "core.review.bad_reason_code"


def test_cli_review_with_a_reason_code(initialized, tmp_path):
    cli = initialized
    out = cli("import", "--user", "ow", write_jsonl(tmp_path / "r.jsonl", make_records(3)), password=OUTREACH_PASSWORD,
              check=True)
    a, b, c = out.stdout.split()
    cli("review", "--user", "sup", "--return", a, "--reason-code", "wrong_name", "--reason", "Latin spelling",
        check=True)
    cli("review", "--user", "sup", "--reject", b, "--reason-code", "possible_duplicate", check=True)
    bad = cli("review", "--user", "sup", "--reject", c, "--reason-code", "because")
    assert bad.returncode == 2 and "because" in bad.stderr  # argparse lists the choices
    listed = {r["id"]: r for r in cli.json("list", "--user", "ow", "--json", password=OUTREACH_PASSWORD)}
    assert (listed[a]["reason"], listed[a]["reason_code"]) == ("wrong_name: Latin spelling", "wrong_name")
    assert (listed[b]["reason"], listed[b]["reason_code"]) == ("possible_duplicate", "possible_duplicate")
    assert listed[c]["reason_code"] is None and listed[c]["state"] == "submitted"
