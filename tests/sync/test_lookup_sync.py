"""The sync engine's member lookup (protocol 4): fetched page by page, verified, sealed into the spool's inbox, taken
by the store at the next unlock; spool.db never holds a readable name.

Most tests run the real engine (real HTTP over loopback, real store, real spool) against ``LookupStub``, a small
registry stub in this file (``/v1/keys``, login, ``/v1/status``, ``/v1/lookup``, gzip answers), which can fail, page
and sign on demand; ``fieldapp.store.members`` is a stub there too (``StubMembers``). The last test runs the
reference registry and the ``fieldapp`` command lines as real processes, with the real ``fieldapp.store.members``.
"""

from __future__ import annotations

import gzip
import json
import secrets
import sys
import threading
import types
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from helpers.planted import needles_of, scan
from helpers.sync_helpers import fast_config

import fieldapp.store
from fieldapp import services
from fieldapp.domain import member
from fieldapp.domain.synthetic import make_records
from fieldapp.outbound import device as device_file
from fieldapp.outbound import identity, inbox, proofs, wire
from fieldapp.outbound.spool import Spool
from fieldapp.store.database import Store
from sync.engine import Engine

SUP_PW = "supervisor pw"
AREA_ID = "a1b2c3d4e5f60718"


class LookupStub:
    """A registry on loopback that speaks enough of protocol 4 for the engine. ``protocol``: what ``/v1/keys`` says;
    ``lookup_status``: answer ``/v1/lookup`` with this status (404: an old registry); ``fail_at``: answer 503 to the
    request for this ``since``; ``on_lookup(since)``: called before each lookup answer; ``sign_private``: the key
    pages are signed with."""

    def __init__(self, members: list[dict], page_size: int = 5, protocol=(1, 2, 3, 4)):
        self.keys = wire.new_registry_keys()
        self.sign_private = self.keys["sign_private"]
        self.members, self.page_size, self.protocol = members, page_size, list(protocol)
        self.lookup_status, self.fail_at, self.on_lookup = 200, None, None
        self.requests: list[str] = []
        self.gzipped = 0
        self.device_id = None
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def lookups(self) -> list[dict]:
        return [{k: v[0] for k, v in parse_qs(urlsplit(p).query).items()} for p in self.requests
                if p.startswith("/v1/lookup")]

    def page(self, since: int, limit: int, area: str | None) -> dict:
        reset = since == 0 or area != AREA_ID
        start = 0 if reset else since
        chunk = self.members[start:start + min(limit, self.page_size)]
        cursor = start + len(chunk)
        return {"format": proofs.LOOKUP_FORMAT, "v": 1, "device_id": self.device_id, "area": ["010201"],
                "area_id": AREA_ID, "since": since, "cursor": cursor, "reset": reset,
                "more": cursor < len(self.members), "members": chunk, "removed": [], "issued_at": wire.now_iso()}

    def _handler(self):
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _json(self, obj, status=200):
                body = json.dumps(obj, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                if "gzip" in (self.headers.get("Accept-Encoding") or "") and len(body) > 200:
                    body = gzip.compress(body)
                    self.send_header("Content-Encoding", "gzip")
                    stub.gzipped += 1
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):  # noqa: N802
                stub.requests.append(self.path)
                if self.path == "/v1/health":
                    return self._json({"status": "ok"})
                if self.path == "/v1/keys":
                    return self._json({"seal_public_key": wire.b64e(stub.keys["seal_public"]),
                                       "sign_public_key": wire.b64e(stub.keys["sign_public"]),
                                       "protocol": stub.protocol})
                if self.path.startswith("/v1/status"):
                    return self._json(proofs.sign_status({"records": [], "cursor": "0", "more": False},
                                                         stub.sign_private, device_id=stub.device_id,
                                                         issued_at=wire.now_iso()))
                if self.path.startswith("/v1/lookup"):
                    q = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
                    since = int(q.get("since", 0))
                    if stub.on_lookup:
                        stub.on_lookup(since)
                    if stub.lookup_status != 200 or since == stub.fail_at:
                        return self._json({"error": "not_found" if stub.lookup_status == 404 else "busy"},
                                          stub.lookup_status if stub.lookup_status != 200 else 503)
                    page = stub.page(since, int(q.get("limit", 5000)), q.get("area"))
                    return self._json(proofs.sign_lookup(page, stub.sign_private))
                return self._json({"error": "not_found"}, 404)

            def do_POST(self):  # noqa: N802
                stub.requests.append(self.path)
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                if self.path == "/v1/auth/challenge":
                    stub.device_id = body["device_id"]
                    return self._json({"nonce": secrets.token_hex(16), "expires_in": 60})
                if self.path == "/v1/auth/token":
                    return self._json({"token": "t-" + secrets.token_hex(8), "expires_in": 900})
                return self._json({"error": "not_found"}, 404)

        return Handler


