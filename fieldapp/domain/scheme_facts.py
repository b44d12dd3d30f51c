"""What makes a scheme facts document printable: the one rule the laptop (``fieldapp.proof.facts``, before adopting
a signed document) and the registry (``fieldapp-registry scheme-facts --install``, before serving one) both apply, so
an operator can never install a document every laptop would refuse. Pure functions, no I/O."""

from __future__ import annotations

from fieldapp.base.encoding import canonical_json

MAX_BYTES = 64 * 1024  # the whole document, as canonical JSON
MAX_LINE, MAX_LINES = 1000, 20  # one printed text; the lines of a list (``next_steps``, ``follow_up``)


def _line(value) -> bool:
    return isinstance(value, str) and len(value) <= MAX_LINE


def printable(doc) -> bool:
    """Whether a document can be printed as it is: per language a dict of short texts (or lists of them), a
    ``hotline`` that is text or null, and no more than ``MAX_BYTES`` in all. A signature says who wrote a document,
    not that every slip can be laid out from it."""
    text = doc.get("text") if isinstance(doc, dict) else None
    if not isinstance(text, dict) or not text or not (doc.get("hotline") is None or _line(doc["hotline"])):
        return False
    for words in text.values():
        if not isinstance(words, dict) or not all(
                _line(v) or (isinstance(v, list) and len(v) <= MAX_LINES and all(_line(x) for x in v))
                for v in words.values()):
            return False
    try:
        return len(canonical_json(doc)) <= MAX_BYTES
    except (TypeError, ValueError, RecursionError):
        return False


__all__ = ["MAX_BYTES", "MAX_LINE", "MAX_LINES", "printable"]
