"""Deferred waits: one look at a gateway task instead of a wait that holds the worker.

A flow run with ``defer`` on (:mod:`flows._defer`) asks :func:`check` instead of
:func:`tasks.wait.wait`: the journal, the callback inbox and one poll, then either the finished
task or a :class:`Deferral` (the task is still running; when to look again). The run suspends
once every branch is finished or deferred, and two records in the store let others resume it:

- ``deferred/<task>.json``: which flow run waits on the task. The callback receiver names that run
  in the ``anyint.callback.*`` event, and the automation ``anyint-resume-on-callback`` resumes it.
- ``runs/<flow_run_id>/defer.json`` (:class:`Suspension`): the run's deadline, fixed when it
  first started (a resume gets what is left of it, never a fresh window), the tasks it waits on
  and when the next poll is due. The ``resume-deferred`` flow reads it on behalf of the run.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, Field

from blocks import AssetStore
from blocks.ids import id_segment
from blocks.store import check_key

from ._policy import RETRY_OPTIONS
from .assets import run_prefix
from .errors import RunDeadlineError
from .run import RunConfig
from .submit import SubmittedTask
from .wait import FinishedTask, wait

__all__ = [
    "DEFERRED_RUN_ROLE",
    "Deferral",
    "Suspension",
    "check",
    "deferred_key",
    "deferred_owner",
    "next_look",
    "read_suspension",
    "save_suspension",
    "suspension_key",
]

#: Role of the deferring flow run among a callback event's related resources.
DEFERRED_RUN_ROLE = "deferred-run"
#: The budget of one look (the first poll comes after 0.5 s): a task that ends this soon is not
#: worth a suspension (a resume starts a new process, which costs seconds); one still running
#: after it defers the run. Kept short because the worker slot is held while looking: the
#: task-based routes run for tens of seconds (images) to minutes (video, music), so a longer
#: look rarely saves a resume and delays every other run waiting for the slot.
LOOK_SECONDS = 1.0


class Deferral(BaseModel):
    """A task still running when the run looked: the run may suspend on it.

    Attributes:
        route: Route name (its query route is how the poller looks).
        task_id: Gateway task id.
        flow_run_id: The flow run that waits on it.
        due_at: Epoch seconds when the next poll is due (the wait's own backoff).
    """

    route: str
    task_id: str
    flow_run_id: str
    due_at: float


class Suspension(BaseModel):
    """What a suspended flow run waits on, kept at ``runs/<flow_run_id>/defer.json``.

    Attributes:
        flow_run_id: The flow run.
        base_url: Its gateway (task ids belong to one gateway).
        started_at: When its first execution started.
        deadline_at: Its deadline, fixed at that first start.
        initial_interval: First poll interval (the poller's backoff starts there).
        max_interval: Cap on the poll interval.
        due_at: When the next poll of its tasks is due.
        tasks: The deferred tasks (route and id).
        suspended: True from suspending until a resumed execution starts.
        suspensions: How often the run suspended so far.
    """

    flow_run_id: str
    base_url: str
    started_at: float
    deadline_at: float
    initial_interval: float = Field(gt=0)
    max_interval: float = Field(gt=0)
    due_at: float
    tasks: list[Deferral]
    suspended: bool = True
    suspensions: int = 1


def deferred_key(task_id: str) -> str:
    """Store key of the record naming the flow run that waits on ``task_id``."""
    return check_key(f"deferred/{id_segment(task_id)}.json")


def suspension_key(flow_run_id: str) -> str:
    """Store key of a flow run's :class:`Suspension`."""
    return check_key(f"{run_prefix(flow_run_id)}/defer.json")


def deferred_owner(store: AssetStore, task_id: str) -> str | None:
    """The flow run id that deferred a wait on ``task_id``, or None (no run waits on it)."""
    try:
        record = store.read_json(deferred_key(task_id))
    except (FileNotFoundError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("task_id") != task_id:
        return None  # a hashed key stands for its id only with the record's id to confirm it
    owner = record.get("flow_run_id")
    return owner if isinstance(owner, str) and owner else None


def read_suspension(store: AssetStore, flow_run_id: str) -> Suspension | None:
    """The run's :class:`Suspension`, or None when it never deferred (or it does not parse)."""
    try:
        return Suspension.model_validate(store.read_json(suspension_key(flow_run_id)))
    except (FileNotFoundError, ValueError):
        return None


def save_suspension(store: AssetStore, suspension: Suspension) -> None:
    """Write the run's :class:`Suspension` and the owner record of each task it waits on."""
    for deferral in suspension.tasks:
        record = {"task_id": deferral.task_id, "flow_run_id": suspension.flow_run_id}
        store.put_json(deferred_key(deferral.task_id), record)
    store.put_json(suspension_key(suspension.flow_run_id), suspension.model_dump(mode="json"))


def next_look(
    waited: float, initial: float, max_interval: float, now: float | None = None
) -> float:
    """When the next poll is due after ``waited`` seconds of waiting: the wait's own rule
    (10 % of the time waited, at least ``initial``, at most ``max_interval``)."""
    interval = min(max(initial, 0.1 * max(waited, 0.0)), max(max_interval, initial))
    return (time.time() if now is None else now) + interval


def _mark_deferred(store: AssetStore, run: RunConfig, submitted: SubmittedTask) -> None:
    record: dict[str, Any] = {"task_id": submitted.task_id, "flow_run_id": run.flow_run_id}
    store.put_json(deferred_key(submitted.task_id), record)


@task(
    name="check",
    task_run_name="check {submitted.route} {submitted.task_id}",
    cache_policy=NO_CACHE,
    **RETRY_OPTIONS,
)
async def check(run: RunConfig, submitted: SubmittedTask) -> FinishedTask | Deferral:
    """Look once (journal, callback inbox, polls for up to :data:`LOOK_SECONDS`): the finished
    task, or a :class:`Deferral`.

    The owner record is written before the poll, so a callback that lands from then on names
    this run in its event. A finished or failed task ends exactly as :func:`tasks.wait.wait`
    ends it (same errors, same journal updates).

    Raises:
        RunDeadlineError: The run's deadline has passed (the message gives the resume command).
        TaskFailedError: The task failed.
        TaskLostError: The gateway no longer knows the task and nothing of it is stored.
    """
    if submitted.done or run.remaining() <= 0 or run.flow_run_id is None:
        # Stored already (no gateway call), or the deadline's own error after a last poll.
        finished: FinishedTask = await wait.fn(run, submitted)
        return finished
    store = (await run.gateway.connect()).store
    await asyncio.to_thread(_mark_deferred, store, run, submitted)
    look = run.model_copy(update={"deadline_at": min(run.deadline_at, time.time() + LOOK_SECONDS)})
    try:
        finished = await wait.fn(look, submitted)
    except RunDeadlineError:
        if run.remaining() <= 0:
            raise
        waited = time.time() - submitted.submitted_at.timestamp()
        return Deferral(
            route=submitted.route,
            task_id=submitted.task_id,
            flow_run_id=run.flow_run_id,
            due_at=next_look(waited, run.initial_interval, run.max_interval),
        )
    return finished
