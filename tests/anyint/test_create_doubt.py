"""The create rule: only an answer that proves no task was made lets a create be sent again.

Proof of rejection (every 4xx, and 503) is a status error, retried when retryable; anything
else after the request was sent (another 5xx, a non-2xx, an unreadable 2xx) is doubt:
:class:`AmbiguousSubmitError` after exactly one request, whatever the family.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

import anyint
import anyint.records
from anyint import AmbiguousSubmitError, AnyIntClient, RetryPolicy
from anyint.records import CALLBACK_FIELDS

from .conftest import TEST_KEY, Recorder

MakeClient = Callable[..., AnyIntClient]
FIXTURES = Path(__file__).parent.parent / "contract" / "fixtures"
CB = "https://hooks.example.com/callbacks/tok-canary-42/suno"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())["body"]


@dataclass(frozen=True)
class Family:
    """One family's create: how to call it, where it goes, and its documented answers."""

    name: str
    path: str
    body: dict[str, Any]
    call: Callable[[AnyIntClient, dict[str, Any]], Awaitable[Any]]
    created: dict[str, Any]
    no_task_id: dict[str, Any]
    empty_task_id: dict[str, Any]


FAMILIES = [
    Family(
        "suno-generate",
        "/suno/generate",
        {**fixture("suno/generate_simple"), "callBackUrl": CB},
        lambda c, b: c.suno.generate(**b),
        fixture("suno/envelope_task_created"),
        {"code": 200, "msg": "success", "data": None},
        {"code": 200, "msg": "success", "data": {"taskId": ""}},
    ),
    Family(
        "dashscope-video",
        "/dashscope/v1/services/aigc/video-generation/video-synthesis",
        fixture("dashscope/video_request_t2v"),
        lambda c, b: c.dashscope.create_video_task(**b),
        fixture("dashscope/video_task_created"),
        {"output": {"task_status": "PENDING"}, "request_id": "r"},
        {"output": {"task_id": " ", "task_status": "PENDING"}, "request_id": "r"},
    ),
    Family(
        "kling-text2video",
        "/transtreams/kling/v1/videos/text2video",
        fixture("kling/text2video_request"),
        lambda c, b: c.kling.create_text2video(**b),
        fixture("kling/create_response"),
        {"code": 0, "message": "SUCCEED", "data": {"task_status": "submitted"}},
        {"code": 0, "message": "SUCCEED", "data": {"task_id": "", "task_status": "submitted"}},
    ),
    Family(
        "videos-create",
        "/openai/v1/videos",
        fixture("videos/create_request"),
        lambda c, b: c.videos.create(**b),
        fixture("videos/video_queued"),
        {"object": "video", "status": "queued"},
        {"id": "", "object": "video", "status": "queued"},
    ),
]
FAMILY = pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)


def error(status: int, message: str = "why") -> httpx.Response:
    return httpx.Response(status, json={"error": {"message": message, "type": "t"}})


def digest_of(family: Family) -> str:
    asked = {k: v for k, v in family.body.items() if k not in CALLBACK_FIELDS}
    return anyint.records.request_digest("POST", family.path, asked)


# -- 5xx other than 503: doubt --------------------------------------------------------------------


@FAMILY
@pytest.mark.parametrize("status", [500, 502, 504])
async def test_5xx_on_a_create_is_doubt_after_one_request(
    make_client: MakeClient, sleeps: list[float], family: Family, status: int
) -> None:
    rec = Recorder(error(status, "upstream fell over"), httpx.Response(200, json=family.created))
    with pytest.raises(AmbiguousSubmitError) as info:
        await family.call(make_client(rec), family.body)
    assert len(rec.requests) == 1 and sleeps == []
    err = info.value
    assert (err.status_code, err.http_status, err.retryable) == (status, status, False)
    assert err.gateway_message == "upstream fell over"
    assert f"HTTP {status}" in str(err) and "upstream fell over" in str(err)
    assert (err.method, err.path, err.request_digest) == ("POST", family.path, digest_of(family))
    # Unchained: the raw status error holds the gateway's unmasked text (see the pickling test).
    assert err.__cause__ is None and err.__context__ is None


# -- proof of rejection: a status error, retried when retryable -----------------------------------


