"""``DbWorker``: the one thread that holds the unlocked store.

The UI thread never touches the database, the key slots or the network. It
queues a job with :meth:`DbWorker.run` (``fn(session, *args, **kwargs)``) or
:meth:`DbWorker.call` (``fn(*args, **kwargs)``, for work that needs no session
such as ``Store.users()``, the spool counts or the device file). Jobs run one
after the other, in order, on the worker's ``QThread``; ``on_done(result)`` or
``on_error(exc)`` is then called on the UI thread.

The session is opened with :meth:`unlock` or :meth:`create` and closed with
:meth:`close_session` (on logout and on the idle lock: the key does not stay
in memory while the window is locked). A callback bound to a widget that has
been deleted in the meantime is skipped.
"""

from __future__ import annotations

import itertools
import logging
import queue
import traceback

from ui.qt import QObject, QThread, Signal, Slot, isValid

log = logging.getLogger("fieldapp.ui")

_SESSION, _FREE, _OPEN, _CLOSE = "session", "free", "open", "close"


class NotUnlocked(Exception):
    """A session job was queued while no session is open (locked or logged out)."""

    msg_id = "ui.error.locked"

    def message(self, lang=None) -> str:
        from fieldapp.base.i18n import tr

        return tr(self.msg_id, lang)


class _Thread(QThread):
    """Runs queued jobs in order; puts each outcome in ``results`` and rings ``wake``.

    ``wake`` is a signal without arguments (queued to the UI thread): the outcome
    itself stays a plain Python object in a thread-safe queue, so no exception or
    result object is ever converted by Qt.
    """

    def __init__(self, wake):
        super().__init__()
        self.jobs: queue.Queue = queue.Queue()
        self.results: queue.Queue = queue.Queue()
        self._wake = wake
        self.session = None

    def _report(self, job_id: int, ok: bool, payload) -> None:
        self.results.put((job_id, ok, payload))
        self._wake()

    def run(self) -> None:
        while True:
            job = self.jobs.get()
            if job is None:
                break
            job_id, kind, fn, args, kwargs = job
            try:
                result = self._execute(kind, fn, args, kwargs)
            except Exception as exc:  # reported to the UI; the log holds no personal data
                _log_failure(fn, exc)
                self._report(job_id, False, exc)
            else:
                self._report(job_id, True, result)
        self._close()

    def _execute(self, kind, fn, args, kwargs):
        if kind == _FREE:
            return fn(*args, **kwargs)
        if kind == _OPEN:
            self._close()
            self.session = fn(*args, **kwargs)
            return dict(self.session.user)
        if kind == _CLOSE:
            self._close()
            return None
        if self.session is None:
            raise NotUnlocked()
        return fn(self.session, *args, **kwargs)

    def _close(self) -> None:
        if self.session is not None:
            session, self.session = self.session, None
            session.close()


def _log_failure(fn, exc: Exception) -> None:
    from fieldapp.base.errors import FieldappError

    name = getattr(fn, "__qualname__", type(fn).__name__)
    if isinstance(exc, (FieldappError, NotUnlocked)):  # ValidationFailed is a FieldappError
        log.info("job %s: %s", name, getattr(exc, "msg_id", type(exc).__name__))
        return
    # Frames only (file, line, function): an exception's text could quote data.
    frames = "".join(traceback.format_tb(exc.__traceback__))
    log.error("job %s failed: %s\n%s", name, type(exc).__name__, frames)


