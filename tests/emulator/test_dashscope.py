"""Emulated DashScope: sync images, video-synthesis tasks and task queries (§10.1-10.3)."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator

import dashscope
import httpx
import pytest
from PIL import Image

import anyint
from anyint import AnyIntClient
from anyint.types.dashscope import DashScopeImageParams
from emulator.media import describe_image, png, probe
from emulator.server import ThreadedEmulatorServer
from tests._media import first_frame_colour

from .conftest import AUTH, EMULATOR_KEY, NOW, one_stage_per_poll

IMAGE = "/dashscope/v1/services/aigc/multimodal-generation/generation"
VIDEO = "/dashscope/v1/services/aigc/video-generation/video-synthesis"


_paced = one_stage_per_poll("dashscope")


def data_url(color_seed: int) -> tuple[str, str]:
    """A PNG as a data URL, and the colour name the emulator sees in it."""
    data = png(64, 48, seed=color_seed)
    return "data:image/png;base64," + base64.b64encode(data).decode(), describe_image(
        data
    ).color_name


# -- image generation ------------------------------------------------------------------------------


async def test_image_default_size_is_a_real_png(
    client: AnyIntClient, raw: httpx.AsyncClient
) -> None:
    result = await client.dashscope.generate_image(
        model="qwen-image-plus",
        input={"messages": [{"role": "user", "content": [{"text": "A neon city poster"}]}]},
    )
    assert result.usage is not None
    assert (result.usage.width, result.usage.height, result.usage.image_count) == (1328, 1328, 1)
    assert result.request_id
    [url] = result.image_urls
    image = Image.open(io.BytesIO((await raw.get(url)).content))
    assert (image.format, image.size) == ("PNG", (1328, 1328))


async def test_image_size_and_count_are_honoured(
    client: AnyIntClient, raw: httpx.AsyncClient
) -> None:
    params = DashScopeImageParams.from_prompt(
        "qwen-image-plus", "a fox", size="1664*928", n=2, seed=7
    )
    result = await client.dashscope.generate_image(params)
    assert result.usage is not None and result.usage.image_count == 2
    pictures = [(await raw.get(url)).content for url in result.image_urls]
    assert [Image.open(io.BytesIO(p)).size for p in pictures] == [(1664, 928)] * 2
    assert pictures[0] != pictures[1]
    again = await client.dashscope.generate_image(params)
    assert again.image_urls == result.image_urls  # same request, same assets


@pytest.mark.parametrize(
    ("body", "code", "needle"),
    [
        ({"model": "nope", "input": {"messages": [{"content": "x"}]}}, "model_not_found", "nope"),
        ({"model": "wan2.6-t2v", "input": {"messages": [{"content": "x"}]}}, None, "image"),
        ({"model": "qwen-image-plus"}, "invalid_request", "input"),
        (
            {
                "model": "qwen-image-plus",
                "input": {"messages": [{"content": [{"text": "x"}]}]},
                "parameters": {"size": "1328x1328"},
            },
            "invalid_request",
            "parameters.size",
        ),
        ({"model": "qwen-image-plus", "input": {"messages": [{"content": []}]}}, None, "prompt"),
    ],
)
async def test_image_errors_use_the_dashscope_envelope(
    raw: httpx.AsyncClient, body: dict, code: str | None, needle: str
) -> None:
    response = await raw.post(IMAGE, json=body, headers=AUTH)
    assert response.status_code == 400
    error = response.json()
    assert set(error) == {"request_id", "code", "message"}
    assert needle in error["message"]
    if code:
        assert error["code"] == code


async def test_missing_key_is_401_in_dashscope_envelope(raw: httpx.AsyncClient) -> None:
    response = await raw.post(IMAGE, json={})
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_api_key"


# -- video tasks -----------------------------------------------------------------------------------


async def test_video_task_runs_to_a_real_mp4(client: AnyIntClient, raw: httpx.AsyncClient) -> None:
    created = await client.dashscope.create_video_task(
        model="wan2.6-t2v", input={"prompt": "a cat surfing"}
    )
    assert created.status == "PENDING"
    seen: list[str] = []
    done = await client.dashscope.wait(
        created.task_id, schedule=NOW, on_change=lambda s: seen.append(s.status)
    )
    assert seen == ["RUNNING", "SUCCEEDED"]
    out = done.output
    assert out.submit_time and out.scheduled_time and out.end_time
    assert out.submit_time <= out.scheduled_time <= out.end_time
    assert out.orig_prompt == "a cat surfing" and out.actual_prompt
    assert done.usage is not None
    assert (done.usage.duration, done.usage.video_count, done.usage.sr) == (5, 1, 480)
    assert done.video_url is not None
    facts = probe((await raw.get(done.video_url)).content)
    assert facts.video is not None
    assert (facts.video.codec, facts.video.width, facts.video.height) == ("h264", 320, 180)
    assert facts.duration == pytest.approx(5.0, abs=0.01)
    log = (await raw.get("/_emulator/calls")).json()["calls"]
    assert log[0]["path"] == VIDEO and log[0]["created_task_id"] == created.task_id


async def test_exact_size_duration_and_first_frame(
    client: AnyIntClient, raw: httpx.AsyncClient
) -> None:
    image, color = data_url(11)
    created = await client.dashscope.create_video_task(
        model="wan2.6-i2v",
        input={"prompt": "waves", "img_url": image},
        parameters={"size": "640*360", "duration": 2, "audio": True},
    )
    done = await client.dashscope.wait(created.task_id, schedule=NOW)
    assert done.usage is not None and done.usage.sr == 360
    assert done.video_url is not None
    mp4 = (await raw.get(done.video_url)).content
    facts = probe(mp4)
    assert facts.video is not None and facts.audio is not None
    assert (facts.video.width, facts.video.height) == (640, 360)
    assert facts.duration == pytest.approx(2.0, abs=0.05)
    assert first_frame_colour(mp4) == color


async def test_resolution_maps_to_a_small_frame_and_sr(
    client: AnyIntClient, raw: httpx.AsyncClient
) -> None:
    created = await client.dashscope.create_video_task(
        model="wan2.6-t2v",
        input={"prompt": "rain"},
        parameters={"resolution": "1080P", "duration": 1},
    )
    done = await client.dashscope.wait(created.task_id, schedule=NOW)
    assert done.usage is not None and done.usage.sr == 1080
    assert done.video_url is not None
    facts = probe((await raw.get(done.video_url)).content)
    assert facts.video is not None
    assert facts.video.width / facts.video.height == pytest.approx(16 / 9, abs=0.01)


async def test_create_without_async_header(raw: httpx.AsyncClient) -> None:
    response = await raw.post(
        VIDEO, json={"model": "wan2.6-t2v", "input": {"prompt": "x"}}, headers=AUTH
    )
    assert response.status_code == 200
    assert response.json()["output"]["task_status"] == "PENDING"
    assert response.json()["request_id"]


async def test_unknown_task_is_unknown_with_http_200(
    client: AnyIntClient, raw: httpx.AsyncClient
) -> None:
    response = await raw.get("/dashscope/v1/tasks/no-such-task", headers=AUTH)
    assert response.status_code == 200
    assert response.json()["output"] == {"task_id": "no-such-task", "task_status": "UNKNOWN"}
    await raw.post("/_emulator/faults", json={"match": f"POST {VIDEO}", "fault": "task_unknown"})
    created = await client.dashscope.create_video_task(model="wan2.6-t2v", input={"prompt": "x"})
    with pytest.raises(anyint.TaskFailedError) as info:
        await client.dashscope.wait(created.task_id, schedule=NOW)
    assert info.value.status == "UNKNOWN"


async def test_task_failed_fault(client: AnyIntClient, raw: httpx.AsyncClient) -> None:
    await raw.post("/_emulator/faults", json={"match": f"POST {VIDEO}", "fault": "task_failed"})
    created = await client.dashscope.create_video_task(model="wan2.6-t2v", input={"prompt": "x"})
    with pytest.raises(anyint.TaskFailedError) as info:
        await client.dashscope.wait(created.task_id, schedule=NOW)
    assert (info.value.status, info.value.error_code) == ("FAILED", "InternalError")
    assert "video generation failed" in (info.value.error_message or "")
    failed = await client.dashscope.get_task(created.task_id)
    assert failed.video_url is None and failed.output.end_time


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"model": "qwen-image-plus", "input": {"prompt": "x"}}, "cannot produce video"),
        ({"model": "wan2.6-i2v", "input": {"prompt": "x"}}, "img_url"),
        ({"model": "wan2.6-t2v", "input": {"prompt": "x", "img_url": "https://e/x.png"}}, "img"),
        ({"model": "wan2.6-t2v", "input": {}}, "prompt"),
        ({"model": "wan2.6-i2v", "input": {"img_url": "data:image/png;base64,aGk="}}, "image"),
        (
            {"model": "wan2.6-t2v", "input": {"prompt": "x"}, "parameters": {"size": "641*360"}},
            "even",
        ),
        (
            {"model": "wan2.6-t2v", "input": {"prompt": "x"}, "parameters": {"duration": 0}},
            "parameters.duration",
        ),
        (
            {"model": "wan2.6-t2v", "input": {"prompt": "x"}, "parameters": {"resolution": "4K"}},
            "resolution",
        ),
    ],
)
async def test_video_validation_is_400(raw: httpx.AsyncClient, body: dict, needle: str) -> None:
    response = await raw.post(VIDEO, json=body, headers=AUTH)
    assert response.status_code == 400, response.text
    assert needle in response.json()["message"]


# -- the official dashscope SDK over a socket ------------------------------------------------------


@pytest.fixture
def sdk(server: ThreadedEmulatorServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The SDK pointed at the threaded emulator (its URLs are ``base_http_api_url`` + path)."""
    monkeypatch.setattr(dashscope, "base_http_api_url", f"{server.base_url}/dashscope/v1")
    httpx.post(
        f"{server.base_url}/_emulator/timing", json={"family": "dashscope", "after_polls": 1}
    ).raise_for_status()
    yield server.base_url