@FAMILY
@pytest.mark.parametrize(
    ("status", "cls"), [(503, anyint.ServiceUnavailableError), (429, anyint.RateLimitError)]
)
async def test_503_and_429_prove_rejection_and_are_retried(
    make_client: MakeClient,
    sleeps: list[float],
    family: Family,
    status: int,
    cls: type[anyint.APIStatusError],
) -> None:
    rec = Recorder(error(status))
    with pytest.raises(cls) as info:
        await family.call(make_client(rec), family.body)
    assert len(rec.requests) == 3 and len(sleeps) == 2  # the default two retries
    assert info.value.status_code == status and info.value.retryable


@FAMILY
async def test_503_then_success_returns_the_task(make_client: MakeClient, family: Family) -> None:
    rec = Recorder(error(503), httpx.Response(200, json=family.created))
    created = await family.call(make_client(rec), family.body)
    assert created.task_id and len(rec.requests) == 2


@FAMILY
async def test_400_is_a_status_error_after_one_request(
    make_client: MakeClient, sleeps: list[float], family: Family
) -> None:
    rec = Recorder(error(400, "bad field"))
    with pytest.raises(anyint.BadRequestError) as info:
        await family.call(make_client(rec), family.body)
    assert len(rec.requests) == 1 and sleeps == []
    assert info.value.message == "bad field"


@FAMILY
async def test_503_then_500_is_doubt(make_client: MakeClient, family: Family) -> None:
    rec = Recorder(error(503), error(500), httpx.Response(200, json=family.created))
    with pytest.raises(AmbiguousSubmitError) as info:
        await family.call(make_client(rec), family.body)
    assert len(rec.requests) == 2 and info.value.status_code == 500


# -- an unreadable 2xx: doubt ---------------------------------------------------------------------


@FAMILY
@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, text="<html>ok</html>", headers={"content-type": "text/html"}),
        httpx.Response(200, content=b'{"output": {"task_id": "t'),  # JSON cut short
        httpx.Response(200),  # empty
    ],
    ids=["html", "partial-json", "empty"],
)
async def test_non_json_2xx_is_doubt_after_one_request(
    make_client: MakeClient, sleeps: list[float], family: Family, answer: httpx.Response
) -> None:
    rec = Recorder(answer, httpx.Response(200, json=family.created))
    with pytest.raises(AmbiguousSubmitError) as info:
        await family.call(make_client(rec), family.body)
    assert len(rec.requests) == 1 and sleeps == []
    err = info.value
    assert (err.status_code, err.http_status) == (200, 200)
    assert "expected JSON" in err.cause and err.request_digest == digest_of(family)


@FAMILY
@pytest.mark.parametrize("which", ["no_task_id", "empty_task_id"])
async def test_2xx_without_the_task_id_is_doubt(
    make_client: MakeClient, family: Family, which: str
) -> None:
    rec = Recorder(httpx.Response(200, json=getattr(family, which)))
    with pytest.raises(AmbiguousSubmitError) as info:
        await family.call(make_client(rec), family.body)
    assert len(rec.requests) == 1
    assert info.value.status_code == 200
    assert info.value.__cause__ is None and info.value.__context__ is None


@FAMILY
async def test_documented_answer_still_parses(make_client: MakeClient, family: Family) -> None:
    rec = Recorder(httpx.Response(200, json=family.created))
    created = await family.call(make_client(rec), family.body)
    assert created.task_id and len(rec.requests) == 1


# -- body codes count as the status ---------------------------------------------------------------


@pytest.mark.parametrize("code", [500, 502])
async def test_suno_body_code_5xx_in_http_200_is_doubt(
    make_client: MakeClient, sleeps: list[float], code: int
) -> None:
    family = FAMILIES[0]
    rec = Recorder(httpx.Response(200, json={"code": code, "msg": "server error", "data": None}))
    with pytest.raises(AmbiguousSubmitError) as info:
        await family.call(make_client(rec), family.body)
    assert len(rec.requests) == 1 and sleeps == []
    err = info.value
    assert (err.status_code, err.http_status, err.gateway_message) == (code, 200, "server error")
    assert f"HTTP 200 with body code {code}" in err.cause