class DbWorker(QObject):
    """Owns the single unlocked ``fieldapp.store.database.Session`` in its own thread."""

    _finished = Signal()  # no arguments: outcomes travel in _Thread.results
    #: emitted on the UI thread after each job's callback (tests wait on it)
    job_done = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._ids = itertools.count(1)
        self._callbacks: dict[int, tuple] = {}
        self._finished.connect(self._drain)
        self._thread = _Thread(self._finished.emit)
        self._thread.setObjectName("fieldapp-db")
        self._thread.start()
        self._stopped = False

    # ------------------------------------------------------------------ API
    def run(self, fn, *args, on_done=None, on_error=None, **kwargs) -> int:
        """Queue ``fn(session, *args, **kwargs)``; needs an open session."""
        return self._queue(_SESSION, fn, args, kwargs, on_done, on_error)

    def call(self, fn, *args, on_done=None, on_error=None, **kwargs) -> int:
        """Queue ``fn(*args, **kwargs)`` (no session), e.g. reading the user list or the spool."""
        return self._queue(_FREE, fn, args, kwargs, on_done, on_error)

    def unlock(self, data_dir, user: str, password: str, on_done=None, on_error=None) -> int:
        """Open the store as ``user``; ``on_done(user_info)`` with name/role/full_name."""
        return self._queue(_OPEN, _unlock, (data_dir, user, password), {}, on_done, on_error)

    def create(self, data_dir, user: str, password: str, full_name: str | None = None, on_done=None,
               on_error=None) -> int:
        """Create a new store with its first supervisor (name and password checked first) and keep it open."""
        return self._queue(_OPEN, _create, (data_dir, user, password, full_name), {}, on_done, on_error)

    def open(self, fn, *args, on_done=None, on_error=None, **kwargs) -> int:
        """Run ``fn(*args, **kwargs)`` that returns a new ``Session`` and keep it (closing any previous one)."""
        return self._queue(_OPEN, fn, args, kwargs, on_done, on_error)

    def close_session(self, on_done=None) -> int:
        """Close the session (logout, idle lock); the key leaves memory with it."""
        return self._queue(_CLOSE, None, (), {}, on_done, None)

    @property
    def pending(self) -> int:
        """Jobs queued or running whose callbacks have not run yet."""
        return len(self._callbacks)

    def stop(self, timeout_ms: int = 30000) -> None:
        """Close the session and end the thread (application exit)."""
        if self._stopped:
            return
        self._stopped = True
        self._thread.jobs.put(None)
        self._thread.wait(timeout_ms)
        self._callbacks.clear()

    # ------------------------------------------------------------ internals
    def _queue(self, kind, fn, args, kwargs, on_done, on_error) -> int:
        if self._stopped:
            raise RuntimeError("worker stopped")
        job_id = next(self._ids)
        self._callbacks[job_id] = (on_done, on_error)
        self._thread.jobs.put((job_id, kind, fn, args, kwargs))
        return job_id

    @Slot()
    def _drain(self) -> None:
        while True:
            try:
                job_id, ok, payload = self._thread.results.get_nowait()
            except queue.Empty:
                return
            self._dispatch(job_id, ok, payload)

    def _dispatch(self, job_id: int, ok: bool, payload) -> None:
        on_done, on_error = self._callbacks.pop(job_id, (None, None))
        callback = on_done if ok else on_error
        try:
            if callback is not None and _alive(callback):
                callback(payload)
            elif not ok and on_error is None:
                log.warning("unhandled job error: %s", type(payload).__name__)
        except RuntimeError as exc:
            # a lambda that reaches a widget deleted while its job ran (e.g. the workspace after logout)
            if "already deleted" not in str(exc):
                raise
            log.debug("callback skipped: its widget was deleted")
        finally:
            self.job_done.emit()


def _alive(callback) -> bool:
    """False for a bound method of a Qt object that was deleted before the job finished."""
    owner = getattr(callback, "__self__", None)
    return not isinstance(owner, QObject) or isValid(owner)


def _unlock(data_dir, user, password):
    """Unlock, then what every unlock does, as the CLI does (``fieldapp.services.open_session``). A failure of the
    follow-ups is logged and does not keep the user out: enrollment works without sync."""
    from fieldapp import services

    return services.open_session(data_dir, user, password)


def _create(data_dir, user, password, full_name):
    from fieldapp import services

    return services.create_store(data_dir, user, password, full_name)
