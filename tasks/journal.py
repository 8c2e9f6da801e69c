"""The submit journal: what this toolkit asked the gateway for, kept in the asset store.

Every step of a flow run (a task-creating request, or a sync call whose outputs are stored) has
an identity, its *digest* (:func:`identity`): the route, the canonical request and the run's
*intent*, which is the flow run (``run:<flow_run_id>``) or an explicit ``idempotency_key``
(``key:<key>``). Its entries live at ``submits/<digest>/<attempt>.json``:

- ``sending``: claimed, the request is (or was) on its way; the claim is an exclusive create
  (:meth:`blocks.AssetStore.create_json`), so of two runs sharing a key exactly one sends;
- ``created``: the gateway answered with ``task_id``;
- ``done``: the outputs are stored and verified (``outputs``, with sha256), so a resume
  needs no gateway call at all;
- ``in_doubt``: the answer (or its absence) does not prove that no task was created. It is
  never re-sent by any layer: the user adopts the task found on the gateway
  (``anyint-flows tasks adopt``) or forgets the entry (``anyint-flows tasks forget``);
- ``abandoned``: the flow run was cancelled while the task was in flight and no documented
  route cancels it (:mod:`tasks.cancel`): it may still complete and bill, so the next run or
  resume of the same intent adopts it (waits on ``task_id``) rather than paying again;
- ``failed`` (the gateway task failed), ``rejected`` (the gateway refused the request),
  ``forgotten`` (by the user): the next submit of that identity claims the next attempt.

An attempt is never rewritten by anyone but the run that claimed it, except by ``forget``.
"""

from __future__ import annotations

import hashlib
import posixpath
import time
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from anyint.records import canonical_json, redact
from blocks import AssetStore, StoreDocumentError

__all__ = [
    "JOURNAL_PREFIX",
    "JournalEntry",
    "StoredOutput",
    "claim",
    "entries",
    "find",
    "identity",
    "latest",
    "save",
]

JOURNAL_PREFIX = "submits"

State = Literal[
    "sending", "in_doubt", "created", "abandoned", "done", "failed", "rejected", "forgotten"
]
#: States whose task id the next submit of the same identity reuses (waits on, pays nothing).
REUSE_STATES = frozenset({"created", "abandoned", "done"})
#: States of a task the gateway may still be running (created, or left behind by a cancel).
IN_FLIGHT_STATES = frozenset({"created", "abandoned"})
#: States after which the next submit of the same identity sends again (a new attempt).
RESUBMIT_STATES = frozenset({"failed", "rejected", "forgotten"})


def identity(base_url: str, intent: str, route: str, body: Any) -> str:
    """The one definition of "the same request": gateway, intent, route and canonical body.

    The callback URL and credential fields are left out (they say where results go and who
    asks, not what is asked for).

    Args:
        base_url: Gateway base URL (task ids belong to one gateway).
        intent: ``run:<flow_run_id>`` or ``key:<idempotency_key>``.
        route: Route name (``suno.generate``).
        body: Request body.
    """
    text = f"{base_url.rstrip('/')}\n{intent}\n{route}\n{canonical_json(redact(body))}"
    return hashlib.sha256(text.encode()).hexdigest()


class StoredOutput(BaseModel):
    """One stored output of a done step: its store key and content digest."""

    key: str
    sha256: str


