"""Emulated Kling native routes: create, matching-route queries, results, errors (§10.4)."""

from __future__ import annotations

import base64
import io
import json

import httpx
import pytest
from PIL import Image

import anyint
from anyint import AnyIntClient
from emulator.app import EmulatorApp
from emulator.media import describe_image, png, probe
from tests._media import first_frame_colour

from .conftest import AUTH, NOW, one_stage_per_poll

PREFIX = "/transtreams/kling/v1"


_paced = one_stage_per_poll("kling")


def raw_png(seed: int) -> tuple[str, str]:
    """A PNG as raw base64 (Kling's format), and its dominant colour name."""
    data = png(400, 300, seed=seed)
    return base64.b64encode(data).decode(), describe_image(data).color_name


async def test_text2video_to_a_real_mp4(client: AnyIntClient, raw: httpx.AsyncClient) -> None:
    created = await client.kling.create_text2video(
        model_name="kling-v3",
        model="kling-v3",
        prompt="a red fox in snow",
        mode="std",
        duration="3",
        aspect_ratio="9:16",
        external_task_id="mine-1",
    )
    assert (created.code, created.message, created.status) == (0, "SUCCEED", "submitted")
    assert created.request_id and created.data.created_at
    assert created.data.task_info is not None
    assert created.data.task_info.external_task_id == "mine-1"
    seen: list[str] = []
    done = await client.kling.wait(
        created.task_id, schedule=NOW, on_change=lambda s: seen.append(s.status)
    )
    assert seen == ["processing", "succeed"]
    assert done.data.task_result is not None
    [video] = done.data.task_result.videos
    assert video.id and video.url
    facts = probe((await raw.get(video.url)).content)
    assert facts.video is not None
    assert (facts.video.codec, facts.video.width, facts.video.height) == ("h264", 180, 320)
    assert video.duration == f"{facts.duration:.3f}" == "3.000"
    assert done.data.updated_at is not None and done.data.created_at is not None
    assert done.data.updated_at >= done.data.created_at
    log = (await raw.get("/_emulator/calls")).json()["calls"]
    assert log[0]["created_task_id"] == created.task_id


async def test_image2video_takes_its_first_frame_from_the_image(
    client: AnyIntClient, raw: httpx.AsyncClient
) -> None:
    image, color = raw_png(5)
    created = await client.kling.create_image2video(
        model_name="kling-v3", prompt="the scene comes alive", image=image, duration=2
    )
    done = await client.kling.wait(created.task_id, route="image2video", schedule=NOW)
    [url] = done.video_urls
    assert first_frame_colour((await raw.get(url)).content) == color
    # Polled on another create route's GET, the task does not exist.
    with pytest.raises(anyint.NotFoundError, match="image2video"):
        await client.kling.get_text2video(created.task_id)


async def test_omni_video_and_audio(client: AnyIntClient, raw: httpx.AsyncClient) -> None:
    created = await client.kling.create_omni_video(
        model_name="kling-v3-omni", prompt="a drum solo", duration="3", generate_audio=True
    )
    done = await client.kling.wait(created.task_id, route="omni-video", schedule=NOW)
    facts = probe((await raw.get(done.video_urls[0])).content)
    assert facts.audio is not None and facts.duration == pytest.approx(3.0, abs=0.05)


async def test_image_tasks_make_pngs(client: AnyIntClient, raw: httpx.AsyncClient) -> None:
    created = await client.kling.create_image(
        model_name="kling-v2-1", prompt="a lighthouse", n=2, aspect_ratio="4:3"
    )
    done = await client.kling.wait(created.task_id, route="image", schedule=NOW)
    assert done.data.task_result is not None
    assert [i.index for i in done.data.task_result.images] == [0, 1]
    sizes = [Image.open(io.BytesIO((await raw.get(u)).content)).size for u in done.image_urls]
    assert sizes == [(1024, 768)] * 2
    omni = await client.kling.create_omni_image(
        model_name="kling-v3-omni", prompt="a kite", aspect_ratio="1:1", resolution="1k"
    )
    finished = await client.kling.wait(omni.task_id, route="omni-image", schedule=NOW)
    image = Image.open(io.BytesIO((await raw.get(finished.image_urls[0])).content))
    assert (image.format, image.size) == ("PNG", (1024, 1024))


