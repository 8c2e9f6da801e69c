"""OpenAI-style videos: create, retrieve, wait and download content (§10.5)."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

import anyint
from anyint import AmbiguousSubmitError, AnyIntClient, PollSchedule, TaskFailedError
from anyint.types.videos import VideoCreateParams, VideoObject, VideoStatus

from .conftest import BASE_URL, TEST_KEY, Recorder

MakeClient = Callable[..., AnyIntClient]
FIXTURES = Path(__file__).parent.parent / "contract" / "fixtures" / "videos"
FAST = PollSchedule(initial=0, factor=1, max_interval=0, deadline=5)
VIDEO_ID = "video_68d7512d07848190b3e45da0ecbebcde"
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100


def body(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())["body"]


def ok(data: Any, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=data)


def video(status: str, **fields: Any) -> dict[str, Any]:
    return {"id": VIDEO_ID, "object": "video", "status": status, **fields}


def sent(request: httpx.Request) -> Any:
    return json.loads(request.content)


def assert_names(exc: ValidationError, field: str) -> None:
    """The error names ``field`` in its location or states the rule in its message."""
    errors = exc.errors()
    assert any(field in [str(p) for p in e["loc"]] or field in e["msg"] for e in errors), errors


# -- create ---------------------------------------------------------------------------------------


async def test_create(make_client: MakeClient) -> None:
    rec = Recorder(ok(body("video_queued")))
    created = await make_client(rec).videos.create(**body("create_request"))
    (request,) = rec.requests
    assert request.method == "POST"
    assert str(request.url) == f"{BASE_URL}/openai/v1/videos"
    assert request.headers["authorization"] == f"Bearer {TEST_KEY}"
    assert request.headers["content-type"] == "application/json"
    assert sent(request) == body("create_request")
    assert (created.id, created.task_id, created.status) == (VIDEO_ID, VIDEO_ID, "queued")
    assert created.status_enum is VideoStatus.QUEUED


async def test_create_from_params_with_keyword_override(make_client: MakeClient) -> None:
    rec = Recorder(ok(body("video_queued")))
    params = VideoCreateParams.model_validate(body("create_request_omni"))
    await make_client(rec).videos.create(params, duration=10)
    assert sent(rec.requests[0]) == {**body("create_request_omni"), "duration": 10}


BASE = {"model": "kling-3.0", "prompt": "a fox"}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"prompt": "a fox"}, "model"),
        ({"model": "kling-3.0"}, "prompt"),
        ({**BASE, "prompt": ""}, "prompt"),
        ({**BASE, "duration": "five"}, "duration"),
        ({**BASE, "duration": 0}, "duration"),
        ({**BASE, "duration": 5.5}, "duration"),
        ({**BASE, "aspect_ratio": "wide"}, "aspect_ratio"),
        ({**BASE, "mode": "ultra"}, "mode"),
        ({**BASE, "generate_audio": "yes"}, "generate_audio"),
        ({**BASE, "sound": "loud"}, "sound"),
        ({**BASE, "image": "data:image/png;base64,AAAA"}, "image"),
        ({**BASE, "image": "ftp://x.test/a.png"}, "image"),
        ({**BASE, "input_reference": "a.png"}, "input_reference"),
        ({**BASE, "frame_images": []}, "frame_images"),
        ({**BASE, "frame_images": [{"url": "https://x.test/a.png"}]}, "exactly one of role"),
        (
            {
                **BASE,
                "frame_images": [{"url": "https://x.test/a.png", "role": "a", "frame_type": "a"}],
            },
            "exactly one of role",
        ),
        ({**BASE, "frame_images": [{"url": "/a.png", "role": "first_frame"}]}, "url"),
        ({**BASE, "seconds": "5"}, "seconds"),  # OpenAI's own field name is not AnyInt's
    ],
)
async def test_bad_create_is_refused_before_io(
    make_client: MakeClient, kwargs: dict[str, Any], field: str
) -> None:
    rec = Recorder(ok(body("video_queued")))
    with pytest.raises(ValidationError) as info:
        await make_client(rec).videos.create(**kwargs)
    assert_names(info.value, field)
    assert rec.requests == []


async def test_create_that_drops_after_sending_is_not_resent(make_client: MakeClient) -> None:
    rec = Recorder(httpx.ReadTimeout("connection dropped"), ok(body("video_queued")))
    with pytest.raises(AmbiguousSubmitError):
        await make_client(rec).videos.create(**BASE)
    assert len(rec.requests) == 1


async def test_create_error_envelope(make_client: MakeClient) -> None:
    rec = Recorder(ok(body("error_invalid_api_key"), 401))
    with pytest.raises(anyint.AuthenticationError) as info:
        await make_client(rec).videos.create(**BASE)
    assert (info.value.error_code, info.value.message) == (
        "invalid_api_key",
        "Invalid or missing API key",
    )


# -- retrieve and statuses ------------------------------------------------------------------------


async def test_retrieve(make_client: MakeClient) -> None:
    rec = Recorder(ok(body("video_completed")))
    snap = await make_client(rec).videos.retrieve(VIDEO_ID)
    (request,) = rec.requests
    assert request.method == "GET"
    assert str(request.url) == f"{BASE_URL}/openai/v1/videos/{VIDEO_ID}"
    assert request.headers["authorization"] == f"Bearer {TEST_KEY}"
    assert (snap.is_terminal, snap.is_success) == (True, True)
    assert (snap.progress, snap.seconds, snap.size, snap.completed_at) == (
        100,
        "5",
        "1280x720",
        1758941785,
    )


@pytest.mark.parametrize(
    ("status", "terminal", "success"),
    [
        ("queued", False, False),
        ("in_progress", False, False),
        ("completed", True, True),
        ("failed", True, False),
        ("cancelled", True, False),
        ("canceled", True, False),
        ("expired", True, False),
        ("rendering", False, False),  # an unknown state parses and keeps the loop polling
    ],
)
def test_status_table(status: str, terminal: bool, success: bool) -> None:
    snap = VideoObject.model_validate(video(status))
    assert snap.status == status
    assert (snap.is_terminal, snap.is_success) == (terminal, success)
    assert snap.status_enum == (None if status == "rendering" else VideoStatus(status))


def test_error_fields_and_third_party_shape() -> None:
    failed = VideoObject.model_validate(body("video_failed"))
    assert (failed.error_code, failed.error_message) == (
        "moderation_blocked",
        "The prompt was blocked by the content policy",
    )
    assert VideoObject.model_validate(video("expired")).error_message == "video job expired"
    assert VideoObject.model_validate(video("in_progress")).error_message is None
    adapter = VideoObject.model_validate({"task_id": "task_1", "status": "completed"})
    assert (adapter.id, adapter.task_id) == ("task_1", "task_1")


@pytest.mark.parametrize("bad", ["", "a/b", "..", "x?y", "x#y"])
async def test_bad_video_id_is_refused_before_io(make_client: MakeClient, bad: str) -> None:
    rec = Recorder(ok(video("queued")))
    client = make_client(rec)
    with pytest.raises(ValueError, match="video_id"):
        await client.videos.retrieve(bad)
    with pytest.raises(ValueError, match="video_id"):
        await client.videos.download_content(bad, io.BytesIO())
    with pytest.raises(ValueError, match="video_id"):
        await client.videos.wait(bad, schedule=FAST)
    assert rec.requests == []


# -- wait -----------------------------------------------------------------------------------------


async def test_wait_reaches_success(make_client: MakeClient) -> None:
    rec = Recorder(ok(video("queued")), ok(video("in_progress")), ok(body("video_completed")))
    seen: list[str] = []
    done = await make_client(rec).videos.wait(
        VIDEO_ID, schedule=FAST, on_change=lambda v: seen.append(v.status)
    )
    assert done.is_success
    assert seen == ["queued", "in_progress", "completed"]
    assert [r.url.path for r in rec.requests] == [f"/openai/v1/videos/{VIDEO_ID}"] * 3


async def test_wait_raises_on_failure_with_gateway_message(make_client: MakeClient) -> None:
    rec = Recorder(ok(video("in_progress")), ok(body("video_failed")))
    with pytest.raises(TaskFailedError) as info:
        await make_client(rec).videos.wait(VIDEO_ID, schedule=FAST)
    err = info.value
    assert (err.task_id, err.status, err.error_code) == (VIDEO_ID, "failed", "moderation_blocked")
    assert err.error_message == "The prompt was blocked by the content policy"


@pytest.mark.parametrize("status", ["cancelled", "expired"])
async def test_wait_treats_cancelled_and_expired_as_failed(
    make_client: MakeClient, status: str
) -> None:
    rec = Recorder(ok(video(status)))
    with pytest.raises(TaskFailedError, match=status):
        await make_client(rec).videos.wait(VIDEO_ID, schedule=FAST)
    assert len(rec.requests) == 1


# -- download -------------------------------------------------------------------------------------


async def test_download_content(make_client: MakeClient) -> None:
    rec = Recorder(httpx.Response(200, content=MP4, headers={"content-type": "video/mp4"}))
    sink = io.BytesIO()
    result = await make_client(rec).videos.download_content(VIDEO_ID, sink)
    (request,) = rec.requests
    assert request.method == "GET"
    assert str(request.url) == f"{BASE_URL}/openai/v1/videos/{VIDEO_ID}/content"
    assert request.headers["authorization"] == f"Bearer {TEST_KEY}"  # gateway URL: key sent
    assert sink.getvalue() == MP4
    assert (result.bytes, result.content_type) == (len(MP4), "video/mp4")
    assert result.sha256 == hashlib.sha256(MP4).hexdigest()


async def test_download_refuses_non_video_and_oversize(make_client: MakeClient) -> None:
    page = httpx.Response(200, content=b"<html>", headers={"content-type": "text/html"})
    with pytest.raises(anyint.DownloadError, match="video"):
        await make_client(Recorder(page)).videos.download_content(VIDEO_ID, io.BytesIO())
    big = httpx.Response(200, content=MP4, headers={"content-type": "video/mp4"})
    with pytest.raises(anyint.DownloadError, match="cap"):
        await make_client(Recorder(big)).videos.download_content(
            VIDEO_ID, io.BytesIO(), max_bytes=10
        )


async def test_download_before_completion_is_a_status_error(make_client: MakeClient) -> None:
    rec = Recorder(ok({"error": {"message": "not ready", "type": "invalid_request_error"}}, 404))
    with pytest.raises(anyint.NotFoundError):
        await make_client(rec).videos.download_content(VIDEO_ID, io.BytesIO())
