"""Structured (JSON lines) logging with no personal data.

Only event names, codes, counts, durations and opaque IDs (device, batch) are logged:
never names, national IDs, phone numbers or record contents. Callers pass fields as
keyword arguments; values are expected to be such safe scalars.

``serve`` logs through a bounded queue and a writer thread (``setup(queued=True)``): a stderr that blocks (a pipe
nobody reads, a stalled disk) then never blocks the event loop or a request; lines that do not fit in the queue
are dropped and counted (``log_lines_dropped``). uvicorn's own loggers go through the same handler, so their
messages are JSON lines too and an exception is logged by its type only, never its message or traceback.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import queue
import sys

from fieldapp.base.encoding import wire_time

LOGGER = logging.getLogger("registry")


class JsonFormatter(logging.Formatter):
    """Render a record as one JSON object: time, level, event and the safe fields."""

    def format(self, record: logging.LogRecord) -> str:
        doc = {"ts": wire_time(record.created),
               "level": record.levelname.lower(), "event": record.getMessage()}
        doc.update(getattr(record, "fields", {}))
        if record.exc_info and record.exc_info[0] is not None:
            doc["exception"] = record.exc_info[0].__name__  # the type only: messages may hold data
        return json.dumps(doc, default=str, sort_keys=True)


class DroppingQueueHandler(logging.handlers.QueueHandler):
    """Hand records to the writer thread; never wait: a full queue drops the record (and counts it)."""

    dropped = 0

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        record.msg = self.format(record)  # formatted here: the writer thread only writes
        record.args, record.exc_info, record.exc_text = None, None, None
        return record

    def enqueue(self, record: logging.LogRecord) -> None:
        try:
            self.queue.put_nowait(record)
        except queue.Full:
            DroppingQueueHandler.dropped += 1


class _Writer(logging.Handler):
    """The writer thread's end: one line per record, and a count of the lines dropped since the last one."""

    def __init__(self, stream):
        super().__init__()
        self.stream, self.reported = stream, 0

    def emit(self, record: logging.LogRecord) -> None:
        try:
            dropped = DroppingQueueHandler.dropped
            if dropped != self.reported:
                self.stream.write(json.dumps({"event": "log_lines_dropped", "level": "warning",
                                              "count": dropped - self.reported}) + "\n")
                self.reported = dropped
            self.stream.write(record.getMessage() + "\n")
            self.stream.flush()
        except (OSError, ValueError):  # a full disk or a closed stream: the line is lost, the service goes on
            pass


_listener: logging.handlers.QueueListener | None = None


def setup(level: str = "info", queued: bool = False, also: tuple[str, ...] = ()) -> None:
    """Send registry logs (and the loggers named in ``also``) as JSON lines to stderr (idempotent).

    ``queued``: through a bounded queue and a writer thread, so logging never blocks the caller."""
    global _listener
    if any(isinstance(h.formatter, JsonFormatter) for h in LOGGER.handlers):
        return
    if queued:
        handler: logging.Handler = DroppingQueueHandler(queue.Queue(maxsize=10_000))
        _listener = logging.handlers.QueueListener(handler.queue, _Writer(sys.stderr))
        _listener.start()
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in ("registry", *also):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.setLevel(level.upper() if name == "registry" else logging.WARNING)
        logger.propagate = False


def flush() -> None:
    """Stop the writer thread after it wrote what is queued (``serve``, on the way out)."""
    global _listener
    if _listener is not None:
        _listener.stop()
        _listener = None


def event(name: str, level: int = logging.INFO, exc: bool = False, **fields) -> None:
    """Log ``name`` with safe ``fields``."""
    LOGGER.log(level, name, extra={"fields": fields}, exc_info=exc)
