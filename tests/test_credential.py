"""fieldapp.outbound.credential: the signed QR codes of membership cards (NC1:) and enrollment slips (NS1:).

Round trips, every bit of the signed bytes, every character of the text, crafted credentials (another key, another
algorithm, bombs, wrong types), the enrollment reference's check symbol, and a QR drawn and read back.
"""

from __future__ import annotations

import copy
import hashlib
import random
import uuid
import zlib

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldapp.outbound import credential as cred


def _keys(name: str) -> tuple[bytes, bytes]:
    """A fixed key pair, so that every run signs (and measures) the same bytes."""
    private = hashlib.sha256(name.encode()).digest()
    return private, Ed25519PrivateKey.from_private_bytes(private).public_key().public_bytes_raw()


REG_PRIV, REG_PUB = _keys("test registry signing key")
DEV_PRIV, DEV_PUB = _keys("test device key")
OTHER_PRIV, OTHER_PUB = _keys("someone else's key")
PHRASES = set(cred._PHRASES.values())
# Khmer with subscripts (coeng U+17D2), vowel signs and diacritics; Latin forms beside them
HOUSEHOLD = [("សុខ ស្រីពេជ្រ", "Sok Sreypich", "1990-02-28", "F", "spouse"),
             ("សុខ ពិសិដ្ឋ", "Sok Piseth", "2012-07-15", "M", "child"),
             ("សុខ ចន្ទ្រា", None, "2014-11-30", "F", "child"),
             ("សុខ សម្បត្តិ", "Sok Sambath", "2016-01-01", "M", "child"),
             ("សុខ ក្សត្រិយា", "Sok Ksatriya", "2019-05-09", "X", "child"),
             ("សុខ រដ្ឋា", "Sok Rotha", "2021-12-24", "M", "child")]


def card(dependents: int | None = 0, latin: bool = True) -> dict:
    claims = {"member_no": "NSSF-2026-0012345", "version": 1, "full_name": "សុខ វិចិត្រ", "family_name": "សុខ",
              "given_name": "វិចិត្រ", "full_name_latin": "Sok Vichet", "date_of_birth": "1987-03-09", "sex": "M",
              "scheme": "shcs-self-employed", "issued_at": "2026-05-06T07:08:09Z"}
    if not latin:
        del claims["full_name_latin"]
    if dependents is not None:
        claims["dependents"] = [dict(zip(("name", "name_latin", "date_of_birth", "sex", "relationship"), row))
                                for row in HOUSEHOLD[:dependents]]
    return claims


def slip(record_id: str = "rec-7f3a9c2e", **kw) -> dict:
    return {"reference": cred.reference(record_id), "record_id": record_id, "device_id": "dev-kampot-03",
            "enrolled_on": "2026-05-06", "household_size": 4, "commune_code": "070101",
            "issued_at": "2026-05-06T09:30:00Z", **kw}


def refused(fn, text, key) -> str:
    """The code ``fn`` refuses ``text`` with; the message is a fixed phrase and chains nothing."""
    with pytest.raises(cred.CredentialError) as info:
        fn(text, key)
    err = info.value
    assert str(err) == f"{err.code}: {cred._PHRASES[err.code]}" and err.__cause__ is None
    return err.code


def text_of(cose: bytes, prefix: str = cred.CARD_PREFIX) -> str:
    return prefix + cred.b45encode(zlib.compress(cose, 9))


def signed(payload, private=REG_PRIV, prefix=cred.CARD_PREFIX, protected=None, unprotected=None, tag=18) -> str:
    """A credential text over any ``payload`` (an object or bytes), signed by ``private`` (a real signature over
    whatever protected header is given), with any headers and tag: what an attacker with that key could make."""
    payload = payload if isinstance(payload, bytes) else cbor2.dumps(payload, canonical=True)
    protected = cred._PROTECTED if protected is None else protected
    key = Ed25519PrivateKey.from_private_bytes(private)
    sig = key.sign(cbor2.dumps(["Signature1", protected, b"", payload], canonical=True))
    kid = cred.key_id(key.public_key().public_bytes_raw())
    body = [protected, {4: kid} if unprotected is None else unprotected, payload, sig]
    return text_of(cbor2.dumps(cbor2.CBORTag(tag, body) if tag else body, canonical=True), prefix)


