"""Submit a task-creating request so that it is never paid for twice.

The submit journal (:mod:`tasks.journal`) is the one source of truth, and correctness rests on
it alone (no Prefect cache is involved):

1. The step's identity is its route, canonical body and the run's intent (the flow run, or an
   ``idempotency_key``). An entry ``created``, ``abandoned`` or ``done`` for it hands back the
   task id, so a retry or resume of the flow run pays nothing again (and takes no slot).
2. Otherwise the run takes a slot of the family's concurrency limit and a create token
   (:mod:`tasks.limits`; the lease id goes with the entry), then *claims* the next attempt
   with an exclusive create in the store (``sending``) before the request leaves. Of two runs
   that share a key and start together, exactly one claim succeeds; the other waits for the
   winner's task id.
3. An answer that proves the gateway refused the request (4xx, 429/503 after the client's
   retries, a connection that never left) marks the attempt ``rejected``, so a later retry may
   send again. Any other outcome that leaves the gateway's side unknown (see
   :class:`anyint.AmbiguousSubmitError`), and a claim whose run died while sending, is
   ``in_doubt``: :class:`SubmitInDoubtError` names the commands that resolve it, and no layer
   ever re-sends it.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any, Literal

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel

from anyint import APIConnectionError, APIStatusError
from anyint.records import CALLBACK_FIELDS, storable
from blocks import AnyIntCredentials
from blocks.inbox import PLACEHOLDER_CALLBACK_URL, callback_url

from . import journal, limits, routes
from ._policy import RETRY_OPTIONS
from .errors import SubmitInDoubtError
from .journal import JournalEntry, now_utc
from .routes import RouteSpec
from .run import RunConfig

__all__ = ["SubmittedTask", "lease_seconds", "submit"]

#: How often a run re-reads a claim another live run holds (it sends right now).
_CLAIM_POLL = (0.05, 2.0)


class SubmittedTask(BaseModel):
    """A gateway task this flow run owns.

    Attributes:
        route: Registry name of the route (``suno.generate``).
        task_id: Gateway task id.
        digest: The step's identity (see :func:`tasks.journal.identity`).
        reused: True when the task was created before this submit (nothing paid now).
        done: True when the step's outputs are already stored (no gateway call is needed).
        submitted_at: When the gateway accepted it.
        lease_id: The concurrency lease holding its family's slot (:mod:`tasks.limits`).
        leased_at: Epoch seconds when this submit took that lease (None when reused: the lease
            may be old or gone, and the wait renews it first).
    """

    route: str
    task_id: str
    digest: str
    reused: bool = False
    done: bool = False
    submitted_at: datetime
    lease_id: str | None = None
    leased_at: float | None = None


def lease_seconds(timeout: float, connect: float, max_retries: int) -> float:
    """How long a ``sending`` claim may last while its run is alive: every attempt of the
    client's retry loop at full timeouts, plus the longest ``Retry-After`` it honours."""
    return (max_retries + 1) * (timeout + connect) + max_retries * 60.0 + 30.0


def _with_callback(spec: RouteSpec, body: dict[str, Any]) -> dict[str, Any]:
    if spec.callback_field is None or CALLBACK_FIELDS & body.keys():
        return body
    url = callback_url(spec.family)
    if url == PLACEHOLDER_CALLBACK_URL and spec.callback_field != "callBackUrl":
        return body  # optional there: leave it out rather than point at a placeholder
    return {**body, spec.callback_field: url}


Decision = Literal["reuse", "resubmit", "doubt", "wait"]


def _decide(entry: JournalEntry, run: RunConfig) -> Decision:
    """What an existing newest attempt means for this submit."""
    if entry.state in journal.REUSE_STATES:
        return "reuse"
    if entry.state in journal.RESUBMIT_STATES:
        return "resubmit"
    if entry.state == "in_doubt":
        return "doubt"
    # "sending": alive, or left by a run that died between send and answer.
    if entry.owner == run.owner:
        return "wait"  # a sibling task of this very execution is sending it right now
    if entry.flow_run_id is not None and entry.flow_run_id == run.flow_run_id:
        return "doubt"  # an earlier execution of this flow run died while sending
    return "wait" if (entry.lease_until or 0) > time.time() else "doubt"


def _reused(entry: JournalEntry) -> SubmittedTask:
    assert entry.task_id is not None and entry.created_at is not None
    return SubmittedTask(
        route=entry.route,
        task_id=entry.task_id,
        digest=entry.digest,
        reused=True,
        done=entry.state == "done",
        submitted_at=entry.created_at,
        lease_id=entry.lease_id,
    )