class StubMembers(types.ModuleType):
    """Stands for ``fieldapp.store.members`` while it is being written: records the pages, keeps the cursor."""

    def __init__(self):
        super().__init__("fieldapp.store.members")
        self.applied, self.state = [], (0, None)

    def apply_page(self, session, page):
        self.applied.append(page)
        self.state = (page["cursor"], page["area_id"])
        return {}

    def cursor(self, session):
        return self.state


@pytest.fixture
def stub_members(monkeypatch):
    mod = StubMembers()
    monkeypatch.setitem(sys.modules, "fieldapp.store.members", mod)
    monkeypatch.setattr(fieldapp.store, "members", mod, raising=False)
    return mod


PEOPLE = make_records(12, seed=1313)


@pytest.fixture
def registry():
    reg = LookupStub([member.lookup_entry(rec, f"KH-REG-{i:06d}", 1) for i, rec in enumerate(PEOPLE, 1)])
    yield reg
    reg.stop()


@pytest.fixture
def laptop(tmp_path, registry, stub_members):
    """A store registered with the stub, its spool holding the published inbox key."""
    data = tmp_path / "laptop"
    Store(data).create("sup", SUP_PW, "Supervisor").close()
    priv, pub = wire.new_device_keys()
    with Store(data).unlock("sup", SUP_PW) as session:
        identity.adopt(session, device_file.Device(
            "dev-0001", registry.url, wire.b64e(priv), wire.b64e(pub), wire.b64e(registry.keys["seal_public"]),
            wire.b64e(registry.keys["sign_public"]), "2025-03-04T05:06:07Z"))
    with Spool(data):
        pass
    with Store(data).unlock("sup", SUP_PW) as session:
        services.take_lookup(session)
    return data


def sync(data, abort=None):
    return Engine(data, config=fast_config(), abort=abort).run(timeout=60)


def meta(data, key):
    with Spool(data) as spool:
        return spool.get_meta(key)


def inbox_rows(data) -> int:
    with Spool(data) as spool:
        return len(spool.inbox_pending())


def take(data):
    with Store(data).unlock("sup", SUP_PW) as session:
        return services.take_lookup(session)


# ---------------------------------------------------------------- fetched, sealed, taken
def test_pages_are_fetched_until_more_is_false_and_spool_db_holds_no_name(laptop, registry, stub_members):
    result = sync(laptop)
    assert result.outcome == "complete"
    assert [(q["since"], q.get("area"), q["limit"]) for q in registry.lookups()] == [
        ("0", None, "10000"), ("5", AREA_ID, "10000"), ("10", AREA_ID, "10000")]
    assert registry.gzipped >= 3  # the pages came compressed
    assert inbox_rows(laptop) == 3 and (meta(laptop, inbox.CURSOR), meta(laptop, inbox.AREA_ID)) == (12, AREA_ID)
    needles = needles_of(PEOPLE)
    spool_files = [p for p in laptop.iterdir() if p.name.startswith("spool.db")]
    assert spool_files and scan(spool_files, needles) == []
    assert scan([laptop], needles) == []  # and nowhere else in the data folder

    assert take(laptop) == {"applied": 3, "dropped": 0, "skipped": 0}
    names = [m["family_name"] for p in stub_members.applied for m in p["members"]]
    assert names == [r["family_name"] for r in PEOPLE]
    assert inbox_rows(laptop) == 0

    registry.requests.clear()  # the next run asks from the cursor kept, and the keys are not asked again
    assert sync(laptop).outcome == "complete"
    assert [q["since"] for q in registry.lookups()] == ["12"] and "/v1/keys" not in registry.requests
    assert inbox_rows(laptop) == 1


def test_no_inbox_key_no_fetch(registry, laptop):
    with Spool(laptop) as spool:
        spool._conn.execute("DELETE FROM meta WHERE key = ?", (inbox.SPOOL_PUBLIC,))
    assert sync(laptop).outcome == "complete"
    assert registry.requests == []  # nothing to send, nothing to fetch: not even a probe
    assert inbox_rows(laptop) == 0


@pytest.mark.parametrize("old", ["protocol_3", "lookup_404", "lookup_405"])
def test_an_old_registry_disables_the_fetch_quietly(laptop, registry, old):
    if old == "protocol_3":
        registry.protocol = [1, 2, 3]
    else:
        registry.lookup_status = int(old[-3:])
    assert sync(laptop).outcome == "complete"
    assert len(registry.lookups()) == (0 if old == "protocol_3" else 1)
    assert meta(laptop, "registry_protocol")["lookup"] is False and inbox_rows(laptop) == 0
    registry.requests.clear()
    assert sync(laptop).outcome == "complete"
    assert registry.requests == []  # remembered: the next run does not go online for it


