"""The kiosk's threading rule, in one place.

    The vault's SQLite connection, and with it the flow, the outbox, the audit log, the agent
    directory and the updates in force, belong to one thread: the core thread, the one that
    started the Kiosk. Other threads reach them only through `CoreThread.call` / `submit`.
    Camera engines (capture, liveness) run on a worker thread of their own, touch none of it,
    and hand their result to the flow through the core thread. The sync loop runs with its own
    connection (its own Kiosk opened with `runs_sessions=False`, in its own thread or process).

A command-line run or a test uses the thread it runs on as the core (`CoreThread.here()`); the
kiosk app starts a dedicated one (`CoreThread.start()`), so that neither the UI thread nor a
camera worker ever waits on the disk. The flow refuses a call that breaks the rule with
WrongThread at once, naming the rule, even where it would touch no table; the vault's SQLite
connection refuses one with its own ProgrammingError.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
THREAD_NAME = "kiosk-core"


class WrongThread(RuntimeError):
    """The flow or the vault was called from a thread that is not the kiosk's core thread."""


class CoreThread:
    """The thread the kiosk's state belongs to. `here()`: the calling thread (its own work runs
    inline; other threads may not call in). `start()`: a dedicated thread that runs what any
    thread hands it, one call at a time, in order."""

    def __init__(self, ident: int, pool: ThreadPoolExecutor | None):
        self.ident = ident
        self._pool = pool

    @classmethod
    def here(cls) -> CoreThread:
        return cls(threading.get_ident(), None)

    @classmethod
    def start(cls) -> CoreThread:
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=THREAD_NAME)  # one thread, reused
        return cls(pool.submit(threading.get_ident).result(), pool)

    @property
    def dedicated(self) -> bool:
        return self._pool is not None

    def on_it(self) -> bool:
        return threading.get_ident() == self.ident

    def check(self, what: str = "the kiosk's state") -> None:
        """Raise WrongThread unless called on the core thread."""
        if not self.on_it():
            raise WrongThread(
                f"{what} belongs to the kiosk's core thread ({self.ident}); this is thread "
                f"{threading.current_thread().name}: call it through Kiosk.core.call (core/core_thread.py)"
            )

    def submit(self, fn: Callable[..., T], /, *args, **kwargs) -> Future[T]:
        """Run `fn` on the core thread; a Future of its result (its exception re-raised there)."""
        if self.on_it():
            future: Future[T] = Future()
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as error:  # handed to whoever reads the future
                future.set_exception(error)
            return future
        if self._pool is None:
            self.check()
        assert self._pool is not None
        return self._pool.submit(fn, *args, **kwargs)

    def call(self, fn: Callable[..., T], /, *args, **kwargs) -> T:
        """Run `fn` on the core thread and wait for its result (inline when already on it)."""
        if self.on_it():
            return fn(*args, **kwargs)
        return self.submit(fn, *args, **kwargs).result()

    def close(self) -> None:
        """Let the dedicated thread finish what it was handed, then end it."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
