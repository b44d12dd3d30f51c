"""TLS to a real registry (uvicorn with a trustme certificate): CA file, pins, backup pin."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import time

import pytest
from helpers.sync_helpers import PY, REPO, Registry, env, fill_spool

from fieldapp.outbound import device as device_file
from sync.engine import Engine
from sync.errors import SyncError
from sync.registration import register
from sync.transport import Client

trustme = pytest.importorskip("trustme")

SERVE = ("import sys, uvicorn; from pathlib import Path; from registry.app import create_app; "
         "from registry.config import Settings; "
         "uvicorn.run(create_app(Settings(data_dir=Path(sys.argv[1]), register_delay=0)), host='127.0.0.1', "
         "port=int(sys.argv[2]), ssl_certfile=sys.argv[3], ssl_keyfile=sys.argv[4], log_level='warning', timeout_graceful_shutdown=1)")


def _pin(cert_pem: bytes) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    spki = x509.load_pem_x509_certificate(cert_pem).public_key().public_bytes(
        Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


@pytest.fixture(scope="module")
def tls_registry(tmp_path_factory):
    d = tmp_path_factory.mktemp("tlsreg")
    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    ca.cert_pem.write_to_path(str(d / "ca.pem"))
    cert.cert_chain_pems[0].write_to_path(str(d / "cert.pem"))
    cert.private_key_pem.write_to_path(str(d / "key.pem"))
    trustme.CA().cert_pem.write_to_path(str(d / "other-ca.pem"))
    reg = Registry(d / "data")
    proc = subprocess.Popen([PY, "-c", SERVE, str(reg.data_dir), str(reg.port), str(d / "cert.pem"), str(d / "key.pem")],
                            cwd=REPO, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"https://localhost:{reg.port}"
    client = Client(url, ca_file=d / "ca.pem")
    for _ in range(200):
        if client.health():
            break
        time.sleep(0.05)
    client.close()
    reg.tls_url, reg.dir, reg.pin = url, d, _pin(cert.cert_chain_pems[0].bytes())
    yield reg
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def test_right_ca_accepted_wrong_ca_refused(tls_registry, tmp_path):
    reg = tls_registry
    with pytest.raises(SyncError) as e:
        register(tmp_path / "a", reg.tls_url, reg.code(), ca_file=reg.dir / "other-ca.pem")
    assert e.value.code == "tls_failed" and device_file.load(tmp_path / "a") is None
    with pytest.raises(SyncError) as e:  # the system store does not know our test CA either
        register(tmp_path / "a", reg.tls_url, reg.code())
    assert e.value.code == "tls_failed"
    dev = register(tmp_path / "b", reg.tls_url, reg.code(), ca_file=reg.dir / "ca.pem")
    assert dev.ca_file == "registry-ca.pem" and (tmp_path / "b" / "registry-ca.pem").exists()
    fill_spool(tmp_path / "b", 5, seed=41)
    assert Engine(tmp_path / "b").run(timeout=60).exit_code == 0


def test_pin_mismatch_refused_before_sending_backup_pin_accepted(tls_registry, tmp_path):
    reg = tls_registry
    wrong = base64.b64encode(b"\x01" * 32).decode()
    code = reg.code()
    with pytest.raises(SyncError) as e:
        register(tmp_path / "a", reg.tls_url, code, ca_file=reg.dir / "ca.pem", pins=[wrong])
    assert e.value.code == "pin_mismatch" and device_file.load(tmp_path / "a") is None
    # nothing reached the registry: the same one-time code still works, with the backup pin matching
    dev = register(tmp_path / "a", reg.tls_url, code, ca_file=reg.dir / "ca.pem", pins=[wrong, reg.pin])
    assert dev.pins == (wrong, reg.pin)
    fill_spool(tmp_path / "a", 5, seed=42)
    assert Engine(tmp_path / "a").run(timeout=60).exit_code == 0
