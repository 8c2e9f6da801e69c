"""The Kling task routes ``kling.omni-video``, ``kling.image`` and ``kling.omni-image`` at task
level: submit → wait → fetch against the emulator, real media stored, a resume paying nothing."""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from PIL import Image
from prefect import flow, get_client

from anyint import TaskFailedError
from emulator.media import probe
from flows import start_run
from tasks import AssetRecord, TaskOutputMissingError, fetch, submit, wait
from tests._media import first_frame_colour, png_bytes
from tests.conftest import EmulatedGateway, call_log, created_task_ids, resume_flow_run

RED_FRAME = base64.b64encode(png_bytes((220, 20, 20), (320, 320))).decode()


@pytest.fixture(autouse=True)
async def instant_tasks(control: httpx.AsyncClient) -> AsyncIterator[None]:
    """Kling tasks finish at the first poll, so no test waits for the poll backoff."""
    await control.post("/_emulator/timing", json={"family": "kling", "after_seconds": 0})
    yield


@flow
async def kling_flow(
    route: str, body: dict[str, Any], fail_after_wait: bool = False
) -> list[AssetRecord]:
    run = await start_run({"deadline_seconds": 30, "poll_interval": 0.01})
    submitted = await submit(run, route, body)
    finished = await wait(run, submitted)
    if fail_after_wait:
        raise RuntimeError("the worker died before the fetch")
    return await fetch(run, finished, request=body, model=body["model_name"])


def _stored(gateway: EmulatedGateway, record: AssetRecord) -> bytes:
    data = gateway.read(record.key)
    assert hashlib.sha256(data).hexdigest() == record.sha256 and len(data) == record.bytes
    return data


def _png(gateway: EmulatedGateway, record: AssetRecord) -> Image.Image:
    image = Image.open(io.BytesIO(_stored(gateway, record)))
    assert image.format == "PNG" and record.kind == "image"
    return image


async def test_omni_video_from_a_first_frame(
    gateway: EmulatedGateway, control: httpx.AsyncClient
) -> None:
    body = {
        "model_name": "kling-v3-omni",
        "prompt": "the red square wakes, <<<image_1>>>",
        "duration": "3",
        "image_list": [{"image_url": RED_FRAME, "type": "first_frame"}],
    }
    (record,) = await kling_flow("kling.omni-video", body)
    calls = [c["path"] for c in await call_log(control) if c["method"] == "POST"]
    assert calls == ["/transtreams/kling/v1/videos/omni-video"]
    data = _stored(gateway, record)
    facts = probe(data)
    assert facts.video is not None and facts.duration == pytest.approx(3, abs=0.2)
    assert first_frame_colour(data) == "red"  # the emulator read the frame it was sent
    assert (record.route, record.kind, record.content_type) == (
        "kling.omni-video",
        "video",
        "video/mp4",
    )
    assert record.key.startswith("assets/kling/") and record.key.endswith("/video-1.mp4")


async def test_image_route_stores_every_image(
    gateway: EmulatedGateway, control: httpx.AsyncClient
) -> None:
    body = {"model_name": "kling-v2-1", "prompt": "a lantern", "n": 2, "aspect_ratio": "1:1"}
    records = await kling_flow("kling.image", body)
    assert [r.key.rsplit("/", 1)[-1] for r in records] == ["image-1.png", "image-2.png"]
    images = [_png(gateway, r) for r in records]
    assert [i.size for i in images] == [(1024, 1024)] * 2  # 1k, square
    assert records[0].sha256 != records[1].sha256  # two images, not one twice
    assert len(await created_task_ids(control)) == 1


async def test_omni_image_route_passes_its_own_fields(gateway: EmulatedGateway) -> None:
    body = {
        "model_name": "kling-v3-omni",
        "prompt": "a lantern, wide",
        "aspect_ratio": "16:9",  # not modelled by the client: passed through (§17 item 17)
        "image_list": [{"image_url": RED_FRAME}],
    }
    (record,) = await kling_flow("kling.omni-image", body)
    width, height = _png(gateway, record).size
    assert (width, height) == (1024, 576)
    assert record.request is not None and record.request["aspect_ratio"] == "16:9"


async def test_a_resume_creates_nothing_twice(
    gateway: EmulatedGateway, control: httpx.AsyncClient
) -> None:
    body = {"model_name": "kling-v2-1", "prompt": "a resumed lantern"}
    state = await kling_flow("kling.image", body, fail_after_wait=True, return_state=True)
    assert state.is_failed()
    (task_id,) = await created_task_ids(control)
    flow_run_id = state.state_details.flow_run_id
    assert flow_run_id is not None
    async with get_client() as client:  # the resumed run gets past the failure this time
        stored = await client.read_flow_run(flow_run_id)
        parameters = {**stored.parameters, "fail_after_wait": False}
        await client.update_flow_run(flow_run_id, parameters=parameters)
    resumed = await resume_flow_run(kling_flow, flow_run_id)
    (record,) = await resumed.aresult()
    assert record.task_id == task_id and _png(gateway, record).size == (1024, 576)
    assert await created_task_ids(control) == [task_id]  # the same task, paid once


async def test_a_resume_after_the_fetch_needs_no_gateway_call(
    gateway: EmulatedGateway, control: httpx.AsyncClient
) -> None:
    body = {"model_name": "kling-v3-omni", "prompt": "a stored lantern"}
    state = await kling_flow("kling.omni-image", body, return_state=True)
    (first,) = await state.aresult()
    await control.post("/_emulator/reset", json={})  # the gateway forgets every task
    resumed = await resume_flow_run(kling_flow, state.state_details.flow_run_id)
    (again,) = await resumed.aresult()
    assert (again.task_id, again.sha256) == (first.task_id, first.sha256)
    assert await call_log(control) == []  # not a create, not a query, not a download


@pytest.mark.parametrize("route", ["kling.image", "kling.omni-image"])
async def test_a_success_without_images_is_an_error(
    gateway: EmulatedGateway, control: httpx.AsyncClient, route: str
) -> None:
    model = "kling-v2-1" if route == "kling.image" else "kling-v3-omni"
    await control.post(
        "/_emulator/faults", json={"match": "POST /transtreams/*", "fault": "task_no_output"}
    )
    state = await kling_flow(route, {"model_name": model, "prompt": "nothing"}, return_state=True)
    with pytest.raises(TaskOutputMissingError, match="task_result images"):
        await state.aresult()


async def test_a_bad_body_is_refused_before_anything_is_sent(
    gateway: EmulatedGateway, control: httpx.AsyncClient
) -> None:
    body = {"model_name": "kling-v3-omni", "prompt": "too long", "duration": "20"}
    state = await kling_flow("kling.omni-video", body, return_state=True)
    with pytest.raises(ValueError, match=r"duration must be 3\.\.15"):
        await state.aresult()
    assert await call_log(control) == []


async def test_a_failed_task_fails_the_wait(
    gateway: EmulatedGateway, control: httpx.AsyncClient
) -> None:
    await control.post(
        "/_emulator/faults", json={"match": "POST /transtreams/*", "fault": "task_failed"}
    )
    body = {"model_name": "kling-v2-1", "prompt": "a failing lantern"}
    state = await kling_flow("kling.image", body, return_state=True)
    with pytest.raises(TaskFailedError):
        await state.aresult()
