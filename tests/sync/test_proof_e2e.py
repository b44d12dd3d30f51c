"""Proof for the enrolled person, end to end through real processes: a real registry, two laptops' command lines, the
Qt printing plug-in writing real PDFs, poppler reading them back, zxing-cpp (not segno, which drew them) decoding
the QR codes.

Enroll a Khmer household, approve, sync: the member number reaches the record within one sync, with the registry's
card signature; the card is printed; a second laptop with no network (the registry stopped) accepts it with
``verify-card``, from its text and from a scan, and refuses a one-bit change; the slip's QR verifies at the registry
with the laptop's device key. Nothing personal is left on disk outside the PDFs the user asked for.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from helpers.clitools import OUTREACH_PASSWORD, Cli, write_jsonl
from helpers.planted import needles_of, scan
from helpers.sync_helpers import Registry
from fieldapp.domain.khmer import normalize_text
from fieldapp.domain.synthetic import make_records

pytestmark = pytest.mark.skipif(not shutil.which("pdftoppm") or not shutil.which("pdftotext"),
                                reason="poppler-utils (pdftoppm, pdftotext) are not installed")
HOUSEHOLD = {"family_name": "សុខ", "given_name": "ដារ៉ា", "family_name_latin": "Sok", "given_name_latin": "Dara",
             "sex": "female", "date_of_birth": "1990-05-01"}
DEPENDENTS = [{"family_name": "ចាន់", "given_name": "សុភ័ក្ត្រ", "family_name_latin": "Chan",
               "given_name_latin": "Sopheak", "sex": "male", "date_of_birth": "1988-02-11", "relationship": "spouse",
               "disability_or_chronic_illness": False},
              {"family_name": "ចាន់", "given_name": "ស្រីពៅ", "family_name_latin": "Chan", "given_name_latin": "Sreypov",
               "sex": "female", "date_of_birth": "2019-09-30", "relationship": "child",
               "disability_or_chronic_illness": False}]


def household_record() -> dict:
    rec = make_records(1, seed=5)[0]
    rec.update(HOUSEHOLD, dependents=[dict(d) for d in DEPENDENTS])
    rec.pop("national_id", None)
    return rec


def qr_texts(pdf, tmp_path, name: str) -> list[str]:
    from PIL import Image
    import zxingcpp

    subprocess.run(["pdftoppm", "-r", "200", "-png", str(pdf), str(tmp_path / name)], check=True)
    found = []
    for png in sorted(tmp_path.glob(f"{name}*.png")):
        found += [r.text for r in zxingcpp.read_barcodes(Image.open(png)) if r.text]
    return found


def flip_one_bit(text: str) -> str:
    """The QR text with one bit of its Base45 payload changed (a character swapped for its neighbour)."""
    from fieldapp.outbound.credential import b45decode, b45encode

    prefix, body = text[:4], text[4:]
    raw = bytearray(b45decode(body))
    raw[len(raw) // 2] ^= 0x01
    return prefix + b45encode(bytes(raw))


@pytest.mark.slow
def test_member_number_card_and_slip_end_to_end(tmp_path):
    registry = Registry(tmp_path / "registry").start()
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {"TMPDIR": tmp, "HOME": tmp_path / "home", "QT_QPA_PLATFORM": "offscreen"}
    try:
        first = Cli(tmp_path / "laptop1")
        first("init", "--user", "sup", check=True)
        first("user", "add", "--user", "sup", "--new-user", "ow", "--role", "outreach", "--full-name", "Keo Sophal",
              new_password=OUTREACH_PASSWORD, check=True)
        rec = household_record()
        first("import", "--user", "ow", write_jsonl(tmp_path / "in.jsonl", [rec]), password=OUTREACH_PASSWORD,
              check=True)
        rid = first.json("list", "--user", "sup", "--json")[0]["id"]
        # the slip at submission: before the laptop is registered there is no device key, so the slip says so
        first("register", "--user", "sup", "--server", registry.url, "--code", registry.code(), check=True)
        slip_pdf = tmp_path / "out" / "slip.pdf"
        slip_pdf.parent.mkdir()
        out = first("slip", rid, "--user", "ow", "--out", slip_pdf, "--page", "A5", "--lang", "km",
                    password=OUTREACH_PASSWORD, **env)
        assert out.returncode == 0, out.stderr
        assert slip_pdf.stat().st_mode & 0o077 == 0
        # the Khmer slip: every name of the household extracts as the normalised text (shaped glyphs, not boxes)
        slip_words = normalize_text(subprocess.run(["pdftotext", str(slip_pdf), "-"], capture_output=True,
                                                   text=True).stdout)
        for person in [HOUSEHOLD, *DEPENDENTS]:
            assert normalize_text(f"{person['family_name']} {person['given_name']}") in slip_words, person
        assert "\ufffd" not in slip_words and "ការចុះឈ្មោះ" in slip_words
        first("review", "--user", "sup", "--approve-all", check=True)
        # one sync: sent, registered at once (register-delay 0), the status answer with the card signature pulled in
        out = first("sync", "--json", "--user", "sup")
        assert out.returncode == 0, out.stderr
        listed = first.json("list", "--user", "sup", "--json")[0]
        exported = [json.loads(x) for x in registry.cli("export", "--format", "jsonl").splitlines() if x.strip()]
        assert listed["state"] == "registered" and listed["member_no"] == exported[0]["registry_id"]
        assert listed["status"] == f"Registered: member no. {listed['member_no']}"
        # the card, printed and read back by another QR library
        card_pdf = tmp_path / "out" / "card.pdf"
        out = first("card", rid, "--user", "sup", "--out", card_pdf, **env)
        assert out.returncode == 0, out.stderr
        text = subprocess.run(["pdftotext", "-layout", str(card_pdf), "-"], capture_output=True, text=True).stdout
        assert "សុខ ដារ៉ា" in text.replace("\u200b", "") and listed["member_no"] in text
        (card_text,) = qr_texts(card_pdf, tmp_path / "out", "card")
        (slip_text,) = qr_texts(slip_pdf, tmp_path / "out", "slip")
        assert card_text.startswith("NC1:") and slip_text.startswith("NS1:")
        # the registry checks both: the card with its own key, the slip with the device key it enrolled
        assert json.loads(registry.cli("verify-card", card_text))["claims"]["member_no"] == listed["member_no"]
        assert json.loads(registry.cli("verify-card", slip_text))["kind"] == "slip"
        second = Cli(tmp_path / "laptop2")
        second("init", "--user", "sup", check=True)
        second("register", "--user", "sup", "--server", registry.url, "--code", registry.code(), check=True)
    finally:
        registry.stop()
    # the second laptop, the registry gone: the card verifies offline, from its text and from a scan
    ok = second("verify-card", card_text, "--user", "sup", "--json")
    assert ok.returncode == 0, ok.stderr
    claims = json.loads(ok.stdout)["claims"]
    assert claims["member_no"] == listed["member_no"] and claims["full_name"] == "សុខ ដារ៉ា"
    assert [d["name"] for d in claims["dependents"]] == ["ចាន់ សុភ័ក្ត្រ", "ចាន់ ស្រីពៅ"]
    png = sorted((tmp_path / "out").glob("card*.png"))[0]
    assert second("verify-card", "--image", png, "--user", "sup").returncode == 0
    bad = second("verify-card", flip_one_bit(card_text), "--user", "sup")
    assert bad.returncode == 1 and bad.stdout.strip().startswith("Refused")
    # a slip is checked with the device key of the laptop that signed it: the second laptop does not know it
    other = second("verify-card", slip_text, "--user", "sup")
    assert other.returncode == 1 and "does not know" in other.stdout
    assert first("verify-card", slip_text, "--user", "sup").returncode == 0
    assert first("verify-card", flip_one_bit(slip_text), "--user", "sup").returncode == 1
    # nothing personal left by the app: data folders, temp folder, home (Qt's caches), logs
    needles = needles_of([rec])
    leftovers = scan([tmp_path / "laptop1", tmp_path / "laptop2", tmp, tmp_path / "home"], needles)
    assert leftovers == []
