"""Prefect global concurrency limits on the gateway: slots per family, a rate limit on creates.

Accounts have concurrency and rate caps (429; Suno 405/430, §2.3, §11.3, §13.5), shared by every
worker of a fleet, so the limits live on the Prefect server (``prefect gcl ls`` shows them):

- ``anyint-<family>`` (``suno``, ``dashscope``, ``kling``, ``videos``, ``anthropic``,
  ``gemini``): gateway tasks of that family *in flight*, from just before the create until the
  task is seen terminal (across the submit and wait steps, and across a suspension of the run);
  a sync call holds a slot for the call.
- ``anyint-create``: a rate limit (``slot_decay_per_second``) on every task create.

:data:`DEFAULTS` are the documented defaults (generous: the contract publishes no numbers, so
set your account's caps). ``ANYINT_LIMITS`` overrides them, e.g.
``ANYINT_LIMITS="anyint-suno=2,anyint-create=10/2"`` (``limit`` or ``limit/decay per second``);
``anyint-flows setup`` creates or updates the limits from it, and a limit that does not exist
when a step needs it is created with that value on first use, never skipped.

A slot is a Prefect *lease* (``lease_duration`` seconds, renewed while a step waits), so a
crashed process leaks nothing for longer than its TTL, which the run's remaining deadline
bounds. The lease id is kept with the step (:attr:`tasks.journal.JournalEntry.lease_id`,
:attr:`tasks.submit.SubmittedTask.lease_id`) and in the run's lease index
(``runs/<flow_run_id>/leases/<lease_id>.json``), from which the flow's state hooks
(:mod:`tasks.cancel`) release whatever a failed, crashed or cancelled run still holds.

API for other steps (all ``async``; ``store`` is the run's :class:`blocks.AssetStore`):

- :func:`acquire_for_create`: before a create; waits for a family slot and a create token
  within the run's deadline, records the lease in the index, returns its id.
- :func:`in_flight`: context manager around a wait; renews the step's lease (or, for a task
  adopted after its lease was released, takes a free slot if there is one) and releases it when
  the body ends normally or with one of ``terminal`` exceptions (the wait passes the task's
  failure and loss, not a timeout: a deferred run's short look times out and suspends with the
  slot still held).
- :func:`release`: release one lease and drop it from the index (idempotent).
- :func:`slot`: context manager holding a family slot for one sync call.
- :func:`hold_for_suspend`: before ``suspend_flow_run``: renews every lease the run holds for
  :func:`suspend_seconds` (its remaining deadline), as nothing renews them while it sleeps;
  :func:`in_flight` on resume renews them back to the normal duration.
- :func:`release_run`: release every lease of a flow run (the state hooks call it).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from uuid import UUID

import httpx
from prefect import get_client
from prefect.logging import get_logger

from blocks import AssetStore

from .run import RunConfig

if TYPE_CHECKING:
    from prefect.client.orchestration import PrefectClient

__all__ = [
    "CREATE_LIMIT",
    "DEFAULTS",
    "ENV",
    "LIMIT_FAMILIES",
    "LimitSpec",
    "LimitWaitTimeout",
    "acquire_for_create",
    "configured",
    "hold_for_suspend",
    "in_flight",
    "lease_seconds",
    "limit_name",
    "release",
    "release_run",
    "run_leases",
    "slot",
    "suspend_seconds",
]

#: Families with a concurrency limit of their own.
LIMIT_FAMILIES = ("suno", "dashscope", "kling", "videos", "anthropic", "gemini")
CREATE_LIMIT = "anyint-create"
ENV = "ANYINT_LIMITS"
#: The server's bounds on a lease (``increment-with-lease``: 60 s to a day).
MIN_LEASE, MAX_LEASE = 60.0, 86400.0
#: Lease of a step that waits in this process (renewed at 3/4 of it): a crash leaks a slot for
#: at most this long, plus the server's 15 s sweep.
LEASE_SECONDS = 300.0
#: Longest pause between two tries at a full limit (the server's Retry-After, capped).
MAX_RETRY_PAUSE = 1.0

_logger = get_logger("anyint.limits")


@dataclass(frozen=True)
class LimitSpec:
    """One global concurrency limit.

    Attributes:
        name: Limit name (``anyint-suno``).
        limit: Slots (tasks in flight), or the burst of a rate limit.
        slot_decay_per_second: 0 for a concurrency limit; the refill rate of a rate limit.
    """

    name: str
    limit: int
    slot_decay_per_second: float = 0.0

    def detail(self) -> str:
        """``limit 2`` or ``limit 10, decay 2/s``."""
        if self.slot_decay_per_second:
            return f"limit {self.limit}, decay {self.slot_decay_per_second:g}/s"
        return f"limit {self.limit}"


def limit_name(family: str) -> str:
    """``anyint-<family>``."""
    return f"anyint-{family}"


#: The documented defaults (see the module docstring).
DEFAULTS: dict[str, LimitSpec] = {
    **{
        limit_name(f): LimitSpec(limit_name(f), n)
        for f, n in zip(LIMIT_FAMILIES, (50, 50, 50, 50, 50, 50), strict=True)
    },
    CREATE_LIMIT: LimitSpec(CREATE_LIMIT, 50, 10.0),
}


def configured(value: str | None = None) -> dict[str, LimitSpec]:
    """:data:`DEFAULTS` with ``ANYINT_LIMITS`` (or ``value``) applied.

    Raises:
        ValueError: An unknown name or a bad number, naming ``ANYINT_LIMITS`` and the fix.
    """
    text = os.environ.get(ENV, "") if value is None else value
    specs = dict(DEFAULTS)
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, number = item.partition("=")
        name = name.strip()
        if name not in DEFAULTS:
            raise ValueError(f"{ENV}: unknown limit {name!r}; known: {', '.join(DEFAULTS)}")
        limit, _, decay = number.strip().partition("/")
        try:
            spec = LimitSpec(name, int(limit), float(decay) if decay else 0.0)
        except ValueError:
            spec = LimitSpec(name, 0, -1.0)
        rate = name == CREATE_LIMIT
        if spec.limit < 1 or spec.slot_decay_per_second < 0 or (rate and decay == ""):
            form = "LIMIT/DECAY_PER_SECOND, e.g. 10/2" if rate else "a whole number >= 1"
            raise ValueError(f"{ENV}: {item!r}: {name} takes {form}")
        if rate and spec.slot_decay_per_second <= 0:
            raise ValueError(f"{ENV}: {item!r}: a rate limit needs a decay above 0, e.g. 10/2")
        specs[name] = spec
    return specs


class LimitWaitTimeout(TimeoutError):
    """No slot of a limit came free within the run's deadline; nothing was sent."""


