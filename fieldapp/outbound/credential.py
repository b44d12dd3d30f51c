"""Signed QR credentials: the membership card (``NC1:``) and the enrollment slip (``NS1:``). Qt-free, offline.

Follows MOSIP Claim 169 (spec 1.2.2, github.com/mosip/id-claim-169 ``readme/169-qr-code-specification-1.2.2.md``):
text = prefix + Base45 (RFC 9285) of zlib of a COSE_Sign1 (RFC 9052, tag 18) over a CWT (RFC 8392). COSE_Sign1 =
18([bstr .cbor {1: -8 (EdDSA)}, {4: kid}, payload, Ed25519 signature of ["Signature1", protected, h'', payload]]);
kid = first 8 bytes of SHA-256 of the raw public key.

Card (registry signing key). CWT 1 iss ``"fieldapp-registry"``, 6 iat (``issued_at``), 169 identity map: 1 ID
``member_no``; 2 Version ``version`` as decimal text (the spec types it tstr); 3 Language ``"khm"``; 4 Full Name;
5 First Name ``given_name``; 7 Last Name ``family_name``; 8 Date of Birth ``YYYYMMDD``; 9 Gender 1/2/3 for M/F/X;
19 Full Name - Secondary Language = ``full_name_latin`` (optional). Our own keys sit above the spec's table (1..99,
whose free numbers it keeps for future global attributes): 100 ``scheme``; 101 ``dependents`` (absent when the
claims have none), an array of ``[name, name_latin|null, "YYYYMMDD", gender, relationship 1 spouse / 2 child]``.

Slip (device key). CWT 1 iss = device ID, 6 iat, and under private-use claim key -70001 (RFC 8392 9.1: below
-65536) the map 1 ``reference`` (= ``reference(record_id)``), 2 ``record_id``, 3 ``device_id`` (= iss),
4 ``enrolled_on`` ``YYYYMMDD``, 5 ``household_size``, 6 ``commune_code``. No names. Limits: text <= 4,000
characters, inflated <= 8 KiB (a zlib bomb stops there). docs/credentials.md has the rest.
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import re
import time
import zlib
from collections.abc import Mapping

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from fieldapp.outbound.wire import ID_RE

_cbor = functools.partial(cbor2.dumps, canonical=True)

CARD_PREFIX, SLIP_PREFIX = "NC1:", "NS1:"
CARD_ISSUER, SLIP_CLAIM, CLAIM_169 = "fieldapp-registry", -70001, 169
K_SCHEME, K_DEPENDENTS, K_LATIN = 100, 101, 19
MAX_TEXT, MAX_INFLATED, MAX_DEPTH = 4000, 8 * 1024, 8
_PHRASES = {"not_a_credential": "not a fieldapp credential", "bad_encoding": "the credential's encoding is broken",
            "too_large": "the credential is too large", "malformed": "the credential is not structured as specified",
            "bad_signature": "the credential's signature does not verify", "bad_reference": "not a valid reference"}


class CredentialError(Exception):
    """A refused credential or reference; ``code`` is one of ``_PHRASES``. Never carries personal data."""

    def __init__(self, code: str):
        self.code = code if code in _PHRASES else "malformed"
        super().__init__(f"{self.code}: {_PHRASES[self.code]}")


def _req(ok, code: str = "malformed", field: str = "") -> None:
    """Unless ``ok``: ``CredentialError(code)``, or with ``field`` a ValueError naming the field (never its value)."""
    if not ok:
        raise ValueError(f"credential claims: {field} missing or not as specified") if field else CredentialError(code)


# ---------------------------------------------------------------- Base45 (RFC 9285), strict
B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_B45_VALUE = {c: i for i, c in enumerate(B45)}


def b45encode(data: bytes) -> str:
    """Each pair of bytes as 3 characters (least significant first), a last single byte as 2."""
    pairs = (data[i:i + 2] for i in range(0, len(data), 2))
    return "".join(B45[int.from_bytes(p, "big") // 45 ** k % 45] for p in pairs for k in range(len(p) + 1))


def b45decode(text: str) -> bytes:
    """``bad_encoding`` for a character not in ``B45``, a group over 65535 (a final pair over 255), a lone last one."""
    values = [_B45_VALUE.get(c) for c in text] if isinstance(text, str) else [None]
    _req(None not in values and len(values) % 3 != 1, "bad_encoding")
    out = bytearray()
    for i in range(0, len(values), 3):
        group = values[i:i + 3]
        n = sum(v * 45 ** k for k, v in enumerate(group))
        _req(n <= (65535 if len(group) == 3 else 255), "bad_encoding")
        out += n.to_bytes(len(group) - 1, "big")
    return bytes(out)


# ---------------------------------------------------------------- zlib with a bound, CBOR hardened
def _inflate_once(raw: bytes) -> bytes | str:
    """The inflated bytes of one whole zlib stream, else the error code; never more than 8 KiB + 1 produced."""
    d = zlib.decompressobj()
    try:
        out = d.decompress(raw, MAX_INFLATED + 1)
    except zlib.error:
        return "bad_encoding"
    if len(out) > MAX_INFLATED:
        return "too_large"
    return out if d.eof and not d.unused_data else "bad_encoding"


def _inflate(raw: bytes) -> bytes:
    """Bits deflate ignores (stored block alignment, padding after the last code) must be 0: one text per bytes."""
    out = _inflate_once(raw)
    _req(isinstance(out, bytes), out if isinstance(out, str) else "")
    for at in (2, len(raw) - 5):  # the first block's header byte, the last deflate byte (a valid stream has 8+)
        for bit in (b for b in range(8) if raw[at] >> b & 1):
            _req(_inflate_once(raw[:at] + bytes([raw[at] ^ 1 << bit]) + raw[at + 1:]) != out, "bad_encoding")
    return out


def _scan(data: bytes, outer_tag: bool) -> None:
    """Walk ``data`` without recursion: well formed, definite lengths, depth <= MAX_DEPTH, no tag but an outer 18,
    no simple value but false/true/null (no floats), nothing after the item, declared lengths within the data."""
    pos, end, todo = 0, len(data), [1]
    while todo:
        todo[-1] -= 1
        _req(pos < end, "bad_encoding")
        major, info, pos = data[pos] >> 5, data[pos] & 31, pos + 1
        _req(info <= 27, "malformed" if info == 31 else "bad_encoding")  # 31: indefinite length
        size = 1 << (info - 24) if info >= 24 else 0
        _req(pos + size <= end, "bad_encoding")
        value, pos = int.from_bytes(data[pos:pos + size], "big") if size else info, pos + size
        if major in (2, 3):
            _req(value <= end - pos, "bad_encoding")
            pos += value
        elif major in (4, 5):
            _req(value * (major - 3) <= end - pos, "bad_encoding")
            _req(len(todo) <= MAX_DEPTH)
            todo.append(value * (major - 3))
        elif major == 6:
            _req(outer_tag and pos == 1 and value == 18)
            todo[-1] += 1
        elif major == 7:
            _req(info in (20, 21, 22))
        while todo and todo[-1] == 0:
            todo.pop()
    _req(pos == end, "bad_encoding")


def _decode(data: bytes, outer_tag: bool = False):
    """The CBOR item of ``data``, which must be its canonical encoding (so no duplicate keys, no other forms)."""
    _scan(data, outer_tag)
    try:
        obj = cbor2.loads(data, max_depth=MAX_DEPTH + 1, allow_indefinite=False, allow_duplicate_keys=False)
    except (cbor2.CBORError, ValueError, TypeError, OverflowError, RecursionError):
        raise CredentialError("bad_encoding") from None
    _req(_cbor(obj) == data)
    return obj


# ---------------------------------------------------------------- COSE_Sign1
_PROTECTED = _cbor({1: -8})


def key_id(public_raw: bytes) -> bytes:
    """The first 8 bytes of SHA-256 of a raw Ed25519 public key: the ``kid`` header."""
    return hashlib.sha256(bytes(public_raw)).digest()[:8]


def _to_be_signed(payload: bytes) -> bytes:
    return _cbor(["Signature1", _PROTECTED, b"", payload])


def _text(prefix: str, payload: bytes, kid: bytes | None, signature: bytes | Ed25519PrivateKey) -> str:
    """The credential text; with a private key for ``signature`` (and ``kid`` None), signed here."""
    if isinstance(signature, Ed25519PrivateKey):
        kid = key_id(signature.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
        signature = signature.sign(_to_be_signed(payload))
    return prefix + b45encode(zlib.compress(_cbor(cbor2.CBORTag(18, [_PROTECTED, {4: kid}, payload, signature])), 9))


def _open(text, prefix: str) -> tuple[bytes, bytes, bytes]:
    """``(kid, payload, signature)`` of a credential text of kind ``prefix``: structure checked, NOT verified."""
    _req(isinstance(text, str), "not_a_credential")
    _req(len(text) <= MAX_TEXT, "too_large")
    _req(text.startswith(prefix), "not_a_credential")
    cose = _decode(_inflate(b45decode(text[len(prefix):])), outer_tag=True)  # in a tag: tuple, frozendict
    _req(isinstance(cose, cbor2.CBORTag) and cose.tag == 18 and isinstance(cose.value, tuple) and len(cose.value) == 4)
    protected, unprotected, payload, signature = cose.value
    _req(protected == _PROTECTED and isinstance(unprotected, Mapping) and list(unprotected) == [4]
         and isinstance(unprotected[4], bytes) and len(unprotected[4]) == 8 and isinstance(payload, bytes)
         and isinstance(signature, bytes) and len(signature) == 64)
    return unprotected[4], payload, signature


def _verify(kid: bytes, payload: bytes, signature: bytes, public_raw: bytes) -> None:
    key = Ed25519PublicKey.from_public_bytes(bytes(public_raw))  # ValueError: not a raw Ed25519 public key
    _req(kid == key_id(public_raw), "bad_signature")
    try:
        key.verify(signature, _to_be_signed(payload))
    except InvalidSignature:
        raise CredentialError("bad_signature") from None


# ---------------------------------------------------------------- claims <-> CWT
_SEX, _REL = {"M": 1, "F": 2, "X": 3}, {"spouse": 1, "child": 2}
_SEX_BACK, _REL_BACK = {v: k for k, v in _SEX.items()}, {v: k for k, v in _REL.items()}
_DATE_RE, _COMMUNE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z"), re.compile(r"[0-9]{6}\Z")
_VERSION_RE, _STAMP = re.compile(r"(0|[1-9][0-9]{0,8})\Z"), "%Y-%m-%dT%H:%M:%SZ"
_CARD_KEYS = {"member_no", "version", "full_name", "family_name", "given_name", "full_name_latin",
              "date_of_birth", "sex", "scheme", "dependents", "issued_at"}
_DEP_KEYS = {"name", "name_latin", "date_of_birth", "sex", "relationship"}
_SLIP_KEYS = {"reference", "record_id", "device_id", "enrolled_on", "household_size", "commune_code"}


def _code(value, table: dict):
    """``table[value]`` when ``value`` has the table's key type (no ``True`` for 1, no unhashable list), else None."""
    return table.get(value) if type(value) is type(next(iter(table))) else None


