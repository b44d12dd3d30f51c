"""The scheme facts document the registry signs and serves (``GET /v1/reference/scheme``, protocol 3).

The document (format ``fieldapp-scheme-facts``: contribution, payment channels, hotline, the six-month rule and the
words printed on slips and cards, per language) is ``scheme-facts.json`` in the registry's data folder when the
operator installed one (``fieldapp-registry scheme-facts --install FILE``), else the one the build carries. Laptops
take a version newer than theirs, after checking the registry's signature (``fieldapp.proof.facts``).
"""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path

from fieldapp.domain.scheme_facts import MAX_BYTES, printable
from fieldapp.outbound import proofs

FILE = "scheme-facts.json"


class FactsError(ValueError):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def bundled() -> dict:
    return json.loads(resources.files("fieldapp").joinpath("data/scheme-facts.json").read_text(encoding="utf-8"))


def check(doc) -> dict:
    """``doc`` when it has the document's shape (``FactsError("bad_scheme_facts")`` otherwise)."""
    text = doc.get("text") if isinstance(doc, dict) else None
    if (not isinstance(doc, dict) or doc.get("format") != proofs.FACTS_FORMAT or type(doc.get("version")) is not int
            or doc["version"] < 1 or not isinstance(text, dict) or not text
            or not all(isinstance(v, dict) for v in text.values())):
        raise FactsError("bad_scheme_facts")
    if not printable(doc):  # the laptops' own rule: a document they would refuse is never installed
        raise FactsError("not_printable")
    return doc


def load(data_dir: Path) -> dict:
    """The document in use: the installed one, else the bundled one."""
    path = Path(data_dir) / FILE
    if path.exists():
        return check(json.loads(path.read_text(encoding="utf-8")))
    return bundled()


def install(data_dir: Path, source: Path) -> dict:
    """Check ``source`` and make it the document in use; its version must be newer than the current one."""
    raw = Path(source).read_bytes()
    if len(raw) > MAX_BYTES:
        raise FactsError("bad_scheme_facts")
    try:
        doc = check(json.loads(raw.decode("utf-8")))
    except (UnicodeDecodeError, ValueError) as exc:
        raise FactsError(getattr(exc, "reason", "bad_scheme_facts")) from None
    if doc["version"] <= load(data_dir)["version"]:
        raise FactsError("not_newer")
    target = Path(data_dir) / FILE
    tmp = target.with_name(f".{FILE}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, target)
    return doc


def signed(data_dir: Path, sign_private: bytes) -> dict:
    return proofs.sign_scheme_facts(load(data_dir), sign_private)
