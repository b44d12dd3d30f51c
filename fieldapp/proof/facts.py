"""The scheme facts printed on slips and cards: a versioned document, signed by the registry, not code.

The contribution, the payment channels, the hotline, the six-month rule and the words of "what happens next" come
from one JSON document (format ``fieldapp-scheme-facts``). The build carries version 1 (``fieldapp/data/
scheme-facts.json``, shipped inside the signed installer like the address lists). The registry serves its own,
signed with its signing key (``GET /v1/reference/scheme``); the sync engine fetches a newer version into
``spool.db`` and, at the next unlock or sync, ``adopt`` checks its signature against the registry key held in the
store and keeps it in the store (``trusted.scheme.facts``). A document in the spool that does not verify, is not
newer, or could not be printed (``printable``) is ignored: a file beside the store can never change what a slip
promises, and a signed document cannot break printing.
"""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from importlib import resources

from fieldapp.domain.scheme_facts import printable
from fieldapp.outbound import identity, proofs, wire
from fieldapp.outbound.spool import Spool
from fieldapp.base.paths import DataDir
from fieldapp.store import trusted
from fieldapp.store.database import Session

log = logging.getLogger(__name__)
TRUSTED_NAME = "scheme.facts"


@lru_cache(maxsize=1)
def bundled() -> dict:
    """The document the build carries."""
    return json.loads(resources.files("fieldapp").joinpath("data/scheme-facts.json").read_text(encoding="utf-8"))


def current(conn) -> dict:
    """The newest document this store has accepted, else the bundled one."""
    text = trusted.get(conn, TRUSTED_NAME)
    if text:
        try:
            doc = json.loads(text)
            if printable(doc) and type(doc.get("version")) is int and doc["version"] > bundled()["version"]:
                return doc
        except ValueError:
            pass
    return bundled()


def texts(doc: dict, lang: str) -> dict:
    """The document's words in ``lang`` (English when it has none in that language)."""
    found = doc.get("text", {})
    return found.get(lang) or found.get("en") or {}


def adopt(session: Session) -> int | None:
    """Keep the spool's signed document when it verifies with the store's registry key and is newer than the one
    in use; returns the version adopted, or None."""
    dev = identity.trusted_device(session)
    if dev is None or not DataDir(session.store.data_dir).spool.exists():
        return None
    try:
        with Spool(session.store.data_dir) as spool:
            signed = spool.get_meta("scheme_facts")
    except (ValueError, RecursionError):  # not JSON (or nested past the parser): the spool is a file anyone can write
        return None
    if not signed:
        return None
    try:
        doc = proofs.verify_scheme_facts(signed, registry_sign_public=dev.sign_public_raw)
    except (wire.WireError, RecursionError):
        log.warning("scheme facts in the spool refused: not signed by the registry")
        return None
    if not printable(doc):
        log.warning("scheme facts in the spool refused: not a document that can be printed")
        return None
    if doc["version"] <= current(session.conn).get("version", 0):
        return None
    with session.write():
        trusted.put(session.conn, TRUSTED_NAME, json.dumps(doc, ensure_ascii=False, sort_keys=True))
        session.audit.append("sync", "scheme.facts_adopted", reason=str(doc["version"]))
    log.info("scheme facts version %s adopted", doc["version"])
    return doc["version"]
