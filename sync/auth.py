"""Bearer tokens: the device signs a fresh server nonce with its Ed25519 key."""

from __future__ import annotations

import threading
import time

from fieldapp.outbound import wire
from sync.errors import Refused
from sync.transport import Client, Reply, TransportError, raise_for_transient

_REFUSALS = {"device_revoked": "device_revoked", "unknown_device": "device_unknown",
             "bad_signature": "auth_failed"}
_RETRY_LOGIN = {"bad_nonce", "nonce_expired"}  # a slow link outlived the challenge: ask again


def refusal(r: Reply) -> Refused:
    """A ``Refused`` error for a 401/403/404 answer of the registry during login."""
    code = _REFUSALS.get(r.error or "", "device_revoked" if r.status == 403 else "auth_failed")
    return Refused(code)


class _NonceExpired(Exception):
    pass


class TokenAuth:
    def __init__(self, client: Client, device):
        self.client, self.device = client, device
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires = 0.0

    def header(self) -> dict:
        with self._lock:
            if self._token is None or time.monotonic() > self._expires - 30:
                self._login()
            return {"Authorization": f"Bearer {self._token}"}

    def invalidate(self, header: dict | None = None) -> None:
        with self._lock:
            if header is None or header.get("Authorization") == f"Bearer {self._token}":
                self._token = None

    def _login(self) -> None:
        for attempt in range(3):
            try:
                return self._login_once()
            except _NonceExpired:
                if attempt == 2:
                    raise TransportError("unexpected", status=401) from None

    def _login_once(self) -> None:
        dev = self.device
        r = self.client.request("POST", "/v1/auth/challenge", json_body={"device_id": dev.device_id})
        self._check(r)
        nonce = r.data.get("nonce")
        if not isinstance(nonce, str):
            raise TransportError("unexpected", status=r.status)
        sig = wire.sign_challenge(dev.device_id, nonce, dev.private_raw)
        r = self.client.request("POST", "/v1/auth/token",
                                json_body={"device_id": dev.device_id, "nonce": nonce, "signature": sig})
        self._check(r)
        token, ttl = r.data.get("token"), r.data.get("expires_in", 300)
        if not isinstance(token, str) or not token:
            raise TransportError("unexpected", status=r.status)
        self._token = token
        self._expires = time.monotonic() + (float(ttl) if isinstance(ttl, (int, float)) else 300.0)

    @staticmethod
    def _check(r: Reply) -> None:
        raise_for_transient(r)
        if r.status == 401 and r.error in _RETRY_LOGIN:
            raise _NonceExpired()
        if r.status in (401, 403, 404) and r.error:
            raise refusal(r)
        if r.status != 200 or not isinstance(r.data, dict):
            raise TransportError("unexpected", status=r.status)
