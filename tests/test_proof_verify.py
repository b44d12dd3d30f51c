"""Checking a card's or a slip's QR code offline: fieldapp.proof.verify (in words), fieldapp.outbound.verify_qr (the
one check every verifier shares) and fieldapp.outbound.qr_image (the QR read back from a photo or scan).

Failure paths first: another registry's card, a slip from a laptop this one does not know, garbage, a zlib bomb,
overlong text, and image files that are not images, claim billions of pixels, or hold no QR code. Each refusal reads
as a sentence in English and in Khmer; what a refused text claims is never shown.
"""

from __future__ import annotations

import struct
import zlib

import pytest

from fieldapp.base.errors import FieldappError
from fieldapp.base.i18n import tr
from fieldapp.outbound import credential, identity, verify_qr, wire
from fieldapp.outbound import device as device_file
from fieldapp.outbound.qr_image import MAX_FILE_BYTES, ImageError, read_qr_texts
from fieldapp.proof.verify import keys_of_session, verify_text
from fieldapp.store.database import Store

REGISTRY = wire.new_registry_keys()
OTHER_REGISTRY = wire.new_registry_keys()
DEVICE_PRIVATE, DEVICE_PUBLIC = wire.new_device_keys()
CLAIMS = {"member_no": "KH-REG-000042", "version": 1, "full_name": "សុខ ដារ៉ា", "family_name": "សុខ",
          "given_name": "ដារ៉ា", "full_name_latin": "Sok Dara", "date_of_birth": "1990-05-01", "sex": "F",
          "scheme": "nssf-vhs", "issued_at": "2025-06-01T02:03:04Z",
          "dependents": [{"name": "ចាន់ ស្រីពៅ", "name_latin": "Chan Sreypov", "date_of_birth": "2019-09-30",
                          "sex": "F", "relationship": "child"}]}
SLIP = {"reference": credential.reference("rec-0001"), "record_id": "rec-0001", "device_id": "dev-0001",
        "enrolled_on": "2025-06-01", "household_size": 3, "commune_code": "010301",
        "issued_at": "2025-06-01T02:03:04Z"}
CARD_TEXT = credential.issue_card(CLAIMS, REGISTRY["sign_private"])
SLIP_TEXT = credential.issue_slip(SLIP, DEVICE_PRIVATE)
DEVICES = {"dev-0001": DEVICE_PUBLIC}


def check(text, registry_key=REGISTRY["sign_public"], devices=DEVICES, reason=None, message_id=None) -> dict:
    """``verify_text`` in both languages; a refusal has ``reason`` and reads as ``message_id`` in each."""
    results = {lang: verify_text(text, registry_key, devices, lang) for lang in ("en", "km")}
    if reason is not None:
        for lang, found in results.items():
            assert found["valid"] is False and found["reason"] == reason, found
            assert found["message"] == tr(message_id, lang) != message_id
            assert "lines" not in found and "claims" not in found  # nothing of what a refused text says
        assert results["en"]["message"] != results["km"]["message"]
    return results


