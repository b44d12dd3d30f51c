"""fieldapp.base.encoding: every byte format it writes is the one the copies it replaced wrote."""

import base64
import json
import re
from datetime import datetime, timezone

import pytest

from fieldapp.base import encoding
from fieldapp.outbound import wire
from fieldapp.store import audit, keyslots

SAMPLES = [{"b": 1, "a": [1, 2.5, None, True], "km": "សួស្តី", "z": {"y": "\u2028", "x": ""}}, [], "é", 0, {"": {}}]


@pytest.mark.parametrize("obj", SAMPLES)
def test_canonical_json_is_the_old_bytes(obj):
    old = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    assert encoding.canonical_json(obj) == old == wire.canonical_json(obj) == keyslots.canon(obj)
    assert encoding.canonical_text(obj) == old.decode("utf-8")


def test_the_wire_refuses_nan_the_others_keep_json_behaviour():
    with pytest.raises(ValueError):
        wire.canonical_json({"x": float("nan")})
    assert encoding.canonical_json({"x": float("nan")}) == b'{"x":NaN}'


def test_base64_meanings():
    for raw in (b"", b"\x00", bytes(range(256)), b"\xff" * 31):
        assert encoding.b64encode(raw) == base64.b64encode(raw).decode("ascii") == wire.b64e(raw) == keyslots.b64e(raw)
        assert encoding.b64decode(encoding.b64encode(raw)) == raw == encoding.b64decode_canonical(encoding.b64encode(raw))
        url = encoding.b64url_encode(raw)
        assert url == base64.urlsafe_b64encode(raw).decode().rstrip("=") and "=" not in url
        assert encoding.b64url_decode(url) == raw
    for bad in ("abc", "ab$=", "YQ==\n", "ï"):
        with pytest.raises(ValueError):
            encoding.b64decode(bad)
        with pytest.raises(wire.WireError):
            wire.b64d(bad)
    with pytest.raises(ValueError):
        encoding.b64decode_canonical("YR==")  # the bytes of "YQ==", unused bits set


def test_timestamp_formats():
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00", encoding.now_iso())
    assert audit.now_iso is encoding.now_iso  # the store's one stored format
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", encoding.now_iso_seconds())
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", encoding.wire_time()) and wire.now_iso()[-1] == "Z"
    assert encoding.wire_time(0) == "1970-01-01T00:00:00Z" and encoding.wire_time(1.9) == "1970-01-01T00:00:01Z"
    assert isinstance(encoding.now_epoch(), float)
    when = datetime(2026, 12, 2, 14, 15, tzinfo=timezone.utc)
    for text in ("2026-12-02T14:15:00+00:00", "2026-12-02T14:15:00Z", "2026-12-02T14:15:00.000000+00:00",
                 "2026-12-02T14:15:00"):
        assert encoding.parse_iso(text) == when
    assert encoding.parse_iso(encoding.now_iso()).tzinfo is not None
    with pytest.raises(ValueError):
        encoding.parse_iso("yesterday")