def lease_seconds(run: RunConfig) -> float:
    """Lease of a step waiting in this process: :data:`LEASE_SECONDS`, bounded by the run's
    remaining deadline (and the server's 60 s minimum)."""
    return min(max(run.remaining(), MIN_LEASE), LEASE_SECONDS)


def suspend_seconds(run: RunConfig) -> float:
    """Lease of a suspended run's slots: its remaining deadline (60 s to a day)."""
    return min(max(run.remaining(), MIN_LEASE), MAX_LEASE)


# -- the server ---------------------------------------------------------------------------------

_ENSURED: set[tuple[str, str]] = set()


async def _ensure(client: PrefectClient, name: str) -> None:
    """Create ``name`` with its configured default when the server lacks it (once a process)."""
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    key = (str(client.api_url), name)
    if key in _ENSURED:
        return
    try:
        await client.read_global_concurrency_limit_by_name(name)
    except ObjectNotFound:
        spec = configured()[name]
        try:
            await client.create_global_concurrency_limit(
                GlobalConcurrencyLimitCreate(
                    name=name, limit=spec.limit, slot_decay_per_second=spec.slot_decay_per_second
                )
            )
            _logger.info("created concurrency limit %s (%s)", name, spec.detail())
        except ObjectAlreadyExists:
            pass  # another worker created it first
    _ENSURED.add(key)


def _holder(run: RunConfig) -> Any:
    from prefect.client.schemas.objects import ConcurrencyLeaseHolder

    if run.flow_run_id is None:
        return None
    return ConcurrencyLeaseHolder(type="flow_run", id=UUID(run.flow_run_id))


