"""Wait for a gateway task and store its outputs, as one task run.

:func:`tasks.wait.wait` and :func:`tasks.assets.fetch` stay separate tasks for anyone composing
steps; the built-in flows run them back to back in one task run (through
:func:`flows._defer.finish_step`). Each task run costs the Prefect server three state events
and the orchestrator an engine round: at 50 pipelines on two cores, one task run less per step
took the Prefect server's CPU from 73 to 60 s and the wall time from 1.43x to 1.39x the
critical path (``benchmarks/concurrency.py``, one run each; noise about 0.03). A retry of it
waits again (one query of a task that has ended, or none once its outputs are stored) and
stores what is still missing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel

from ._policy import RETRY_OPTIONS
from .assets import AssetRecord, fetch
from .routes import Output
from .run import RunConfig
from .submit import SubmittedTask
from .wait import FinishedTask, wait

__all__ = ["Collected", "picked", "wait_and_fetch"]


class Collected(BaseModel):
    """A finished task and its stored outputs.

    Attributes:
        finished: What :func:`tasks.wait.wait` returned (every output, also those not stored).
        records: The stored assets.
    """

    finished: FinishedTask
    records: list[AssetRecord]


def picked(
    finished: FinishedTask, pick: Callable[[FinishedTask], list[Output]] | None
) -> FinishedTask:
    """``finished`` with only the outputs ``pick`` chooses (all when None)."""
    return finished if pick is None else finished.model_copy(update={"outputs": pick(finished)})


@task(
    name="wait-and-fetch",
    task_run_name="wait-and-fetch {submitted.route} {submitted.task_id}",
    cache_policy=NO_CACHE,
    **RETRY_OPTIONS,
)
async def wait_and_fetch(
    run: RunConfig,
    submitted: SubmittedTask,
    request: dict[str, Any] | None = None,
    model: str | None = None,
    pick: Callable[[FinishedTask], list[Output]] | None = None,
) -> Collected:
    """:func:`tasks.wait.wait`, then :func:`tasks.assets.fetch` of what it returned.

    Args:
        run: The flow run's gateway, intent and deadline (shared by the wait and the fetch).
        submitted: What :func:`tasks.submit.submit` returned.
        request: The request body, for the manifest.
        model: Model id, for the manifest.
        pick: Chooses the outputs to store (all when None), e.g. the chosen lyric variant; a
            module-level function, so the task still runs on a Dask worker.

    Raises:
        Whatever :func:`tasks.wait.wait` or :func:`tasks.assets.fetch` raises.
    """
    finished: FinishedTask = await wait.fn(run, submitted)
    to_store = picked(finished, pick)
    records: list[AssetRecord] = await fetch.fn(run, to_store, request=request, model=model)
    return Collected(finished=finished, records=records)