# ---------------------------------------------------------------- round trips
@pytest.mark.parametrize("claims", [card(), card(None), card(1), card(6), card(6, latin=False), card(3, latin=False)],
                         ids=["no-dependents", "no-dependents-key", "one", "six", "six-no-latin", "three-no-latin"])
def test_card_round_trip(claims):
    text = cred.issue_card(claims, REG_PRIV)
    assert text.startswith("NC1:") and set(text[4:]) <= set(cred.B45)  # QR alphanumeric mode only
    assert cred.verify_card(text, REG_PUB) == claims
    kind, peeked = cred.peek(text)
    assert kind == "card" and peeked == {**claims, "kid": cred.key_id(REG_PUB).hex()}


def test_card_follows_claim_169_keys():
    kid, payload, _sig = cred._open(cred.issue_card(card(2), REG_PRIV), cred.CARD_PREFIX)
    cwt = cbor2.loads(payload)
    assert set(cwt) == {1, 6, 169} and cwt[1] == "fieldapp-registry" and cwt[6] == 1778051289
    ident = cwt[169]
    assert (ident[1], ident[2], ident[3], ident[4], ident[5], ident[7], ident[8], ident[9]) == (
        "NSSF-2026-0012345", "1", "khm", "សុខ វិចិត្រ", "វិចិត្រ", "សុខ", "19870309", 1)
    assert ident[19] == "Sok Vichet" and ident[100] == "shcs-self-employed"
    assert ident[101] == [["សុខ ស្រីពេជ្រ", "Sok Sreypich", "19900228", 2, 1],
                          ["សុខ ពិសិដ្ឋ", "Sok Piseth", "20120715", 1, 2]]
    assert kid == hashlib.sha256(REG_PUB).digest()[:8] == cred.key_id(REG_PUB)


def test_optional_latin_name_none_is_absent_and_issue_refuses_bad_claims_by_field_only():
    claims = {**card(), "full_name_latin": None}
    assert "full_name_latin" not in cred.verify_card(cred.issue_card(claims, REG_PRIV), REG_PUB)
    for key, value in [("date_of_birth", "1987-02-30"), ("sex", "male"), ("version", True), ("member_no", "NSSF 1"),
                       ("issued_at", "2026-05-06 07:08:09"), ("full_name", ""), ("nickname", "ស")]:
        with pytest.raises(ValueError) as info:
            cred.issue_card({**card(), key: value}, REG_PRIV)
        message = str(info.value)
        assert (key if key != "nickname" else "keys") in message and (value == "" or str(value) not in message)
    with pytest.raises(ValueError):
        cred.issue_card(card(1) | {"dependents": [{**card(1)["dependents"][0], "relationship": "parent"}]}, REG_PRIV)


def test_slip_round_trip_holds_no_names():
    claims = slip()
    text = cred.issue_slip(claims, DEV_PRIV)
    assert text.startswith("NS1:") and cred.verify_slip(text, DEV_PUB) == claims
    assert cred.peek(text) == ("slip", {**claims, "kid": cred.key_id(DEV_PUB).hex()})
    cwt = cbor2.loads(cred._open(text, cred.SLIP_PREFIX)[1])
    assert set(cwt) == {1, 6, -70001} and cwt[1] == "dev-kampot-03" and set(cwt[-70001]) == {1, 2, 3, 4, 5, 6}
    now = cred.verify_slip(cred.issue_slip({k: v for k, v in claims.items() if k != "issued_at"}, DEV_PRIV), DEV_PUB)
    assert now.pop("issued_at").endswith("Z") and now == {k: v for k, v in claims.items() if k != "issued_at"}
    with pytest.raises(ValueError):
        cred.issue_slip(slip(reference="ANRC1-MA4Z5-P"), DEV_PRIV)  # not this record's reference


