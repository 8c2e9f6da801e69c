"""Emulated OpenAI-style videos: create, status, content download (§10.5)."""

from __future__ import annotations

import io

import httpx
import pytest
from PIL import Image

import anyint
from anyint import AnyIntClient
from emulator.media import probe

from .conftest import AUTH, NOW

PATH = "/openai/v1/videos"


async def timing(raw: httpx.AsyncClient, polls: int) -> None:
    await raw.post("/_emulator/timing", json={"family": "videos", "after_polls": polls})


async def test_create_wait_download(client: AnyIntClient, raw: httpx.AsyncClient) -> None:
    await timing(raw, 2)
    video = await client.videos.create(model="kling-3.0", prompt="a fox", duration=2)
    assert (video.object, video.status, video.progress) == ("video", "queued", 0)
    assert video.id.startswith("video_") and video.created_at
    assert (video.seconds, video.size, video.model) == ("2", "320x180", "kling-3.0")
    progress: list[tuple[str, float | None]] = []
    done = await client.videos.wait(
        video.id, schedule=NOW, on_change=lambda v: progress.append((v.status, v.progress))
    )
    assert [s for s, _ in progress] == ["queued", "in_progress", "completed"]
    assert done.progress == 100 and done.completed_at and done.error is None
    sink = io.BytesIO()
    result = await client.videos.download_content(video.id, sink)
    assert result.content_type == "video/mp4" and result.bytes == len(sink.getvalue())
    facts = probe(sink.getvalue())
    assert facts.video is not None
    assert (facts.video.codec, facts.video.width, facts.video.height) == ("h264", 320, 180)
    assert facts.duration == pytest.approx(2.0, abs=0.05)
    log = (await raw.get("/_emulator/calls")).json()["calls"]
    assert log[0]["created_task_id"] == video.id


async def test_progress_climbs_while_in_progress(
    client: AnyIntClient, raw: httpx.AsyncClient
) -> None:
    await timing(raw, 4)
    video = await client.videos.create(model="kling-v3-omni", prompt="x", duration=1)
    seen = [(await client.videos.retrieve(video.id)) for _ in range(8)]
    values = [(v.status, v.progress) for v in seen]
    assert values[0] == ("queued", 0)
    middle = [p for s, p in values if s == "in_progress"]
    assert middle and all(0 < (p or 0) < 100 for p in middle) and middle == sorted(middle)
    assert values[-1] == ("completed", 100)


async def test_openai_size_and_seconds_are_honoured(raw: httpx.AsyncClient) -> None:
    await timing(raw, 1)
    created = await raw.post(
        PATH,
        json={"model": "kling-3.0", "prompt": "x", "seconds": "1", "size": "480x272"},
        headers=AUTH,
    )
    video_id = created.json()["id"]
    assert (created.json()["seconds"], created.json()["size"]) == ("1", "480x272")
    for _ in range(2):
        await raw.get(f"{PATH}/{video_id}", headers=AUTH)
    content = await raw.get(f"{PATH}/{video_id}/content", headers=AUTH)
    assert content.headers["content-type"] == "video/mp4"
    facts = probe(content.content)
    assert facts.video is not None and (facts.video.width, facts.video.height) == (480, 272)
    thumb = await raw.get(f"{PATH}/{video_id}/content?variant=thumbnail", headers=AUTH)
    assert Image.open(io.BytesIO(thumb.content)).size == (480, 272)


async def test_content_before_completion_is_409(
    client: AnyIntClient, raw: httpx.AsyncClient
) -> None:
    await timing(raw, 50)
    video = await client.videos.create(model="kling-3.0", prompt="x")
    with pytest.raises(anyint.ConflictError):
        await client.videos.download_content(video.id, io.BytesIO())
    response = await raw.get(f"{PATH}/{video.id}/content", headers=AUTH)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "video_not_ready"
    assert "is queued" in response.json()["error"]["message"]


async def test_unknown_ids_are_404(client: AnyIntClient, raw: httpx.AsyncClient) -> None:
    for path in (f"{PATH}/video_nope", f"{PATH}/video_nope/content"):
        response = await raw.get(path, headers=AUTH)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "video_not_found"
    await raw.post("/_emulator/faults", json={"match": f"POST {PATH}", "fault": "task_unknown"})
    video = await client.videos.create(model="kling-3.0", prompt="x")
    with pytest.raises(anyint.NotFoundError):
        await client.videos.retrieve(video.id)


async def test_task_failed_fault(client: AnyIntClient, raw: httpx.AsyncClient) -> None:
    await timing(raw, 1)
    await raw.post("/_emulator/faults", json={"match": f"POST {PATH}", "fault": "task_failed"})
    video = await client.videos.create(model="kling-3.0", prompt="x")
    with pytest.raises(anyint.TaskFailedError) as info:
        await client.videos.wait(video.id, schedule=NOW)
    assert (info.value.status, info.value.error_code) == ("failed", "video_generation_failed")
    assert "video generation failed" in (info.value.error_message or "")
    response = await raw.get(f"{PATH}/{video.id}/content", headers=AUTH)
    assert response.status_code == 409 and "failed" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ({"model": "nope", "prompt": "x"}, 400, "nope"),
        ({"model": "kling-v3", "prompt": "x"}, 400, "videos route family"),
        ({"model": "kling-3.0"}, 400, "prompt"),
        ({"model": "kling-3.0", "prompt": "x", "duration": "five"}, 400, "duration"),
        ({"model": "kling-3.0", "prompt": "x", "seconds": "0"}, 400, "seconds"),
        ({"model": "kling-3.0", "prompt": "x", "duration": 2, "seconds": "3"}, 400, "disagree"),
        ({"model": "kling-3.0", "prompt": "x", "size": "1281x720"}, 400, "even"),
        ({"model": "kling-3.0", "prompt": "x", "aspect_ratio": "10:1"}, 400, "aspect_ratio"),
        ({"model": "kling-3.0", "prompt": "x", "image": "ftp://x"}, 400, "image"),
        (
            {"model": "kling-3.0", "prompt": "x", "input_reference": "data:image/png;base64,aGk="},
            400,
            "input_reference",
        ),
    ],
)
async def test_validation_is_400_in_the_openai_envelope(
    raw: httpx.AsyncClient, body: dict, status: int, needle: str
) -> None:
    response = await raw.post(PATH, json=body, headers=AUTH)
    assert response.status_code == status, response.text
    assert needle in response.json()["error"]["message"]


async def test_auth_is_required(raw: httpx.AsyncClient) -> None:
    response = await raw.post(PATH, json={"model": "kling-3.0", "prompt": "x"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"