def test_sdk_multimodal_conversation_makes_an_image(sdk: str) -> None:
    response = dashscope.MultiModalConversation.call(
        model="qwen-image-plus",
        api_key=EMULATOR_KEY,
        messages=[{"role": "user", "content": [{"text": "a red kite"}]}],
        size="1024*768",
        watermark=False,
    )
    assert response.status_code == 200, response
    url = response.output.choices[0].message.content[0]["image"]
    assert response.usage["width"] == 1024
    image = Image.open(io.BytesIO(httpx.get(url).content))
    assert image.size == (1024, 768)


def test_sdk_video_synthesis_waits_to_success(sdk: str) -> None:
    response = dashscope.VideoSynthesis.call(
        model="wan2.6-t2v", prompt="a paper boat", api_key=EMULATOR_KEY, size="320*240", duration=1
    )
    assert response.status_code == 200, response
    assert response.output.task_status == "SUCCEEDED"
    facts = probe(httpx.get(response.output.video_url).content)
    assert facts.video is not None and (facts.video.width, facts.video.height) == (320, 240)
    assert facts.duration == pytest.approx(1.0, abs=0.1)


def test_sdk_sees_errors_and_unknown_tasks(sdk: str) -> None:
    bad = dashscope.VideoSynthesis.async_call(model="nope", prompt="x", api_key=EMULATOR_KEY)
    assert (bad.status_code, bad.code) == (400, "model_not_found")
    unknown = dashscope.VideoSynthesis.fetch("no-such-task", api_key=EMULATOR_KEY)
    assert unknown.output.task_status == "UNKNOWN"