def test_registry_signature_beside_the_laptops_claims_makes_the_same_card():
    claims = card(3)
    sig = cred.card_signature(claims, REG_PRIV)
    assert len(sig) == 64 and cred.card_with_signature(claims, sig, REG_PUB) == cred.issue_card(claims, REG_PRIV)
    changed = {**claims, "date_of_birth": "1987-03-10"}  # a laptop that changed the record gets no card
    assert refused(lambda c, k: cred.card_with_signature(c, sig, k), changed, REG_PUB) == "bad_signature"
    assert refused(lambda c, k: cred.card_with_signature(c, sig[:63], k), claims, REG_PUB) == "bad_signature"
    assert refused(lambda c, k: cred.card_with_signature(c, sig, k), claims, OTHER_PUB) == "bad_signature"


# ---------------------------------------------------------------- tampering
def _positions(cose: bytes, part: bytes) -> range:
    start = cose.index(part)
    return range(start, start + len(part))


@pytest.mark.parametrize("kind", ["card", "slip"])
def test_every_bit_of_the_signed_bytes_is_refused(kind):
    verify, text, key = ((cred.verify_card, cred.issue_card(card(6), REG_PRIV), REG_PUB) if kind == "card" else
                         (cred.verify_slip, cred.issue_slip(slip(), DEV_PRIV), DEV_PUB))
    cose = zlib.decompress(cred.b45decode(text[4:]))
    _kid, payload, sig = cred._open(text, text[:4])
    signed_parts = set(_positions(cose, payload)) | set(_positions(cose, sig))
    codes = {}
    for i in range(len(cose)):
        for bit in range(8):
            flipped = bytearray(cose)
            flipped[i] ^= 1 << bit
            code = refused(verify, text_of(bytes(flipped), text[:4]), key)
            assert code == "bad_signature" if i in signed_parts else code in ("bad_signature", "malformed",
                                                                                 "bad_encoding")
            codes[code] = codes.get(code, 0) + 1
    assert len(signed_parts) >= 64 + len(payload) and codes["bad_signature"] >= 8 * len(signed_parts)


def test_every_character_changed_in_the_text_is_refused():
    text = cred.issue_slip(slip(), DEV_PRIV)
    for i in range(len(text)):
        for ch in cred.B45 + "a#é":
            if ch != text[i]:
                assert refused(cred.verify_slip, text[:i] + ch + text[i + 1:], DEV_PUB)
    text = cred.issue_card(card(6), REG_PRIV)
    for i in range(4, len(text)):
        for ch in {cred.B45[(cred.B45.index(text[i]) + d) % 45] for d in (1, 2, 32, 44)}:
            assert refused(cred.verify_card, text[:i] + ch + text[i + 1:], REG_PUB)


def test_wrong_kind_wrong_key_and_not_a_credential():
    card_text, slip_text = cred.issue_card(card(1), REG_PRIV), cred.issue_slip(slip(), DEV_PRIV)
    assert refused(cred.verify_card, slip_text, REG_PUB) == "not_a_credential"
    assert refused(cred.verify_slip, card_text, DEV_PUB) == "not_a_credential"
    assert refused(cred.verify_card, card_text, OTHER_PUB) == "bad_signature"
    assert refused(cred.verify_slip, slip_text, REG_PUB) == "bad_signature"
    for junk in (None, b"NC1:", 42, "", "nc1:" + card_text[4:], " " + card_text, "https://example.org/x"):
        assert refused(cred.verify_card, junk, REG_PUB) == "not_a_credential"
        assert refused(lambda t, _k: cred.peek(t), junk, None) == "not_a_credential"
    assert refused(cred.verify_card, card_text + "0", REG_PUB) == "bad_encoding"  # one character more
    with pytest.raises(ValueError):
        cred.verify_card(card_text, REG_PUB[:31])  # a verifier's own key that is not one


def test_another_keys_signature_with_the_right_kid_copied():
    payload = cbor2.dumps(cred._card_cwt({**card(2), "member_no": "NSSF-FORGED-1"}), canonical=True)
    forged = signed(payload, OTHER_PRIV, unprotected={4: cred.key_id(REG_PUB)})
    assert cred.peek(forged)[1]["member_no"] == "NSSF-FORGED-1"  # peek believes anything: it is untrusted
    assert refused(cred.verify_card, forged, REG_PUB) == "bad_signature"
    assert refused(cred.verify_card, signed(payload, OTHER_PRIV), REG_PUB) == "bad_signature"  # its own kid


