"""Fixtures: real ``python -m registry serve`` processes on free loopback ports.

Every registry test runs once per backend: ``sqlite`` always, ``postgres`` only when
``FIELDAPP_TEST_PG_URL`` is set (``eval "$(bash scripts/ci-postgres.sh)"``). Each
PostgreSQL server gets a fresh schema (via the URL's ``options=-csearch_path=...``), dropped
afterwards, so runs never see each other's data or keys.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from helpers import registry_client as client


def _distinct_people(make):
    """Protocol 4 holds a record from another device whose normalised name, birth date and commune match a member's
    (``registry.members``): ``make_record`` picks its names from a short list with one birth date and village, so
    unless a test gives them, each record gets a random birth date and village (two records stay two people)."""
    villages: list[str] = []

    def make_record(record_id=None, national_id="auto", **over):
        if not villages:
            from fieldapp.domain import geo

            villages.extend(u.code for u in geo.all_units("village"))
        if "date_of_birth" not in over:
            over["date_of_birth"] = f"{random.randrange(1950, 2000)}-{random.randrange(1, 13):02d}-" \
                                    f"{random.randrange(1, 29):02d}"
        over.setdefault("village_code", random.choice(villages))
        return make(record_id, national_id, **over)

    make_record.__doc__ = make.__doc__
    return make_record


client.make_record = _distinct_people(client.make_record)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PG_ENV = "FIELDAPP_TEST_PG_URL"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDAPP_")}
    env["PYTHONPATH"] = str(ROOT)
    return env


def start_server(data_dir: Path, database_url: str | None, log_path: Path, *extra: str) -> "client.Server":
    """Start a registry process and wait until ``/v1/health`` answers."""
    port = free_port()
    cmd = [sys.executable, "-m", "registry", "serve", "--data-dir", str(data_dir), "--host", "127.0.0.1",
           "--port", str(port), *extra]
    if database_url:
        cmd += ["--database-url", database_url]
    log = open(log_path, "ab")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=server_env(),
                            stdin=subprocess.DEVNULL)
    log.close()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"registry exited {proc.returncode}: {log_path.read_text(errors='replace')[-3000:]}")
        try:
            if requests.get(url + "/v1/health", timeout=1).status_code == 200:
                return client.Server(url=url, data_dir=data_dir, database_url=database_url, proc=proc, log_path=log_path)
        except requests.RequestException:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("registry did not answer /v1/health within 60 s")


def stop_server(server: "client.Server") -> None:
    if server.proc and server.proc.poll() is None:
        server.proc.terminate()
        try:
            server.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait()
    if server._db is not None:
        server._db.close()
        server._db = None


class PgSchemas:
    """Creates throw-away schemas in the test database and drops them at the end."""

    def __init__(self, base_url: str):
        self.base_url, self.names = base_url, []

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.base_url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql)

    def new_url(self) -> str:
        name = f"fa_test_{uuid.uuid4().hex[:12]}"
        self._admin(f"CREATE SCHEMA {name}")
        self.names.append(name)
        sep = "&" if "?" in self.base_url else "?"
        return f"{self.base_url}{sep}options={quote('-csearch_path=' + name)}"

    def drop_all(self) -> None:
        for name in self.names:
            try:
                self._admin(f"DROP SCHEMA IF EXISTS {name} CASCADE")
            except Exception:  # noqa: BLE001 - best effort
                pass


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request) -> str:
    if request.param == "postgres" and not os.environ.get(PG_ENV):
        pytest.skip(f"PostgreSQL tests need {PG_ENV} (eval \"$(bash scripts/ci-postgres.sh)\")")
    return request.param


@pytest.fixture(scope="session")
def new_database_url(backend):
    """A function returning a fresh database URL for the backend (None for SQLite)."""
    if backend == "sqlite":
        yield lambda: None
        return
    schemas = PgSchemas(os.environ[PG_ENV])
    yield schemas.new_url
    schemas.drop_all()


@pytest.fixture(scope="session")
def registry_server(backend, new_database_url, tmp_path_factory):
    """One registry shared by most tests of a backend (registration delay 1 s)."""
    data_dir = tmp_path_factory.mktemp(f"registry-{backend}") / "data"
    server = start_server(data_dir, new_database_url(), data_dir.parent / "server.log", "--register-delay", "1")
    yield server
    stop_server(server)


@pytest.fixture
def make_server(new_database_url, tmp_path):
    """Start extra registries: ``make_server(*args, data_dir=None, database_url=None)``."""
    started = []

    def make(*extra: str, data_dir: Path | None = None, database_url: str | None = "new"):
        url = new_database_url() if database_url == "new" else database_url
        ddir = data_dir or tmp_path / f"data{len(started)}"
        server = start_server(ddir, url, tmp_path / f"server{len(started)}.log", *extra)
        started.append(server)
        return server

    yield make
    for server in started:
        stop_server(server)


@pytest.fixture
def device(registry_server):
    return client.Device(registry_server)


@pytest.fixture
def device2(registry_server):
    return client.Device(registry_server)


@pytest.fixture
def v2device(registry_server):
    """A laptop of this release: approval key registered at enrollment, version 2 items and batches."""
    return client.Device(registry_server, approval=True)


@pytest.fixture(params=["v1", "v2"])
def anydev(request, registry_server):
    """The same test for a release 0.1.0 laptop (version 1) and a laptop of this release (version 2)."""
    return client.Device(registry_server, approval=request.param == "v2")
