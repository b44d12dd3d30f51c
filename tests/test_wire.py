"""fieldapp.outbound.wire: canonical JSON, sealing, batches, receipts and USB bundles (pure functions)."""

from __future__ import annotations

import gzip
import io
import json
import uuid
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldapp.domain import signed
from fieldapp.outbound import proofs, wire, bundle as wire_bundle

DEV_PRIV, DEV_PUB = wire.new_device_keys()
APPROVAL = signed.new_key()  # a store's supervisor approval key
REG = wire.new_registry_keys()
JSON = st.recursive(st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.text(max_size=20),
                    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4),
                    max_leaves=20)


def seal(record: dict, **kw) -> dict:
    args = dict(record_id=str(uuid.uuid4()), device_id="dev-1", enrolled_on="2025-01-02", seal_public=REG["seal_public"],
                device_private=DEV_PRIV)
    args.update(kw)
    return wire.seal_record(record, **args)


def test_canonical_json_is_sorted_compact_utf8():
    assert wire.canonical_json({"b": 1, "a": "ក"}) == '{"a":"ក","b":1}'.encode()
    with pytest.raises(ValueError):
        wire.canonical_json({"x": float("nan")})


def test_content_hash_ignores_record_id():
    assert wire.content_hash({"a": 1, "record_id": "x"}) == wire.content_hash({"a": 1})


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.text(max_size=10), JSON, max_size=6))
def test_seal_open_roundtrip(record):
    """Both item versions open to the record they sealed.

    ``wire.ITEM_FIELDS`` is now version 2 (an ``approval`` signature by the supervisor approval key instead of a
    ``content_hash``, which the AEAD already covers): an item sealed without an approval key is version 1, the form
    release 0.1.0 laptops send, and has ``ITEM_FIELDS_V1``."""
    item = seal(record)
    assert item["v"] == 1 and set(item) == wire.ITEM_FIELDS_V1
    assert wire.open_sealed(item, seal_private=REG["seal_private"], device_public=DEV_PUB) == record
    item = seal(record, approval_private=APPROVAL)
    assert item["v"] == 2 and set(item) == wire.ITEM_FIELDS == wire.ITEM_FIELDS_V2
    assert wire.open_sealed(item, seal_private=REG["seal_private"], device_public=DEV_PUB) == record
    wire.verify_approval(item, signed.public_of(APPROVAL))
    with pytest.raises(wire.WireError) as err:
        wire.verify_approval(item, signed.public_of(signed.new_key()))
    assert err.value.reason == "bad_approval_signature"


@pytest.mark.parametrize("field", ["record_id", "enrolled_on", "content_hash", "ct", "epk", "nonce"])
def test_any_change_to_a_sealed_item_is_detected(field):
    item = seal({"a": 1})
    changed = dict(item)
    changed[field] = {"record_id": "other-id", "enrolled_on": "2025-01-03", "content_hash": "0" * 64,
                      "ct": wire.b64e(b"x" * 40), "epk": wire.b64e(bytes(32)), "nonce": wire.b64e(bytes(12))}[field]
    with pytest.raises(wire.WireError) as err:
        wire.open_sealed(changed, seal_private=REG["seal_private"], device_public=DEV_PUB)
    assert err.value.reason == "bad_item_signature"


def test_open_with_wrong_keys():
    item = seal({"a": 1})
    with pytest.raises(wire.WireError) as err:
        wire.open_sealed(item, seal_private=REG["seal_private"], device_public=wire.new_device_keys()[1])
    assert err.value.reason == "bad_item_signature"
    with pytest.raises(wire.WireError) as err:
        wire.open_sealed(item, seal_private=wire.new_registry_keys()["seal_private"], device_public=DEV_PUB)
    assert err.value.reason == "undecryptable"


@pytest.mark.parametrize("bad", [None, [], {}, {"v": 1}, "x"])
def test_malformed_items(bad):
    with pytest.raises(wire.WireError) as err:
        wire.check_item(bad)
    assert err.value.reason == "malformed_item"


