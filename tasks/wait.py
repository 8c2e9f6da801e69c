"""Wait for a gateway task: polls with backoff within the run's deadline, wakes on a callback.

Never cached: a wait asks the gateway (or the callback inbox) again, so a resume waits on the
task id the submit step recorded. A step whose outputs are already stored is finished from the
journal without any gateway call. The deadline is the flow run's (:class:`tasks.run.RunConfig`):
a Prefect retry of a wait gets only what is left of it, and a timeout is never retried.
"""

from __future__ import annotations

import asyncio
from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import acreate_progress_artifact, aupdate_progress_artifact
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel

from anyint import (
    NotFoundError,
    PollSchedule,
    TaskFailedError,
    TaskSnapshot,
    TaskTimeoutError,
    wait_for_task,
)
from anyint.secrets import scrub_value
from blocks import AssetStore
from blocks.inbox_watch import watching

from . import journal, limits, routes
from ._policy import RETRY_OPTIONS
from .errors import RunDeadlineError, TaskLostError, TaskOutputMissingError
from .routes import Output
from .run import RunConfig
from .submit import SubmittedTask

__all__ = ["FinishedTask", "Output", "wait"]

_PROGRESS = {
    "pending": 10,
    "submitted": 10,
    "queued": 10,
    "running": 50,
    "processing": 50,
    "in_progress": 50,
    "text_success": 40,
    "first_success": 75,
}


class FinishedTask(BaseModel):
    """A task that ended successfully, with its outputs.

    Attributes:
        route: Route name.
        task_id: Gateway task id.
        digest: The step's journal digest.
        status: Terminal status.
        outputs: What it produced.
        snapshot: The final query response (for ids such as Suno ``audioId``).
    """

    route: str
    task_id: str
    digest: str
    status: str
    outputs: list[Output]
    snapshot: dict[str, Any]


def _mark_failed(store: AssetStore, submitted: SubmittedTask, status: str | None) -> None:
    """Record that ``submitted`` ended failed, so a re-run or resume submits afresh.

    Only the journal entry of that very task is changed (a newer attempt is left alone).
    """
    entry = journal.latest(store, submitted.digest)
    if (
        entry is not None
        and entry.task_id == submitted.task_id
        and entry.state in journal.IN_FLIGHT_STATES
    ):
        journal.save(store, entry.model_copy(update={"state": "failed", "error": status}))


def _without_callback_token(snapshot: dict[str, Any]) -> dict[str, Any]:
    """``snapshot`` with every known secret masked: Suno echoes the request (``param``),
    callback URL and its token included, and a FinishedTask travels on as a task or flow
    parameter, or a result."""
    masked: dict[str, Any] = scrub_value(snapshot)
    return masked


def outputs_of(spec: routes.RouteSpec, snapshot: Any, client: Any, task_id: str) -> list[Output]:
    """The outputs of a successful snapshot as serialisable references.

    Raises:
        TaskOutputMissingError: The snapshot lacks an output its route documents.
    """
    try:
        outputs = spec.outputs(snapshot, client)
    except routes.MissingOutput as exc:
        raise TaskOutputMissingError(
            task_id=task_id, status=snapshot.status, route=spec.name, missing=str(exc)
        ) from None
    return outputs


async def _finished_from_journal(
    store: AssetStore, submitted: SubmittedTask
) -> FinishedTask | None:
    entry = await asyncio.to_thread(journal.latest, store, submitted.digest)
    if entry is None or entry.state != "done" or entry.finished is None:
        return None
    return FinishedTask.model_validate(entry.finished)


