"""The steps of the fault matrix as small Prefect flows: one task route (submit → wait → fetch)
or one sync route per flow run, with the retry delays that tell a recovery from a fail-fast row,
and the parent song that AI Music follow-ups build on."""

from __future__ import annotations

import asyncio
from typing import Any

from prefect import flow

from anyint import DEFAULT_MAX_DOWNLOAD_BYTES, PollSchedule
from anyint.types.suno_requests import PLACEHOLDER_CALLBACK_URL
from blocks import AssetStore
from flows import start_run
from tasks import GatewayConfig, fetch, submit, wait
from tasks.generation import dashscope_image, gemini_image
from tasks.understanding import describe_images
from tests._media import data_url, png_bytes

#: Seconds a Prefect retry waits in rows that must fail fast: a retry there (which must not
#: happen) shows as a run far longer than ``FAIL_FAST_SECONDS``, whatever the machine's load.
RETRY_TELLTALE = 30.0
#: Below this a failing row cannot have been retried by Prefect.
FAIL_FAST_SECONDS = 10.0
#: The run's waiting budget and first poll interval in these flows.
DEADLINE_SECONDS = 20.0
POLL_INTERVAL = 0.01
# Rows that must recover retry at once; rows that must fail fast retry (if ever) very late.
# Retry counts and retry conditions stay the product's own.
_FAST = {"retry_delay_seconds": 0}
_SLOW = {"retry_delay_seconds": RETRY_TELLTALE}
_QUICK = tuple(t.with_options(**_FAST) for t in (submit, wait, fetch))
_PLAIN = tuple(t.with_options(**_SLOW) for t in (submit, wait, fetch))
_SYNC = {"anthropic": describe_images, "gemini": gemini_image, "dashscope-image": dashscope_image}
_SYNC_QUICK = {name: t.with_options(**_FAST) for name, t in _SYNC.items()}
_SYNC_PLAIN = {name: t.with_options(**_SLOW) for name, t in _SYNC.items()}
#: Every download of a task step gets this total budget (1 s + 1 s for the default 2 GiB cap),
#: so a trickling one fails well within ``FAIL_FAST_SECONDS``; the emulator's assets take ms.
DOWNLOAD_BUDGET_SECONDS = 2.0
#: The saved store block the task steps run with: the environment's store (``ANYINT_STORE``,
#: pinned per run as any store) with that budget, set the way a user sets it.
STORE_BLOCK = "reliability-store"


async def _store_block() -> str:
    store = AssetStore(
        download_base_seconds=DOWNLOAD_BUDGET_SECONDS / 2,
        download_min_bytes_per_second=DEFAULT_MAX_DOWNLOAD_BYTES / (DOWNLOAD_BUDGET_SECONDS / 2),
    )
    await store.asave(STORE_BLOCK, overwrite=True)
    return STORE_BLOCK


@flow(name="reliability-task-step")
async def task_step(
    route: str,
    body: dict[str, Any],
    pause: float = 0.0,
    quick: bool = True,
    idempotency_key: str | None = None,
    deadline_seconds: float = DEADLINE_SECONDS,
) -> dict[str, Any]:
    """submit → wait → fetch of one task route; ``pause`` lets asset URLs expire before fetch."""
    do_submit, do_wait, do_fetch = _QUICK if quick else _PLAIN
    run = await start_run(
        {
            "route": route,
            "body": body,
            "idempotency_key": idempotency_key,
            "deadline_seconds": deadline_seconds,
            "poll_interval": POLL_INTERVAL,
            "store_block": await _store_block(),
        }
    )
    submitted = await do_submit(run, route, body)
    finished = await do_wait(run, submitted)
    if pause:
        await asyncio.sleep(pause)
    records = await do_fetch(run, finished, request=body, model=body.get("model"))
    return {"submitted": submitted, "finished": finished, "records": records}


@flow(name="reliability-sync-step")
async def sync_step(step: str, quick: bool = True) -> dict[str, Any]:
    """One sync route call through its Prefect task."""
    tasks = _SYNC_QUICK if quick else _SYNC_PLAIN
    run = await start_run({"step": step, "poll_interval": POLL_INTERVAL})
    if step == "anthropic":
        image = data_url(png_bytes())
        answer = await tasks["anthropic"](run, [image], "What is this?", "claude-sonnet-4-6")
        return {"answer": answer, "records": []}
    if step.startswith("gemini"):
        records = await tasks["gemini"](
            run, "a lighthouse", "gemini-3.1-flash-image-preview", stream=step == "gemini-stream"
        )
    else:
        records = await tasks["dashscope-image"](run, "a poster", "qwen-image-plus", size="328*200")
    return {"records": records}


PARENT_PROMPT = "a parent song for follow-ups"


async def make_parent(gateway: GatewayConfig) -> dict[str, str]:
    """A finished song (outside Prefect): ``task_id`` and the first track's ``audio_id``."""
    schedule = PollSchedule(initial=0.01, max_interval=0.05, deadline=20)
    async with (await gateway.connect()).client() as client:
        created = await client.suno.generate(
            custom_mode=False,
            instrumental=False,
            model="V5",
            prompt=PARENT_PROMPT,
            call_back_url=PLACEHOLDER_CALLBACK_URL,
        )
        done = await client.suno.wait(created.task_id, schedule=schedule)
    return {"task_id": created.task_id, "audio_id": done.tracks[0].id}


def fill(body: dict[str, Any], parent: dict[str, str]) -> dict[str, Any]:
    """``body`` with ``{task_id}``/``{audio_id}`` replaced from the parent song."""
    return {k: v.format(**parent) if isinstance(v, str) else v for k, v in body.items()}
