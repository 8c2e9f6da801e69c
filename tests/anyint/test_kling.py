"""Kling native routes under /transtreams/kling/v1: creates, queries, waiting (§10.4)."""

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
from anyint.types.kling import KlingTask, KlingTaskStatus, KlingText2VideoParams

from .conftest import BASE_URL, TEST_KEY, Recorder

MakeClient = Callable[..., AnyIntClient]
FIXTURES = Path(__file__).parent.parent / "contract" / "fixtures" / "kling"
FAST = PollSchedule(initial=0, factor=1, max_interval=0, deadline=5)
PREFIX = "/transtreams/kling/v1"
TASK_ID = "867283741759111202"
PNG_B64 = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4"
    "2mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def body(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())["body"]


def ok(data: Any, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=data)


def task(status: str, msg: str = "", **data: Any) -> dict[str, Any]:
    return {
        "code": 0,
        "message": "SUCCEED",
        "request_id": "r",
        "data": {"task_id": TASK_ID, "task_status": status, "task_status_msg": msg, **data},
    }


def sent(request: httpx.Request) -> Any:
    return json.loads(request.content)


def assert_names(exc: ValidationError, field: str) -> None:
    """The error names ``field`` in its location or states the rule in its message."""
    errors = exc.errors()
    assert any(field in [str(p) for p in e["loc"]] or field in e["msg"] for e in errors), errors


# -- creates --------------------------------------------------------------------------------------


async def test_create_text2video(make_client: MakeClient) -> None:
    rec = Recorder(ok(body("create_response")))
    created = await make_client(rec).kling.create_text2video(**body("text2video_request"))
    (request,) = rec.requests
    assert request.method == "POST"
    assert str(request.url) == f"{BASE_URL}{PREFIX}/videos/text2video"
    assert request.headers["authorization"] == f"Bearer {TEST_KEY}"
    assert request.headers["content-type"] == "application/json"
    assert sent(request) == body("text2video_request")
    assert (created.task_id, created.status, created.code) == (TASK_ID, "submitted", 0)
    assert created.data.task_info is not None
    assert created.data.task_info.external_task_id == "order-42"


@pytest.mark.parametrize(
    ("method", "fixture", "path"),
    [
        ("create_text2video", "text2video_request_upstream", "videos/text2video"),
        ("create_image2video", "image2video_request", "videos/image2video"),
        ("create_omni_video", "omni_video_request", "videos/omni-video"),
        ("create_image", "image_request", "images/generations"),
    ],
)
async def test_create_routes(make_client: MakeClient, method: str, fixture: str, path: str) -> None:
    rec = Recorder(ok(body("create_response")))
    created = await getattr(make_client(rec).kling, method)(**body(fixture))
    (request,) = rec.requests
    assert (request.method, request.url.path) == ("POST", f"{PREFIX}/{path}")
    assert sent(request) == body(fixture)
    assert created.task_id == TASK_ID


async def test_create_omni_image_passes_native_fields_through(make_client: MakeClient) -> None:
    rec = Recorder(ok(body("create_response")))
    fields = {
        "model_name": "kling-v3-omni",
        "prompt": "<<<image_1>>> as a watercolor",
        "image_list": [{"image": "https://x.test/a.png"}],
        "n": 2,
    }
    await make_client(rec).kling.create_omni_image(**fields)
    assert rec.requests[0].url.path == f"{PREFIX}/images/omni-image"
    assert sent(rec.requests[0]) == fields


async def test_keywords_override_params(make_client: MakeClient) -> None:
    rec = Recorder(ok(body("create_response")))
    params = KlingText2VideoParams(model_name="kling-v3", prompt="a fox", mode="std")
    await make_client(rec).kling.create_text2video(params, mode="pro", duration="10")
    assert sent(rec.requests[0]) == {
        "model_name": "kling-v3",
        "prompt": "a fox",
        "mode": "pro",
        "duration": "10",
    }


