"""A hostile registry for attack tests: a real HTTP server on loopback that speaks the protocol well enough to make a
laptop's sync engine happy, and signs every answer with *its own* key.

It is what an attacker runs after rewriting a laptop's device.json to point at it (issue 10, case 2): it accepts
every batch with a validly signed receipt naming every record ``accepted`` and registers them all at once in signed
status answers. ``unsigned_status`` makes its status answers unsigned (case 17); ``items`` keeps what it received.
"""

from __future__ import annotations

import gzip
import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from fieldapp.outbound import proofs, wire


class FakeRegistry:
    def __init__(self, *, unsigned_status: bool = False):
        self.keys = wire.new_registry_keys()
        self.unsigned_status = unsigned_status
        self.items: list[dict] = []
        self.device_id: str | None = None
        handler = self._handler()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> "FakeRegistry":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _json(self, obj, status=200):
                body = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def do_GET(self):  # noqa: N802
                if self.path.startswith("/v1/health"):
                    return self._json({"status": "ok", "time": wire.now_iso()})
                if self.path.startswith("/v1/status"):
                    records = [{"record_id": it["record_id"], "state": "registered", "registry_id": "EVIL-1"}
                               for it in fake.items]
                    answer = {"records": records, "cursor": str(len(records)), "more": False}
                    if not fake.unsigned_status:
                        answer = proofs.sign_status(answer, fake.keys["sign_private"], device_id=fake.device_id or "",
                                                    issued_at=wire.now_iso())
                    return self._json(answer)
                return self._json({"error": "not_found"}, 404)

            def do_POST(self):  # noqa: N802
                body = self._body()
                if self.path == "/v1/auth/challenge":
                    fake.device_id = json.loads(body)["device_id"]
                    return self._json({"nonce": secrets.token_hex(16), "expires_in": 60})
                if self.path == "/v1/auth/token":
                    return self._json({"token": "evil-token", "expires_in": 900})
                if self.path == "/v1/devices/approval-key":
                    return self._json({"device_id": fake.device_id, "approval_key": "0" * 32, "state": "registered"})
                if self.path == "/v1/batches":
                    doc = json.loads(gzip.decompress(body))
                    fake.items += doc["items"]
                    receipt = {"v": doc["v"], "batch_id": doc["batch_id"], "batch_sha256": wire.sha256_hex(body),
                               "device_id": doc["device_id"], "idempotency_key": self.headers.get("Idempotency-Key"),
                               "issued_at": wire.now_iso(),
                               "results": [{"record_id": it["record_id"], "status": "accepted", "registry_id": "EVIL-1"}
                                           for it in doc["items"]]}
                    return self._json(proofs.sign_receipt(receipt, fake.keys["sign_private"]))
                return self._json({"error": "not_found"}, 404)

        return Handler
