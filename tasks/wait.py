"""Wait for a gateway task: polls with backoff and a deadline, wakes early on a callback.

Never cached: a wait always asks the gateway (or the callback inbox) again, so a re-run after a
crash resumes waiting on the task id the submit step recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Awaitable
from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import acreate_progress_artifact, aupdate_progress_artifact
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel

from anyint import PollSchedule, TaskFailedError, TaskSnapshot, wait_for_task
from blocks import AssetStore

from . import routes
from ._gateway import current_gateway
from ._policy import RETRY_OPTIONS
from .submit import SubmittedTask, mark_failed

__all__ = ["FinishedTask", "OutputRef", "wait"]

#: How often the callback inbox is checked while waiting (cheap: one small read).
INBOX_INTERVAL = 0.05

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


class OutputRef(BaseModel):
    """One output of a finished task (its URL may expire; fetch re-queries then)."""

    name: str
    kind: str
    asset_kind: str
    url: str | None = None
    content: bytes | None = None
    audio_id: str | None = None


class FinishedTask(BaseModel):
    """A task that ended successfully, with its outputs.

    Attributes:
        route: Route name.
        task_id: Gateway task id.
        status: Terminal status.
        outputs: What it produced.
        snapshot: The final query response (for ids such as Suno ``audioId``).
    """

    route: str
    task_id: str
    status: str
    outputs: list[OutputRef]
    snapshot: dict[str, Any]


async def _watch_inbox(store: AssetStore, task_id: str, wake: asyncio.Event) -> None:
    from callbacks.inbox import terminal_record

    while not wake.is_set():
        if await asyncio.to_thread(terminal_record, store, task_id) is not None:
            wake.set()
            return
        await asyncio.sleep(INBOX_INTERVAL)


async def _wait_or_mark(submitted: SubmittedTask, waiting: Awaitable[Any]) -> Any:
    """Await the wait loop; a task that ended failed is marked so a re-run submits afresh."""
    try:
        return await waiting
    except TaskFailedError as exc:
        mark_failed(submitted, exc.status)
        raise


def _without_callback_token(snapshot: dict[str, Any]) -> dict[str, Any]:
    """``snapshot`` with the callback token masked: Suno echoes the request (``param``), callback
    URL included, and a FinishedTask travels on as a task or flow parameter, or a result."""
    token = os.environ.get("ANYINT_CALLBACK_TOKEN", "").strip()
    text = json.dumps(snapshot)
    if not token or token not in text:
        return snapshot
    masked: dict[str, Any] = json.loads(text.replace(token, "***"))  # URL-safe: JSON stays valid
    return masked


def outputs_of(spec: routes.RouteSpec, snapshot: Any, client: Any) -> list[OutputRef]:
    """The outputs of a successful snapshot as serialisable references."""
    return [OutputRef(**vars(o)) for o in spec.outputs(snapshot, client)]


@task(
    name="wait",
    task_run_name="wait {submitted.route} {submitted.task_id}",
    cache_policy=NO_CACHE,
    **RETRY_OPTIONS,
)
async def wait(
    submitted: SubmittedTask,
    deadline_seconds: float = 1800.0,
    initial_interval: float = 0.5,
    max_interval: float = 30.0,
) -> FinishedTask:
    """Wait until the task ends; return its outputs or fail with the gateway's message.

    Args:
        submitted: What :func:`tasks.submit.submit` returned.
        deadline_seconds: Overall time budget; the task id is kept on the timeout error.
        initial_interval: Shortest poll interval in seconds (used while little time has passed).
        max_interval: Cap on the poll interval.

    Raises:
        TaskFailedError: The task failed (Suno ``*_FAILED``, DashScope ``FAILED``/``UNKNOWN``...).
        TaskTimeoutError: The deadline passed; waiting again with the same id is safe.
    """
    spec = routes.route(submitted.route)
    gateway = current_gateway()
    logger = get_run_logger()
    # The default growth keeps the detection lag within 10 % of the time already waited.
    schedule = PollSchedule(
        initial=initial_interval,
        max_interval=max(max_interval, initial_interval),
        deadline=deadline_seconds,
    )
    progress = await acreate_progress_artifact(
        0.0, key=None, description=f"{submitted.route} task {submitted.task_id}"
    )

    async def on_change(snapshot: TaskSnapshot) -> None:
        logger.info("%s task %s: %s", submitted.route, submitted.task_id, snapshot.status)
        value = 100.0 if snapshot.is_terminal else _PROGRESS.get(snapshot.status.lower(), 50)
        await aupdate_progress_artifact(
            progress, value, description=f"{submitted.task_id}: {snapshot.status}"
        )

    wake = asyncio.Event()
    watcher = asyncio.create_task(_watch_inbox(gateway.store, submitted.task_id, wake))
    try:
        async with gateway.client() as client:
            snapshot = await _wait_or_mark(
                submitted,
                wait_for_task(
                    lambda: spec.query(client, submitted.task_id),
                    task_id=submitted.task_id,
                    schedule=schedule,
                    on_change=on_change,
                    wake=wake,
                ),
            )
            outputs = outputs_of(spec, snapshot, client)
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
    dump = snapshot.model_dump(mode="json") if isinstance(snapshot, BaseModel) else {}
    dump = _without_callback_token(dump)
    return FinishedTask(
        route=submitted.route,
        task_id=submitted.task_id,
        status=snapshot.status,
        outputs=outputs,
        snapshot=dump,
    )