def _valid(value, kind: str = "name") -> bool:
    """A str: a ``name`` (1-200 characters), an ``id`` (wire.ID_RE), a real ``date`` or a ``commune`` code."""
    if not isinstance(value, str):
        return False
    if kind == "date":
        try:
            return bool(_DATE_RE.match(value)) and bool(_dt.date.fromisoformat(value))
        except ValueError:
            return False
    pattern = {"id": ID_RE, "commune": _COMMUNE_RE}.get(kind)
    return bool(pattern.match(value)) if pattern else 0 < len(value) <= 200


def _iat(issued_at) -> int:
    try:
        moment = _dt.datetime.strptime(issued_at, _STAMP).replace(tzinfo=_dt.timezone.utc)
    except (TypeError, ValueError):
        moment = None
    _req(moment and moment.year >= 1970 and moment.strftime(_STAMP) == issued_at, field="issued_at")
    return int(moment.timestamp())


def _card_cwt(c) -> dict:
    _req(isinstance(c, dict) and set(c) <= _CARD_KEYS, field="keys")
    for name, kind in (("member_no", "id"), ("full_name", "name"), ("family_name", "name"),
                       ("given_name", "name"), ("scheme", "name"), ("date_of_birth", "date")):
        _req(_valid(c.get(name), kind), field=name)
    _req(type(c.get("version")) is int and 0 <= c["version"] <= 999_999_999, field="version")
    _req(c.get("full_name_latin") is None or _valid(c["full_name_latin"]), field="full_name_latin")
    _req(_code(c.get("sex"), _SEX), field="sex")
    _req(isinstance(c.get("dependents", []), list) and len(c.get("dependents", [])) <= 30, field="dependents")
    ident = {1: c["member_no"], 2: str(c["version"]), 3: "khm", 4: c["full_name"], 5: c["given_name"],
             7: c["family_name"], 8: c["date_of_birth"].replace("-", ""), 9: _SEX[c["sex"]], K_SCHEME: c["scheme"]}
    if c.get("full_name_latin") is not None:
        ident[K_LATIN] = c["full_name_latin"]
    if "dependents" in c:
        ident[K_DEPENDENTS] = [_dependent_row(d) for d in c["dependents"]]
    return {1: CARD_ISSUER, 6: _iat(c.get("issued_at")), CLAIM_169: ident}


