"""One inbox watcher per store and process: every wait on that store shares it.

A wait registers its task id (:func:`watching` in async code, :func:`register` anywhere) and is
woken once the task's terminal record (:func:`blocks.inbox.terminal_record`) is in the inbox. The
watcher is one daemon thread per store identity (its root URL and storage options), whatever
thread or event loop each wait runs on: an asyncio wait is woken through
``loop.call_soon_threadsafe``. It starts with the first registration and stops once none is left.

What a tick costs does not depend on how many waits are registered:

- local folder: one ``stat`` of ``inbox/``; a folder is listed only when its modification time
  changed. Only the folders of registered tasks that already hold a record (Suno's ``text`` and
  ``first`` arrive before ``complete``) are stat-ed, one each;
- any other fsspec store (S3...): one listing of ``inbox/`` every :data:`REMOTE_INTERVAL`, matched
  against the registered ids (its cost grows with the inbox's size, not with the waits).

A record found costs one :func:`~blocks.inbox.terminal_record` read for its own task, and a
receiver in the same process (:mod:`callbacks.app`) calls :func:`notify`, which checks that one
task at once. The gateway poll fallback (``anyint.wait_for_task``) runs on as before: a watcher
that misses a record (store outage, NFS attribute caching) costs latency, never a result.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import re
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from .ids import id_segment
from .inbox import INBOX_PREFIX, TERMINAL_PHASES, terminal_record
from .store import AssetStore

__all__ = [
    "LOCAL_INTERVAL",
    "REMOTE_INTERVAL",
    "THREAD_NAME",
    "Registration",
    "active_watchers",
    "notify",
    "register",
    "watching",
]

#: Tick of a local folder's watcher (cheap: one ``stat`` while nothing changes).
LOCAL_INTERVAL = 0.05
#: Tick of any other store's watcher (one listing per tick: a request on S3).
REMOTE_INTERVAL = 0.25
#: Name of every watcher thread (tests and operators can find them).
THREAD_NAME = "anyint-inbox-watch"
#: A modification time this close to now may hide a second change within the filesystem's
#: timestamp granularity (the "racy" case): such a folder is looked at again on the next tick.
_RACY_NS = 1_000_000_000
#: At most one warning per this many seconds while the store fails.
_WARN_EVERY = 60.0
_TERMINAL_KEY = re.compile(
    rf"{INBOX_PREFIX}/([^/]+)/(?:{'|'.join(re.escape(p) for p in TERMINAL_PHASES)})\.json"
)

logger = logging.getLogger(__name__)
_LOCK = threading.Lock()  # guards _WATCHERS and every watcher's registrations
_WATCHERS: dict[str, _Watcher] = {}


def _identity(store: AssetStore) -> str:
    """Which stores are the same: root URL and options (hashed: the options hold secrets)."""
    options = store.storage_options.get_secret_value() if store.storage_options else {}
    blob = json.dumps([store.root_url, options], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


@dataclass(eq=False)
class Registration:
    """One registered wait; :meth:`close` it when the wait ends (idempotent).

    Attributes:
        task_id: The gateway task id waited on.
        fired: Whether the terminal record was seen (the callback ran once).
    """

    task_id: str
    _callback: Callable[[], None] = field(repr=False)
    _watcher: _Watcher | None = field(default=None, repr=False)
    fired: bool = False

    def close(self) -> None:
        """Unregister; the watcher stops once nothing is registered."""
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.remove(self)


class _Watcher:
    """The thread that watches one store's inbox for every registered task id."""

    def __init__(self, key: str, store: AssetStore) -> None:
        self.key = key
        self.store = store
        self.local = store.root_url.startswith("file://")
        self.interval = LOCAL_INTERVAL if self.local else REMOTE_INTERVAL
        self.inbox = store.path(INBOX_PREFIX)
        self.by_task: dict[str, list[Registration]] = {}
        self.by_segment: dict[str, set[str]] = {}
        self.pending: set[str] = set()  # ids to check at once (new, or notified)
        self.kick = threading.Event()
        # Local folders: modification times last seen (None: look again next tick).
        self.inbox_mtime: int | None = None
        self.tracked: dict[str, int | None] = {}  # registered segments whose folder exists
        self.last_warning = 0.0
        self.thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)

    # -- registrations (under _LOCK) ----------------------------------------------------------

    def add(self, registration: Registration) -> None:
        task_id = registration.task_id
        self.by_task.setdefault(task_id, []).append(registration)
        self.by_segment.setdefault(id_segment(task_id), set()).add(task_id)
        self.pending.add(task_id)
        self.kick.set()

    def remove(self, registration: Registration) -> None:
        with _LOCK:
            waiters = self.by_task.get(registration.task_id)
            if waiters is None or registration not in waiters:
                return
            waiters.remove(registration)
            if not waiters:
                self._forget(registration.task_id)
            if not self.by_task:
                self.kick.set()  # nothing left: let the thread stop now, not a tick later

    def _forget(self, task_id: str) -> None:
        del self.by_task[task_id]
        segment = id_segment(task_id)
        ids = self.by_segment.get(segment, set())
        ids.discard(task_id)
        if not ids:
            self.by_segment.pop(segment, None)
            self.tracked.pop(segment, None)
        self.pending.discard(task_id)

    # -- the thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with _LOCK:
                if not self.by_task:
                    if _WATCHERS.get(self.key) is self:
                        del _WATCHERS[self.key]
                    return
                due, self.pending = self.pending, set()
            try:
                due |= self._scan_local() if self.local else self._scan_remote()
                for task_id in due:
                    self._check(task_id)
            except Exception as exc:  # a store outage: warn, keep watching (polls go on)
                self._warn(exc)
            self.kick.wait(self.interval)
            self.kick.clear()

    def _check(self, task_id: str) -> None:
        """Fire ``task_id``'s registrations if its terminal record is in the inbox."""
        with _LOCK:
            if task_id not in self.by_task:
                return
        if self.local:
            self._track(id_segment(task_id))  # stat before reading: a later write is seen
        if terminal_record(self.store, task_id) is None:
            return
        with _LOCK:
            waiters = self.by_task.get(task_id, [])
            if waiters:
                self._forget(task_id)
        for registration in waiters:
            registration.fired = True
            registration._watcher = None
            try:
                registration._callback()
            except Exception:  # one broken waiter must not keep the others asleep
                logger.exception("inbox watcher: a wake-up callback of %s failed", task_id)

    def _track(self, segment: str) -> None:
        mtime = _mtime(f"{self.inbox}/{segment}")
        with _LOCK:
            if segment in self.by_segment and mtime is not None:
                self.tracked[segment] = None if _racy(mtime) else mtime

    def _scan_local(self) -> set[str]:
        """Ids whose folder changed since the last tick (one stat while nothing changes)."""
        mtime = _mtime(self.inbox)
        if mtime is None:
            self.inbox_mtime = None
            return set()
        due: set[str] = set()
        if mtime != self.inbox_mtime:
            names = os.listdir(self.inbox)  # a new task folder: is it one of ours?
            with _LOCK:
                for name in names:
                    if name in self.by_segment and name not in self.tracked:
                        due |= self.by_segment[name]
            self.inbox_mtime = None if _racy(mtime) else mtime
        with _LOCK:
            tracked = list(self.tracked.items())
        for segment, seen in tracked:
            now = _mtime(f"{self.inbox}/{segment}")
            if now is None or now != seen:
                with _LOCK:
                    due |= self.by_segment.get(segment, set())
        return due

    def _scan_remote(self) -> set[str]:
        """Ids with a terminal record in one listing of the inbox."""
        keys = self.store.list(INBOX_PREFIX)
        segments = {m[1] for key in keys if (m := _TERMINAL_KEY.fullmatch(key))}
        with _LOCK:
            return {i for s in segments if s in self.by_segment for i in self.by_segment[s]}

    def _warn(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self.last_warning >= _WARN_EVERY:
            self.last_warning = now
            logger.warning("inbox watcher of %s: %s (polling goes on)", self.store.root_url, exc)


def _mtime(path: str) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except FileNotFoundError:
        return None


def _racy(mtime: int) -> bool:
    return time.time_ns() - mtime < _RACY_NS


def register(store: AssetStore, task_id: str, callback: Callable[[], None]) -> Registration:
    """Call ``callback`` once, from the watcher thread, when ``task_id``'s terminal record lands.

    A record already in the inbox fires at once (on the watcher's next turn). ``callback`` must
    be quick and thread-safe (set a ``threading.Event``, or ``loop.call_soon_threadsafe``).

    Args:
        store: The store the receiver writes the inbox to.
        task_id: The gateway task id (any non-empty string).
        callback: What to run when the record is there.

    Returns:
        The registration: close it when the wait ends, whether it fired or not.
    """
    registration = Registration(task_id=task_id, _callback=callback)
    key = _identity(store)
    with _LOCK:
        watcher = _WATCHERS.get(key)
        if watcher is None:
            watcher = _WATCHERS[key] = _Watcher(key, store)
            watcher.thread.start()
        registration._watcher = watcher
        watcher.add(registration)
    return registration


@contextlib.asynccontextmanager
async def watching(store: AssetStore, task_id: str) -> AsyncIterator[asyncio.Event]:
    """An event set (on the caller's loop) once ``task_id``'s terminal record is in the inbox.

    Example:
        ```python
        async with watching(store, task_id) as wake:
            await anyint.wait_for_task(poll, task_id=task_id, wake=wake)
        ```
    """
    wake = asyncio.Event()
    loop = asyncio.get_running_loop()

    def fire() -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits any more
            loop.call_soon_threadsafe(wake.set)

    registration = register(store, task_id, fire)
    try:
        yield wake
    finally:
        registration.close()


def notify(store: AssetStore, task_id: str) -> None:
    """Tell this process's watcher of ``store`` that ``task_id`` got a record: checked at once.

    For a receiver in the same process as its waits; a no-op when nobody here waits on it.
    """
    key = _identity(store)
    with _LOCK:
        watcher = _WATCHERS.get(key)
        if watcher is None or task_id not in watcher.by_task:
            return
        watcher.pending.add(task_id)
        watcher.kick.set()


def active_watchers() -> int:
    """How many watcher threads this process runs (one per store with registered waits)."""
    with _LOCK:
        return len(_WATCHERS)
