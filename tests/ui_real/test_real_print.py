"""Printing a slip with real key events: enroll one person by keyboard, Ctrl+P on the form (the slip of the record
just submitted), and, with no printer installed, the save dialog: a path typed there, Enter. The PDF must appear
owner-only, hold the typed names (pdftotext) and be the only file the app wrote outside its data folder.

Real window under Xvfb, keys through XTest (``xdotool``), 30 ms apart, in both languages. No assertion on time:
each wait is bounded and generous.
"""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest

from ui_real.household import ONE_PERSON, OUTREACH, OUTREACH_PASSWORD, enroll_steps
from ui_real.realapp import WAIT_S, stored_records

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) not installed")


@pytest.mark.parametrize("lang", ["km", "en"])
def test_slip_printed_to_pdf_by_keyboard(real_app, real_data, tmp_path, lang):
    app = real_app()
    app.login(OUTREACH, OUTREACH_PASSWORD, lang=lang)
    app.play(enroll_steps(ONE_PERSON, lang), delay_ms=30)
    deadline = time.monotonic() + WAIT_S
    while not stored_records(real_data, OUTREACH, OUTREACH_PASSWORD, state="submitted"):
        if time.monotonic() > deadline:
            pytest.fail(f"no submitted record; the screen is in {app.screenshot('not-submitted')}")
        time.sleep(0.25)
    before = app.wait_settled("the form after Submit")
    app.key("ctrl+p")                                     # no printer here: the save dialog opens
    app.wait_changed(before, "the save dialog")
    app.wait_settled("the save dialog")
    app.screenshot(f"save-dialog-{lang}")
    out = tmp_path / "saved" / f"slip-{lang}.pdf"
    out.parent.mkdir()
    app.key("ctrl+a")
    app.type(str(out))
    app.key("Return")
    deadline = time.monotonic() + WAIT_S
    while not (out.exists() and out.stat().st_size > 0 and out.read_bytes().rstrip().endswith(b"%%EOF")):
        if time.monotonic() > deadline:
            pytest.fail(f"no PDF at {out}; the screen is in {app.screenshot('no-pdf')}")
        time.sleep(0.25)
    app.screenshot(f"saved-{lang}")
    assert app.quit() == 0, app.log()
    assert out.stat().st_mode & 0o077 == 0                # personal data: the owner only
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # no temporary copy beside it
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True, check=True).stdout
    text = text.replace("\u200b", "")
    for key in ("family_name", "given_name"):
        assert getattr(ONE_PERSON.member, key) in text, key