def _dependent_row(d) -> list:
    _req(isinstance(d, dict) and _DEP_KEYS - {"name_latin"} <= set(d) <= _DEP_KEYS, field="dependents")
    latin = d.get("name_latin")
    _req(_valid(d["name"]) and (latin is None or _valid(latin)) and _valid(d["date_of_birth"], "date")
         and _code(d["sex"], _SEX) and _code(d["relationship"], _REL), field="dependents")
    return [d["name"], latin, d["date_of_birth"].replace("-", ""), _SEX[d["sex"]], _REL[d["relationship"]]]


def _date_back(value) -> str:
    text = f"{value[:4]}-{value[4:6]}-{value[6:]}" if isinstance(value, str) and len(value) == 8 else ""
    _req(_valid(text, "date"))
    return text


def _iat_back(value) -> str:
    _req(type(value) is int and 0 <= value < 253402300800)
    return time.strftime(_STAMP, time.gmtime(value))


def _card_claims(cwt) -> dict:
    _req(isinstance(cwt, dict) and set(cwt) == {1, 6, CLAIM_169} and cwt[1] == CARD_ISSUER)
    i = cwt[CLAIM_169]
    _req(isinstance(i, dict) and {1, 2, 3, 4, 5, 7, 8, 9, K_SCHEME} <= set(i)
         <= {1, 2, 3, 4, 5, 7, 8, 9, K_SCHEME, K_LATIN, K_DEPENDENTS})
    _req(_valid(i[1], "id") and isinstance(i[2], str) and _VERSION_RE.match(i[2]) and i[3] == "khm"
         and all(_valid(i[k]) for k in (4, 5, 7, K_SCHEME)) and _code(i[9], _SEX_BACK))
    rows = i.get(K_DEPENDENTS, [])
    _req(_valid(i.get(K_LATIN, "-")) and isinstance(rows, list) and len(rows) <= 30)
    out = {"member_no": i[1], "version": int(i[2]), "full_name": i[4], "family_name": i[7], "given_name": i[5],
           "date_of_birth": _date_back(i[8]), "sex": _SEX_BACK[i[9]], "scheme": i[K_SCHEME]}
    if K_LATIN in i:
        out["full_name_latin"] = i[K_LATIN]
    if K_DEPENDENTS in i:
        out["dependents"] = [_dependent_back(r) for r in rows]
    return {**out, "issued_at": _iat_back(cwt[6])}


