"""DashScope: sync images, video-synthesis tasks, task queries and waiting (§10.1-10.3)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

import anyint
from anyint import AmbiguousSubmitError, AnyIntClient, PollSchedule, TaskFailedError
from anyint.types.dashscope import (
    DashScopeImageParams,
    DashScopeTask,
    DashScopeTaskStatus,
    DashScopeVideoParams,
)

from .conftest import BASE_URL, TEST_KEY, Recorder

MakeClient = Callable[..., AnyIntClient]
FIXTURES = Path(__file__).parent.parent / "contract" / "fixtures" / "dashscope"
FAST = PollSchedule(initial=0, factor=1, max_interval=0, deadline=5)
TASK_ID = "0385dc79-5ff8-4d82-bcb6-xxxxxx"


def body(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())["body"]


def ok(data: Any, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=data)


def task(status: str, **output: Any) -> dict[str, Any]:
    return {"request_id": "r", "output": {"task_id": TASK_ID, "task_status": status, **output}}


def sent(request: httpx.Request) -> Any:
    return json.loads(request.content)


def assert_names(exc: ValidationError, field: str) -> None:
    """The error names ``field`` in its location or states the rule in its message."""
    errors = exc.errors()
    assert any(field in [str(p) for p in e["loc"]] or field in e["msg"] for e in errors), errors


# -- image generation -----------------------------------------------------------------------------


async def test_generate_image_request_and_response(make_client: MakeClient) -> None:
    rec = Recorder(ok(body("image_response")))
    client = make_client(rec)
    result = await client.dashscope.generate_image(**body("image_request"))
    (request,) = rec.requests
    assert request.method == "POST"
    assert str(request.url) == (
        f"{BASE_URL}/dashscope/v1/services/aigc/multimodal-generation/generation"
    )
    assert request.headers["authorization"] == f"Bearer {TEST_KEY}"
    assert request.headers["content-type"] == "application/json"
    assert "x-dashscope-async" not in request.headers  # sync route: no task header
    assert sent(request) == body("image_request")
    assert result.image_urls == [
        "https://dashscope-result-sh.oss-cn-shanghai.aliyuncs.com/7d/a1/result.png?Expires=1758870000"
    ]
    assert result.usage is not None and (result.usage.width, result.usage.image_count) == (1328, 1)
    assert result.request_id == "12bc3915-8f2e-9d6a-b7c4-5e6f7a8b9c0d"


async def test_generate_image_from_prompt_and_keyword_override(make_client: MakeClient) -> None:
    rec = Recorder(ok(body("image_response")))
    params = DashScopeImageParams.from_prompt(
        "qwen-image-edit", "Make it purple", images=["https://x.test/a.png"], seed=7
    )
    await make_client(rec).dashscope.generate_image(params, model="qwen-image-edit-plus")
    assert sent(rec.requests[0]) == {
        "model": "qwen-image-edit-plus",
        "input": {
            "messages": [
                {
                    "role": "user",
                    "content": [{"image": "https://x.test/a.png"}, {"text": "Make it purple"}],
                }
            ]
        },
        "parameters": {"seed": 7},
    }


async def test_empty_output_gives_no_urls(make_client: MakeClient) -> None:
    result = await make_client(Recorder(ok({"request_id": "r"}))).dashscope.generate_image(
        DashScopeImageParams.from_prompt("qwen-image-plus", "x")
    )
    assert result.image_urls == []


def _image(**parameters: Any) -> dict[str, Any]:
    return {
        "model": "qwen-image-plus",
        "input": {"messages": [{"role": "user", "content": [{"text": "p"}]}]},
        "parameters": parameters,
    }


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        (_image(size="1328x1328"), "size"),
        (_image(size="0*10"), "size"),
        (_image(negative_prompt="n" * 501), "negative_prompt"),
        (_image(n=0), "n"),
        (_image(seed=-1), "seed"),
        (_image(seed=2147483648), "seed"),
        (_image(watermark="false"), "watermark"),
        (_image(steps=4), "steps"),
        ({**_image(), "model": ""}, "model"),
        ({**_image(), "input": {"messages": []}}, "messages"),
        ({**_image(), "input": {"messages": [{"role": "assistant", "content": []}]}}, "role"),
        ({**_image(), "input": {"messages": [{"role": "user", "content": []}]}}, "content"),
        (
            {**_image(), "input": {"messages": [{"content": [{"image": "ftp://x/a.png"}]}]}},
            "image",
        ),
        ({"model": "qwen-image-plus"}, "input"),
    ],
)
async def test_bad_image_request_is_refused_before_io(
    make_client: MakeClient, kwargs: dict[str, Any], field: str
) -> None:
    rec = Recorder(ok(body("image_response")))
    with pytest.raises(ValidationError) as info:
        await make_client(rec).dashscope.generate_image(**kwargs)
    assert_names(info.value, field)
    assert rec.requests == []


async def test_native_error_body_maps_to_status_error(make_client: MakeClient) -> None:
    rec = Recorder(ok(body("error_invalid_parameter"), 400))
    with pytest.raises(anyint.BadRequestError) as info:
        await make_client(rec).dashscope.generate_image(**body("image_request"))
    err = info.value
    assert err.error_code == "InvalidParameter"
    assert err.message == "The size is not match the allowed size"
    assert err.request_id == "7f3c2a10-1b2c-9d8e-a0b1-c2d3e4f5a6b7"
    assert len(rec.requests) == 1  # 400 is never retried


# -- video tasks ----------------------------------------------------------------------------------


async def test_create_video_task(make_client: MakeClient) -> None:
    rec = Recorder(ok(body("video_task_created")))
    created = await make_client(rec).dashscope.create_video_task(
        DashScopeVideoParams.model_validate(body("video_request_i2v"))
    )
    (request,) = rec.requests
    assert request.method == "POST"
    assert request.url.path == "/dashscope/v1/services/aigc/video-generation/video-synthesis"
    assert request.headers["x-dashscope-async"] == "enable"
    assert request.headers["authorization"] == f"Bearer {TEST_KEY}"
    assert sent(request) == body("video_request_i2v")
    assert (created.task_id, created.status) == (TASK_ID, "PENDING")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"parameters": {"resolution": "720p"}}, "resolution"),
        ({"parameters": {"size": "1280x720"}}, "size"),
        ({"parameters": {"duration": 0}}, "duration"),
        ({"parameters": {"duration": True}}, "duration"),
        ({"parameters": {"shot_type": "double"}}, "shot_type"),
        ({"parameters": {"seed": 2**31}}, "seed"),
        ({"input": {}}, "prompt, an img_url or media"),
        ({"input": {"prompt": "p", "audio_url": "data:audio/mp3;base64,AA=="}}, "audio_url"),
        ({"input": {"img_url": "/local/cat.png"}}, "img_url"),
        ({"input": {"prompt": "p", "negative_prompt": "n" * 501}}, "negative_prompt"),
        ({"input": {"promt": "typo"}}, "promt"),
        ({"model": ""}, "model"),
    ],
)
async def test_bad_video_request_is_refused_before_io(
    make_client: MakeClient, change: dict[str, Any], field: str
) -> None:
    rec = Recorder(ok(body("video_task_created")))
    with pytest.raises(ValidationError) as info:
        await make_client(rec).dashscope.create_video_task(
            **{**body("video_request_t2v"), **change}
        )
    assert_names(info.value, field)
    assert rec.requests == []


async def test_create_that_drops_after_sending_is_not_resent(make_client: MakeClient) -> None:
    rec = Recorder(httpx.ReadTimeout("connection dropped"), ok(body("video_task_created")))
    with pytest.raises(AmbiguousSubmitError):
        await make_client(rec).dashscope.create_video_task(**body("video_request_t2v"))
    assert len(rec.requests) == 1


async def test_create_answer_without_task_id_is_doubt(make_client: MakeClient) -> None:
    rec = Recorder(ok({"output": {"task_status": "PENDING"}, "request_id": "r"}))
    with pytest.raises(AmbiguousSubmitError, match="DashScopeTaskCreated"):
        await make_client(rec).dashscope.create_video_task(**body("video_request_t2v"))
    assert len(rec.requests) == 1


# -- task queries ---------------------------------------------------------------------------------


async def test_get_task_parses_success(make_client: MakeClient) -> None:
    rec = Recorder(ok(body("task_succeeded")))
    snap = await make_client(rec).dashscope.get_task(TASK_ID)
    (request,) = rec.requests
    assert request.method == "GET"
    assert str(request.url) == f"{BASE_URL}/dashscope/v1/tasks/{TASK_ID}"
    assert request.headers["authorization"] == f"Bearer {TEST_KEY}"
    assert snap.status_enum is DashScopeTaskStatus.SUCCEEDED
    assert (snap.is_terminal, snap.is_success) == (True, True)
    assert snap.video_url is not None and snap.video_url.endswith("result.mp4?Expires=1758870000")
    assert snap.output.end_time == "2025-09-25 11:17:11.650"
    assert snap.usage is not None and (snap.usage.sr, snap.usage.video_count) == (720, 1)


@pytest.mark.parametrize(
    ("status", "terminal", "success"),
    [
        ("PENDING", False, False),
        ("RUNNING", False, False),
        ("SUSPENDED", False, False),
        ("SUCCEEDED", True, True),
        ("FAILED", True, False),
        ("CANCELED", True, False),
        ("UNKNOWN", True, False),
        ("QUEUEING", False, False),  # a state added later parses and keeps the loop polling
    ],
)
def test_status_table(status: str, terminal: bool, success: bool) -> None:
    snap = DashScopeTask.model_validate(task(status))
    assert snap.status == status
    assert (snap.is_terminal, snap.is_success) == (terminal, success)
    expected = status if status in DashScopeTaskStatus.__members__ else None
    assert snap.status_enum == expected


def test_failed_and_unknown_errors() -> None:
    failed = DashScopeTask.model_validate(body("task_failed"))
    assert (failed.error_code, failed.error_message) == (
        "InvalidParameter",
        "The image content does not comply with the policy",
    )
    unknown = DashScopeTask.model_validate(body("task_unknown"))
    assert unknown.error_message is not None and "unknown or expired" in unknown.error_message
    assert DashScopeTask.model_validate(task("RUNNING")).error_message is None


@pytest.mark.parametrize("bad", ["", "  ", "a/b", "..", "x?y", "x#y"])
async def test_bad_task_id_is_refused_before_io(make_client: MakeClient, bad: str) -> None:
    rec = Recorder(ok(task("RUNNING")))
    client = make_client(rec)
    with pytest.raises(ValueError, match="task_id"):
        await client.dashscope.get_task(bad)
    with pytest.raises(ValueError, match="task_id"):
        await client.dashscope.wait(bad, schedule=FAST)
    assert rec.requests == []


# -- waiting --------------------------------------------------------------------------------------


async def test_wait_reaches_success(make_client: MakeClient) -> None:
    rec = Recorder(ok(task("PENDING")), ok(task("RUNNING")), ok(body("task_succeeded")))
    seen: list[str] = []
    done = await make_client(rec).dashscope.wait(
        TASK_ID, schedule=FAST, on_change=lambda s: seen.append(s.status)
    )
    assert done.is_success and done.video_url
    assert seen == ["PENDING", "RUNNING", "SUCCEEDED"]
    assert [r.url.path for r in rec.requests] == [f"/dashscope/v1/tasks/{TASK_ID}"] * 3


async def test_wait_raises_on_failure_with_gateway_message(make_client: MakeClient) -> None:
    rec = Recorder(ok(task("RUNNING")), ok(body("task_failed")))
    with pytest.raises(TaskFailedError) as info:
        await make_client(rec).dashscope.wait(TASK_ID, schedule=FAST)
    err = info.value
    assert (err.task_id, err.status, err.error_code) == (TASK_ID, "FAILED", "InvalidParameter")
    assert err.error_message == "The image content does not comply with the policy"
    assert TASK_ID in str(err)


async def test_wait_treats_unknown_as_failed(make_client: MakeClient) -> None:
    rec = Recorder(ok(body("task_unknown")))
    with pytest.raises(TaskFailedError, match="unknown or expired") as info:
        await make_client(rec).dashscope.wait(TASK_ID, schedule=FAST)
    assert info.value.status == "UNKNOWN"
    assert len(rec.requests) == 1
