"""Flow ``resume-deferred``: the poll fallback of deferred runs (``deployments/prefect.yaml``
runs it every minute).

A run with ``defer`` suspends while its gateway tasks run (:mod:`flows._defer`) and is normally
resumed by the automation that acts on its tasks' callbacks. A callback can be lost (no
``ANYINT_CALLBACK_URL``, a receiver that was down), so this flow looks on the runs' behalf: for
each suspended run with a ``runs/<flow_run_id>/defer.json`` record in the store, it resumes the
run when its deadline passed (the run then fails with the resume command), when a terminal
callback is in the inbox, or, once the run's next poll is due, when one poll shows a task ended.
Otherwise it moves the due time on with the wait's own backoff. A lost callback costs latency,
never the result. It reads and polls only: nothing is paid, and a run resumed twice is resumed
once (Prefect resumes only a paused run).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from prefect import get_client, get_run_logger
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateName,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import StateType
from prefect.client.schemas.responses import SetStateStatus
from pydantic import BaseModel, Field

from anyint import AnyIntError, NotFoundError
from blocks.inbox import terminal_record
from flows._params import BlockName, checked_flow, checked_parameters
from tasks import Connection, GatewayConfig
from tasks.defer import Suspension, next_look, read_suspension, save_suspension
from tasks.routes import route as route_spec

__all__ = ["ResumeReport", "resume_deferred"]

#: Suspended runs read per call (the oldest first would be fairer, but one page is plenty).
MAX_RUNS = 200


class ResumeReport(BaseModel):
    """What ``resume-deferred`` found and did.

    Attributes:
        suspended: Suspended deferred runs found.
        resumed: Runs resumed, with why (``deadline``, ``callback``, ``ended``, ``due``).
    """

    suspended: int = 0
    resumed: dict[str, str] = Field(default_factory=dict)


async def _ended(connection: Connection, suspension: Suspension) -> bool:
    """One poll of each deferred task: whether one ended (or the gateway forgot it)."""
    async with connection.client() as client:
        for deferral in suspension.tasks:
            try:
                snapshot: Any = await route_spec(deferral.route).query(client, deferral.task_id)
            except NotFoundError:
                return True  # the run's own wait says what that means
            except AnyIntError as exc:
                get_run_logger().warning("poll of %s failed: %s", deferral.task_id, exc)
                continue
            if snapshot.is_terminal:
                return True
    return False


async def _why_resume(connection: Connection, base_url: str, suspension: Suspension) -> str | None:
    """Why ``suspension``'s run should resume now, or None (its due time moved on)."""
    now = time.time()
    if now >= suspension.deadline_at:
        return "deadline"
    store = connection.store
    if any(
        await asyncio.gather(
            *(asyncio.to_thread(terminal_record, store, d.task_id) for d in suspension.tasks)
        )
    ):
        return "callback"
    if now < suspension.due_at:
        return None
    if base_url.rstrip("/") != suspension.base_url.rstrip("/"):
        return "due"  # another gateway than ours: the run polls it itself
    if await _ended(connection, suspension):
        return "ended"
    waited = now - suspension.started_at
    due = next_look(waited, suspension.initial_interval, suspension.max_interval)
    await asyncio.to_thread(save_suspension, store, suspension.model_copy(update={"due_at": due}))
    return None


@checked_flow("resume-deferred", "Resume deferred AnyInt runs whose tasks ended (poll fallback).")
async def resume_deferred(
    credentials_block: BlockName = None,
    store_block: BlockName = None,
) -> ResumeReport:
    """Resume the suspended deferred runs whose tasks ended or whose deadline passed.

    Args:
        credentials_block: Saved ``AnyIntCredentials`` block name (the runs' gateway).
        store_block: Saved ``AssetStore`` block name (the runs' store).

    Returns:
        How many suspended deferred runs there were, and which were resumed and why.
    """
    p = checked_parameters(locals())
    gateway = await GatewayConfig.resolve(p["credentials_block"], p["store_block"])
    connection = await gateway.connect()
    logger = get_run_logger()
    report = ResumeReport()
    suspended_filter = FlowRunFilter(
        state=FlowRunFilterState(
            type=FlowRunFilterStateType(any_=[StateType.PAUSED]),
            name=FlowRunFilterStateName(any_=["Suspended"]),
        )
    )
    async with get_client() as prefect:
        for flow_run in await prefect.read_flow_runs(
            flow_run_filter=suspended_filter, limit=MAX_RUNS
        ):
            suspension = await asyncio.to_thread(
                read_suspension, connection.store, str(flow_run.id)
            )
            if suspension is None:
                continue  # not a deferred AnyInt run (or another store's)
            report.suspended += 1
            reason = await _why_resume(connection, gateway.base_url, suspension)
            if reason is None:
                continue
            result = await prefect.resume_flow_run(flow_run.id)
            if result.status == SetStateStatus.ACCEPT:
                logger.info("resumed flow run %s (%s)", flow_run.id, reason)
                report.resumed[str(flow_run.id)] = reason
    return report
