"""``generate-video`` on its newer routes (``kling-omni``, ``openai``) and options (aspect ratio,
mode, audio), end to end against the emulator; bad input refused before any paid call."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from flows.generate_video import generate_video
from tests._media import data_url, first_frame_colour, png_bytes
from tests.conftest import EmulatedGateway, created_task_ids, paid_calls
from tests.flows.conftest import Refusal
from tests.flows.test_generate_video import stored_mp4

GREEN_FRAME = data_url(png_bytes((20, 160, 60), (320, 320)))


@pytest.fixture(autouse=True)
async def instant_tasks(control: httpx.AsyncClient) -> AsyncIterator[None]:
    """Video tasks finish at the first poll, so no test waits for the poll backoff."""
    for family in ("dashscope", "kling", "videos"):
        await control.post("/_emulator/timing", json={"family": family, "after_seconds": 0})
    yield


async def _paths(control: httpx.AsyncClient) -> list[str]:
    return [c["path"] for c in await paid_calls(control)]


async def test_kling_omni_from_a_local_first_frame(
    gateway: EmulatedGateway, control: httpx.AsyncClient, input_dir: Path
) -> None:
    (input_dir / "frame.png").write_bytes(png_bytes((220, 20, 20), (320, 320)))
    result = await generate_video(
        prompt="the red square wakes", route="kling-omni", image="frame.png", duration=3
    )
    assert (result.route, result.model) == ("kling.omni-video", "kling-v3-omni")
    assert await _paths(control) == ["/transtreams/kling/v1/videos/omni-video"]
    (record,) = result.videos
    data, facts = stored_mp4(gateway, record)
    assert facts.duration == pytest.approx(3, abs=0.2)
    assert first_frame_colour(data) == "red"  # sent as the first_frame of image_list
    assert record.request is not None
    (ref,) = record.request["image_list"]
    assert ref["type"] == "first_frame" and ref["image_url"].startswith("<inline image")


async def test_openai_route_text_to_video_in_portrait(
    gateway: EmulatedGateway, control: httpx.AsyncClient
) -> None:
    result = await generate_video(
        prompt="a lift going up", route="openai", duration=1, aspect_ratio="9:16", mode="pro"
    )
    assert (result.route, result.model) == ("videos.create", "kling-3.0")
    paths = await _paths(control)
    assert paths == ["/openai/v1/videos"]
    (record,) = result.videos
    _, facts = stored_mp4(gateway, record)
    assert facts.video is not None and facts.video.width < facts.video.height
    assert record.request == {
        "model": "kling-3.0",
        "prompt": "a lift going up",
        "duration": 1,
        "aspect_ratio": "9:16",
        "mode": "pro",
    }


async def test_openai_route_takes_an_inline_first_frame(gateway: EmulatedGateway) -> None:
    result = await generate_video(
        prompt="grass in the wind", route="openai", image=GREEN_FRAME, duration=1
    )
    data, _ = stored_mp4(gateway, result.videos[0])
    assert first_frame_colour(data) == "green"  # sent as input_reference (a data URL)
    request = result.videos[0].request
    assert request is not None and "image" not in request
    assert request["input_reference"].startswith("<inline image")


async def test_options_reach_each_route_in_its_own_words(
    gateway: EmulatedGateway, control: httpx.AsyncClient
) -> None:
    kling = await generate_video(prompt="fireflies", route="kling", duration=1, audio=True)
    assert kling.videos[0].request is not None
    assert (kling.videos[0].request["mode"], kling.videos[0].request["sound"]) == ("std", "on")
    wan = await generate_video(prompt="dunes", duration=1, aspect_ratio="1:1", audio=False)
    assert wan.videos[0].request is not None
    assert wan.videos[0].request["parameters"] == {"duration": 1, "size": "960*960", "audio": False}
    _, facts = stored_mp4(gateway, wan.videos[0])
    assert facts.video is not None and facts.video.width == facts.video.height


async def test_a_shared_key_on_the_omni_route_pays_once(
    gateway: EmulatedGateway, control: httpx.AsyncClient
) -> None:
    params: dict[str, Any] = {"route": "kling-omni", "duration": 3, "idempotency_key": "omni"}
    first = await generate_video(**params)
    second = await generate_video(**params)
    assert await created_task_ids(control) == [first.task_id]
    assert second.reused and [r.sha256 for r in second.videos] == [first.videos[0].sha256]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"route": "kling-omni", "model": "kling-v3"}, "parameter 'model'.*kling-omni.*Omni"),
        ({"route": "kling", "model": "kling-v3-omni"}, "parameter 'model'.*route 'kling-omni'"),
        ({"route": "openai", "model": "wan2.6-t2v"}, "parameter 'model'.*wan2.6-t2v"),
        ({"route": "openai", "model": "kling-v2-1"}, "parameter 'model'.*kling-v2-1"),
        ({"route": "kling-omni", "duration": 2}, r"parameter 'duration'.*3\.\.15"),
        ({"mode": "pro"}, "parameter 'mode'.*dashscope"),
        ({"route": "kling", "mode": "turbo"}, "parameter 'mode'"),
        ({"route": "openai", "aspect_ratio": "4:3"}, "parameter 'aspect_ratio'"),
        (
            {"route": "kling-omni", "image": GREEN_FRAME, "aspect_ratio": "16:9", "duration": 3},
            "parameter 'aspect_ratio'.*first frame",
        ),
        ({"route": "openai", "audio": "loud"}, "parameter 'audio'"),
        ({"route": "kling-omni", "image": "../x.png", "duration": 3}, "image: .*outside"),
        ({"route": "sora"}, "parameter 'route'"),
    ],
)
async def test_bad_route_options_fail_before_any_paid_call(
    refused: Refusal, kwargs: dict[str, Any], message: str
) -> None:
    await refused(generate_video, kwargs, message)
