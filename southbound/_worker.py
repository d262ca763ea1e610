"""One worker thread per driver: every call into a backend runs there, one at a time.

Phases are submitted as jobs and awaited with a deadline. A job that misses its deadline is
not (and cannot be) killed: it keeps running, and the jobs queued after it — the abort or
revert the framework sends on the failure — run when it returns, in order. So a late phase
is always followed by its clean-up, and the backend converges even though the caller has
long reported the failure. The thread is a daemon: a backend hung forever does not keep
the process from exiting.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")

_Job = tuple[Callable[[], Any], "Future[Any]"] | None


class Worker:
    def __init__(self, name: str):
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._closed = False
        self._thread.start()

    def submit(self, fn: Callable[[], T]) -> Future[T]:
        fut: Future[T] = Future()
        if self._closed:
            fut.set_exception(RuntimeError("driver is closed"))
            return fut
        self._jobs.put((fn, fut))
        return fut

    def close(self, wait: float | None = None) -> None:
        """Stop after the queued jobs; wait up to ``wait`` seconds for that."""
        if not self._closed:
            self._closed = True
            self._jobs.put(None)
        if wait and self._thread is not threading.current_thread():
            self._thread.join(wait)

    @property
    def busy_thread(self) -> threading.Thread:
        return self._thread

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            fn, fut = job
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                fut.set_result(fn())
            except BaseException as e:  # handed to the waiting caller
                fut.set_exception(e)