async def _take(
    client: PrefectClient,
    name: str,
    mode: Literal["concurrency", "rate_limit"],
    run: RunConfig,
    *,
    wait: bool = True,
) -> str | None:
    """One slot of ``name`` (a lease id in ``concurrency`` mode, ``""`` for a rate token).

    Returns None when ``wait`` is False and the limit is full.

    Raises:
        LimitWaitTimeout: Still full at the run's deadline.
    """
    while True:
        await _ensure(client, name)
        try:
            if mode == "rate_limit":
                response = await client.increment_concurrency_slots([name], 1, mode)
                granted = bool(response.json())
            else:
                response = await client.increment_concurrency_slots_with_lease(
                    [name], 1, mode, lease_seconds(run), holder=_holder(run)
                )
                body = response.json()
                granted = bool(body.get("limits"))
        except httpx.HTTPStatusError as exc:
            busy = exc.response.status_code == 503  # a locked SQLite server, after its retries
            if exc.response.status_code != 423 and not busy:
                raise RuntimeError(
                    f"concurrency limit {name}: the Prefect server answered "
                    f"{exc.response.status_code} {exc.response.text[:200]}; check it with "
                    f"`prefect gcl inspect {name}` (a rate limit needs a slot decay)"
                ) from None
            if not wait and not busy:
                return None
            pause = min(float(exc.response.headers.get("Retry-After", 0.2)), MAX_RETRY_PAUSE)
            if time.time() + pause > run.deadline_at:
                raise LimitWaitTimeout(
                    f"no slot of concurrency limit {name} came free within the run's deadline; "
                    f"nothing was sent. Raise it (ANYINT_LIMITS, then `anyint-flows setup`) or "
                    f"resume later: {run.resume_command()}"
                ) from None
            await asyncio.sleep(pause * random.uniform(0.5, 1.0))  # waiters spread out
            continue
        if granted:
            return str(body["lease_id"]) if mode == "concurrency" else ""
        # The limit vanished between the check and the increment (deleted): make it again.
        _ENSURED.discard((str(client.api_url), name))


def _index_key(flow_run_id: str | None, lease_id: str) -> str:
    return f"runs/{flow_run_id or 'local'}/leases/{lease_id}.json"


def _remember(
    store: AssetStore, run: RunConfig, lease_id: str, family: str, **step: str | None
) -> None:
    record = {"lease_id": lease_id, "limit": limit_name(family), "family": family, **step}
    store.put_json(_index_key(run.flow_run_id, lease_id), record)


def run_leases(store: AssetStore, flow_run_id: str) -> list[dict[str, Any]]:
    """The lease records a flow run still holds (``lease_id``, ``limit``, ``digest``, ...)."""
    return [store.read_json(k) for k in store.list(f"runs/{flow_run_id}/leases")]


async def _renew(lease_id: str, seconds: float) -> bool:
    """Renew a lease; False when the server no longer has it (expired or released)."""
    async with get_client() as client:
        try:
            await client.renew_concurrency_lease(UUID(lease_id), seconds)
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code in (404, 410):
                return False
            raise
    return True


# -- the API --------------------------------------------------------------------------------------


async def acquire_for_create(
    run: RunConfig, store: AssetStore, family: str, *, digest: str, route: str
) -> str:
    """Wait for a slot of the family's limit, then a create token; return the lease id.

    Call it before the create is claimed in the journal; :func:`release` it when the create is
    not sent or fails. The lease is in the run's index from here on, so the run's state hooks
    release it if the process dies.

    Raises:
        LimitWaitTimeout: The limit stayed full until the run's deadline (nothing was sent).
    """
    async with get_client() as client:
        lease = await _take(client, limit_name(family), "concurrency", run)
        assert lease
        await asyncio.to_thread(_remember, store, run, lease, family, digest=digest, route=route)
        try:
            await _take(client, CREATE_LIMIT, "rate_limit", run)
        except BaseException:
            await release(run, store, lease)
            raise
    return lease


async def release(run: RunConfig, store: AssetStore, lease_id: str | None) -> None:
    """Release a lease and drop it from the run's index; a lease already gone is fine."""
    if not lease_id:
        return
    async with get_client() as client:
        await client.release_concurrency_slots_with_lease(UUID(lease_id))
    await asyncio.to_thread(store.remove, _index_key(run.flow_run_id, lease_id))