T2V = {"model_name": "kling-v3", "prompt": "a fox"}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"prompt": "a fox"}, "model_name"),
        ({"model_name": "kling-v3"}, "prompt"),
        ({**T2V, "model": "kling-v2"}, "model must equal model_name"),
        ({**T2V, "prompt": "p" * 2501}, "prompt"),
        ({**T2V, "prompt": ""}, "prompt"),
        ({**T2V, "negative_prompt": "n" * 2501}, "negative_prompt"),
        ({**T2V, "mode": "fast"}, "mode"),
        ({**T2V, "duration": 0}, "duration"),
        ({**T2V, "duration": "5s"}, "duration"),
        ({**T2V, "duration": True}, "duration"),
        ({**T2V, "aspect_ratio": "4:3"}, "aspect_ratio"),
        ({**T2V, "cfg_scale": 1.5}, "cfg_scale"),
        ({**T2V, "generate_audio": "no"}, "generate_audio"),
        ({**T2V, "sound": "loud"}, "sound"),
        ({**T2V, "callback_url": "example.com/cb"}, "callback_url"),
        ({**T2V, "image": "https://x.test/a.png"}, "image"),  # not a text2video field
    ],
)
async def test_bad_text2video_is_refused_before_io(
    make_client: MakeClient, kwargs: dict[str, Any], field: str
) -> None:
    rec = Recorder(ok(body("create_response")))
    with pytest.raises(ValidationError) as info:
        await make_client(rec).kling.create_text2video(**kwargs)
    assert_names(info.value, field)
    assert rec.requests == []


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        (T2V, "image"),
        ({**T2V, "image": f"data:image/png;base64,{PNG_B64}"}, "data:"),
        ({**T2V, "image": "ftp://x.test/a.png"}, "image"),
        ({**T2V, "image": ""}, "image"),
        ({**T2V, "image": PNG_B64, "image_tail": "not base64!"}, "image_tail"),
    ],
)
async def test_bad_image2video_is_refused_before_io(
    make_client: MakeClient, kwargs: dict[str, Any], field: str
) -> None:
    rec = Recorder(ok(body("create_response")))
    with pytest.raises(ValidationError) as info:
        await make_client(rec).kling.create_image2video(**kwargs)
    assert_names(info.value, field)
    assert rec.requests == []


OMNI = {"model_name": "kling-v3-omni", "prompt": "p"}
VIDEO = [{"video_url": "https://x.test/v.mp4"}]
IMAGES = [{"image_url": "https://x.test/a.png"}]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({**OMNI, "duration": "2"}, "3..15"),
        ({**OMNI, "duration": 16}, "3..15"),
        ({**OMNI, "image_list": IMAGES * 8}, "image_list"),
        ({**OMNI, "video_list": VIDEO * 2}, "video_list"),
        ({**OMNI, "video_list": VIDEO, "image_list": IMAGES * 5}, "at most 4 images"),
        ({**OMNI, "video_list": VIDEO, "sound": "on"}, "sound must be 'off'"),
        ({**OMNI, "video_list": VIDEO, "duration": "12"}, "<= 10 seconds"),
        ({**OMNI, "video_list": [{"video_url": "file:///v.mp4"}]}, "video_url"),
        ({**OMNI, "video_list": [{**VIDEO[0], "refer_type": "style"}]}, "refer_type"),
        ({**OMNI, "image_list": [{"image_url": "https://x.test/a.png", "type": "x"}]}, "type"),
        ({**OMNI, "element_list": [{}] * 4}, "element_list"),
        ({**OMNI, "shot_type": "auto"}, "shot_type"),
        (
            {**OMNI, "duration": 10, "multi_prompt": [{"index": 1, "prompt": "a", "duration": 4}]},
            "add up to duration",
        ),
        (
            {
                **OMNI,
                "multi_prompt": [{"index": i, "prompt": "a", "duration": 2} for i in range(7)],
            },
            "multi_prompt",
        ),
    ],
)
async def test_bad_omni_video_is_refused_before_io(
    make_client: MakeClient, kwargs: dict[str, Any], field: str
) -> None:
    rec = Recorder(ok(body("create_response")))
    with pytest.raises(ValidationError) as info:
        await make_client(rec).kling.create_omni_video(**kwargs)
    assert_names(info.value, field)
    assert rec.requests == []


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"model_name": "kling-v2-1", "prompt": "p", "n": 10}, "n"),
        ({"model_name": "kling-v2-1", "prompt": "p", "aspect_ratio": "5:4"}, "aspect_ratio"),
        ({"model_name": "kling-v2-1", "prompt": "p", "image_fidelity": 2.0}, "image_fidelity"),
        ({"model_name": "kling-v2-1", "prompt": "p", "image_reference": "body"}, "image_reference"),
        ({"model_name": "kling-v2-1", "prompt": "p", "resolution": "4k"}, "resolution"),
    ],
)
async def test_bad_image_request_is_refused_before_io(
    make_client: MakeClient, kwargs: dict[str, Any], field: str
) -> None:
    rec = Recorder(ok(body("create_response")))
    with pytest.raises(ValidationError) as info:
        await make_client(rec).kling.create_image(**kwargs)
    assert_names(info.value, field)
    assert rec.requests == []


async def test_omni_image_still_checks_common_fields(make_client: MakeClient) -> None:
    rec = Recorder(ok(body("create_response")))
    with pytest.raises(ValidationError, match="model must equal model_name"):
        await make_client(rec).kling.create_omni_image(
            model_name="kling-v3-omni", model="kling-v3", prompt="p"
        )
    assert rec.requests == []


async def test_nonzero_body_code_is_an_error(make_client: MakeClient) -> None:
    rec = Recorder(ok(body("error_body_code")))
    with pytest.raises(anyint.BadRequestError) as info:
        await make_client(rec).kling.create_text2video(**T2V)
    assert info.value.error_code == "1201"
    assert info.value.message == "Invalid request parameters"
    assert info.value.http_status == 200
    assert len(rec.requests) == 1