def _dependent_back(row) -> dict:
    _req(isinstance(row, list) and len(row) == 5 and _valid(row[0]) and (row[1] is None or _valid(row[1]))
         and _code(row[3], _SEX_BACK) and _code(row[4], _REL_BACK))
    return {"name": row[0], "name_latin": row[1], "date_of_birth": _date_back(row[2]), "sex": _SEX_BACK[row[3]],
            "relationship": _REL_BACK[row[4]]}


def _slip_cwt(c) -> dict:
    _req(isinstance(c, dict) and _SLIP_KEYS <= set(c) <= _SLIP_KEYS | {"issued_at"}, field="keys")
    for name, kind in (("record_id", "id"), ("device_id", "id"), ("enrolled_on", "date"), ("commune_code", "commune")):
        _req(_valid(c[name], kind), field=name)
    _req(c["reference"] == reference(c["record_id"]), field="reference")
    _req(type(c["household_size"]) is int and 1 <= c["household_size"] <= 100, field="household_size")
    return {1: c["device_id"], 6: _iat(c["issued_at"]) if "issued_at" in c else int(time.time()), SLIP_CLAIM: {
        1: c["reference"], 2: c["record_id"], 3: c["device_id"], 4: c["enrolled_on"].replace("-", ""),
        5: c["household_size"], 6: c["commune_code"]}}


