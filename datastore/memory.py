"""Freed heap memory handed back to the operating system after large operations.

glibc keeps freed memory in its arenas (one per thread that allocates): the parse tree of a
10,000-entry edit, a whole-tree snapshot or a 2 MB reply leave tens of MiB behind, so
fragmented that the heap never shrinks by itself. Callers that just finished something
large (datastore/store.py after a large commit or snapshot, server/netconf/session.py after
a large request or reply, server/restconf/body.py after a large body) call
``release_memory``.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable

__all__ = ["release_memory"]


def _malloc_trim() -> Callable[[], object] | None:
    try:
        fn = ctypes.CDLL(None).malloc_trim  # glibc; elsewhere there is nothing to call
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_size_t]
    fn.restype = ctypes.c_int
    return lambda: fn(0)


_trim = _malloc_trim()
_trim_lock = threading.Lock()
_trim_pending = False


def release_memory(delay: float = 0.5) -> None:
    """Hand the heap memory freed after a large operation back to the OS, soon.

    glibc keeps freed memory in its arenas (one per thread that allocates): the parse tree
    of a 10,000-entry edit, a whole-tree snapshot or a 2 MB reply leave tens of MiB behind,
    and fragmented so that it never shrinks by itself. ``malloc_trim(0)`` releases every
    free page (1-3 ms with 10,000 entries). It runs in a timer thread ``delay`` seconds
    later, once for any number of calls meanwhile, so a series of large requests costs one
    trim, not one each. A no-op without glibc.
    """
    global _trim_pending
    if _trim is None:
        return
    with _trim_lock:
        if _trim_pending:
            return
        _trim_pending = True
    timer = threading.Timer(delay, _trim_now)
    timer.daemon = True
    timer.start()


def _trim_now() -> None:
    global _trim_pending
    with _trim_lock:
        _trim_pending = False
    if _trim is not None:
        _trim()