async def _keep_renewed(lease_id: str, seconds: float, age: float = 0.0) -> None:
    """Renew ``lease_id`` at 3/4 of ``seconds``, the first time when it is that old (``age``:
    how old it is now)."""
    await asyncio.sleep(max(seconds * 0.75 - age, 0.0))
    while True:
        try:
            if not await _renew(lease_id, seconds):
                _logger.warning("lease %s is gone: its slot is no longer held", lease_id)
                return
        except Exception as exc:  # the server is away for a while: try again next round
            _logger.warning("renewing lease %s failed: %s", lease_id, exc)
        await asyncio.sleep(seconds * 0.75)


@contextlib.asynccontextmanager
async def in_flight(
    run: RunConfig,
    store: AssetStore,
    family: str,
    lease_id: str | None,
    *,
    digest: str | None = None,
    task_id: str | None = None,
    terminal: tuple[type[BaseException], ...] = (),
    leased_at: float | None = None,
) -> AsyncIterator[str | None]:
    """Hold a task's slot while the body waits on it; yields the lease id in use (or None).

    The step's own lease is renewed (to :func:`lease_seconds`, also after a suspension); one
    taken by this execution's submit a moment ago (``leased_at``, epoch seconds, within a
    quarter of its duration) is renewed on the usual schedule instead, sparing the server a
    call per step. A task whose lease is gone (a resume adopting a cancelled run's task) takes
    a slot if one is free and otherwise waits unslotted: it is in flight on the gateway anyway,
    and a retry or resume never takes a second slot for a task it already holds one for.

    The slot is released when the body ends normally or with one of ``terminal``; any other
    exception keeps it for a retry of the step (or the run's state hooks).
    """
    seconds = lease_seconds(run)
    age = time.time() - leased_at if leased_at is not None else seconds
    fresh = lease_id is not None and 0 <= age < seconds / 4
    held = lease_id if fresh or (lease_id and await _renew(lease_id, seconds)) else None
    if held is None:
        async with get_client() as client:
            held = await _take(client, limit_name(family), "concurrency", run, wait=False)
        if held is None:
            _logger.warning("%s is full: waiting on task %s without a slot", family, task_id)
        else:
            await asyncio.to_thread(
                _remember, store, run, held, family, digest=digest, task_id=task_id
            )
    first = age if fresh else 0.0  # a renewed or new lease is as good as new
    renewer = asyncio.create_task(_keep_renewed(held, seconds, first)) if held else None
    ended = False
    try:
        yield held
        ended = True
    except terminal:
        ended = True
        raise
    finally:
        if renewer is not None:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
        if ended:
            await release(run, store, held)


@contextlib.asynccontextmanager
async def slot(run: RunConfig, store: AssetStore, family: str) -> AsyncIterator[str]:
    """Hold a slot of ``anyint-<family>`` for one sync call (released however it ends)."""
    async with get_client() as client:
        lease = await _take(client, limit_name(family), "concurrency", run)
    assert lease
    await asyncio.to_thread(_remember, store, run, lease, family)
    renewer = asyncio.create_task(_keep_renewed(lease, lease_seconds(run)))
    try:
        yield lease
    finally:
        renewer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewer
        await release(run, store, lease)


async def hold_for_suspend(run: RunConfig, store: AssetStore) -> list[str]:
    """Renew every lease the run holds for :func:`suspend_seconds`; the ids renewed."""
    assert run.flow_run_id is not None
    records = await asyncio.to_thread(run_leases, store, run.flow_run_id)
    seconds = suspend_seconds(run)
    return [r["lease_id"] for r in records if await _renew(r["lease_id"], seconds)]


async def release_run(store: AssetStore, flow_run_id: str) -> list[dict[str, Any]]:
    """Release every lease flow run ``flow_run_id`` still holds; the records released."""
    records = await asyncio.to_thread(run_leases, store, flow_run_id)
    async with get_client() as client:
        for record in records:
            await client.release_concurrency_slots_with_lease(UUID(record["lease_id"]))
            await asyncio.to_thread(store.remove, _index_key(flow_run_id, record["lease_id"]))
    return records