async def test_suno_body_code_503_is_retried_then_raised(
    make_client: MakeClient, sleeps: list[float]
) -> None:
    family = FAMILIES[0]
    rec = Recorder(httpx.Response(200, json={"code": 503, "msg": "busy", "data": None}))
    with pytest.raises(anyint.ServiceUnavailableError) as info:
        await family.call(make_client(rec), family.body)
    assert len(rec.requests) == 3 and info.value.http_status == 200


async def test_kling_body_code_500_is_doubt(make_client: MakeClient) -> None:
    family = FAMILIES[2]
    rec = Recorder(httpx.Response(200, json={"code": 500, "message": "boom", "data": None}))
    with pytest.raises(AmbiguousSubmitError):
        await family.call(make_client(rec), family.body)
    assert len(rec.requests) == 1


# -- other layers of the rule ---------------------------------------------------------------------


async def test_redirect_on_a_create_is_doubt(make_client: MakeClient) -> None:
    rec = Recorder(httpx.Response(307, headers={"location": "https://elsewhere.test/x"}))
    with pytest.raises(AmbiguousSubmitError) as info:
        await make_client(rec).request("POST", "/x", json={}, creates_task=True)
    assert len(rec.requests) == 1 and info.value.status_code == 307


@pytest.mark.parametrize("method", ["generate_persona", "style_generate"])
async def test_billed_sync_suno_routes_follow_the_rule(
    make_client: MakeClient, method: str
) -> None:
    body = {"task_id": "t1", "audio_id": "a1", "name": "n", "description": "d"}
    if method == "style_generate":
        body = {"content": "pop"}
    rec = Recorder(error(502))
    with pytest.raises(AmbiguousSubmitError):
        await getattr(make_client(rec).suno, method)(**body)
    assert len(rec.requests) == 1


async def test_non_creates_keep_retrying_5xx(make_client: MakeClient) -> None:
    rec = Recorder(error(500))
    client = make_client(rec)
    with pytest.raises(anyint.InternalServerError):
        await client.request("POST", "/anthropic/v1/messages", json={}, auth="anthropic")
    with pytest.raises(anyint.InternalServerError):
        await client.dashscope.get_task("t1")
    with pytest.raises(anyint.InternalServerError):
        await client.suno.timestamped_lyrics(task_id="t1", audio_id="a1")
    assert len(rec.requests) == 9  # three calls, each tried three times


async def test_non_create_unreadable_2xx_is_a_validation_error(make_client: MakeClient) -> None:
    rec = Recorder(httpx.Response(200, text="<html></html>"))
    with pytest.raises(anyint.APIResponseValidationError):
        await make_client(rec).dashscope.get_task("t1")


async def test_doubt_hides_secrets_and_pickles_without_the_request(
    make_client: MakeClient,
) -> None:
    family = FAMILIES[0]
    echo = f"bad upstream for {CB} with Bearer {TEST_KEY}"
    rec = Recorder(error(502, echo))
    with pytest.raises(AmbiguousSubmitError) as info:
        await family.call(make_client(rec, retry=RetryPolicy(max_retries=0)), family.body)
    err = info.value
    assert err.request is not None  # kept in process, for debugging
    data = pickle.dumps(err)
    for secret in (CB, "tok-canary-42", TEST_KEY):
        assert secret not in str(err) and secret not in (err.gateway_message or "")
        assert secret.encode() not in data
    copy = pickle.loads(data)
    assert type(copy) is AmbiguousSubmitError and str(copy) == str(err) and copy.request is None
    assert (copy.status_code, copy.http_status, copy.request_digest, copy.gateway_message) == (
        502,
        502,
        digest_of(family),
        err.gateway_message,
    )
    assert not copy.retryable
    # Pickled with its cause and context chain, as Dask does (distributed installs tblib's
    # exception pickling for every exception class): still no secret.
    from tblib import pickling_support

    pickling_support.install(err)  # as importing distributed does, for every exception class
    chained = pickle.dumps(err)
    for secret in (CB, "tok-canary-42", TEST_KEY):
        assert secret.encode() not in chained


def test_task_timeout_is_not_retryable() -> None:
    err = anyint.TaskTimeoutError(task_id="t", status="RUNNING", waited=1.0)
    assert not err.retryable
    assert not pickle.loads(pickle.dumps(err)).retryable
