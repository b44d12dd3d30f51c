"""The engine's calls besides batches (a mixin of ``sync.engine.Engine``): registering the store's approval key,
and polling ``/v1/status`` for the registry's word on synced records. Only status answers the registry signed for
this device are applied, and kept in the spool as proof for the store (``fieldapp.outbound.outbox.pull_states``)."""

from __future__ import annotations

import json
import logging

from fieldapp.outbound import proofs, wire
from sync.errors import Refused, SyncError
from sync.transport import Reply, TransportError, raise_for_transient

log = logging.getLogger("fieldapp.sync")


class RegistryCalls:
    """Needs ``self.spool``, ``self.client``, ``self.auth``, ``self.dev``, ``self.progress``, ``self.abort_event``."""

    # ------------------------------------------------------------------ approval key
    def _register_approval_key(self) -> bool:
        """Register the store's approval key with the registry before any version 2 item goes (a store upgraded from
        release 0.1.0 makes its key after its device enrolled). True when there is nothing (more) to do."""
        pending = self.spool.get_meta("approval_key_registration")
        if not isinstance(pending, dict) or self.spool.get_meta("approval_key_registered") == pending.get("fingerprint"):
            return True
        body = {k: pending.get(k) for k in ("approval_public_key", "approval_proof", "code") if pending.get(k)}
        r = self._authed("POST", "/v1/devices/approval-key", json_body=body)
        if r.status == 200 and r.is_json:
            self.spool.set_meta("approval_key_registered", pending.get("fingerprint"))
            log.info("approval key registered with the registry (%s)", (r.data or {}).get("state"))
            return True
        raise_for_transient(r)
        if r.status == 409:
            raise Refused("approval_key_conflict")
        if r.status in (401, 403):
            raise Refused("device_revoked" if r.status == 403 else "auth_failed")
        log.warning("approval key registration answered %s", r.status)
        return False

    # ------------------------------------------------------------------ status
    def _authed(self, method: str, path: str, **kw) -> Reply:
        hdr = self.auth.header()
        r = self.client.request(method, path, headers=hdr, **kw)
        if r.status == 401:
            self.auth.invalidate(hdr)
            r = self.client.request(method, path, headers=self.auth.header(), **kw)
        return r

    def _poll_status(self) -> None:
        """Move synced records on: ``GET /v1/status?since=CURSOR`` (cheap on the uplink, and
        nearly free when nothing changed); ``POST /v1/status`` by IDs if the feed is missing."""
        self.progress.update(phase="polling")
        cursor = self._cursor()
        try:
            for _page in range(10000):
                if self.abort_event.is_set():
                    return
                r = self._authed("GET", f"/v1/status?since={cursor}&cards=1")  # a protocol 2 registry ignores cards
                if r.status in (404, 405):
                    return self._poll_status_ids()
                if not self._apply_status(r):
                    return
                new = str(r.data.get("cursor") or cursor)
                if new.isdigit() and new != cursor:
                    cursor = new
                    self.spool.set_meta("status_cursor", {"registry": self._registry_fp(), "cursor": cursor})
                if not r.data.get("more") or not r.data["records"]:
                    return
        except (TransportError, SyncError) as exc:  # status is best effort; the next run asks again
            log.info("status poll stopped: %s", getattr(exc, "code", None) or getattr(exc, "kind", "?"))

    def _registry_fp(self) -> str:
        return wire.key_fingerprint(self.dev.sign_public_raw)

    def _cursor(self) -> str:
        """The feed's cursor, if it is this registry's: a cursor another registry (or a rewritten device.json) left
        would skip changes, so it is started again from 0. A release-0.1.0 spool kept a bare string."""
        saved = self.spool.get_meta("status_cursor", "0")
        if isinstance(saved, dict):
            saved = saved.get("cursor") if saved.get("registry") == self._registry_fp() else "0"
        saved = str(saved)
        return saved if saved.isdigit() else "0"

    def _poll_status_ids(self) -> None:
        after = ""
        while not self.abort_event.is_set():
            ids = self.spool.synced_ids(1000, after)
            if not ids:
                return
            after = ids[-1]
            r = self._authed("POST", "/v1/status", json_body={"record_ids": ids})
            if not self._apply_status(r):
                return

    def _ask_again_for_members(self) -> None:
        """Once per spool: ``POST /v1/status`` (with cards) for records registered before this device kept the
        registry's signed status answers (a release-0.1.0 or protocol 2 spool), so their member numbers and card
        signatures reach the store with proof. Marked done when every page was answered."""
        if self.spool.get_meta("members_asked_again", False):
            return
        after = ""
        try:
            while not self.abort_event.is_set():
                ids = self.spool.registered_unproven_ids(1000, after)
                if not ids:
                    self.spool.set_meta("members_asked_again", True)
                    return
                after = ids[-1]
                r = self._authed("POST", "/v1/status", json_body={"record_ids": ids, "cards": True})
                if r.status in (400, 422):  # a protocol 2 registry refuses the field: the member numbers only
                    r = self._authed("POST", "/v1/status", json_body={"record_ids": ids})
                if not self._apply_status(r):
                    return
        except (TransportError, SyncError) as exc:  # best effort; the next run asks again
            log.info("member numbers not asked again: %s", getattr(exc, "code", None) or getattr(exc, "kind", "?"))

    # ------------------------------------------------------------------ scheme facts
    FACTS_EVERY = 6 * 3600  # seconds between two checks for a newer scheme facts document

    def _fetch_scheme_facts(self, now: float) -> None:
        """Fetch the registry's signed scheme facts document when it has a newer version than the spool keeps (at most
        every ``FACTS_EVERY`` seconds). The spool keeps it as received: the store checks its signature again before
        it is used (``fieldapp.proof.facts``). Best effort: a registry without it (protocol 2) is left alone."""
        last = self.spool.get_meta("scheme_facts_checked", 0)
        if isinstance(last, (int, float)) and 0 <= now - last < self.FACTS_EVERY:
            return
        try:
            r = self.client.request("GET", "/v1/reference")
            version = (r.data or {}).get("scheme_facts") if r.status == 200 and r.is_json else None
            kept = self.spool.get_meta("scheme_facts")
            have = kept.get("doc", {}).get("version", 0) if isinstance(kept, dict) else 0
            if isinstance(version, int) and version > have:
                r = self.client.request("GET", "/v1/reference/scheme")
                if r.status == 200 and r.is_json:
                    proofs.verify_scheme_facts(r.data, registry_sign_public=self.dev.sign_public_raw)
                    self.spool.set_meta("scheme_facts", r.data)
                    log.info("scheme facts version %s received", r.data["doc"]["version"])
            self.spool.set_meta("scheme_facts_checked", now)
        except (TransportError, SyncError, wire.WireError) as exc:
            log.info("scheme facts not fetched: %s", getattr(exc, "reason", None) or getattr(exc, "kind", "?"))

    def _apply_status(self, r: Reply) -> bool:
        """Apply a status answer the registry signed for this device (kept as proof); False for anything else."""
        if r.status != 200:
            return False
        try:
            answer = proofs.verify_status(r.data, registry_sign_public=self.dev.sign_public_raw,
                                          device_id=self.dev.device_id)
        except wire.WireError:
            log.warning("status answer refused: not signed by the registry for this device")
            return False
        self.spool.apply_status(answer["records"], json.dumps(answer, separators=(",", ":"), ensure_ascii=False))
        return True
