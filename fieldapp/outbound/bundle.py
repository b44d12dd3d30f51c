"""USB bundles: the sync wire format's offline carrier (``fieldapp export-bundle`` -> ``fieldapp-registry
import-bundle``). A zip of frozen batch bodies with a manifest signed by the device key; read in memory with every
member name, size and hash checked. Split from ``fieldapp.outbound.wire`` (the batches, sealing and signatures it uses)."""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from pathlib import Path
from typing import Callable, Iterable

from fieldapp.outbound.wire import (ID_RE, KEY_RE, MAX_COMPRESSED, WireError, canonical_json, loads_json, now_iso,
                           sha256_hex, sign, sign_batch, verify)

BUNDLE_FORMAT = "fieldapp-bundle"
BUNDLE_VERSION = 1  # the bundle's own format (its batches carry their wire version); 0.1.0 wrote 1 too
BUNDLE_MANIFEST, BUNDLE_SIGNATURE = "manifest.json", "manifest.sig"
BUNDLE_MEMBER_RE = re.compile(r"^batches/[0-9]{6}\.json\.gz\Z")
MAX_BUNDLE_BYTES = 512 * 1024 * 1024
MAX_BUNDLE_BATCHES = 10000
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def _bundle_message(manifest_bytes: bytes) -> bytes:
    return canonical_json({"purpose": "fieldapp-bundle-v1", "manifest_sha256": sha256_hex(manifest_bytes)})


def build_bundle(batches: Iterable[tuple[str, bytes]], *, device_id: str, device_private: bytes,
                 created_at: str | None = None) -> bytes:
    """A USB bundle (zip bytes) of ``(idempotency_key, build_batch body)`` pairs, signed by the device.

    Members: ``manifest.json`` (canonical JSON), ``manifest.sig`` (base64 Ed25519) and
    ``batches/NNNNNN.json.gz`` (the batch bodies, stored). The caller writes it atomically.
    """
    entries, files = [], []
    for n, (key, body) in enumerate(batches, start=1):
        name = f"batches/{n:06d}.json.gz"
        entries.append({"file": name, "idempotency_key": key, "sha256": sha256_hex(body),
                        "signature": sign_batch(body, idempotency_key=key, device_private=device_private)})
        files.append((name, body))
    manifest = canonical_json({"format": BUNDLE_FORMAT, "v": BUNDLE_VERSION, "device_id": device_id,
                               "created_at": created_at or now_iso(), "batches": entries})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, data in [(BUNDLE_MANIFEST, manifest), (BUNDLE_SIGNATURE, sign(device_private, _bundle_message(manifest)).encode())] + files:
            zf.writestr(zipfile.ZipInfo(name, _ZIP_TIME), data)
    return buf.getvalue()


def _bundle_bytes(source, max_bytes: int) -> bytes:
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    else:
        with open(Path(source), "rb") as fh:
            data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise WireError("bundle_too_large")
    return data


def _read_members(zf: zipfile.ZipFile, max_batches: int, max_member: int, max_total: int) -> dict[str, bytes]:
    infos = zf.infolist()
    if len(infos) > max_batches + 2:
        raise WireError("bundle_too_large", "too many members")
    members, total = {}, 0
    for info in infos:
        name = info.filename
        if name not in (BUNDLE_MANIFEST, BUNDLE_SIGNATURE) and not BUNDLE_MEMBER_RE.match(name):
            raise WireError("bundle_unsafe_member", "unexpected member name")
        if name in members or info.is_dir() or (info.external_attr >> 16) & 0o170000 == 0o120000 or info.flag_bits & 1:
            raise WireError("bundle_unsafe_member", "duplicate, directory, link or encrypted member")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) or info.file_size > max_member:
            raise WireError("bundle_too_large", "member")
        with zf.open(info) as fh:
            data = fh.read(max_member + 1)  # bounded even if the header lies
        total += len(data)
        if len(data) > max_member or total > max_total:
            raise WireError("bundle_too_large", "member")
        members[name] = data
    return members


def read_bundle(source, *, device_public: bytes | Callable[[str], bytes], max_bytes: int = MAX_BUNDLE_BYTES,
                max_batches: int = MAX_BUNDLE_BATCHES, max_member: int = MAX_COMPRESSED) -> dict:
    """Read and verify a bundle (path or bytes) without extracting anything to disk.

    ``device_public`` is the device's raw public key or a function ``device_id -> key``
    (which may raise ``WireError``). Returns ``{"device_id", "created_at", "batches":
    [{"idempotency_key", "signature", "body"}]}``; batch signatures are checked again on intake.
    """
    data = _bundle_bytes(source, max_bytes)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            members = _read_members(zf, max_batches, max_member, max_bytes)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError, zlib.error, RuntimeError, ValueError):
        raise WireError("bad_bundle", "not a readable zip") from None
    if BUNDLE_MANIFEST not in members or BUNDLE_SIGNATURE not in members:
        raise WireError("bad_bundle", "manifest missing")
    manifest = loads_json(members[BUNDLE_MANIFEST], "bad_bundle")
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT or manifest.get("v") != BUNDLE_VERSION:
        raise WireError("bad_bundle", "manifest format")
    device_id, entries = manifest.get("device_id"), manifest.get("batches")
    if not isinstance(device_id, str) or not ID_RE.match(device_id) or not isinstance(entries, list):
        raise WireError("bad_bundle", "manifest fields")
    public = device_public(device_id) if callable(device_public) else device_public
    try:
        sig_text = members[BUNDLE_SIGNATURE].decode("ascii").strip()
    except UnicodeDecodeError:
        raise WireError("bad_bundle_signature") from None
    verify(public, _bundle_message(members[BUNDLE_MANIFEST]), sig_text, "bad_bundle_signature")
    return {"device_id": device_id, "created_at": manifest.get("created_at"),
            "batches": [_bundle_entry(e, members) for e in entries]}


def _bundle_entry(entry, members: dict[str, bytes]) -> dict:
    if not isinstance(entry, dict) or not isinstance(entry.get("file"), str) or entry["file"] not in members \
            or not BUNDLE_MEMBER_RE.match(entry["file"]):
        raise WireError("bad_bundle", "manifest entry")
    key, sig = entry.get("idempotency_key"), entry.get("signature")
    if not isinstance(key, str) or not KEY_RE.match(key) or not isinstance(sig, str):
        raise WireError("bad_bundle", "manifest entry")
    body = members[entry["file"]]
    if sha256_hex(body) != entry.get("sha256"):
        raise WireError("bad_bundle", "batch hash mismatch")
    return {"idempotency_key": key, "signature": sig, "body": body}