def _slip_claims(cwt) -> dict:
    _req(isinstance(cwt, dict) and set(cwt) == {1, 6, SLIP_CLAIM})
    s = cwt[SLIP_CLAIM]
    _req(isinstance(s, dict) and set(s) == {1, 2, 3, 4, 5, 6} and _valid(s[2], "id") and _valid(s[3], "id")
         and cwt[1] == s[3] and s[1] == reference(s[2]) and type(s[5]) is int and 1 <= s[5] <= 100
         and _valid(s[6], "commune"))
    return {"reference": s[1], "record_id": s[2], "device_id": s[3], "enrolled_on": _date_back(s[4]),
            "household_size": s[5], "commune_code": s[6], "issued_at": _iat_back(cwt[6])}


# ---------------------------------------------------------------- public API
def _issue(prefix: str, payload: bytes, private_raw: bytes, read) -> str:
    text = _text(prefix, payload, None, Ed25519PrivateKey.from_private_bytes(private_raw))
    read(_decode(_open(text, prefix)[1]))  # what is issued reads back, within the limits
    return text


def _checked(text, prefix: str, public_raw: bytes, read) -> dict:
    kid, payload, signature = _open(text, prefix)
    _verify(kid, payload, signature, public_raw)
    return read(_decode(payload))


def issue_card(claims: dict, sign_private: bytes) -> str:
    """The card's QR text ``NC1:...`` signed with the registry key (raw); ValueError (a field name) for bad claims."""
    return _issue(CARD_PREFIX, _cbor(_card_cwt(claims)), sign_private, _card_claims)


def verify_card(text: str, sign_public: bytes) -> dict:
    """The claims exactly as given to :func:`issue_card`, once the signature verifies; else CredentialError."""
    return _checked(text, CARD_PREFIX, sign_public, _card_claims)


def card_signature(claims: dict, sign_private: bytes) -> bytes:
    """Registry side: the 64-byte Ed25519 signature of the card's Sig_structure, for :func:`card_with_signature`."""
    return Ed25519PrivateKey.from_private_bytes(sign_private).sign(_to_be_signed(_cbor(_card_cwt(claims))))