@pytest.mark.parametrize("protected,unprotected,tag", [
    (cbor2.dumps({1: -7}), None, 18),  # ES256
    (cbor2.dumps({1: 0}), None, 18),  # "none"
    (b"", {1: -8, 4: b"k" * 8}, 18),  # the algorithm unprotected
    (cbor2.dumps({1: -8, 2: [99]}), None, 18),  # an unknown critical header
    (cbor2.dumps({1: -8, 99: 1}), None, 18),
    (None, {4: b"k" * 8, 1: -7}, 18),
    (None, {4: b"short"}, 18),
    (None, {}, 18),
    (None, None, 0),  # untagged
    (None, None, 17),  # COSE_Mac0
    (None, None, 61),  # a CWT tag where COSE_Sign1 belongs
])
def test_other_algorithms_and_headers_are_malformed(protected, unprotected, tag):
    text = signed(cred._card_cwt(card(1)), protected=protected, unprotected=unprotected, tag=tag)
    assert refused(cred.verify_card, text, REG_PUB) == "malformed"


@pytest.mark.parametrize("change", [
    lambda c: c[169].update({2: 1}), lambda c: c[169].update({9: True}),  # Version is text (Claim 169 tstr)
    lambda c: c[169].update({9: 4}), lambda c: c[169].update({8: "19870230"}), lambda c: c[169].update({8: 19870309}),
    lambda c: c[169].update({3: "eng"}), lambda c: c[169].update({150: "x"}), lambda c: c[169].pop(4),
    lambda c: c[169].update({4: b"bytes"}), lambda c: c[169].update({101: [["សុខ", None, "20120715", 1]]}),
    lambda c: c[169].update({101: [["សុខ", None, "20120715", 1, 3]]}), lambda c: c[169].update({101: {"0": 1}}),
    lambda c: c.update({1: "someone-else"}), lambda c: c.update({6: -1}), lambda c: c.update({6: "2026-05-06"}),
    lambda c: c.update({4: 1800000000}), lambda c: c.update({169: [1, 2]}), lambda c: c.update({-70001: {}}),
])
def test_wrong_types_and_claims_in_a_validly_signed_card_are_malformed(change):
    cwt = copy.deepcopy(cred._card_cwt(card(1)))
    change(cwt)
    assert refused(cred.verify_card, signed(cwt), REG_PUB) == "malformed"


@pytest.mark.parametrize("payload", [[1, 2], "text", b"\xd9\x01\x00\x80", b"\xfb" + bytes(8), b"\xa1\x01\xf7"],
                         ids=["array", "text", "tag", "float", "undefined"])
def test_payloads_that_are_not_a_claims_map(payload):
    assert refused(cred.verify_card, signed(payload), REG_PUB) == "malformed"
    assert refused(cred.verify_slip, signed(payload, DEV_PRIV, cred.SLIP_PREFIX), DEV_PUB) == "malformed"


def test_duplicate_keys_and_non_canonical_cbor_are_refused():
    good = cbor2.dumps(cred._card_cwt(card(1)), canonical=True)
    assert good[0] == 0xA3
    dup = b"\xa4" + good[1:] + b"\x01\x63abc"  # iss twice
    assert refused(cred.verify_card, signed(dup), REG_PUB) in ("bad_encoding", "malformed")
    long_form = b"\xb8\x03" + good[1:]  # the same map, its length not in the shortest form
    assert refused(cred.verify_card, signed(long_form), REG_PUB) == "malformed"
    dup_header = signed(cred._card_cwt(card(1)), protected=b"\xa2\x01\x27\x01\x27")
    assert refused(cred.verify_card, dup_header, REG_PUB) in ("bad_encoding", "malformed")
    cose = zlib.decompress(cred.b45decode(cred.issue_card(card(1), REG_PRIV)[4:]))
    assert refused(cred.verify_card, text_of(cose + b"\x00"), REG_PUB) == "bad_encoding"  # trailing data
    assert refused(cred.verify_card, text_of(cose[:-1]), REG_PUB) == "bad_encoding"  # truncated


@pytest.mark.parametrize("bomb", [b"\x81" * 10000 + b"\x00", b"\x9f" * 10000 + b"\xff" * 10000,
                                  b"\xa1\x01" * 5000 + b"\x00", b"\xd2" * 10000 + b"\x00"],
                         ids=["arrays", "indefinite", "maps", "tags"])
