"""The engine's member lookup (a mixin of ``sync.engine.Engine``; protocol 4, docs/protocol.md section 15).

After the status poll, when the registry speaks protocol 4 (``GET /v1/keys``, checked at most every
``PROTOCOL_EVERY`` seconds and kept in spool meta ``registry_protocol``) and the store has published its inbox key
(spool meta ``inbox_public``), the engine asks ``GET /v1/lookup?since=CURSOR&area=AREA_ID&limit=10000`` page after
page until ``more`` is false. Each page must verify with the registry key this device holds and be signed for this
device; it is then sealed to the store's inbox key (``fieldapp.outbound.inbox``) and kept in the spool's ``inbox``
table together with the next cursor (one transaction). Nothing readable reaches ``spool.db``.

Best effort, like the status poll: a failure stops the fetch and the next run goes on from the cursor kept. A
registry that answers 404 or 405 (older than protocol 4) is left alone until the next protocol check.
"""

from __future__ import annotations

import logging
import re

from fieldapp.outbound import inbox, proofs, wire
from sync.errors import SyncError
from sync.transport import TransportError, raise_for_transient

log = logging.getLogger("fieldapp.sync")

LOOKUP_PROTOCOL = 4
LOOKUP_LIMIT = 10000  # the registry's most: a commune's 20,000 members in two pages (each page costs a round trip)
MAX_PAGE_BYTES = 64 * 1024 * 1024  # one answer, inflated
PROTOCOL_KEY = "registry_protocol"
AREA_ID_RE = re.compile(r"^[0-9a-f]{16}\Z")  # the first 16 hex digits of a SHA-256 (docs/protocol.md section 15)


class LookupCalls:
    """Needs ``self.spool``, ``self.client``, ``self.auth``, ``self.dev``, ``self.progress``, ``self.abort_event``,
    ``self._authed`` and ``self._registry_fp`` (``sync.calls.RegistryCalls``)."""

    PROTOCOL_EVERY = 6 * 3600  # seconds between two checks of the registry's protocol list

    def _known_protocol(self, now: float) -> dict | None:
        """What the spool remembers of this registry's protocol, while it is fresh."""
        kept = self.spool.get_meta(PROTOCOL_KEY)
        if not isinstance(kept, dict) or kept.get("registry") != self._registry_fp():
            return None
        checked = kept.get("checked")
        if not isinstance(checked, (int, float)) or not 0 <= now - checked < self.PROTOCOL_EVERY:
            return None
        return kept

    def _lookup_due(self, now: float) -> bool:
        """Whether this run should fetch lookup pages: an inbox key is published and the registry is not known to
        lack protocol 4."""
        if inbox.public_from_text(self.spool.get_meta(inbox.SPOOL_PUBLIC)) is None:
            return False
        kept = self._known_protocol(now)
        return kept is None or bool(kept.get("lookup"))

    def _speaks_lookup(self, now: float) -> bool:
        kept = self._known_protocol(now)
        if kept is not None:
            return bool(kept.get("lookup"))
        r = self.client.request("GET", "/v1/keys")
        raise_for_transient(r)
        keys = r.data if r.status == 200 and isinstance(r.data, dict) else {}
        protocols = keys.get("protocol") if isinstance(keys.get("protocol"), list) else []
        # a registry whose signing key is not the one this device trusts gets nothing asked of it
        speaks = keys.get("sign_public_key") == self.dev.registry_sign_public_key and any(
            type(p) is int and p == LOOKUP_PROTOCOL for p in protocols)
        self._remember_protocol(now, [p for p in protocols if type(p) is int][:20], speaks)
        return speaks

    def _remember_protocol(self, now: float, protocols: list, lookup: bool) -> None:
        self.spool.set_meta(PROTOCOL_KEY, {"registry": self._registry_fp(), "protocol": protocols,
                                           "lookup": lookup, "checked": now})

    def _lookup_cursor(self) -> tuple[object, object, int, str | None]:
        """The spool's cursor and area ID as stored (for the compare-and-set), and as they are asked for."""
        cursor, area_id = self.spool.get_meta(inbox.CURSOR), self.spool.get_meta(inbox.AREA_ID)
        since = cursor if type(cursor) is int and 0 <= cursor < 10 ** 18 else 0  # what the registry takes
        area = area_id if isinstance(area_id, str) and AREA_ID_RE.match(area_id) else None
        return cursor, area_id, since, area

    def _fetch_lookup(self, now: float) -> int:
        """Fetch the lookup pages waiting for this device into the spool's inbox; returns how many were kept."""
        if not self._lookup_due(now):
            return 0
        kept = 0
        try:
            if not self._speaks_lookup(now):
                return 0
            self.progress.update(phase="polling")
            for _page in range(100000):
                if self.abort_event.is_set():
                    break
                public = inbox.public_from_text(self.spool.get_meta(inbox.SPOOL_PUBLIC))
                if public is None:
                    break
                raw_cursor, raw_area, since, area = self._lookup_cursor()
                path = f"/v1/lookup?since={since}&limit={LOOKUP_LIMIT}" + (f"&area={area}" if area else "")
                r = self._authed("GET", path, max_bytes=MAX_PAGE_BYTES)
                if r.status in (404, 405):  # a registry older than protocol 4: quietly not asked again for now
                    self._remember_protocol(now, [], False)
                    log.info("member lookup not offered by this registry")
                    break
                if r.status != 200 or not r.is_json:
                    raise_for_transient(r)
                    raise TransportError("unexpected", status=r.status)
                page = proofs.verify_lookup(r.data, registry_sign_public=self.dev.sign_public_raw,
                                            device_id=self.dev.device_id)
                if not page["reset"] and (page["since"] != since or page["cursor"] < since):
                    raise wire.WireError("bad_lookup_signature", "another cursor than asked")
                sealed = inbox.seal_page(public, wire.canonical_json(r.data))
                seq = self.spool.inbox_add(sealed, meta={inbox.CURSOR: page["cursor"], inbox.AREA_ID: page["area_id"]},
                                           expect={inbox.CURSOR: raw_cursor, inbox.AREA_ID: raw_area})
                if seq is None:  # the store set the cursor back meanwhile: the next run starts from there
                    break
                kept += 1
                if not page["more"] or (page["cursor"] <= since and not page["reset"]):
                    break
        except (TransportError, SyncError) as exc:  # best effort; the next run asks again from the cursor kept
            log.info("member lookup stopped: %s", getattr(exc, "code", None) or getattr(exc, "kind", "?"))
        except wire.WireError as exc:
            log.warning("member lookup page refused: %s", exc.reason)
        if kept:
            log.info("member lookup: %d page(s) kept for the store", kept)
        return kept
