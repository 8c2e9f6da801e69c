"""submit → wait → fetch against the emulator under a real Prefect server."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from prefect import flow

from emulator.media import probe
from tasks import AssetRecord, Gateway, SubmitInDoubtError, fetch, submit, wait
from tests.conftest import created_task_ids

BODY: dict[str, Any] = {
    "model": "wan2.6-t2v",
    "input": {"prompt": "a red kite over the sea"},
    "parameters": {"size": "320*180", "duration": 2},
}


@flow
async def video_flow(body: dict[str, Any], force_new: bool = False) -> list[AssetRecord]:
    submitted = await submit("dashscope.video-synthesis", body, force_new=force_new)
    finished = await wait(submitted, deadline_seconds=30, initial_interval=0.01, max_interval=0.05)
    return await fetch(finished, request=body, model=body["model"])


async def test_full_cycle_and_rerun_creates_nothing(
    gateway: Gateway, control: httpx.AsyncClient
) -> None:
    first = await video_flow(BODY)
    assert len(await created_task_ids(control)) == 1
    (asset,) = first
    with gateway.store.open(asset.key) as handle:
        data = handle.read()
    facts = probe(data)
    assert facts.video is not None and (facts.video.width, facts.video.height) == (320, 180)
    assert asset.bytes == len(data) and asset.kind == "video" and asset.task_id
    (manifest_key,) = [k for k in gateway.store.list("runs") if k.endswith("/manifest.json")]
    manifest = gateway.store.read_json(manifest_key)
    assert manifest["flow"] == "video-flow" and manifest["parameters"]["body"] == BODY
    (entry,) = manifest["assets"]
    assert (entry["sha256"], entry["uri"], entry["route"]) == (
        asset.sha256,
        asset.uri,
        "dashscope.video-synthesis",
    )
    assert entry["request"] == BODY and entry["content_type"] == "video/mp4"
    second = await video_flow(BODY)
    assert len(await created_task_ids(control)) == 1  # the re-run paid for nothing
    assert [a.sha256 for a in second] == [asset.sha256]


async def test_journal_alone_prevents_a_second_create(
    gateway: Gateway, control: httpx.AsyncClient
) -> None:
    body = {**BODY, "input": {"prompt": "journal only"}}
    await video_flow(body)
    # Forget Prefect's cached result: the store's submit journal still knows the task.
    await video_flow.with_options(name="video-flow-2")(body)  # type: ignore[arg-type]
    assert len(await created_task_ids(control)) == 1


async def test_ambiguous_create_is_never_resent(
    gateway: Gateway, control: httpx.AsyncClient
) -> None:
    body = {**BODY, "input": {"prompt": "dropped"}}
    await control.post(
        "/_emulator/faults",
        json={
            "match": "POST /dashscope/v1/services/aigc/video-generation/*",
            "fault": "drop_after",
        },
    )
    with pytest.raises(SubmitInDoubtError, match="force_new=True"):
        await video_flow(body)
    assert len(await created_task_ids(control)) == 1  # created once, answer lost
    with pytest.raises(SubmitInDoubtError):
        await video_flow(body)  # a plain re-run still refuses to pay again
    assert len(await created_task_ids(control)) == 1
    await video_flow(body, force_new=True)  # the deliberate resubmit
    assert len(await created_task_ids(control)) == 2


async def test_failed_task_is_resubmitted_once_on_rerun(
    gateway: Gateway, control: httpx.AsyncClient
) -> None:
    from anyint import TaskFailedError

    body = {**BODY, "input": {"prompt": "fails the first time"}}
    await control.post(
        "/_emulator/faults",
        json={
            "match": "POST /dashscope/v1/services/aigc/video-generation/*",
            "fault": "task_failed",
        },
    )
    with pytest.raises(TaskFailedError) as info:
        await video_flow(body)
    first = await created_task_ids(control)
    assert info.value.task_id == first[0]
    # The re-run must not hand back the failed task: it submits again, exactly once.
    (asset,) = await video_flow(body)
    created = await created_task_ids(control)
    assert len(created) == 2 and asset.task_id == created[1]
    # And a third run reuses the successful one.
    await video_flow(body)
    assert len(await created_task_ids(control)) == 2