def test_nesting_bombs_are_refused_without_recursion(bomb):
    with pytest.raises(cred.CredentialError) as info:
        cred._decode(bomb, outer_tag=True)  # 10,000 levels: no RecursionError, no crash
    assert info.value.code in ("malformed", "bad_encoding")
    assert refused(cred.verify_card, text_of(bomb), REG_PUB) == "too_large"  # it inflates past 8 KiB
    small = bomb[:8000] if bomb[0] != 0x9F else b"\x9f" * 4000 + b"\xff" * 4000  # under 8 KiB: read, refused
    assert refused(cred.verify_card, text_of(small), REG_PUB) in ("malformed", "bad_encoding")
    inner = small[:7900] if bomb[0] != 0x9F else b"\x9f" * 3900 + b"\xff" * 3900  # signed by the right key
    assert refused(cred.verify_card, signed(inner), REG_PUB) in ("malformed", "bad_encoding")


class _Spy:
    """zlib.decompressobj that counts the bytes it hands out."""

    produced = 0

    def __init__(self, real):
        self._real = real

    def decompress(self, data, max_length=0):
        out = self._real.decompress(data, max_length)
        _Spy.produced += len(out)
        return out

    def __getattr__(self, name):
        return getattr(self._real, name)


def test_zlib_bombs_are_refused_cheaply(monkeypatch):
    real, _Spy.produced = zlib.decompressobj, 0
    monkeypatch.setattr(zlib, "decompressobj", lambda *a: _Spy(real(*a)))
    ten_mb = zlib.compress(b"\x00" * 10_000_000, 9)
    assert refused(cred.verify_card, cred.CARD_PREFIX + cred.b45encode(ten_mb), REG_PUB) == "too_large"  # > 4,000
    assert cred._inflate_once(ten_mb) == "too_large" and _Spy.produced <= cred.MAX_INFLATED + 1
    _Spy.produced = 0
    small = zlib.compress(b"\x00" * 2_500_000, 9)  # fits the 4,000 characters, inflates to 2.5 MB
    text = cred.CARD_PREFIX + cred.b45encode(small)
    assert len(text) <= cred.MAX_TEXT and refused(cred.verify_card, text, REG_PUB) == "too_large"
    assert _Spy.produced <= cred.MAX_INFLATED + 1
    assert refused(cred.verify_card, "NC1:" + "A" * 4000, REG_PUB) == "too_large"  # huge text


def test_base45_is_rfc_9285_and_strict():
    for raw, text in [(b"AB", "BB8"), (b"Hello!!", "%69 VD92EX0"), (b"base-45", "UJCLQE7W581"), (b"ietf!", "QED8WEX0"),
                      (b"", ""), (b"\xff\xff", "FGW"), (b"\x00", "00")]:
        assert cred.b45encode(raw) == text and cred.b45decode(text) == raw
    for bad in ("GGW", ":::", "::", "A", "BB8A", "bb8", "BB#", "BB\u0660", None):  # > 65535, > 255, lone, alphabet
        assert refused(lambda t, _k: cred.b45decode(t), bad, None) == "bad_encoding"
    assert refused(cred.verify_card, "NC1:BB8#", REG_PUB) == "bad_encoding"
    assert refused(cred.verify_card, "NC1:%69 VD92EX0", REG_PUB) == "bad_encoding"  # base45, not zlib


def test_errors_never_carry_personal_data():
    text = cred.issue_card(card(6), REG_PRIV)
    bad_claims = copy.deepcopy(cred._card_cwt(card(6)))
    bad_claims[169][9] = "សុខ ស្រីពេជ្រ"
    bad_utf8 = cbor2.dumps(cred._card_cwt(card(1)), canonical=True).replace("វិចិត្រ".encode(), b"\xff" * 21)
    for attempt, key in [(text, OTHER_PUB), (text[:-3] + "000", REG_PUB), (signed(bad_claims), REG_PUB),
                         (signed(bad_utf8), REG_PUB), (text[:200], REG_PUB)]:
        with pytest.raises(cred.CredentialError) as info:
            cred.verify_card(attempt, key)
        err = info.value
        assert str(err) in {f"{c}: {p}" for c, p in cred._PHRASES.items()} and "សុខ" not in repr(err)
        assert err.__cause__ is None and (err.__context__ is None or err.__suppress_context__)
    assert {str(cred.CredentialError(c)).split(": ", 1)[1] for c in cred._PHRASES} == PHRASES


