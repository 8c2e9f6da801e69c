"""Does the receiver write to the store the flows use? Its credential-free URL, and a journal index.

A receiver started on another store than the flows' accepts every callback and wakes nothing:
the wait tasks read another inbox. The receiver cannot refuse such a callback (it may also
arrive a moment before the submit records its task id, see below), so it stores it and logs one
warning naming its store; :class:`JournalIndex` is what tells "a task these flows created" from
"a task unknown here".

Why an in-memory index: the submit journal is keyed by step digest
(``submits/<digest>/<attempt>.json``), not by task id, so no single key answers "is task X
known". The index reads each journal entry once per receiver process and afterwards, on a task id
it does not know, lists the journal and reads only the keys it has not read yet, plus the
``sending`` claims (the only entries whose task id can still appear: ``created`` is saved onto
the same key). A known task id costs no store call at all; an unknown one costs one listing and
the new entries' reads, never a re-read of the whole journal.
"""

from __future__ import annotations

import threading
import time
from urllib.parse import urlsplit, urlunsplit

from pydantic import ValidationError

from anyint.config import settings
from blocks import AssetStore, StoreDocumentError
from tasks.journal import JOURNAL_PREFIX, JournalEntry

__all__ = ["JournalIndex", "public_store_url"]


def public_store_url(store: AssetStore) -> str:
    """The store's root URL with no credential in it, safe for ``/healthz`` and logs.

    User and password (``s3://key:secret@bucket``), query strings and fragments are dropped from
    every part of a chained URL (``simplecache::s3://...``); ``storage_options`` are never part
    of it. A local folder is shown resolved (``file:///abs/path``), as the wait tasks see it.
    """
    configured = store.base_url or settings().store or "./output"
    if "://" not in configured or configured.startswith("file://"):
        # Local: resolving it touches no network, and a relative folder should show where it is.
        return store.root_url
    return "::".join(_without_credentials(part) for part in configured.split("::"))


def _without_credentials(url: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


class JournalIndex:
    """The gateway task ids recorded in a store's submit journal, read incrementally.

    Thread-safe: the receiver asks from worker threads, and refreshes are serialised so that a
    burst of callbacks for unknown ids lists the journal once at a time, not once per callback.

    Attributes:
        in_flight: Live ``sending`` claims seen at the last refresh: submits whose task id may
            be recorded any moment (a callback can race ahead of that write).
    """

    def __init__(self, store: AssetStore) -> None:
        self._store = store
        self._ids: set[str] = set()
        self._settled: set[str] = set()  # keys whose task id can no longer change
        self._lock = threading.Lock()
        self.in_flight = 0

    def knows(self, task_id: str) -> bool:
        """Whether the journal records ``task_id`` (reads the store only on an unknown id).

        Raises:
            OSError: The store could not be listed (the caller decides what that means).
        """
        if task_id in self._ids:
            return True
        with self._lock:
            if task_id not in self._ids:  # another thread may have refreshed meanwhile
                self._refresh()
        return task_id in self._ids

    def _refresh(self) -> None:
        in_flight, now = 0, time.time()
        for key in self._store.list(JOURNAL_PREFIX):
            if not key.endswith(".json") or key in self._settled:
                continue
            try:
                entry = JournalEntry.model_validate(self._store.read_json(key))
            except FileNotFoundError:
                continue  # forgotten or cleaned up between listing and reading
            except (StoreDocumentError, ValidationError):
                # Unreadable entries are the tasks' to report (they name the key); the index
                # neither fails on one nor reads it again.
                self._settled.add(key)
                continue
            if entry.task_id:
                self._ids.add(entry.task_id)
            if entry.state != "sending":
                self._settled.add(key)
            elif (entry.lease_until or 0) > now:
                in_flight += 1
        self.in_flight = in_flight