def flip_one_bit(text: str) -> str:
    raw = bytearray(credential.b45decode(text[4:]))
    raw[len(raw) // 2] ^= 0x01
    return text[:4] + credential.b45encode(bytes(raw))


# ---------------------------------------------------------------- refused texts
def test_a_card_from_another_registry_key_is_refused():
    other = credential.issue_card(CLAIMS, OTHER_REGISTRY["sign_private"])
    check(other, reason="bad_signature", message_id="proof.verify.refused.bad_signature")
    check(CARD_TEXT, registry_key=OTHER_REGISTRY["sign_public"], reason="bad_signature",
          message_id="proof.verify.refused.bad_signature")


def test_a_card_without_a_registry_key_or_with_a_broken_one_is_not_checked():
    check(CARD_TEXT, registry_key=None, reason="no_key", message_id="proof.verify.no_key")
    check(CARD_TEXT, registry_key=b"\x00" * 5, reason="no_key", message_id="proof.verify.no_key")  # not Ed25519


def test_a_slip_from_an_unknown_device_is_refused():
    stranger_private = wire.new_device_keys()[0]
    stranger = credential.issue_slip(dict(SLIP, device_id="dev-9999"), stranger_private)
    check(stranger, reason="unknown_device", message_id="proof.verify.refused.unknown_device")
    check(SLIP_TEXT, devices={}, reason="unknown_device", message_id="proof.verify.refused.unknown_device")
    # a slip that names this laptop but was signed by another one
    forged = credential.issue_slip(SLIP, stranger_private)
    check(forged, reason="bad_signature", message_id="proof.verify.refused.bad_signature")
    check(SLIP_TEXT, devices={"dev-0001": b"\x01" * 3}, reason="no_key", message_id="proof.verify.no_key")


@pytest.mark.parametrize("text, reason", [
    ("hello", "not_a_credential"), ("", "not_a_credential"), ("https://example.org/?q=NC1:", "not_a_credential"),
    ("NX1:ABC", "not_a_credential"), (None, "not_a_credential"), (42, "not_a_credential"),
    (CARD_TEXT.encode("ascii"), "not_a_credential"), ("NC1:", "bad_encoding"), ("NS1:", "bad_encoding"),
    ("NC1:abc", "bad_encoding"), ("NC1:" + "Z" * 7, "bad_encoding"), ("nc1:" + CARD_TEXT[4:], "not_a_credential"),
    ("NC1:" + credential.b45encode(zlib.compress(b"\x00" * 64)), "bad_encoding"),  # CBOR 0, then bytes after it
    ("NC1:" + credential.b45encode(zlib.compress(bytes([0x84, 1, 2, 3, 4]))), "malformed"),  # not a COSE_Sign1
    ("NS1:" + CARD_TEXT[4:], "malformed"),  # a card's bytes under the slip's prefix
], ids=lambda v: repr(v)[:30])
def test_garbage_is_refused(text, reason):
    message = ("proof.verify.refused.not_a_credential" if reason == "not_a_credential"
               else "proof.verify.refused.damaged")
    check(text, reason=reason, message_id=message)


def test_a_zlib_bomb_is_refused_before_it_is_inflated():
    bomb = "NC1:" + credential.b45encode(zlib.compress(b"\x00" * 2_000_000, 9))
    assert len(bomb) <= verify_qr.MAX_TEXT  # within the text limit: only the inflate bound stops it
    check(bomb, reason="too_large", message_id="proof.verify.refused.damaged")
    check("NS1:" + bomb[4:], reason="too_large", message_id="proof.verify.refused.damaged")


@pytest.mark.parametrize("size", [verify_qr.MAX_TEXT + 1, 1_000_000])
def test_overlong_text_is_refused_before_it_is_decoded(size):
    check(CARD_TEXT + "0" * (size - len(CARD_TEXT)), reason="too_large", message_id="proof.verify.refused.damaged")
    assert verify_qr.check("\x00" * size, None, lambda _d: None) == {"valid": False, "reason": "too_large"}


def test_one_changed_bit_is_refused():
    for text in (CARD_TEXT, SLIP_TEXT):
        found = check(flip_one_bit(text))["en"]
        assert found["valid"] is False and found["reason"] in ("bad_signature", "bad_encoding", "malformed")


# ---------------------------------------------------------------- valid texts, in words
def test_a_good_card_in_english_and_khmer():
    results = check(CARD_TEXT)
    en, km = results["en"], results["km"]
    assert en["valid"] and en["kind"] == "card" and en["claims"] == CLAIMS
    assert en["message"] == tr("proof.verify.card_ok", "en") and km["message"] == tr("proof.verify.card_ok", "km")
    assert en["lines"] == [(tr("proof.field.member_no", "en"), "KH-REG-000042"),
                           (tr("proof.col.name", "en"), "សុខ ដារ៉ា (Sok Dara)"),
                           (tr("proof.card.born", "en"), "1990-05-01"),
                           (tr("proof.card.covered", "en"), "ចាន់ ស្រីពៅ (Child, 2019-09-30)")]
    assert km["lines"][2] == (tr("proof.card.born", "km"), "១៩៩០-០៥-០១")
    assert km["lines"][3][1] == f"ចាន់ ស្រីពៅ ({tr('relationship.child', 'km')}, ២០១៩-០៩-៣០)"
    assert km["lines"][0][1] == "KH-REG-000042"  # the number as the registry wrote it


def test_a_good_slip_in_english_and_khmer():
    results = check(SLIP_TEXT)
    en, km = results["en"], results["km"]
    assert en["valid"] and en["kind"] == "slip" and en["claims"] == SLIP
    assert en["message"] == tr("proof.verify.slip_ok", "en", device="dev-0001")
    assert en["lines"] == [(tr("proof.slip.reference", "en"), SLIP["reference"]),
                           (tr("proof.field.date", "en"), "2025-06-01"), (tr("proof.slip.household", "en"), "3")]
    assert [v for _k, v in km["lines"]] == [SLIP["reference"], "២០២៥-០៦-០១", "៣"]


def test_keys_of_session_are_the_stores_own(tmp_path):
    data = tmp_path / "data"
    with Store(data).create("sup", "supervisor pw", "Supervisor") as sup:
        assert keys_of_session(sup) == (None, {})  # not registered: nothing to check with
        identity.adopt(sup, device_file.Device(
            "dev-0001", "https://registry.example.org", wire.b64e(DEVICE_PRIVATE), wire.b64e(DEVICE_PUBLIC),
            wire.b64e(REGISTRY["seal_public"]), wire.b64e(REGISTRY["sign_public"]), "2025-03-04T05:06:07Z"))
        registry_key, devices = keys_of_session(sup)
    assert registry_key == REGISTRY["sign_public"] and devices == DEVICES
    assert verify_text(CARD_TEXT, registry_key, devices, "en")["valid"]
    assert verify_text(SLIP_TEXT, registry_key, devices, "en")["valid"]


# ---------------------------------------------------------------- QR codes read back from image files
def _chunk(tag: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))