async def test_create_that_drops_after_sending_is_not_resent(make_client: MakeClient) -> None:
    rec = Recorder(httpx.ReadTimeout("connection dropped"), ok(body("create_response")))
    with pytest.raises(AmbiguousSubmitError):
        await make_client(rec).kling.create_image2video(**T2V, image=PNG_B64)
    assert len(rec.requests) == 1


# -- queries --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get_text2video", "videos/text2video"),
        ("get_image2video", "videos/image2video"),
        ("get_omni_video", "videos/omni-video"),
        ("get_image", "images/generations"),
        ("get_omni_image", "images/omni-image"),
    ],
)
async def test_query_routes(make_client: MakeClient, method: str, path: str) -> None:
    rec = Recorder(ok(body("query_succeed")))
    snap = await getattr(make_client(rec).kling, method)(TASK_ID)
    (request,) = rec.requests
    assert request.method == "GET"
    assert str(request.url) == f"{BASE_URL}{PREFIX}/{path}/{TASK_ID}"
    assert request.headers["authorization"] == f"Bearer {TEST_KEY}"
    assert snap.video_urls == ["https://cdn.klingai.example/result.mp4"]
    assert snap.is_success and snap.error_message is None


async def test_query_with_error_code_raises(make_client: MakeClient) -> None:
    rec = Recorder(ok({"code": 1003, "message": "task not found", "data": None}))
    with pytest.raises(anyint.APIStatusError, match="task not found"):
        await make_client(rec).kling.get_text2video(TASK_ID)


def test_image_task_urls_and_numeric_ids() -> None:
    snap = KlingTask.model_validate(body("query_image_succeed"))
    assert snap.image_urls == ["https://cdn.klingai.example/result-0.png"]
    assert snap.video_urls == []
    numeric = KlingTask.model_validate({"code": 0, "data": {"task_id": 42, "task_status": "x"}})
    assert numeric.task_id == "42"


@pytest.mark.parametrize(
    ("status", "terminal", "success"),
    [
        ("submitted", False, False),
        ("processing", False, False),
        ("succeed", True, True),
        ("failed", True, False),
        ("queued", False, False),  # an unknown state parses and keeps the loop polling
    ],
)
def test_status_table(status: str, terminal: bool, success: bool) -> None:
    snap = KlingTask.model_validate(task(status))
    assert snap.status == status
    assert (snap.is_terminal, snap.is_success) == (terminal, success)
    expected = KlingTaskStatus(status) if status != "queued" else None
    assert snap.status_enum == expected


@pytest.mark.parametrize("bad", ["", "a/b", "..", "x?y"])
async def test_bad_task_id_is_refused_before_io(make_client: MakeClient, bad: str) -> None:
    rec = Recorder(ok(task("processing")))
    client = make_client(rec)
    with pytest.raises(ValueError, match="task_id"):
        await client.kling.get_text2video(bad)
    with pytest.raises(ValueError, match="task_id"):
        await client.kling.get_image2video(bad)
    with pytest.raises(ValueError, match="task_id"):
        await client.kling.wait(bad, schedule=FAST)
    assert rec.requests == []


async def test_unknown_route_is_refused_before_io(make_client: MakeClient) -> None:
    rec = Recorder(ok(task("processing")))
    with pytest.raises(ValueError, match="route"):
        await make_client(rec).kling.wait(TASK_ID, route="lipsync", schedule=FAST)  # type: ignore[arg-type]
    assert rec.requests == []


# -- waiting --------------------------------------------------------------------------------------


async def test_wait_reaches_success_on_the_matching_route(make_client: MakeClient) -> None:
    rec = Recorder(ok(task("submitted")), ok(task("processing")), ok(body("query_succeed")))
    seen: list[str] = []
    done = await make_client(rec).kling.wait(
        TASK_ID, route="image2video", schedule=FAST, on_change=lambda s: seen.append(s.status)
    )
    assert done.video_urls == ["https://cdn.klingai.example/result.mp4"]
    assert seen == ["submitted", "processing", "succeed"]
    assert {r.url.path for r in rec.requests} == {f"{PREFIX}/videos/image2video/{TASK_ID}"}
    assert len(rec.requests) == 3


async def test_wait_defaults_to_text2video(make_client: MakeClient) -> None:
    rec = Recorder(ok(body("query_succeed")))
    await make_client(rec).kling.wait(TASK_ID, schedule=FAST)
    assert rec.requests[0].url.path == f"{PREFIX}/videos/text2video/{TASK_ID}"


async def test_wait_raises_on_failure_with_gateway_message(make_client: MakeClient) -> None:
    rec = Recorder(ok(task("processing")), ok(body("query_failed")))
    with pytest.raises(TaskFailedError) as info:
        await make_client(rec).kling.wait(TASK_ID, schedule=FAST)
    err = info.value
    assert (err.task_id, err.status) == (TASK_ID, "failed")
    assert err.error_message == "Failure to pass the risk control system"
    assert "risk control" in str(err)