def test_a_transient_failure_stops_the_fetch_and_the_next_run_goes_on(laptop, registry):
    registry.fail_at = 5
    assert sync(laptop).outcome == "complete"  # like the status poll: no error
    assert inbox_rows(laptop) == 1 and meta(laptop, inbox.CURSOR) == 5
    registry.fail_at = None
    registry.requests.clear()
    assert sync(laptop).outcome == "complete"
    assert [q["since"] for q in registry.lookups()] == ["5", "10"] and inbox_rows(laptop) == 3


def test_a_page_not_signed_by_the_registry_is_not_kept(laptop, registry):
    registry.sign_private = wire.new_registry_keys()["sign_private"]  # pages (and status answers) signed by another
    assert sync(laptop).outcome == "complete"
    assert inbox_rows(laptop) == 0 and meta(laptop, inbox.CURSOR) is None


def test_an_abort_stops_between_pages(laptop, registry):
    abort = threading.Event()
    registry.on_lookup = lambda since: abort.set() if since == 5 else None
    sync(laptop, abort)
    assert [q["since"] for q in registry.lookups()] == ["0", "5"]
    assert inbox_rows(laptop) <= 2 and meta(laptop, inbox.CURSOR) in (5, 10)


def test_a_cursor_the_store_set_back_meanwhile_wins(laptop, registry):
    def store_resets(since):
        if since == 5:  # the store dropped a page and set the cursor back while the engine was fetching
            with Spool(laptop) as spool:
                spool.set_meta(inbox.CURSOR, 0)

    registry.on_lookup = store_resets
    sync(laptop)
    assert [q["since"] for q in registry.lookups()] == ["0", "5"]
    assert inbox_rows(laptop) == 1 and meta(laptop, inbox.CURSOR) == 0


def test_a_cursor_written_by_hand_starts_over(laptop, registry):
    with Spool(laptop) as spool:
        spool.set_meta_many({inbox.CURSOR: 10 ** 19, inbox.AREA_ID: "not-an-area; DROP"})
    assert sync(laptop).outcome == "complete"
    assert [(q["since"], q.get("area")) for q in registry.lookups()][0] == ("0", None)
    assert meta(laptop, inbox.CURSOR) == 12


# ---------------------------------------------------------------- the reference registry (a real process)
def test_against_the_real_registry_pages_reach_the_store_sealed(tmp_path):
    """Real registry process, real ``fieldapp`` command lines: the members registered from the laptop come back in
    its lookup, sealed in spool.db until the next unlock applies them (``fieldapp.store.members``)."""
    from helpers.clitools import OUTREACH_PASSWORD, PASSWORD, Cli, write_jsonl
    from helpers.sync_helpers import Registry

    from fieldapp.store import members

    people = make_records(3, seed=4242)
    for rec in people:
        for key in ("commune_code", "district_code", "province_code", "address_source"):
            rec.pop(key, None)
        rec["village_code"] = "05030101"
    registry = Registry(tmp_path / "registry").start()
    try:
        cli = Cli(tmp_path / "laptop")
        cli("init", "--user", "sup", check=True)
        cli("user", "add", "--user", "sup", "--new-user", "ow", "--role", "outreach", "--full-name", "Keo Sophal",
            new_password=OUTREACH_PASSWORD, check=True)
        code = json.loads(registry.cli("enrollment-code", "--communes", "050301"))["code"]
        cli("register", "--user", "sup", "--server", registry.url, "--code", code, check=True)
        cli("import", "--user", "ow", write_jsonl(tmp_path / "people.jsonl", people), password=OUTREACH_PASSWORD,
            check=True)
        cli("review", "--user", "sup", "--approve-all", check=True)
        assert meta(cli.data_dir, inbox.SPOOL_PUBLIC)  # published by the unlocks
        out = cli("sync", "--json", password=None)  # the engine alone (no password): pages stay sealed
        assert out.returncode == 0, out.stderr
        assert inbox_rows(cli.data_dir) >= 1 and meta(cli.data_dir, inbox.CURSOR) > 0
        spool_files = [p for p in cli.data_dir.iterdir() if p.name.startswith("spool.db")]
        assert scan(spool_files, needles_of(people)) == []
        cli("list", "--user", "sup", "--json", check=True)  # an unlock takes the inbox
        assert inbox_rows(cli.data_dir) == 0
        with Store(cli.data_dir).unlock("sup", PASSWORD) as session:
            assert members.count(session) == 3
            assert members.cursor(session) == (meta(cli.data_dir, inbox.CURSOR), meta(cli.data_dir, inbox.AREA_ID))
    finally:
        registry.stop()

