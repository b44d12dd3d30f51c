"""``Task``: a call on a daemon thread (the network: never on the UI thread) whose outcome a screen's timer collects
and delivers on the UI thread (``deliver``)."""

from __future__ import annotations

import threading


class Task:
    """A call on a daemon thread (network: never on the UI thread); the screen's timer collects the outcome."""

    def __init__(self, fn, *args, on_done=None, on_error=None):
        self.on_done, self.on_error = on_done, on_error
        self.result = self.error = None
        self.done = False
        self._thread = threading.Thread(target=self._run, args=(fn, args), name="fieldapp-ui-task", daemon=True)
        self._thread.start()

    def _run(self, fn, args) -> None:
        try:
            self.result = fn(*args)
        except Exception as exc:  # handed to the UI thread, shown translated
            self.error = exc
        finally:
            self.done = True

    def deliver(self) -> None:
        callback, value = (self.on_error, self.error) if self.error is not None else (self.on_done, self.result)
        if callback is not None:
            callback(value)