async def _claim(store: Any, fresh: JournalEntry, run: RunConfig) -> SubmittedTask | JournalEntry:
    """Claim the next attempt, or hand back the task an earlier or concurrent submit made.

    Returns:
        The reused task, or the claimed entry (``fresh`` at its final attempt number).

    Raises:
        SubmitInDoubtError: The newest attempt is in doubt.
    """
    logger = get_run_logger()
    pause = _CLAIM_POLL[0]
    while True:
        entry = await asyncio.to_thread(journal.latest, store, fresh.digest)
        decision = "resubmit" if entry is None else _decide(entry, run)
        if entry is not None and decision == "reuse":
            logger.info("reusing gateway task %s (recorded %s)", entry.task_id, entry.created_at)
            return _reused(entry)
        if entry is not None and decision == "doubt":
            if entry.state == "sending":
                entry = entry.model_copy(update={"state": "in_doubt", "error": "run died"})
                await asyncio.to_thread(journal.save, store, entry)
            raise SubmitInDoubtError.of(entry)
        if entry is not None and decision == "wait":
            await asyncio.sleep(pause)
            pause = min(pause * 2, _CLAIM_POLL[1])
            continue
        if entry is not None:
            logger.info("attempt %d ended %s; submitting again", entry.attempt, entry.state)
        attempt = 0 if entry is None else entry.attempt + 1
        fresh = fresh.model_copy(update={"attempt": attempt, "sent_at": now_utc()})
        if await asyncio.to_thread(journal.claim, store, fresh):
            return fresh
        # Another run claimed this attempt first: read what it recorded.


def _outcome(exc: BaseException) -> tuple[str, str]:
    """The journal state an exception of the create call leaves, and why."""
    if isinstance(exc, APIStatusError):
        return "rejected", f"{exc.status_code}: {exc}"
    if isinstance(exc, APIConnectionError) and not exc.sent:
        return "rejected", f"never sent: {exc}"
    return "in_doubt", f"{type(exc).__name__}: {exc}"


def _sending(
    run: RunConfig,
    digest: str,
    route: str,
    body: dict[str, Any],
    creds: AnyIntCredentials,
    lease: str,
) -> JournalEntry:
    """The journal entry of an attempt about to be sent (``sending``, its claim's lease)."""
    return JournalEntry(
        digest=digest,
        route=route,
        state="sending",
        intent=run.intent,
        idempotency_key=run.idempotency_key,
        flow_run_id=run.flow_run_id,
        owner=run.owner,
        request=storable(body),
        lease_until=time.time()
        + lease_seconds(creds.timeout_seconds, creds.connect_timeout_seconds, creds.max_retries),
        lease_id=lease,
    )


@task(
    name="submit",
    task_run_name="submit {route}",
    cache_policy=NO_CACHE,  # the journal, not a cache, decides; a cache would only hide it
    **RETRY_OPTIONS,
)
async def submit(run: RunConfig, route: str, body: dict[str, Any]) -> SubmittedTask:
    """Create a gateway task, or hand back the one this intent already created.

    Args:
        run: The flow run's gateway, intent and deadline.
        route: Registry name, e.g. ``suno.generate`` (see :data:`tasks.routes.ROUTES`).
        body: Request body (the callback URL is filled in from ``ANYINT_CALLBACK_URL``).

    Returns:
        The gateway task id and how it was obtained.

    Raises:
        pydantic.ValidationError: The body breaks a documented rule (nothing recorded or sent).
        SubmitInDoubtError: This step's task may exist already; see its message.
        APIStatusError: The gateway refused the request.
    """
    spec = routes.route(route)
    params = spec.params.model_validate(_with_callback(spec, body))  # every rule, first
    connection = await run.gateway.connect()
    store, creds = connection.store, connection.credentials
    digest = journal.identity(run.gateway.base_url, run.intent, route, body)
    known = await asyncio.to_thread(journal.latest, store, digest)
    if known is not None and _decide(known, run) == "reuse":
        get_run_logger().info("reusing gateway task %s (%s)", known.task_id, known.state)
        return _reused(known)  # no slot taken, nothing sent
    # The slot comes first: a create is recorded (claimed) only once it may be sent.
    leased_at = time.time()
    lease = await limits.acquire_for_create(run, store, spec.family, digest=digest, route=route)
    try:
        claimed = await _claim(store, _sending(run, digest, route, body, creds, lease), run)
    except Exception:
        await limits.release(run, store, lease)
        raise
    if isinstance(claimed, SubmittedTask):
        await limits.release(run, store, lease)  # another run created it: one slot per task
        return claimed
    try:
        async with connection.client() as client:
            task_id = await spec.create(client, params)
    except BaseException as exc:
        state, why = _outcome(exc)
        failed = claimed.model_copy(update={"state": state, "error": why})
        await asyncio.to_thread(journal.save, store, failed)
        if isinstance(exc, Exception):  # a cancelled run's hooks release it
            await limits.release(run, store, lease)
        if state == "in_doubt" and isinstance(exc, Exception):
            raise SubmitInDoubtError.of(failed) from exc
        raise  # proven rejections keep their own error; cancellation keeps propagating
    created = claimed.model_copy(
        update={"state": "created", "task_id": task_id, "created_at": now_utc()}
    )
    await asyncio.to_thread(journal.save, store, created)
    get_run_logger().info("submitted %s: gateway task %s", route, task_id)
    return SubmittedTask(
        route=route,
        task_id=task_id,
        digest=digest,
        submitted_at=created.created_at,
        lease_id=lease,
        leased_at=leased_at,
    )
