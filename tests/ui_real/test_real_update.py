"""An update with real key events: a registered member found in Members by typing their Khmer name (xdotool, at a
person's speed, 30 ms a key, and fast, 5 ms), opened with Enter, *Update…* (Ctrl+U), a newborn added (Ctrl+Shift+C,
names, sex, birth date; the reason starts as "birth"), submitted (Ctrl+Enter). The stored update must hold exactly
what was typed, for the member number and the version the lookup holds.

Real window under Xvfb (1366x768), keys through XTest. No assertion on time: each wait is bounded and generous.
"""

from __future__ import annotations

import time

import pytest

from ui_real.household import KHMER_DIGITS, OUTREACH, OUTREACH_PASSWORD, PASSWORD, SEX_KEYS, SUPERVISOR
from ui_real.lookup import MEMBER, MEMBER_NO, entry, load_members, updates_of
from ui_real.realapp import WAIT_S

NEWBORN = {"family_name": "កែវ", "given_name": "សុវណ្ណ", "sex": "male", "date_of_birth": "2025-02-03"}


def _typed_date(iso: str, lang: str) -> str:
    year, month, day = iso.split("-")
    text = f"{int(day)}/{int(month)}/{year}"
    return text.translate(KHMER_DIGITS) if lang == "km" else text


@pytest.mark.parametrize("lang, delay_ms", [("km", 30), ("en", 30), ("km", 5)])
def test_newborn_added_to_a_looked_up_member_by_keyboard(real_app, real_data, lang, delay_ms):
    load_members(real_data, SUPERVISOR, PASSWORD, [entry()])
    app = real_app()
    app.login(OUTREACH, OUTREACH_PASSWORD, lang=lang)
    before = app.wait_settled("Home")
    app.key("ctrl+8")                                            # Members: the focus starts in the search box
    app.wait_changed(before, "the Members screen")
    app.type(f"{MEMBER['family_name']} {MEMBER['given_name']}", delay_ms)
    app.key("Return")                                            # opens the match once the search has answered
    app.wait_settled("the member")
    app.screenshot(f"member-{lang}-{delay_ms}")
    before = app.wait_settled("the member")
    app.key("ctrl+u")                                            # Update…
    app.wait_changed(before, "the update form", fraction=0.01)
    app.key("ctrl+shift+c")                                      # Add child: the focus in its family name
    app.type(NEWBORN["family_name"], delay_ms)
    app.key("Tab")
    app.type(NEWBORN["given_name"], delay_ms)
    app.key("Tab", "Tab", "Tab")                                 # the suggested Latin spellings kept
    app.type(SEX_KEYS[lang][NEWBORN["sex"]], delay_ms)
    app.key("Tab")
    app.type(_typed_date(NEWBORN["date_of_birth"], lang), delay_ms)
    app.wait_settled("the newborn typed")
    app.screenshot(f"update-form-{lang}-{delay_ms}")
    app.key("ctrl+Return")                                       # Submit
    deadline = time.monotonic() + WAIT_S
    while not [u for u in updates_of(real_data, OUTREACH, OUTREACH_PASSWORD) if u["state"] == "submitted"]:
        if time.monotonic() > deadline:
            pytest.fail(f"no submitted update; the screen is in {app.screenshot('not-submitted')}")
        time.sleep(0.25)
    app.wait_settled("after Submit")
    app.screenshot(f"submitted-{lang}-{delay_ms}")
    assert app.quit() == 0, app.log()
    (update,) = updates_of(real_data, OUTREACH, OUTREACH_PASSWORD)
    data = update["data"]
    assert (data["kind"], data["member_no"], data["base_version"]) == ("update", MEMBER_NO, 1)
    (added,) = data["add_dependents"]
    assert {k: added[k] for k in NEWBORN} == NEWBORN
    assert (added["relationship"], added["reason"]) == ("child", "birth")
    assert not data.get("remove_dependents") and not data.get("corrections")
