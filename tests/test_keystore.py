"""The device's sync key in the operating system's keystore (``fieldapp.outbound.keystore``), with a test backend
standing for Windows Credential Manager / Keychain / Secret Service, and the fallback where there is none."""

from __future__ import annotations

import json

import pytest

from fieldapp import services
from fieldapp.outbound import device as device_file
from fieldapp.outbound import identity, keystore, wire
from fieldapp.store import users


@pytest.fixture
def registered(tmp_path, monkeypatch):
    monkeypatch.setenv("FIELDAPP_KDF_TARGET_MS", "0")
    data = tmp_path / "data"
    with services.create_store(data, "sup", "supervisor pw") as sup:
        users.add_user(sup, "ow", "outreach pw", "outreach")
        priv, pub = wire.new_device_keys()
        keys = wire.new_registry_keys()
        dev = device_file.Device("dev-1", "https://registry.example.org", wire.b64e(priv), wire.b64e(pub),
                                 wire.b64e(keys["seal_public"]), wire.b64e(keys["sign_public"]), "2026-01-01T00:00:00Z")
        identity.adopt(sup, dev)
    return data, dev


@pytest.fixture
def file_keyring(tmp_path, monkeypatch):
    import keyring

    from helpers.file_keyring import FileKeyring

    monkeypatch.setenv("FIELDAPP_TEST_KEYRING_FILE", str(tmp_path / "keystore.json"))
    before = keyring.get_keyring()
    keyring.set_keyring(FileKeyring())
    yield tmp_path / "keystore.json"
    keyring.set_keyring(before)


def test_with_a_keystore_the_key_is_not_in_device_json(file_keyring, registered):
    data, dev = registered
    raw = json.loads((data / "device.json").read_text())
    assert "device_private_key" not in raw and raw["key_store"] == "keyring"
    assert dev.device_private_key not in (data / "device.json").read_text()
    assert dev.device_private_key in file_keyring.read_text()
    assert device_file.load(data) == identity.trusted_device(services.open_session(data, "ow", "outreach pw"))


def test_a_key_gone_from_the_keystore_is_put_back_at_the_next_unlock(file_keyring, registered):
    data, dev = registered
    keystore.forget(data, dev.device_id)
    with pytest.raises(device_file.DeviceFileError):
        device_file.load(data)  # the engine, without a password: a clear error, nothing sent
    with services.open_session(data, "ow", "outreach pw"):
        pass  # any unlock repairs it from the store's copy
    assert device_file.load(data).private_raw == dev.private_raw


def test_without_a_keystore_the_key_stays_in_the_0600_file(registered):
    data, dev = registered
    raw = json.loads((data / "device.json").read_text())
    assert raw["device_private_key"] == dev.device_private_key and "key_store" not in raw
    assert (data / "device.json").stat().st_mode & 0o077 == 0


def test_keystore_required_but_missing_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("FIELDAPP_KEYSTORE", "keyring")
    with pytest.raises(keystore.KeystoreUnavailable):
        keystore.put(tmp_path, "dev-1", "x")
    monkeypatch.setenv("FIELDAPP_KEYSTORE", "file")
    assert keystore.put(tmp_path, "dev-1", "x") is None
