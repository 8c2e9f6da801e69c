"""Defer: free the worker while the gateway works.

With ``defer`` on, a deployment run does not hold its worker slot through a wait. Each wait
looks once (:func:`tasks.defer.check`: journal, callback inbox, one poll); a task still running
raises :class:`Deferred` in the flow code, never in a task. :func:`deferrable`, around the flow's
work, lets every branch finish or defer (the fan-outs gather them all), then suspends the run with
Prefect's ``suspend_flow_run``: the process exits and the slot is free. The run is resumed by the
automation ``anyint-resume-on-callback`` when a callback for one of its tasks lands, or by the
``resume-deferred`` flow when its tasks ended (the poll fallback: a lost callback costs latency,
never the result). A resume runs the flow from the top: submits and finished steps come from the
journal (no gateway call, nothing paid twice) and the waits look again, with what is left of the
deadline fixed at the first start (:func:`resumed_window`).

Where a run cannot suspend (no deployment, a subflow, a wait inside a task), ``defer`` waits in
process as if it were off, and says so once in the run's log.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from prefect import get_run_logger
from prefect.context import FlowRunContext, TaskRunContext
from prefect.flow_runs import asuspend_flow_run

from blocks import AssetStore
from blocks.inbox import terminal_record
from tasks import (
    Collected,
    FinishedTask,
    GatewayConfig,
    Output,
    RunConfig,
    SubmittedTask,
    fetch,
    wait_and_fetch,
)
from tasks.collect import picked
from tasks.defer import (
    Deferral,
    Suspension,
    check,
    deferred_key,
    read_suspension,
    save_suspension,
)
from tasks.limits import hold_for_suspend

__all__ = ["Deferred", "can_suspend", "deferrable", "finish_step", "resumed_window"]

T = TypeVar("T")

#: A suspended run fails this long after its deadline if nothing resumed it (the poller resumes
#: it at the deadline, so this only catches a poller that is not deployed).
SUSPEND_GRACE_SECONDS = 600
#: Bodies run in one process before waiting in process: a callback that keeps landing between
#: the look and the suspension must not loop for ever.
MAX_LOOKS = 3

#: Deferrals of the body now running, by flow run id (the branches of one run append here).
_PENDING: dict[str, list[Deferral]] = {}


class Deferred(Exception):  # a signal, like StopIteration, not an error
    """A wait that was deferred: raised in flow code only and caught by :func:`deferrable`.

    Attributes:
        deferral: The task still running and when to look again.
    """

    def __init__(self, deferral: Deferral) -> None:
        super().__init__(f"{deferral.route} task {deferral.task_id} is still running: deferred")
        self.deferral = deferral


def can_suspend(run: RunConfig) -> bool:
    """Whether this code may suspend its flow run: ``defer`` on, in the flow function of a
    top-level deployment run (Prefect suspends neither task runs nor subflows)."""
    if not run.defer or TaskRunContext.get() is not None:
        return False
    context = FlowRunContext.get()
    flow_run = context.flow_run if context is not None else None
    return (
        flow_run is not None
        and flow_run.deployment_id is not None
        and flow_run.parent_task_run_id is None
    )


async def finish_step(
    run: RunConfig,
    submitted: SubmittedTask,
    *,
    request: dict[str, Any] | None = None,
    model: str | None = None,
    pick: Callable[[FinishedTask], list[Output]] | None = None,
) -> Collected:
    """Wait for ``submitted`` and store its outputs: :func:`tasks.wait_and_fetch` (one task
    run), or with ``defer`` one look (:func:`tasks.defer.check`) that raises :class:`Deferred`
    or is followed by :func:`tasks.fetch`.

    Args:
        run: The flow run's configuration.
        submitted: What :func:`tasks.submit` returned.
        request: The request body, for the manifest.
        model: Model id, for the manifest.
        pick: Chooses the outputs to store (all when None).

    Raises:
        Deferred: The task is still running and this run may suspend (see :func:`deferrable`).
    """
    if not can_suspend(run) or run.flow_run_id is None:
        collected: Collected = await wait_and_fetch(
            run, submitted, request=request, model=model, pick=pick
        )
        return collected
    outcome = await check(run, submitted)
    if not isinstance(outcome, FinishedTask):
        _PENDING.setdefault(run.flow_run_id, []).append(outcome)
        raise Deferred(outcome)
    records = await fetch(run, picked(outcome, pick), request=request, model=model)
    return Collected(finished=outcome, records=records)


async def deferrable(run: RunConfig, body: Callable[[RunConfig], Awaitable[T]]) -> T:
    """Run ``body(run)``; when its waits deferred, suspend the flow run (the process exits).

    Args:
        run: The flow run's configuration (``run.defer`` says whether to defer at all).
        body: The flow's work after :func:`flows._common.start_run`. It runs again from the top
            on resume, so it must be what it is: submits and fetches that the journal makes
            idempotent.

    Raises:
        prefect.exceptions.Pause: The run suspended (Prefect's engine ends the process).
    """
    if not run.defer:
        return await body(run)
    if not can_suspend(run) or run.flow_run_id is None:
        get_run_logger().info(
            "defer: this run cannot suspend (no deployment, or a subflow); waiting in process"
        )
        return await body(run.model_copy(update={"defer": False}))
    store = (await run.gateway.connect()).store
    for _ in range(MAX_LOOKS):
        _PENDING.pop(run.flow_run_id, None)
        try:
            result = await body(run)
        except Deferred:
            deferrals = _PENDING.pop(run.flow_run_id, [])
        else:
            await asyncio.to_thread(_forget_deferrals, store, run.flow_run_id)
            return result
        if not await asyncio.to_thread(_any_landed, store, deferrals):
            await _suspend(run, store, deferrals)  # raises Pause unless already resumed
    return await body(run.model_copy(update={"defer": False}))


def _any_landed(store: AssetStore, deferrals: list[Deferral]) -> bool:
    """A terminal callback arrived after the look: go on now rather than suspend (its event
    may have tried to resume this run while it was still running)."""
    return any(terminal_record(store, d.task_id) is not None for d in deferrals)


def _forget_deferrals(store: AssetStore, flow_run_id: str) -> None:
    """The run is done: its tasks' owner records would only point callbacks at a finished run."""
    suspension = read_suspension(store, flow_run_id)
    for deferral in suspension.tasks if suspension is not None else []:
        if store.exists(key := deferred_key(deferral.task_id)):
            store.remove(key)


async def _suspend(run: RunConfig, store: AssetStore, deferrals: list[Deferral]) -> None:
    assert run.flow_run_id is not None
    previous = await asyncio.to_thread(read_suspension, store, run.flow_run_id)
    suspension = Suspension(
        flow_run_id=run.flow_run_id,
        base_url=run.gateway.base_url,
        started_at=run.started_at,
        deadline_at=run.deadline_at,
        initial_interval=run.initial_interval,
        max_interval=run.max_interval,
        due_at=min(d.due_at for d in deferrals),
        tasks=deferrals,
        suspensions=previous.suspensions + 1 if previous is not None else 1,
    )
    await asyncio.to_thread(save_suspension, store, suspension)
    # Gateway slots stay taken while the run sleeps (its tasks still run): their leases must
    # outlive this process, never be released here.
    await hold_for_suspend(run, store)
    get_run_logger().info(
        "defer: %d task(s) still running (%s); suspending until a callback or the poll fallback "
        "(%.0f s of the deadline left)",
        len(deferrals),
        ", ".join(f"{d.route} {d.task_id}" for d in deferrals),
        run.remaining(),
    )
    # A fresh key each time: Prefect refuses a pause key the run has used before.
    key = f"anyint-defer-{suspension.suspensions}-{uuid.uuid4().hex[:8]}"
    await asuspend_flow_run(timeout=int(run.remaining()) + SUSPEND_GRACE_SECONDS, key=key)


async def resumed_window(gateway: GatewayConfig, flow_run_id: str) -> tuple[float, float] | None:
    """``(started_at, deadline_at)`` of a run resumed from its suspension, else None.

    Marks the suspension as resumed, so a later retry or ``--resume`` of a run that ended gets a
    window of its own, as every execution does.
    """
    store = (await gateway.connect()).store

    def consume() -> tuple[float, float] | None:
        suspension = read_suspension(store, flow_run_id)
        if suspension is None or not suspension.suspended:
            return None
        save_suspension(store, suspension.model_copy(update={"suspended": False}))
        return suspension.started_at, suspension.deadline_at

    return await asyncio.to_thread(consume)