async def test_unknown_task_is_404_in_the_kling_envelope(
    client: AnyIntClient, raw: httpx.AsyncClient
) -> None:
    response = await raw.get(f"{PREFIX}/videos/text2video/nope", headers=AUTH)
    assert response.status_code == 404
    body = response.json()
    assert body["code"] != 0 and "nope" in body["message"] and body["data"] is None
    await raw.post(
        "/_emulator/faults",
        json={"match": f"POST {PREFIX}/videos/text2video", "fault": "task_unknown"},
    )
    created = await client.kling.create_text2video(model_name="kling-v3", prompt="x")
    with pytest.raises(anyint.NotFoundError):
        await client.kling.wait(created.task_id, schedule=NOW)


async def test_task_failed_fault(client: AnyIntClient, raw: httpx.AsyncClient) -> None:
    await raw.post(
        "/_emulator/faults",
        json={"match": f"POST {PREFIX}/videos/text2video", "fault": "task_failed"},
    )
    created = await client.kling.create_text2video(model_name="kling-v3", prompt="x")
    with pytest.raises(anyint.TaskFailedError) as info:
        await client.kling.wait(created.task_id, schedule=NOW)
    assert info.value.status == "failed"
    assert "video generation failed" in (info.value.error_message or "")
    log = (await raw.get("/_emulator/calls")).json()["calls"]
    assert log[0]["created_task_id"] == created.task_id


async def test_callback_url_gets_each_change(
    client: AnyIntClient, app: EmulatorApp, raw: httpx.AsyncClient
) -> None:
    received: list[dict] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        received.append(json.loads(request.content))
        return httpx.Response(200)

    app.backend.callbacks.transport = httpx.MockTransport(receiver)
    created = await client.kling.create_text2video(
        model_name="kling-v3", prompt="x", duration=1, callback_url="https://hooks.example/k"
    )
    done = await client.kling.wait(created.task_id, schedule=NOW)
    await app.backend.callbacks.drain()
    assert [r["task_status"] for r in received] == ["processing", "succeed"]
    assert received[-1]["task_result"]["videos"][0]["url"] == done.video_urls[0]


@pytest.mark.parametrize(
    ("path", "body", "needle"),
    [
        ("videos/text2video", {"model_name": "nope", "prompt": "x"}, "nope"),
        ("videos/text2video", {"model_name": "kling-v2-1", "prompt": "x"}, "cannot produce video"),
        ("videos/text2video", {"model_name": "kling-v3"}, "prompt"),
        (
            "videos/text2video",
            {"model_name": "kling-v3", "prompt": "x", "duration": "5s"},
            "duration",
        ),
        (
            "videos/text2video",
            {"model_name": "kling-v3", "prompt": "x", "duration": 99},
            "duration",
        ),
        ("videos/image2video", {"model_name": "kling-v3", "prompt": "x"}, "image"),
        (
            "videos/image2video",
            {"model_name": "kling-v3", "prompt": "x", "image": "aGVsbG8="},
            "image: not a decodable image",
        ),
        (
            "videos/omni-video",
            {"model_name": "kling-v3-omni", "prompt": "x", "duration": "2"},
            "duration",
        ),
        ("images/generations", {"model_name": "kling-v3", "prompt": "x"}, "cannot produce image"),
        ("images/omni-image", {"model_name": "kling-v3-omni", "prompt": "x", "n": 10}, "n must"),
    ],
)
async def test_validation_is_400_in_the_kling_envelope(
    raw: httpx.AsyncClient, path: str, body: dict, needle: str
) -> None:
    response = await raw.post(f"{PREFIX}/{path}", json=body, headers=AUTH)
    assert response.status_code == 400, response.text
    error = response.json()
    assert set(error) == {"code", "message", "request_id", "data"} and error["code"] != 0
    assert needle in error["message"]


async def test_provider_fields_are_accepted_and_auth_is_required(raw: httpx.AsyncClient) -> None:
    body = {"model_name": "kling-v3", "prompt": "x", "camera_control": {"type": "simple"}}
    ok = await raw.post(f"{PREFIX}/videos/text2video", json=body, headers=AUTH)
    assert ok.status_code == 200 and ok.json()["code"] == 0
    denied = await raw.post(f"{PREFIX}/videos/text2video", json=body)
    assert denied.status_code == 401 and denied.json()["data"] is None
