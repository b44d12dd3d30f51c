"""The registry's parsers under hand-written attack: duplicate JSON keys (batch envelope, sealed item, sealed
plaintext: one signature must not cover two meanings), NaN in a batch body, and hostile USB bundles (zip bombs,
duplicate/symlink/encrypted members, missing batches, a revoked device, a gzip bomb inside a bundle's batch).
The stateful HTTP attacker is in test_attack_registry.py.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import uuid
import zlib
import zipfile
from datetime import date

import pytest
import requests
from helpers.attack_registry_tools import _NIDS, Dev, fresh_record, new_code
from helpers.attack_tools import case

from fieldapp.outbound import wire, bundle as wire_bundle

# ---------------------------------------------------------------- duplicate keys and NaN
@pytest.fixture(scope="module")
def dev(reg):
    http = requests.Session()
    d = Dev(reg, http)
    assert d.enroll(new_code(reg)).status_code == 200
    yield d
    http.close()


def _post_raw(dev, doc_text: str) -> requests.Response:
    return dev.post(gzip.compress(doc_text.encode("utf-8"), mtime=0), f"k-{uuid.uuid4()}")


def test_nan_and_odd_numbers_in_a_batch_body_are_4xx(dev, reg):
    bodies = ['{"v":1,"batch_id":"b","device_id":"%s","items":[NaN]}' % dev.device_id,
              '{"v":NaN,"batch_id":"b","device_id":"%s","items":[]}' % dev.device_id,
              '{"v":1e999,"batch_id":"b","device_id":"%s","items":[]}' % dev.device_id,
              '{"v":1.0,"batch_id":"b","device_id":"%s","items":[]}' % dev.device_id,
              '{"v":1,"batch_id":"b","device_id":"%s","items":[{"v":Infinity}]}' % dev.device_id,
              '{"v":1,"batch_id":"b","device_id":"%s","items":[],"v":1}' % dev.device_id,
              '{"v":' + "9" * 5000 + ',"batch_id":"b","device_id":"%s","items":[]}' % dev.device_id]
    with case("registry: NaN, Infinity, 1e999, 1.0, 5000-digit numbers in a batch body",
              "never a 5xx; items that are not sealed items are rejected one by one") as c:
        for text in bodies:
            r = _post_raw(dev, text)
            c.runs += 1
            assert r.status_code < 500, (text[:60], r.status_code, r.text[:200])
            if r.status_code == 200:
                for res in r.json()["receipt"]["results"]:
                    assert res["status"] == "rejected"


def _item_text(item: dict, extra: str) -> str:
    """A sealed item as JSON with an extra (duplicate) member spliced in before the closing brace."""
    text = wire.canonical_json(item).decode()
    return text[:-1] + "," + extra + "}"


def test_duplicate_keys_in_a_batch_body_are_refused(dev, reg):
    """The device's X-Batch-Signature and the registry's receipt cover the body bytes: a body with two readings
    (first-wins vs last-wins JSON parsers) must be refused, not interpreted."""
    a, b = fresh_record(), fresh_record()
    rid_a, rid_b = str(uuid.uuid4()), str(uuid.uuid4())
    item_a, item_b = dev.seal(a, rid_a), dev.seal(b, rid_b)
    envelope = ('{"batch_id":"%s","device_id":"%s","items":[%s],"items":[%s],"v":1}'
                % (uuid.uuid4(), dev.device_id, wire.canonical_json(item_a).decode(),
                   wire.canonical_json(item_b).decode()))
    # inside one item: record_id twice (the signature verifies for the last one)
    item_c = dev.seal(fresh_record(), rid_b)
    inner = ('{"batch_id":"%s","device_id":"%s","items":[%s],"v":1}'
             % (uuid.uuid4(), dev.device_id, _item_text(item_c, '"record_id":"%s"' % rid_b).replace(
                 '"record_id":"%s"' % rid_b, '"record_id":"%s"' % rid_a, 1)))
    with case("registry: duplicate JSON keys in a batch envelope or sealed item",
              "refused with 400 malformed; nothing stored under either reading") as c:
        for text in (envelope, inner):
            r = _post_raw(dev, text)
            c.runs += 1
            status = requests.post(reg.url + "/v1/status", json={"record_ids": [rid_a, rid_b]}, headers=dev.auth(),
                                   timeout=10).json()["records"]
            assert (r.status_code, r.json().get("error")) == (400, "malformed") and status == [], (r.status_code,
                                                                                                 r.text[:200])


def _seal_plaintext(dev, plaintext: bytes, record_for_hash: dict, rid: str) -> dict:
    """A sealed item whose ciphertext holds exactly ``plaintext`` (a hand-written, non-canonical JSON text)."""
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    eph = X25519PrivateKey.generate()
    epk = eph.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    key = wire._seal_key(eph.exchange(X25519PublicKey.from_public_bytes(dev.seal_public)), epk, dev.seal_public)
    item = {"v": 1, "record_id": rid, "device_id": dev.device_id, "enrolled_on": date.today().isoformat(),
            "content_hash": wire.content_hash(record_for_hash)}
    nonce = os.urandom(12)
    item.update(epk=wire.b64e(epk), nonce=wire.b64e(nonce),
                ct=wire.b64e(AESGCM(key).encrypt(nonce, zlib.compress(plaintext), wire._seal_aad(item))))
    item["sig"] = wire.sign(dev.private, wire.canonical_json(item))
    return item


def test_duplicate_keys_inside_a_sealed_record_are_refused(dev, reg):
    """The device signs the ciphertext; the plaintext must have one meaning: ``national_id`` twice is refused."""
    rec = fresh_record()
    decoy = f"{next(_NIDS):09d}"
    text = wire.canonical_json(rec).decode()
    plaintext = ('{"national_id":"%s",' % decoy + text[1:]).encode()  # decoy first, the real one later
    rid = str(uuid.uuid4())
    item = _seal_plaintext(dev, plaintext, rec, rid)
    body = wire.build_batch([item], device_id=dev.device_id, batch_id=str(uuid.uuid4()))
    with case("registry: duplicate JSON keys inside a sealed record",
              "rejected (malformed_record); never registered under either national ID") as c:
        r = dev.post(body, f"k-{uuid.uuid4()}")
        c.runs += 1
        assert r.status_code == 200
        res = r.json()["receipt"]["results"][0]
        assert (res["status"], res.get("reason")) == ("rejected", "malformed_record"), res


# ---------------------------------------------------------------- hostile USB bundles
def _zip(members: list[tuple], manifest_for=None) -> bytes:
    import warnings

    buf = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buf, "w") as zf:
        warnings.simplefilter("ignore")  # "Duplicate name": on purpose
        for info, data in members:
            zf.writestr(info, data)
    return buf.getvalue()


def _mark_last_member_encrypted(data: bytes) -> bytes:
    """Set the 'encrypted' flag of the last member in both its local header and the central directory
    (zipfile clears it when writing, so patch the bytes)."""
    import struct

    buf = bytearray(data)
    central = buf.rindex(b"PK\x01\x02")
    buf[central + 8] |= 1
    local = struct.unpack_from("<I", buf, central + 42)[0]
    assert buf[local:local + 4] == b"PK\x03\x04"
    buf[local + 6] |= 1
    return bytes(buf)


def _signed_manifest(dev, entries: list[dict]) -> tuple[bytes, bytes]:
    manifest = wire.canonical_json({"format": wire_bundle.BUNDLE_FORMAT, "v": 1, "device_id": dev.device_id,
                                    "created_at": wire.now_iso(), "batches": entries})
    return manifest, wire.sign(dev.private, wire_bundle._bundle_message(manifest)).encode()


def test_hostile_bundles_are_refused_in_memory(dev, tmp_path):
    body = wire.build_batch([dev.seal(fresh_record(), str(uuid.uuid4()))], device_id=dev.device_id,
                            batch_id=str(uuid.uuid4()))
    entry = {"file": "batches/000001.json.gz", "idempotency_key": "k1", "sha256": wire.sha256_hex(body),
             "signature": wire.sign_batch(body, idempotency_key="k1", device_private=dev.private)}
    manifest, sig = _signed_manifest(dev, [entry])
    base = [("manifest.json", manifest), ("manifest.sig", sig)]

    def deflated(name, data):
        info = zipfile.ZipInfo(name)
        info.compress_type = zipfile.ZIP_DEFLATED
        return info, data

    link = zipfile.ZipInfo("batches/000001.json.gz")
    link.external_attr = (0o120777 << 16)
    cases = {
        "zip bomb member": (base + [deflated("batches/000001.json.gz", b"\0" * (64 * 1024 * 1024))], "bundle_too_large"),
        "duplicate member": (base + [("batches/000001.json.gz", body), ("batches/000001.json.gz", b"other")],
                             "bundle_unsafe_member"),
        "duplicate manifest": (base + [("manifest.json", b"{}"), ("batches/000001.json.gz", body)],
                               "bundle_unsafe_member"),
        "symlink member": (base + [(link, b"/etc/passwd")], "bundle_unsafe_member"),
        "directory member": (base + [("batches/", b"")], "bundle_unsafe_member"),
        "dot-dot member": (base + [("batches/../000001.json.gz", body)], "bundle_unsafe_member"),
        "absolute member": (base + [("/batches/000001.json.gz", body)], "bundle_unsafe_member"),
        "missing batch": (base, "bad_bundle"),
        "swapped batch": (base + [("batches/000001.json.gz", wire.build_batch([], device_id=dev.device_id,
                                                                               batch_id="x"))], "bad_bundle"),
        "manifest unsigned": ([("manifest.json", manifest), ("manifest.sig", b"AAAA"),
                               ("batches/000001.json.gz", body)], "bad_bundle_signature"),
    }
    with case("registry: hostile USB bundles (read in memory)",
              "zip bombs, duplicate/symlink/encrypted/directory/traversal members, missing or swapped batches, "
              "unsigned manifests: refused with a reason code, nothing written to disk") as c:
        before = set(tmp_path.rglob("*"))
        for name, (members, reason) in cases.items():
            with pytest.raises(wire.WireError) as e:
                wire_bundle.read_bundle(_zip(members), device_public=dev.public)
                pytest.fail(f"bundle case {name!r} was accepted")
            assert e.value.reason == reason, (name, e.value.reason)
            c.runs += 1
        encrypted = _mark_last_member_encrypted(_zip(base + [("batches/000001.json.gz", body)]))
        with pytest.raises(wire.WireError) as e:
            wire_bundle.read_bundle(encrypted, device_public=dev.public)
        assert e.value.reason == "bundle_unsafe_member"
        c.runs += 1
        many = base + [(f"batches/{i:06d}.json.gz", b"x") for i in range(1, 40)]
        with pytest.raises(wire.WireError) as e:
            wire_bundle.read_bundle(_zip(many), device_public=dev.public, max_batches=10)
        assert e.value.reason == "bundle_too_large"
        c.runs += 1
        assert set(tmp_path.rglob("*")) == before


def test_bundle_from_a_revoked_device_and_a_bomb_inside_a_bundle_batch(reg, tmp_path):
    http = requests.Session()
    d = Dev(reg, http)
    assert d.enroll(new_code(reg)).status_code == 200
    good = [d.seal(fresh_record(), str(uuid.uuid4())) for _ in range(3)]
    good_body = wire.build_batch(good, device_id=d.device_id, batch_id=str(uuid.uuid4()))
    comp = __import__("zlib").compressobj(9, 8, 31)
    bomb = comp.compress(b'{"v":1,"batch_id":"b","device_id":"%s","items":["' % d.device_id.encode()
                         + b"A" * (48 * 1024 * 1024)) + comp.flush()
    bundle = wire_bundle.build_bundle([("k-bomb", bomb), ("k-good", good_body)], device_id=d.device_id,
                               device_private=d.private)
    path = tmp_path / "usb.bundle"
    path.write_bytes(bundle)
    with case("registry: bundle with a gzip bomb batch; bundle from a revoked device (import-bundle CLI)",
              "the bomb batch alone is refused (batch_too_large), the good batch imported; after revocation the "
              "whole bundle is refused (device_revoked) and nothing changes") as c:
        import subprocess

        from helpers.sync_helpers import PY, REPO, env
        res = subprocess.run([PY, "-m", "registry", "import-bundle", str(path), "--data-dir", str(reg.data_dir)],
                             cwd=REPO, env=env(), capture_output=True, text=True, timeout=120)
        c.runs += 1
        assert res.returncode == 1 and "Traceback" not in res.stderr, res.stderr[-800:]
        summary = json.loads(res.stdout)
        assert summary["refused"] == [{"batch": 1, "error": "batch_too_large"}] and summary["results"] == {"accepted": 3}
        from registry import devices as regdev

        assert regdev.revoke(reg.db, d.device_id)
        again = wire_bundle.build_bundle([("k-good2", wire.build_batch([d.seal(fresh_record(), str(uuid.uuid4()))],
                                                                  device_id=d.device_id, batch_id="b2"))],
                                  device_id=d.device_id, device_private=d.private)
        path2 = tmp_path / "usb2.bundle"
        path2.write_bytes(again)
        res = subprocess.run([PY, "-m", "registry", "import-bundle", str(path2), "--data-dir", str(reg.data_dir)],
                             cwd=REPO, env=env(), capture_output=True, text=True, timeout=120)
        c.runs += 1
        assert res.returncode == 1 and res.stdout == ""
        assert json.loads(res.stderr.strip().splitlines()[-1])["error"] == "device_revoked"
    http.close()
