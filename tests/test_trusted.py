"""fieldapp.store.trusted: named facts kept inside the encrypted store."""

import pytest

from fieldapp.store import trusted
from fieldapp.store.database import Store


def test_put_get_replace_delete(tmp_path, monkeypatch):
    monkeypatch.setenv("FIELDAPP_KDF_TARGET_MS", "0")
    s = Store(tmp_path).create("sup", "correct horse battery", None)
    try:
        assert trusted.get(s.conn, "registry.ca_pem") is None
        with s.write():
            trusted.put(s.conn, "registry.ca_pem", "https://a.example")
            trusted.put(s.conn, "registry.ca_pem", "https://b.example")
        assert trusted.get(s.conn, "registry.ca_pem") == "https://b.example"
        shown = trusted.all_values(s.conn)
        assert shown["registry.ca_pem"] == "https://b.example" and "approval.public_key" in shown
        trusted.put(s.conn, "device.identity", "{}")
        assert "device.identity" not in trusted.all_values(s.conn)  # a secret: never in diagnostics
        with s.write():
            trusted.delete(s.conn, "registry.ca_pem")
        assert trusted.get(s.conn, "registry.ca_pem") is None
        with pytest.raises(KeyError):
            trusted.get(s.conn, "no.such.name")
    finally:
        s.close()
