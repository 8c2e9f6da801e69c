"""What the end of a flow run does to the gateway tasks and slots it still holds.

The flows' state hooks (installed by :func:`flows._params.checked_flow`) call these:

- **Failed, crashed or completed**: every concurrency lease the run still holds is released
  (:func:`tasks.limits.release_run`), so a slot never waits for its TTL. The journal is left
  as it is: a resume waits on the tasks it recorded.
- **Cancelled** (Prefect UI or ``prefect flow-run cancel``): the gateway tasks the run owns are
  cancelled where the contract documents a cancel route (:data:`CANCEL_ROUTES`). It documents
  none for the task families (§3: the only cancel route is row 15's OpenAI batches; DashScope
  lists a ``CANCELED`` state but no route to reach it, §10.3), so each task still in flight is
  marked ``abandoned`` in the journal, its slot is released, and a ``<flow>-cancelled``
  markdown artifact on the run says they may still complete and bill. The next run or resume
  of the same intent adopts them: it waits on the recorded task id instead of paying again.

Under a worker, Prefect runs ``on_cancellation`` hooks in the *worker* process (it loads the
flow from the deployment's entrypoint after stopping the run's process), and ``on_crashed``
where the crash is seen; so a hook finds the run's store from the run's ``store_block``
parameter, or else the ``ANYINT_STORE`` of the process it runs in.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from prefect import get_client
from prefect.logging import get_logger

from blocks import AssetStore
from blocks.inbox import Family

from . import journal, limits

__all__ = ["CANCEL_ROUTES", "abandon_run", "on_cancelled", "on_ended"]

#: Documented cancel route per task family (None: the contract has none, so tasks are
#: abandoned). A route documented later goes here and is called instead of abandoning.
CANCEL_ROUTES: dict[Family, str | None] = {
    "suno": None,
    "dashscope": None,
    "kling": None,
    "videos": None,
}

_logger = get_logger("anyint.cancel")


async def _store_of(flow_run: Any) -> AssetStore:
    name = (flow_run.parameters or {}).get("store_block")
    if name:
        return await AssetStore.aload(name)
    return AssetStore()


def _abandon(store: AssetStore, records: list[dict[str, Any]], why: str) -> list[dict[str, Any]]:
    """Mark the in-flight tasks of ``records`` abandoned; the journal entries changed."""
    abandoned = []
    for record in records:
        digest = record.get("digest")
        entry = journal.latest(store, digest) if digest else None
        if entry is None or entry.state != "created" or entry.task_id is None:
            continue  # finished, never created, or a sync call: nothing left on the gateway
        entry = entry.model_copy(update={"state": "abandoned", "error": why})
        journal.save(store, entry)
        abandoned.append(entry.summary())
    return abandoned


def summary_markdown(flow_name: str, flow_run_id: str, abandoned: list[dict[str, Any]]) -> str:
    """The cancelled run's summary: which tasks may still complete and bill."""
    lines = [f"# {flow_name}: cancelled", ""]
    if not abandoned:
        return "\n".join([*lines, "No gateway task was in flight."])
    lines += [
        f"{len(abandoned)} gateway task(s) were in flight. The gateway documents no cancel "
        "route for them, so they **may still complete and bill**. They are marked `abandoned` "
        f"in the journal: `anyint-flows run {flow_name} --resume {flow_run_id}` (or a run "
        "with the same `idempotency_key`) adopts them and pays nothing again.",
        "",
        "| route | task | digest |",
        "|---|---|---|",
    ]
    lines += [f"| {a['route']} | `{a['task_id']}` | `{a['digest'][:16]}` |" for a in abandoned]
    return "\n".join(lines)


async def abandon_run(store: AssetStore, flow_name: str, flow_run_id: str) -> list[dict[str, Any]]:
    """Abandon the run's in-flight tasks, release its slots, publish the summary artifact.

    Returns:
        The journal summaries of the abandoned tasks.
    """
    from prefect.client.schemas.actions import ArtifactCreate

    records = await asyncio.to_thread(limits.run_leases, store, flow_run_id)
    why = f"flow run {flow_run_id} was cancelled while the task was in flight"
    abandoned = await asyncio.to_thread(_abandon, store, records, why)
    await limits.release_run(store, flow_run_id)
    key = re.sub(r"[^a-z0-9-]+", "-", flow_name.lower()).strip("-") + "-cancelled"
    async with get_client() as client:
        await client.create_artifact(
            ArtifactCreate(
                key=key,
                type="markdown",
                data=summary_markdown(flow_name, flow_run_id, abandoned),
                description=f"{flow_name}: cancelled, {len(abandoned)} task(s) abandoned",
                flow_run_id=flow_run_id,
            )
        )
    return abandoned


async def on_cancelled(flow: Any, flow_run: Any, state: Any) -> None:
    """``on_cancellation`` hook: :func:`abandon_run` for this flow run."""
    store = await _store_of(flow_run)
    abandoned = await abandon_run(store, flow.name, str(flow_run.id))
    _logger.info("flow run %s cancelled: %d task(s) abandoned", flow_run.id, len(abandoned))


async def on_ended(flow: Any, flow_run: Any, state: Any) -> None:
    """``on_failure``/``on_crashed``/``on_completion`` hook: release the run's leases."""
    store = await _store_of(flow_run)
    released = await limits.release_run(store, str(flow_run.id))
    if released:
        _logger.info("flow run %s ended: %d slot(s) released", flow_run.id, len(released))