async def _poll_until_done(
    run: RunConfig, submitted: SubmittedTask, spec: routes.RouteSpec, connection: Any
) -> tuple[Any, list[Output]]:
    """Poll (waking on callbacks) until the task ends; its final snapshot and outputs."""
    logger = get_run_logger()
    # The default growth keeps the detection lag within 10 % of the time already waited.
    schedule = PollSchedule(
        initial=run.initial_interval,
        max_interval=max(run.max_interval, run.initial_interval),
        deadline=max(run.remaining(), 1e-3),  # what is left: a retry never gets a fresh window
    )
    # Created with the first status seen (not at 0 before it: one call less per wait), and
    # not at all for a task that has ended by the first look: there is nothing to follow.
    progress: Any = None

    async def on_change(snapshot: TaskSnapshot) -> None:
        nonlocal progress
        logger.info("%s task %s: %s", submitted.route, submitted.task_id, snapshot.status)
        if not run.step_progress:
            return
        value = 100.0 if snapshot.is_terminal else _PROGRESS.get(snapshot.status.lower(), 50)
        description = f"{submitted.route} task {submitted.task_id}: {snapshot.status}"
        if progress is not None:
            await aupdate_progress_artifact(progress, value, description=description)
        elif not snapshot.is_terminal:
            progress = await acreate_progress_artifact(value, key=None, description=description)

    # One watcher per store and process wakes every wait (blocks.inbox_watch): no per-wait
    # inbox polling, so idle waits cost next to nothing however many there are.
    async with (
        watching(connection.store, submitted.task_id) as wake,
        connection.client() as client,
    ):
        snapshot = await wait_for_task(
            lambda: spec.query(client, submitted.task_id),
            task_id=submitted.task_id,
            schedule=schedule,
            on_change=on_change,
            wake=wake,
        )
        return snapshot, outputs_of(spec, snapshot, client, submitted.task_id)


@task(
    name="wait",
    task_run_name="wait {submitted.route} {submitted.task_id}",
    cache_policy=NO_CACHE,
    **RETRY_OPTIONS,
)
async def wait(run: RunConfig, submitted: SubmittedTask) -> FinishedTask:
    """Wait until the task ends; return its outputs or fail with the gateway's message.

    Args:
        run: The flow run's gateway, intent and deadline (this wait gets what is left of it).
        submitted: What :func:`tasks.submit.submit` returned.

    Raises:
        TaskFailedError: The task failed (Suno ``*_FAILED``, DashScope ``FAILED``/``UNKNOWN``...)
            or reported success without its documented output.
        TaskTimeoutError: The run's deadline passed; the message gives the resume command.
        TaskLostError: The gateway no longer knows the task and nothing of it is stored.
    """
    spec = routes.route(submitted.route)
    connection = await run.gateway.connect()
    store = connection.store
    if submitted.done:
        recorded = await _finished_from_journal(store, submitted)
        if recorded is not None:
            return recorded  # outputs stored and verified: no gateway call
    try:
        # The family's slot is held until the task is seen terminal. Not on a timeout: the
        # task still runs (a deferred run's look ends so, and suspends holding the slot); a
        # run that fails on its deadline frees it in its state hooks (tasks.cancel).
        async with limits.in_flight(
            run,
            store,
            spec.family,
            submitted.lease_id,
            digest=submitted.digest,
            task_id=submitted.task_id,
            terminal=(NotFoundError, TaskFailedError),
            leased_at=submitted.leased_at,  # None for a reused task: renewed first
        ):
            snapshot, outputs = await _poll_until_done(run, submitted, spec, connection)
    except TaskTimeoutError as exc:
        raise RunDeadlineError(
            exc, route=submitted.route, budget=run.deadline_seconds, resume=run.resume_command()
        ) from None
    except (NotFoundError, TaskFailedError) as exc:
        if isinstance(exc, NotFoundError) or (spec.lost_status and exc.status == spec.lost_status):
            # Not a failure of the task but a gateway that forgot it: paying again is the
            # user's decision (``tasks forget``), never an automatic resubmit.
            raise TaskLostError(
                task_id=submitted.task_id, route=submitted.route, digest=submitted.digest
            ) from None
        await asyncio.to_thread(_mark_failed, store, submitted, exc.error_message or exc.status)
        raise  # a failed task, or a success without its output: the next resume submits again
    dump = snapshot.model_dump(mode="json") if isinstance(snapshot, BaseModel) else {}
    return FinishedTask(
        route=submitted.route,
        task_id=submitted.task_id,
        digest=submitted.digest,
        status=snapshot.status,
        outputs=outputs,
        snapshot=_without_callback_token(dump),
    )
