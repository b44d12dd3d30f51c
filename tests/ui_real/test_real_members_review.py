"""Records search and the review of an update, with real key events (xdotool, 30 ms a key, Khmer and English):

- an outreach worker types a registered member's Khmer name, spelled otherwise (ដារា for ដារ៉ា), in the Records
  search: the line under it names the member found in the lookup; Ctrl+M shows them in Members;
- a supervisor opens Review (Ctrl+4), the submitted update is on screen (what it changes), and approves it with
  Ctrl+Shift+A: the update is approved (sealed on a registered laptop).

Real window under Xvfb (1366x768), keys through XTest. No assertion on time: each wait is bounded and generous.
"""

from __future__ import annotations

import time

import pytest

from ui_real.household import OUTREACH, OUTREACH_PASSWORD, PASSWORD, SUPERVISOR
from ui_real.lookup import MEMBER, entry, load_members, updates_of
from ui_real.realapp import WAIT_S

VARIANT = dict(MEMBER, family_name="សុខ", given_name="ដារា", family_name_latin="Sok", given_name_latin="Dara",
               national_id="031345678")
VARIANT_NO = "KH-REG-000321"


@pytest.mark.parametrize("lang", ["km", "en"])
def test_records_search_names_the_looked_up_member_and_ctrl_m_opens_members(real_app, real_data, lang):
    load_members(real_data, SUPERVISOR, PASSWORD, [entry(VARIANT, VARIANT_NO)])
    app = real_app()
    app.login(OUTREACH, OUTREACH_PASSWORD, lang=lang)
    before = app.wait_settled("Home")
    app.key("ctrl+3")                                          # Records: the focus in the search box
    app.wait_changed(before, "the Records screen")
    before = app.wait_settled("Records")
    app.type("សុខ ដារ៉ា", 30)                                   # the other spelling
    app.wait_changed(before, "the members line", fraction=0.002)
    app.wait_settled("the members line")
    app.screenshot(f"records-hint-{lang}")
    before = app.wait_settled("the members line")
    app.key("ctrl+m")
    app.wait_changed(before, "the Members screen", fraction=0.01)
    app.wait_settled("Members")
    shot = app.screenshot(f"members-from-records-{lang}")
    assert app.quit() == 0, app.log()
    assert shot.exists()


@pytest.mark.parametrize("lang", ["km", "en"])
def test_a_supervisor_approves_an_update_by_keyboard(real_app, real_data, lang):
    from fieldapp.store import records, updates
    from fieldapp.store.database import Store

    load_members(real_data, SUPERVISOR, PASSWORD, [entry()])
    with Store(real_data).unlock(OUTREACH, OUTREACH_PASSWORD) as ow:
        rid = updates.new_update(ow, entry()["member_no"], {"phone": "012 555 666"})
        records.submit(ow, rid)
    app = real_app()
    app.login(SUPERVISOR, PASSWORD, lang=lang)
    before = app.wait_settled("Home")
    app.key("ctrl+4")                                          # Review: the first submitted record chosen
    app.wait_changed(before, "the review queue")
    app.wait_settled("the update's preview")
    app.screenshot(f"review-update-{lang}")
    app.key("ctrl+shift+a")                                    # Approve
    deadline = time.monotonic() + WAIT_S
    while updates_of(real_data, SUPERVISOR, PASSWORD)[0]["state"] == "submitted":
        if time.monotonic() > deadline:
            pytest.fail(f"the update was not approved; the screen is in {app.screenshot('not-approved')}")
        time.sleep(0.25)
    app.wait_settled("after Approve")
    app.screenshot(f"approved-{lang}")
    assert app.quit() == 0, app.log()
    (update,) = updates_of(real_data, SUPERVISOR, PASSWORD)
    assert update["state"] in ("approved", "queued") and update["data"]["phone"] == "+85512555666"
