"""``generate-video`` end to end against the emulator: submit → wait → fetch, stored MP4s."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from emulator.media import MediaFacts, probe
from flows.generate_video import generate_video
from tasks import AssetRecord
from tests._media import data_url, first_frame_colour, png_bytes
from tests.conftest import EmulatedGateway, created_task_ids, paid_calls
from tests.flows.conftest import Refusal


@pytest.fixture(autouse=True)
async def instant_tasks(control: httpx.AsyncClient) -> AsyncIterator[None]:
    """Video tasks finish at the first poll, so no test waits for the poll backoff."""
    for family in ("dashscope", "kling"):
        await control.post("/_emulator/timing", json={"family": family, "after_seconds": 0})
    yield


def stored_mp4(gateway: EmulatedGateway, record: AssetRecord) -> tuple[bytes, MediaFacts]:
    """The stored file, after checking it against its manifest entry."""
    data = gateway.read(record.key)
    assert hashlib.sha256(data).hexdigest() == record.sha256 and len(data) == record.bytes
    facts = probe(data)
    assert facts.video is not None and facts.video.codec == "h264"
    return data, facts


async def test_dashscope_text_to_video_then_a_shared_key_pays_nothing(
    gateway: EmulatedGateway, control: httpx.AsyncClient
) -> None:
    first = await generate_video(prompt="a red kite over the sea", duration=2, idempotency_key="k")
    assert (first.route, first.model, first.reused) == (
        "dashscope.video-synthesis",
        "wan2.6-t2v",
        False,
    )
    (record,) = first.videos
    _, facts = stored_mp4(gateway, record)
    assert facts.duration == pytest.approx(2, abs=0.2)
    assert record.task_id == first.task_id and record.content_type == "video/mp4"
    manifest = gateway.store.read_json(first.manifest_key)
    assert manifest["flow"] == "generate-video"
    assert manifest["parameters"]["prompt"] == "a red kite over the sea"
    (entry,) = manifest["assets"]
    assert (entry["sha256"], entry["route"], entry["model"]) == (
        record.sha256,
        "dashscope.video-synthesis",
        "wan2.6-t2v",
    )
    assert await created_task_ids(control) == [first.task_id]

    second = await generate_video(prompt="a red kite over the sea", duration=2, idempotency_key="k")
    assert await created_task_ids(control) == [first.task_id]  # nothing paid twice
    assert second.reused and second.task_id == first.task_id
    assert [r.sha256 for r in second.videos] == [record.sha256]


async def test_runs_with_no_parameters(gateway: EmulatedGateway) -> None:
    result = await generate_video()
    _, facts = stored_mp4(gateway, result.videos[0])
    assert facts.duration == pytest.approx(5, abs=0.2)


async def test_kling_image_to_video_from_a_local_first_frame(
    gateway: EmulatedGateway, control: httpx.AsyncClient, input_dir: Path
) -> None:
    (input_dir / "frame.png").write_bytes(png_bytes((220, 20, 20), (320, 320)))
    result = await generate_video(
        prompt="the red square wakes", route="kling", image="frame.png", duration=3
    )
    assert (result.route, result.model) == ("kling.image2video", "kling-v3")
    calls = await paid_calls(control)
    assert [c["path"] for c in calls] == ["/transtreams/kling/v1/videos/image2video"]
    (record,) = result.videos
    data, facts = stored_mp4(gateway, record)
    assert facts.duration == pytest.approx(3, abs=0.2)
    assert first_frame_colour(data) == "red"  # the emulator read the frame it was sent
    assert record.request is not None
    assert record.request["image"].startswith("<inline image")  # no base64 blob in the manifest


async def test_kling_text_to_video(gateway: EmulatedGateway, control: httpx.AsyncClient) -> None:
    result = await generate_video(prompt="fireflies", route="kling", duration=2)
    assert result.route == "kling.text2video"
    stored_mp4(gateway, result.videos[0])
    assert len(await created_task_ids(control)) == 1


async def test_dashscope_image_to_video_from_a_data_url(gateway: EmulatedGateway) -> None:
    image = data_url(png_bytes((20, 160, 60), (64, 64)))
    result = await generate_video(prompt="grass in the wind", image=image, duration=1)
    assert result.model == "wan2.6-i2v"  # the image-to-video default
    data, _ = stored_mp4(gateway, result.videos[0])
    assert first_frame_colour(data) == "green"


BLUE_FRAME = data_url(png_bytes((0, 0, 255), (32, 32)))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model": "no-such-model"}, "parameter 'model'.*no-such-model"),
        ({"model": "qwen-image-plus"}, "parameter 'model'.*qwen-image-plus"),
        ({"route": "kling", "model": "wan2.6-t2v"}, "parameter 'model'.*wan2.6-t2v"),
        ({"model": "wan2.6-t2v", "image": BLUE_FRAME}, "parameter 'model'.*image"),
        ({"duration": 0}, "parameter 'duration'"),
        ({"duration": 16}, "parameter 'duration'"),
        ({"prompt": "x" * 2501}, "parameter 'prompt'"),
        ({"image": "ftp://example.com/a.png"}, "image: ftp"),
        ({"image": "../outside.png"}, "image: .*outside the allowed folder"),
        ({"image": "missing.png"}, "image: no such file"),
        ({"route": "videos"}, "parameter 'route'"),
    ],
)
async def test_bad_parameters_fail_before_any_paid_call(
    refused: Refusal, kwargs: dict[str, Any], message: str
) -> None:
    await refused(generate_video, kwargs, message)
