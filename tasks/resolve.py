"""Resolving doubt by hand: list the submit journal, adopt a task found on the gateway, or forget
an entry. The CLI's ``anyint-flows tasks`` is a thin layer over these."""

from __future__ import annotations

from anyint import NotFoundError
from blocks import AssetStore

from . import journal, routes
from .gateway import GatewayConfig
from .journal import JournalEntry

__all__ = ["adopt", "forget", "list_entries"]


def list_entries(store: AssetStore, state: str | None = None) -> list[JournalEntry]:
    """The newest attempt of every step in the journal, optionally only those in ``state``."""
    found = journal.entries(store)
    return [e for e in found if state is None or e.shown_state() == state]


async def adopt(gateway: GatewayConfig, digest: str, task_id: str) -> JournalEntry:
    """Record ``task_id`` (found on the gateway) as the task of the step ``digest``.

    The next run or resume of that step's intent waits on it instead of submitting.

    Raises:
        LookupError: No journal entry matches ``digest``.
        ValueError: The step already has a task, or the gateway does not know ``task_id``
            (nothing is recorded then).
    """
    connection = await gateway.connect()
    entry = journal.find(connection.store, digest)
    if entry.state in journal.REUSE_STATES:
        raise ValueError(
            f"step {entry.digest[:16]} already has gateway task {entry.task_id}; forget it "
            "first to record another"
        )
    spec = routes.route(entry.route)
    async with connection.client() as client:
        try:
            snapshot = await spec.query(client, task_id)
        except NotFoundError:
            snapshot = None
    if snapshot is None or (spec.lost_status and snapshot.status == spec.lost_status):
        raise ValueError(
            f"the gateway at {gateway.base_url} does not know {entry.route} task "
            f"{task_id!r}; nothing was recorded"
        )
    adopted = entry.model_copy(
        update={
            "attempt": entry.attempt + 1,
            "state": "created",
            "task_id": task_id,
            "adopted": True,
            "created_at": journal.now_utc(),
            "error": None,
        }
    )
    if not journal.claim(connection.store, adopted):
        raise ValueError(f"step {entry.digest[:16]} changed while adopting; look again")
    return adopted


def forget(store: AssetStore, digest: str) -> JournalEntry:
    """Clear the step ``digest``, so its next run or resume submits afresh (paid again).

    Raises:
        LookupError: No journal entry matches ``digest``.
    """
    entry = journal.find(store, digest)
    forgotten = entry.model_copy(update={"state": "forgotten"})
    journal.save(store, forgotten)
    return forgotten