def test_batch_is_deterministic_and_parses_back():
    """A batch is version 2 by default and carries the laptop's signed audit head (here none: null); version 1,
    what release 0.1.0 laptops send, has no ``audit_head`` and still parses."""
    items = [seal({"a": 1}, approval_private=APPROVAL)]
    body = wire.build_batch(items, device_id="dev-1", batch_id="b-1")
    assert body == wire.build_batch(items, device_id="dev-1", batch_id="b-1")
    doc = wire.parse_batch(body)
    assert doc == {"v": 2, "batch_id": "b-1", "device_id": "dev-1", "items": items, "audit_head": None}
    old = [seal({"a": 1})]
    body = wire.build_batch(old, device_id="dev-1", batch_id="b-1", version=1)
    assert body == wire.build_batch(old, device_id="dev-1", batch_id="b-1", version=1)
    assert wire.parse_batch(body) == {"v": 1, "batch_id": "b-1", "device_id": "dev-1", "items": old}


def test_gunzip_limits_and_damage():
    data = gzip.compress(b"x" * 10_000)
    assert wire.gunzip_limited(data, 10_000) == b"x" * 10_000
    for blob, reason in [(data, "batch_too_large"), (data[:-5], "bad_compression"), (b"nope", "bad_compression"),
                         (data + data, "bad_compression")]:
        with pytest.raises(wire.WireError) as err:
            wire.gunzip_limited(blob, 9_999 if reason == "batch_too_large" else 10_000)
        assert err.value.reason == reason


def test_parse_batch_limits():
    body = wire.build_batch([{}] * 5, device_id="d", batch_id="b")
    with pytest.raises(wire.WireError) as err:
        wire.parse_batch(body, max_items=4)
    assert err.value.reason == "batch_too_large"
    with pytest.raises(wire.WireError) as err:
        wire.parse_batch(gzip.compress(b"[" * 50_000))
    assert err.value.reason == "malformed"


def test_batch_signature():
    body = wire.build_batch([], device_id="d", batch_id="b")
    sig = wire.sign_batch(body, idempotency_key="k", device_private=DEV_PRIV)
    assert wire.verify_batch_signature(body, idempotency_key="k", signature=sig, device_public=DEV_PUB)
    for kwargs in ({"idempotency_key": "k2", "signature": sig}, {"idempotency_key": "k", "signature": "AAAA"},
                   {"idempotency_key": "k", "signature": 5}):
        with pytest.raises(wire.WireError):
            wire.verify_batch_signature(body, device_public=DEV_PUB, **kwargs)


def test_receipt_verification():
    receipt = {"batch_id": "b", "batch_sha256": "ab" * 32, "results": [{"record_id": "r", "status": "accepted"}]}
    env = proofs.sign_receipt(receipt, REG["sign_private"])
    assert proofs.verify_receipt(env, registry_sign_public=REG["sign_public"], batch_sha256="ab" * 32) == receipt
    forged = json.loads(json.dumps(env))
    forged["receipt"]["results"][0]["status"] = "rejected"
    for bad, sha in [(forged, "ab" * 32), (env, "cd" * 32), ({"receipt": "x"}, "ab" * 32), ([], "ab" * 32)]:
        with pytest.raises(wire.WireError) as err:
            proofs.verify_receipt(bad, registry_sign_public=REG["sign_public"], batch_sha256=sha)
        assert err.value.reason == "bad_receipt_signature"


def bundle(n: int = 2) -> tuple[bytes, list]:
    batches = [(f"k{i}", wire.build_batch([seal({"i": i})], device_id="dev-1", batch_id=f"b{i}")) for i in range(n)]
    return wire_bundle.build_bundle(batches, device_id="dev-1", device_private=DEV_PRIV, created_at="2025-01-02T00:00:00Z"), batches


def test_bundle_roundtrip(tmp_path):
    data, batches = bundle()
    path = tmp_path / "b.zip"
    path.write_bytes(data)
    out = wire_bundle.read_bundle(path, device_public=lambda device_id: DEV_PUB)
    assert out["device_id"] == "dev-1"
    assert [(b["idempotency_key"], b["body"]) for b in out["batches"]] == batches
    for b in out["batches"]:
        assert wire.verify_batch_signature(b["body"], idempotency_key=b["idempotency_key"], signature=b["signature"],
                                           device_public=DEV_PUB)
    with pytest.raises(wire.WireError) as err:
        wire_bundle.read_bundle(data, device_public=wire.new_device_keys()[1])
    assert err.value.reason == "bad_bundle_signature"


