"""Transport attacks on real TLS over loopback: the client refuses every wrong server, says why, sends nothing.

tests/sync/test_sync_tls.py covers a wrong CA and pins at registration. Here a TLS front (helpers/attack_tlsfront.py)
presents, in turn: a certificate from another CA, an expired one, one for another host name, one from a root that
the operating system and certifi trust but the device's provisioned CA bundle does not ("user-installed" root), and
a valid certificate whose key is not pinned; then it rotates to the backup pinned key. For each wrong one, at
registration and at sync: the error code is right (``tls_failed`` / ``pin_mismatch``), not a single byte of an
HTTP request reached the server (counted after the handshake), the one-time code stays unspent and the spool
unchanged.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import subprocess

import pytest
from helpers.attack_tools import PY, ROOT, assert_exactly_once_at, case, one_clean_line, run_cli, wait_until
from helpers.attack_tlsfront import TlsFront

from fieldapp.outbound import device as device_file
from fieldapp.outbound.spool import Spool
from sync.engine import Engine
from sync.errors import SyncError
from sync.registration import register

trustme = pytest.importorskip("trustme")


def pin_of(cert) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    c = x509.load_pem_x509_certificate(cert.cert_chain_pems[0].bytes())
    spki = c.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    now = dt.datetime.now(dt.timezone.utc)
    ca, other, rogue = trustme.CA(), trustme.CA(), trustme.CA()
    certs = {
        "good": ca.issue_cert("localhost", "127.0.0.1"),
        "backup": ca.issue_cert("localhost", "127.0.0.1"),       # the next key, pinned in advance
        "unpinned": ca.issue_cert("localhost", "127.0.0.1"),     # valid chain and name, key not pinned
        "expired": ca.issue_cert("localhost", "127.0.0.1", not_before=now - dt.timedelta(days=30),
                                 not_after=now - dt.timedelta(days=1)),
        "not_yet_valid": ca.issue_cert("localhost", "127.0.0.1", not_before=now + dt.timedelta(days=2),
                                       not_after=now + dt.timedelta(days=30)),
        "wrong_host": ca.issue_cert("registry.example.org"),
        "other_ca": other.issue_cert("localhost", "127.0.0.1"),
        "user_root": rogue.issue_cert("localhost", "127.0.0.1"),
    }
    ca.cert_pem.write_to_path(str(d / "ca.pem"))
    # the "user-installed" root: in a certifi bundle and in the OpenSSL default file, as an OS would have it
    import certifi

    bundle = d / "system-plus-user-root.pem"
    bundle.write_bytes(open(certifi.where(), "rb").read() + b"\n" + rogue.cert_pem.bytes())
    fake = d / "fakecertifi" / "certifi"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(f"def where():\n    return {str(bundle)!r}\n\n"
                                      f"def contents():\n    return open(where()).read()\n")
    (fake / "core.py").write_text("from certifi import where, contents\n")
    env_trusting_rogue = {"SSL_CERT_FILE": str(bundle), "REQUESTS_CA_BUNDLE": str(bundle),
                          "CURL_CA_BUNDLE": str(bundle), "PYTHONPATH": f"{fake.parent}:{ROOT}"}
    return {"dir": d, "ca_file": d / "ca.pem", "certs": certs, "pins": [pin_of(certs["good"]), pin_of(certs["backup"])],
            "rogue_env": env_trusting_rogue}


@pytest.fixture(scope="module")
def front(tmp_path_factory):
    from helpers.sync_helpers import Registry

    reg = Registry(tmp_path_factory.mktemp("tlsreg"), register_delay=0).start()
    f = TlsFront(reg.port)
    f.reg = reg
    yield f
    f.close()
    reg.stop()


def _child_env(extra: dict) -> dict:
    from helpers.sync_helpers import env

    e = env()
    e.update(extra)
    return e


WRONG = [("other_ca", "tls_failed"), ("expired", "tls_failed"), ("not_yet_valid", "tls_failed"),
         ("wrong_host", "tls_failed"), ("user_root", "tls_failed"), ("unpinned", "pin_mismatch")]


def test_user_installed_root_really_is_trusted_by_the_environment(pki, front):
    """Control: with the environment of these tests, an ordinary client trusts the rogue server."""
    front.use(pki["certs"]["user_root"])
    code = ("import requests, sys; r = requests.get(sys.argv[1] + '/v1/health', timeout=10); "
            "print(r.status_code)")
    with case("TLS: control - the user-installed root is trusted by the environment",
              "a plain requests client in the same environment (SSL_CERT_FILE, REQUESTS_CA_BUNDLE, certifi) accepts "
              "the rogue server, so the refusals below are the client's own doing") as c:
        out = subprocess.run([PY, "-c", code, front.url], capture_output=True, text=True, timeout=60,
                             env=_child_env(pki["rogue_env"]))
        c.runs += 1
        assert out.stdout.strip() == "200", out.stderr[-500:]


def test_registration_refuses_every_wrong_server_and_sends_nothing(pki, front, tmp_path):
    reg = front.reg
    code = reg.code()
    with case("TLS: registration against a wrong server (other CA, expired, not yet valid, wrong host name, "
              "user-installed root, unpinned key)",
              "refused with tls_failed / pin_mismatch; 0 bytes of HTTP reached the server; no device.json; "
              "the one-time code still unspent") as c:
        for name, expected in WRONG:
            front.use(pki["certs"][name])
            front.reset()
            data = tmp_path / f"reg-{name}"
            if name == "user_root":  # the OS and certifi trust the rogue root: the real CLI in such an environment
                from helpers.clitools import PASSWORD

                assert run_cli(data, "init", "--user", "sup", password=PASSWORD).returncode == 0
                out = run_cli(data, "register", "--user", "sup", "--server", front.url, "--code", code,
                              "--ca-file", pki["ca_file"], *sum((["--pin", p] for p in pki["pins"]), []),
                              password=PASSWORD, **pki["rogue_env"])
                assert one_clean_line(out) == SyncError(expected).message() and out.returncode == 3, out.stderr
                e = type("E", (), {"value": SyncError(expected)})
            else:
                with pytest.raises(SyncError) as e:
                    register(data, front.url, code, ca_file=pki["ca_file"], pins=pki["pins"])
            c.runs += 1
            assert e.value.code == expected, (name, e.value.code)
            assert device_file.load(data) is None
            wait_until(lambda: sum(front.counts()[k] for k in ("handshakes", "handshake_failures")) > 0, 5)
            got = front.counts()
            assert got["app_bytes"] == 0 and got["requests"] == 0, (name, got)
            if expected == "pin_mismatch":
                assert got["handshakes"] >= 1  # the handshake itself worked: the pin check stopped it after
            else:
                assert got["handshakes"] == 0 and got["handshake_failures"] >= 1, (name, got)
        front.use(pki["certs"]["good"])
        front.reset()
        dev = register(tmp_path / "ok", front.url, code, ca_file=pki["ca_file"], pins=pki["pins"])
        assert dev.pins == tuple(pki["pins"]) and front.counts()["requests"] >= 2  # the code was still unspent


def test_sync_refuses_every_wrong_server_then_follows_the_backup_pin(pki, front, tmp_path):
    from helpers.sync_helpers import assert_all_state, fill_spool

    reg = front.reg
    front.use(pki["certs"]["good"])
    data = tmp_path / "laptop"
    register(data, front.url, reg.code(), ca_file=pki["ca_file"], pins=pki["pins"])
    ids = fill_spool(data, 30, seed=606)
    with Spool(data) as spool:
        before = spool.states(ids)
    with case("TLS: sync against a wrong server (same six certificates)",
              "outcome unreachable with tls_failed / pin_mismatch, exit 3; 0 bytes of HTTP reached the server; "
              "every record still queued") as c:
        for name, expected in WRONG:
            front.use(pki["certs"][name])
            front.reset()
            if name == "user_root":
                out = subprocess.run([PY, "-m", "sync", "sync", "--json", "--timeout", "60", "--data-dir", str(data)],
                                     capture_output=True, text=True, timeout=120, env=_child_env(pki["rogue_env"]))
                assert "Traceback" not in out.stderr
                result = json.loads(out.stdout)
                assert (out.returncode, result["error"], result["outcome"]) == (3, expected, "unreachable"), out
            else:
                res = Engine(data).run(timeout=60)
                assert (res.outcome, res.error, res.exit_code) == ("unreachable", expected, 3), (name, res)
            c.runs += 1
            wait_until(lambda: sum(front.counts()[k] for k in ("handshakes", "handshake_failures")) > 0, 5)
            got = front.counts()
            assert got["app_bytes"] == 0 and got["requests"] == 0, (name, got)
            with Spool(data) as spool:
                assert spool.states(ids) == before, name
    with case("TLS: pin rotation to the backup key", "with the backup pin listed, the rotated key is accepted; "
              "every record exactly once at the registry and synced; back to the old key still works") as c:
        front.use(pki["certs"]["backup"])
        res = Engine(data).run(timeout=120)
        c.runs += 1
        assert res.exit_code == 0, res
        front.use(pki["certs"]["good"])
        more = fill_spool(data, 5, seed=607)
        assert Engine(data).run(timeout=120).exit_code == 0
        c.runs += 1
        assert_all_state(data, ids + more)
        assert_exactly_once_at(reg, ids + more)