def card_with_signature(claims: dict, signature: bytes, sign_public: bytes) -> str:
    """Laptop side: the card text of rebuilt claims and the registry's signature (``bad_signature`` unless it is)."""
    _req(isinstance(signature, (bytes, bytearray)) and len(signature) == 64, "bad_signature")
    text = _text(CARD_PREFIX, _cbor(_card_cwt(claims)), key_id(sign_public), bytes(signature))
    _checked(text, CARD_PREFIX, sign_public, _card_claims)
    return text


def issue_slip(claims: dict, device_private: bytes) -> str:
    """The slip's QR text ``NS1:...`` signed with the device key; ``issued_at`` is optional (default: now)."""
    return _issue(SLIP_PREFIX, _cbor(_slip_cwt(claims)), device_private, _slip_claims)


def verify_slip(text: str, device_public: bytes) -> dict:
    """The claims of a slip (``issued_at`` always included) once its signature verifies; else CredentialError."""
    return _checked(text, SLIP_PREFIX, device_public, _slip_claims)


def peek(text) -> tuple[str, dict]:
    """UNTRUSTED: ``("card" | "slip", claims + {"kid": hex})`` read WITHOUT checking the signature, only so that
    a verifier can pick the key by ``kid``. Anybody can write anything here: verify before using any of it."""
    kind = "slip" if isinstance(text, str) and text.startswith(SLIP_PREFIX) else "card"
    kid, payload, _signature = _open(text, SLIP_PREFIX if kind == "slip" else CARD_PREFIX)
    return kind, {**(_slip_claims if kind == "slip" else _card_claims)(_decode(payload)), "kid": kid.hex()}


# ---------------------------------------------------------------- enrollment reference
CROCKFORD, CHECK_SYMBOLS = "0123456789ABCDEFGHJKMNPQRSTVWXYZ", "0123456789ABCDEFGHJKMNPQRSTVWXYZ*~$=U"
_ALIASES = str.maketrans({"O": "0", "I": "1", "L": "1", " ": None, "-": None})
_REFERENCE_RE = re.compile(r"[0-9A-HJKMNP-TV-Z]{10}[0-9A-HJKMNP-TV-Z*~$=U]\Z")
_TO_BASE32 = str.maketrans(CROCKFORD, "0123456789ABCDEFGHIJKLMNOPQRSTUV")  # what int(x, 32) reads


def _formatted(value: int) -> str:
    symbols = "".join(CROCKFORD[value >> (45 - 5 * i) & 31] for i in range(10))
    return f"{symbols[:5]}-{symbols[5:]}-{CHECK_SYMBOLS[value % 37]}"


def reference(record_id: str) -> str:
    """``XXXXX-XXXXX-C``: the first 50 bits of SHA-256(``fieldapp-reference-v1\\0`` + record ID) as 10 Crockford
    base32 symbols, then Crockford's mod-37 check symbol."""
    digest = hashlib.sha256(b"fieldapp-reference-v1\0" + record_id.encode("utf-8")).digest()
    return _formatted(int.from_bytes(digest[:7], "big") >> 6)


def check_reference(text: str) -> str:
    """The canonical form of a typed reference (lower case, spaces and hyphens anywhere, O for 0, I and L for 1
    accepted); ``CredentialError("bad_reference")`` for a wrong length, symbol or check symbol."""
    _req(isinstance(text, str) and len(text) <= 64 and text.isascii(), "bad_reference")
    plain = text.upper().translate(_ALIASES)
    _req(_REFERENCE_RE.match(plain), "bad_reference")
    value = int(plain[:10].translate(_TO_BASE32), 32)
    _req(CHECK_SYMBOLS[value % 37] == plain[10], "bad_reference")
    return _formatted(value)