class JournalEntry(BaseModel):
    """One attempt at one step.

    Attributes:
        digest: The step's identity (:func:`identity`).
        attempt: 0 for the first attempt, then 1, 2 ... after a failure, rejection or forget.
        route: Route name.
        state: See the module docstring.
        task_id: Gateway task id, once known (None for sync routes).
        intent: ``run:<flow_run_id>`` or ``key:<idempotency_key>``.
        idempotency_key: The user's key, when the intent is one.
        flow_run_id: The flow run that claimed this attempt.
        owner: ``<flow_run_id>#<run_count>``: which execution of that flow run claimed it.
        sent_at: When the claim was made (just before the request left).
        lease_until: Epoch seconds until which a ``sending`` claim is presumed alive.
        created_at: When the gateway answered with the task id.
        request: The request without secrets, callback URLs or inline media.
        error: Why the attempt is in doubt, failed or was rejected.
        adopted: The task id was recorded by ``anyint-flows tasks adopt``.
        outputs: Stored outputs of a done step.
        finished: The finished task (outputs and final snapshot) of a done task step.
        lease_id: The Prefect concurrency lease that holds this task's slot while it is in
            flight (:mod:`tasks.limits`), None when no slot is held.
    """

    digest: str
    attempt: int = 0
    route: str
    state: State
    task_id: str | None = None
    intent: str
    idempotency_key: str | None = None
    flow_run_id: str | None = None
    owner: str | None = None
    sent_at: datetime | None = None
    lease_until: float | None = None
    created_at: datetime | None = None
    request: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    adopted: bool = False
    outputs: list[StoredOutput] = Field(default_factory=list)
    finished: dict[str, Any] | None = None
    lease_id: str | None = None

    @property
    def key(self) -> str:
        """Where this attempt lives in the store."""
        return entry_key(self.digest, self.attempt)

    def shown_state(self, now: float | None = None) -> str:
        """The state as a user should read it: a ``sending`` claim past its lease is in doubt."""
        if self.state == "sending" and (self.lease_until or 0) < (now or time.time()):
            return "in_doubt"
        return self.state

    def summary(self) -> dict[str, Any]:
        """What ``anyint-flows tasks`` lists for this entry."""
        return {
            "digest": self.digest,
            "route": self.route,
            "state": self.shown_state(),
            "task_id": self.task_id,
            "flow_run_id": self.flow_run_id,
            "idempotency_key": self.idempotency_key,
            "sent_at": self.sent_at.isoformat() if self.sent_at else None,
            "attempt": self.attempt,
            "request": self.request,
            "error": self.error,
        }


def now_utc() -> datetime:
    """The current time, timezone-aware."""
    return datetime.now(UTC)


def entry_key(digest: str, attempt: int) -> str:
    """``submits/<digest>/<attempt>.json`` (zero-padded, so the keys sort by attempt)."""
    return f"{JOURNAL_PREFIX}/{digest}/{attempt:06d}.json"


def _read(store: AssetStore, key: str) -> JournalEntry:
    try:
        return JournalEntry.model_validate(store.read_json(key))
    except ValidationError as exc:
        raise StoreDocumentError(
            f"journal entry {store.url(key)} cannot be read ({exc.error_count()} problem(s), "
            f"first: {exc.errors()[0]['msg']}); it was left as it is: repair or remove it"
        ) from None


def latest(store: AssetStore, digest: str) -> JournalEntry | None:
    """The newest attempt of ``digest``, or None when it was never claimed.

    Raises:
        StoreDocumentError: The newest attempt cannot be parsed (named by its key).
    """
    keys = [k for k in store.list(f"{JOURNAL_PREFIX}/{digest}") if k.endswith(".json")]
    return _read(store, keys[-1]) if keys else None


def claim(store: AssetStore, entry: JournalEntry) -> bool:
    """Record ``entry`` only if its attempt is not claimed yet (atomic for the store in use)."""
    return store.create_json(entry.key, entry.model_dump(mode="json"))


def save(store: AssetStore, entry: JournalEntry) -> None:
    """Overwrite an attempt this run claimed (the only writer of it)."""
    store.put_json(entry.key, entry.model_dump(mode="json"))


def entries(store: AssetStore) -> list[JournalEntry]:
    """The newest attempt of every digest in the store, oldest claim first."""
    newest: dict[str, str] = {}
    for key in store.list(JOURNAL_PREFIX):
        if key.endswith(".json"):
            newest[posixpath.basename(posixpath.dirname(key))] = key  # sorted: last wins
    found = [_read(store, key) for key in newest.values()]
    return sorted(found, key=lambda e: (e.sent_at or datetime.min.replace(tzinfo=UTC), e.digest))


def find(store: AssetStore, digest: str) -> JournalEntry:
    """The newest attempt of the one digest starting with ``digest`` (16 characters suffice).

    Raises:
        LookupError: No entry, or more than one, matches (the message says which).
    """
    digest = digest.strip().lower()
    if len(digest) < 8 or any(c not in "0123456789abcdef" for c in digest):
        raise LookupError(f"{digest!r} is not a journal digest (8 to 64 hex characters)")
    digests = {
        posixpath.basename(posixpath.dirname(k))
        for k in store.list(JOURNAL_PREFIX)
        if k.endswith(".json")
    }
    matches = sorted(d for d in digests if d.startswith(digest))
    if not matches:
        raise LookupError(f"no journal entry with digest {digest} in {store.root_url}")
    if len(matches) > 1:
        raise LookupError(f"digest {digest} is ambiguous: {', '.join(m[:16] for m in matches)}")
    entry = latest(store, matches[0])
    assert entry is not None
    return entry