def rezip(data: bytes, extra: list[tuple], drop: tuple = ()) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            if info.filename not in drop:
                dst.writestr(info, src.read(info))
        for info, payload in extra:
            dst.writestr(info, payload)
    return out.getvalue()


def symlink(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = (0o120777 << 16)
    return info


@pytest.mark.filterwarnings("ignore:Duplicate name")
@pytest.mark.parametrize("extra,reason", [
    ([("../evil", b"x")], "bundle_unsafe_member"),
    ([("/abs/path", b"x")], "bundle_unsafe_member"),
    ([("batches/", b"")], "bundle_unsafe_member"),
    ([(symlink("batches/000009.json.gz"), b"/etc/passwd")], "bundle_unsafe_member"),
    ([("batches/000001.json.gz", b"dup")], "bundle_unsafe_member"),
    ([("batches/000009.json.gz", b"\0" * (wire.MAX_COMPRESSED + 1))], "bundle_too_large"),
])
def test_unsafe_bundles_are_refused(extra, reason):
    data, _ = bundle()
    with pytest.raises(wire.WireError) as err:
        wire_bundle.read_bundle(rezip(data, extra), device_public=DEV_PUB)
    assert err.value.reason == reason


def test_zip_bomb_member_and_tampered_batch():
    data, _ = bundle(1)
    info = zipfile.ZipInfo("batches/000002.json.gz")
    info.compress_type = zipfile.ZIP_DEFLATED
    bomb = rezip(data, [(info, b"\0" * (64 * 1024 * 1024))])
    assert len(bomb) < 1024 * 1024
    with pytest.raises(wire.WireError) as err:
        wire_bundle.read_bundle(bomb, device_public=DEV_PUB, max_member=1024 * 1024)
    assert err.value.reason == "bundle_too_large"
    tampered = rezip(data, [("batches/000001.json.gz", b"other")], drop=("batches/000001.json.gz",))
    with pytest.raises(wire.WireError) as err:
        wire_bundle.read_bundle(tampered, device_public=DEV_PUB)
    assert err.value.reason == "bad_bundle"
    with pytest.raises(wire.WireError) as err:
        wire_bundle.read_bundle(b"not a zip", device_public=DEV_PUB)
    assert err.value.reason == "bad_bundle"
    with pytest.raises(wire.WireError) as err:
        wire_bundle.read_bundle(data, device_public=DEV_PUB, max_bytes=100)
    assert err.value.reason == "bundle_too_large"


def test_sealed_record_is_compressed_and_a_bomb_is_refused():
    import json
    import os
    import zlib

    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from fieldapp.outbound import wire

    dev_priv, dev_pub = wire.new_device_keys()
    keys = wire.new_registry_keys()
    record = {"family_name": "សុខ" * 50, "notes": "x" * 2000}
    item = wire.seal_record(record, record_id="r1", device_id="d1", enrolled_on="2026-11-25",
                            seal_public=keys["seal_public"], device_private=dev_priv)
    assert len(wire.b64d(item["ct"])) < len(wire.canonical_json(record)) // 3
    assert wire.open_sealed(item, seal_private=keys["seal_private"], device_public=dev_pub) == record
    # a well-signed item whose plaintext inflates past the limit is refused, not expanded
    bomb = dict(item)
    eph = X25519PrivateKey.generate()
    epk = eph.public_key().public_bytes_raw()
    key = wire._seal_key(eph.exchange(X25519PublicKey.from_public_bytes(keys["seal_public"])), epk, keys["seal_public"])
    nonce = os.urandom(12)
    packed = zlib.compress(b'{"a":"' + b"x" * (wire.MAX_RECORD_BYTES + 10) + b'"}', 9)
    bomb.update(epk=wire.b64e(epk), nonce=wire.b64e(nonce), ct=wire.b64e(AESGCM(key).encrypt(nonce, packed, wire._seal_aad(bomb))))
    bomb.pop("sig")
    bomb["sig"] = wire.sign(dev_priv, wire.canonical_json(bomb))
    try:
        wire.open_sealed(bomb, seal_private=keys["seal_private"], device_public=dev_pub)
    except wire.WireError as exc:
        assert exc.reason == "malformed_record"
    else:
        raise AssertionError("a compression bomb was inflated")
    assert json.dumps(item)
