"""The lookup hit with real key events: a person enrolled by keyboard (xdotool, 30 ms a key, Khmer and English) who
is already a registered member of the area (found by name, birth date and commune in the looked-up members, as on a
laptop whose national-ID-less enrollment would have made a second member). Ctrl+Enter opens the duplicates dialog
saying "Already registered: member no. …, at … office"; Ctrl+O opens the member instead of submitting: the person
is not enrolled twice, and what was typed stays as a draft.

Real window under Xvfb (1366x768), keys through XTest. No assertion on time: each wait is bounded and generous.
"""

from __future__ import annotations

import time

import pytest

from ui_real.household import ONE_PERSON, OUTREACH, OUTREACH_PASSWORD, PASSWORD, SUPERVISOR, enroll_steps
from ui_real.lookup import entry, load_members
from ui_real.realapp import WAIT_S, stored_records

MEMBER_NO = "KH-REG-000777"


def _registered_as_one_person() -> dict:
    m = ONE_PERSON.member
    return {"family_name": m.family_name, "given_name": m.given_name, "family_name_latin": m.family_name_latin,
            "given_name_latin": m.given_name_latin, "sex": m.sex, "date_of_birth": m.date_of_birth,
            "village_code": ONE_PERSON.village_code, "occupation": "food_seller",
            "employment_status": "self_employed", "dependents": [],
            "consent": {"given": True, "method": "signature", "recorded_at": "2025-01-10"}}


@pytest.mark.parametrize("lang", ["km", "en"])
def test_already_registered_member_found_at_submit_and_opened_by_keyboard(real_app, real_data, lang):
    load_members(real_data, SUPERVISOR, PASSWORD, [entry(_registered_as_one_person(), MEMBER_NO, 2)])
    app = real_app()
    app.login(OUTREACH, OUTREACH_PASSWORD, lang=lang)
    before = app.wait_settled("Home")
    app.play(enroll_steps(ONE_PERSON, lang), delay_ms=30)       # ends with Ctrl+Enter: the duplicate check
    app.wait_changed(before, "the duplicates dialog", fraction=0.01)
    app.wait_settled("the duplicates dialog")
    app.screenshot(f"lookup-hit-{lang}")
    before = app.wait_settled("the duplicates dialog")
    app.key("ctrl+o")                                          # Open member: not enrolled twice
    app.wait_changed(before, "the member", fraction=0.01)
    app.wait_settled("the member")
    app.screenshot(f"lookup-member-{lang}")
    deadline = time.monotonic() + WAIT_S
    drafts = []
    while not drafts:
        drafts = stored_records(real_data, OUTREACH, OUTREACH_PASSWORD, state="draft")
        if time.monotonic() > deadline:
            pytest.fail(f"no draft kept; the screen is in {app.screenshot('no-draft')}")
        time.sleep(0.25)
    assert app.quit() == 0, app.log()
    assert stored_records(real_data, OUTREACH, OUTREACH_PASSWORD, state="submitted") == []
    (draft,) = drafts
    assert (draft["family_name"], draft["given_name"]) == (ONE_PERSON.member.family_name, ONE_PERSON.member.given_name)