# ---------------------------------------------------------------- the enrollment reference
def _expected_reference(record_id: str) -> str:
    """Worked out independently: bits as text, 5 at a time."""
    bits = bin(int.from_bytes(hashlib.sha256(b"fieldapp-reference-v1\x00" + record_id.encode()).digest(), "big"))
    bits = bits[2:].zfill(256)[:50]
    symbols = "".join("0123456789ABCDEFGHJKMNPQRSTVWXYZ"[int(bits[i:i + 5], 2)] for i in range(0, 50, 5))
    return f"{symbols[:5]}-{symbols[5:]}-" + "0123456789ABCDEFGHJKMNPQRSTVWXYZ*~$=U"[int(bits, 2) % 37]


@pytest.mark.slow  # about 4 million checks: some 8 seconds
def test_reference_catches_every_substitution_and_transposition():
    rng, check, missed, tried = random.Random(20260506), cred.check_reference, [], 0
    for _ in range(10_000):
        record_id = str(uuid.UUID(int=rng.getrandbits(128)))
        ref = cred.reference(record_id)
        assert ref == _expected_reference(record_id) and check(ref) == ref and check(ref.replace("-", "")) == ref
        s = ref.replace("-", "")
        variants = [s[:i] + ch + s[i + 1:] for i in range(11) for ch in cred.CHECK_SYMBOLS if ch != s[i]]
        variants += [s[:i] + s[i + 1] + s[i] + s[i + 2:] for i in range(10) if s[i] != s[i + 1]]
        tried += len(variants)
        for variant in variants:
            try:
                check(variant)
                missed.append(variant)
            except cred.CredentialError:
                pass
    assert missed == [] and tried > 10_000 * 11 * 36


def test_reference_accepts_how_people_type_it():
    ref = next(r for r in (cred.reference(f"rec-{i}") for i in range(1000)) if "0" in r and "1" in r)
    typed = ref.replace("0", "o").replace("1", "l").lower().replace("-", "  ")
    assert cred.check_reference(typed) == ref
    assert cred.check_reference(" " + ref.replace("1", "I").replace("-", "") + " ") == ref
    assert cred.check_reference("-".join(ref.replace("-", ""))) == ref
    for bad in (ref[:-1], ref + "0", ref[:-2] + "-", "U" + ref[1:], None, ref.replace("-", "\u2013"), "x" * 100):
        assert refused(lambda t, _k: cred.check_reference(t), bad, None) == "bad_reference"


# ---------------------------------------------------------------- the QR code itself
def test_qr_drawn_and_read_back_by_another_library(tmp_path):
    import segno
    import zxingcpp
    from PIL import Image as image
    for name, text, verify, key, claims in [
            ("card", cred.issue_card(card(6), REG_PRIV), cred.verify_card, REG_PUB, card(6)),
            ("slip", cred.issue_slip(slip(), DEV_PRIV), cred.verify_slip, DEV_PUB, slip())]:
        path = tmp_path / f"{name}.png"
        segno.make(text, error="m").save(path, scale=4)
        found = zxingcpp.read_barcodes(image.open(path))
        assert [r.text for r in found] == [text]
        assert verify(found[0].text, key) == claims


def test_a_six_person_khmer_household_fits_a_qr_of_version_25_at_level_m():
    import segno

    sizes = {}
    for persons, dependents in [(1, None), (6, 5), (7, 6)]:
        text = cred.issue_card(card(dependents), REG_PRIV)
        qr = segno.make(text, error="m", boost_error=False)
        sizes[persons] = (len(text), qr.version)
        print(f"card, {persons}-person Khmer household: {len(text)} characters, QR version {qr.version} (M)")
    slip_text = cred.issue_slip(slip(), DEV_PRIV)
    print(f"slip: {len(slip_text)} characters, QR version {segno.make(slip_text, error='m').version} (M)")
    assert sizes[6][1] <= 25 and sizes[1][1] < sizes[6][1]