def png_claiming(width: int, height: int) -> bytes:
    """A few hundred bytes whose header claims ``width`` x ``height`` grey pixels."""
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + _chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + _chunk(b"IEND", b""))


def image_refused(path, reason: str) -> None:
    with pytest.raises(ImageError) as info:
        read_qr_texts(path)
    assert info.value.reason == reason
    # where it reaches a person (``fieldapp verify-card --image``) it is this message, in either language
    err = FieldappError(f"proof.verify.{reason}")
    assert err.message("en") != err.msg_id and err.message("km") not in (err.msg_id, err.message("en"))


@pytest.mark.parametrize("content", [b"", b"not an image at all\n", b"%PDF-1.7\n", b"\x89PNG\r\n\x1a\n",
                                     png_claiming(20, 20)[:40], b"GIF89a" + b"\xff" * 20],
                         ids=["empty", "text", "pdf", "png signature only", "truncated png", "broken gif"])
def test_a_file_that_is_not_an_image_is_bad_image(tmp_path, content):
    path = tmp_path / "scan.png"
    path.write_bytes(content)
    image_refused(path, "bad_image")


def test_a_missing_file_a_folder_and_an_oversized_file_are_bad_image(tmp_path):
    image_refused(tmp_path / "missing.png", "bad_image")
    image_refused(tmp_path, "bad_image")
    big = tmp_path / "big.png"
    with open(big, "wb") as f:  # sparse: refused by its size before a byte is read
        f.write(png_claiming(20, 20))
        f.truncate(MAX_FILE_BYTES + 1)
    image_refused(big, "bad_image")


@pytest.mark.parametrize("width, height", [(100_000, 100_000), (7_000, 7_000), (1, 2**31 - 1)],
                         ids=["10 gigapixels", "49 megapixels", "one column, 2 billion rows"])
def test_a_decompression_bomb_header_is_refused_before_decoding(tmp_path, width, height):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_claiming(width, height))
    assert path.stat().st_size < 200
    image_refused(path, "bad_image")


def test_postscript_is_never_handed_to_an_interpreter(tmp_path):
    """An EPS file parses as an image for Pillow only by running Ghostscript on it; a scan is never one."""
    good = tmp_path / "card.eps"
    good.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nnewpath 0 0 moveto 10 10 lineto stroke\n"
                     b"showpage\n%%EOF\n")
    image_refused(good, "bad_image")
    broken = tmp_path / "broken.eps"
    broken.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nundefinedoperator\n%%EOF\n")
    image_refused(broken, "bad_image")


def test_an_image_with_no_qr_code(tmp_path):
    from PIL import Image

    for size, name in (((1, 1), "dot.png"), ((300, 200), "blank.png")):
        Image.new("L", size, 255).save(tmp_path / name)
        image_refused(tmp_path / name, "no_qr")
    Image.new("RGB", (300, 200), (200, 30, 30)).save(tmp_path / "red.jpg", quality=80)
    image_refused(tmp_path / "red.jpg", "no_qr")


def test_a_qr_drawn_by_segno_reads_back_and_verifies(tmp_path):
    from PIL import Image
    import segno

    png = tmp_path / "card.png"
    segno.make(CARD_TEXT, error="m").save(png, scale=4, border=4)
    assert read_qr_texts(png) == [CARD_TEXT]
    assert verify_text(read_qr_texts(png)[0], REGISTRY["sign_public"], {}, "en")["valid"]
    scan = tmp_path / "scan.jpg"  # the same, as a scanner would save it
    Image.open(png).convert("RGB").resize((1200, 1200), Image.NEAREST).save(scan, quality=85)
    assert read_qr_texts(scan) == [CARD_TEXT]
    slip = tmp_path / "slip.png"
    segno.make(SLIP_TEXT, error="m").save(slip, scale=3)
    (text,) = read_qr_texts(slip)
    assert verify_text(text, None, DEVICES, "km")["valid"]


def test_reading_an_image_leaves_pillows_own_limit_as_it_was(tmp_path, monkeypatch):
    """The 40-megapixel limit is checked on the header here; Pillow's process-wide limit is not lowered (another
    part of the process may open large images on purpose)."""
    from PIL import Image

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 89_478_485)  # Pillow's default, whatever ran before
    before = Image.MAX_IMAGE_PIXELS
    path = tmp_path / "big.png"
    path.write_bytes(png_claiming(8000, 6000))  # 48 megapixels: over this limit, under Pillow's own
    image_refused(path, "bad_image")
    assert Image.MAX_IMAGE_PIXELS == before
