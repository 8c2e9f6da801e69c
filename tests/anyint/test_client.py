"""Client core: configuration, auth, error mapping and the retry rules."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

import anyint
import anyint.records
from anyint import (
    AmbiguousSubmitError,
    AnyIntClient,
    APIConnectionError,
    APITimeoutError,
    RetryPolicy,
)

from .conftest import BASE_URL, TEST_KEY, Recorder

MakeClient = Callable[..., AnyIntClient]


def ok(body: object = None, status: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body if body is not None else {}, headers=headers)


# -- configuration ------------------------------------------------------------------------------


async def test_key_and_base_url_come_from_env_lazily(monkeypatch: pytest.MonkeyPatch) -> None:
    client = AnyIntClient(transport=httpx.MockTransport(lambda r: ok()))
    # Set after construction: nothing is read before the first call.
    monkeypatch.setenv("ANYINT_API_KEY", "sk-from-env")
    monkeypatch.setenv("ANYINT_BASE_URL", "http://127.0.0.1:9/")
    assert client.base_url == "http://127.0.0.1:9"
    assert client.auth_headers("bearer") == {"Authorization": "Bearer sk-from-env"}
    await client.aclose()


async def test_default_base_url_and_explicit_argument_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    assert AnyIntClient(api_key="k").base_url == "https://gateway.api.anyint.ai"
    monkeypatch.setenv("ANYINT_BASE_URL", "https://api.anyint.ai")
    assert AnyIntClient(api_key="k").base_url == "https://api.anyint.ai"
    assert AnyIntClient(api_key="k", base_url="https://x.test/").base_url == "https://x.test"


async def test_missing_key_names_the_setting(make_client: MakeClient) -> None:
    rec = Recorder(ok())
    client = make_client(rec, api_key=None)
    with pytest.raises(ValueError, match="ANYINT_API_KEY"):
        await client.request("GET", "/openai/v1/models")
    assert rec.requests == []


@pytest.mark.parametrize("url", ["ftp://x", "gateway.api.anyint.ai", "https://x.test/?key=1", ""])
def test_bad_base_url_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="base_url"):
        AnyIntClient(api_key="k", base_url=url or "nohost://").base_url  # noqa: B018


async def test_key_is_never_in_repr_url_or_error(make_client: MakeClient) -> None:
    rec = Recorder(ok({"error": {"message": "nope", "type": "authentication_error"}}, 401))
    client = make_client(rec)
    with pytest.raises(anyint.AuthenticationError) as info:
        await client.request("GET", "/openai/v1/models")
    err = info.value
    for text in (repr(client), str(err), repr(err), repr(err.request), str(rec.requests[0].url)):
        assert TEST_KEY not in text


async def test_auth_header_styles(make_client: MakeClient) -> None:
    rec = Recorder(ok())
    client = make_client(rec)
    await client.request("GET", "/openai/v1/models")
    await client.request("GET", "/anthropic/v1/models", auth="anthropic")
    bearer, anth = rec.requests
    assert bearer.headers["authorization"] == f"Bearer {TEST_KEY}"
    assert "x-api-key" not in bearer.headers
    assert anth.headers["x-api-key"] == TEST_KEY
    assert anth.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in anth.headers
    assert str(bearer.url) == f"{BASE_URL}/openai/v1/models"


# -- error mapping ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "cls", "retryable"),
    [
        (400, anyint.BadRequestError, False),
        (401, anyint.AuthenticationError, False),
        (403, anyint.PermissionDeniedError, False),
        (404, anyint.NotFoundError, False),
        (408, anyint.RequestTimeoutError, True),
        (409, anyint.ConflictError, False),
        (413, anyint.PayloadTooLargeError, False),
        (422, anyint.UnprocessableEntityError, False),
        (429, anyint.RateLimitError, True),
        (430, anyint.SunoRateLimitError, True),
        (455, anyint.MaintenanceError, True),
        (500, anyint.InternalServerError, True),
        (503, anyint.ServiceUnavailableError, True),
        (529, anyint.InternalServerError, True),
    ],
)
async def test_status_maps_to_error_class(
    make_client: MakeClient, sleeps: list[float], status: int, cls: type, retryable: bool
) -> None:
    body = {"error": {"message": "why", "type": "some_type", "code": "some_code"}}
    rec = Recorder(ok(body, status))
    with pytest.raises(cls) as info:
        await make_client(rec).request("POST", "/openai/v1/x", json={})
    err = info.value
    assert (err.status_code, err.retryable, err.message) == (status, retryable, "why")
    assert (err.error_type, err.error_code) == ("some_type", "some_code")
    assert len(rec.requests) == (3 if retryable else 1)  # 2 retries by default
    assert len(sleeps) == (2 if retryable else 0)


@pytest.mark.parametrize(
    ("body", "message", "etype", "code"),
    [
        (
            {"type": "error", "error": {"type": "invalid_request_error", "message": "m"}},
            "m",
            "invalid_request_error",
            None,
        ),
        (
            {"error": {"code": 400, "message": "g", "status": "INVALID_ARGUMENT"}},
            "g",
            "INVALID_ARGUMENT",
            "400",
        ),
        (
            {"request_id": "r1", "code": "InvalidParameter", "message": "d"},
            "d",
            None,
            "InvalidParameter",
        ),
        ({"code": 400, "msg": "s", "data": None}, "s", None, "400"),
    ],
)
async def test_native_error_envelopes(
    make_client: MakeClient,
    body: dict[str, object],
    message: str,
    etype: str | None,
    code: str | None,
) -> None:
    with pytest.raises(anyint.BadRequestError) as info:
        await make_client(Recorder(ok(body, 400))).request("GET", "/x")
    assert (info.value.message, info.value.error_type, info.value.error_code) == (
        message,
        etype,
        code,
    )


async def test_non_json_error_body(make_client: MakeClient) -> None:
    rec = Recorder(httpx.Response(502, text="<html>bad gateway</html>"))
    with pytest.raises(anyint.InternalServerError, match="bad gateway"):
        await make_client(rec, retry=RetryPolicy(max_retries=0)).request("GET", "/x")


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (400, anyint.BadRequestError),
        (413, anyint.PayloadTooLargeError),
        (429, anyint.RateLimitError),
        (405, anyint.FrequencyLimitError),
    ],
)
async def test_body_code_is_checked_on_http_200(
    make_client: MakeClient, code: int, cls: type
) -> None:
    rec = Recorder(ok({"code": code, "msg": "from body", "data": None}))
    with pytest.raises(cls) as info:
        await make_client(rec, retry=RetryPolicy(max_retries=0)).request(
            "POST", "/suno/generate", json={}, ok_code=200
        )
    assert info.value.http_status == 200 and info.value.status_code == code


async def test_body_code_430_retried_then_success(
    make_client: MakeClient, sleeps: list[float]
) -> None:
    rec = Recorder(
        ok({"code": 430, "msg": "slow down"}), ok({"code": 200, "data": {"taskId": "t"}})
    )
    response = await make_client(rec).request("POST", "/suno/generate", json={}, ok_code=200)
    assert response.json()["data"]["taskId"] == "t"
    assert len(rec.requests) == 2 and len(sleeps) == 1


# -- retries ------------------------------------------------------------------------------------


async def test_retry_after_is_honoured(make_client: MakeClient, sleeps: list[float]) -> None:
    rec = Recorder(ok({}, 429, **{"retry-after": "3"}), ok({"fine": True}))
    response = await make_client(rec).request("GET", "/x")
    assert response.json() == {"fine": True}
    assert sleeps == [3.0]


async def test_retry_after_ms_wins(make_client: MakeClient, sleeps: list[float]) -> None:
    rec = Recorder(ok({}, 503, **{"retry-after": "9", "retry-after-ms": "250"}), ok())
    await make_client(rec).request("GET", "/x")
    assert sleeps == [0.25]


async def test_retry_without_retry_after_backs_off(
    make_client: MakeClient, sleeps: list[float]
) -> None:
    rec = Recorder(ok({}, 503), ok({}, 503), ok())
    await make_client(rec).request("GET", "/x")
    assert len(sleeps) == 2
    assert 0.375 <= sleeps[0] <= 0.5 and 0.75 <= sleeps[1] <= 1.0


async def test_too_long_retry_after_is_raised_not_waited(
    make_client: MakeClient, sleeps: list[float]
) -> None:
    rec = Recorder(ok({}, 429, **{"retry-after": "3600"}))
    with pytest.raises(anyint.RateLimitError) as info:
        await make_client(rec).request("GET", "/x")
    assert info.value.retry_after == 3600.0 and sleeps == [] and len(rec.requests) == 1


async def test_connect_error_is_retried_even_for_creates(make_client: MakeClient) -> None:
    rec = Recorder(httpx.ConnectError("refused"), ok({"output": {"task_id": "t1"}}))
    response = await make_client(rec).request("POST", "/x", json={"a": 1}, creates_task=True)
    assert response.json()["output"]["task_id"] == "t1"
    assert len(rec.requests) == 2


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("dropped"),
        httpx.ReadError("reset"),
        httpx.WriteError("half sent"),
    ],
)
async def test_create_is_never_resent_after_it_may_have_arrived(
    make_client: MakeClient, sleeps: list[float], exc: Exception
) -> None:
    rec = Recorder(exc, ok())
    body = {"prompt": "p", "callBackUrl": "https://cb.invalid/x"}
    with pytest.raises(AmbiguousSubmitError) as info:
        await make_client(rec).request("POST", "/suno/generate", json=body, creates_task=True)
    assert len(rec.requests) == 1 and sleeps == []
    err = info.value
    assert not err.retryable
    same = anyint.records.request_digest("POST", "/suno/generate", {"prompt": "p"})
    assert err.request_digest == same  # the callback URL does not change what was asked


async def test_plain_post_after_drop_is_not_resent(make_client: MakeClient) -> None:
    rec = Recorder(httpx.ReadTimeout("slow"), ok())
    with pytest.raises(APITimeoutError) as info:
        await make_client(rec).request("POST", "/anthropic/v1/messages", json={})
    assert info.value.sent and info.value.retryable and len(rec.requests) == 1


async def test_get_after_drop_is_retried(make_client: MakeClient) -> None:
    rec = Recorder(httpx.RemoteProtocolError("dropped"), ok({"v": 1}))
    assert (await make_client(rec).request("GET", "/x")).json() == {"v": 1}


async def test_connection_errors_exhaust_retries(make_client: MakeClient) -> None:
    rec = Recorder(httpx.ConnectError("refused"))
    with pytest.raises(APIConnectionError) as info:
        await make_client(rec).request("GET", "/x")
    assert not info.value.sent and len(rec.requests) == 3


async def test_path_must_be_absolute(make_client: MakeClient) -> None:
    with pytest.raises(ValueError, match="path"):
        await make_client(Recorder(ok())).request("GET", "x")


async def test_json_body_is_sent(make_client: MakeClient) -> None:
    rec = Recorder(ok())
    await make_client(rec).request("POST", "/x", json={"a": [1, 2]})
    assert json.loads(rec.requests[0].content) == {"a": [1, 2]}
    assert rec.requests[0].headers["content-type"] == "application/json"


class BrokenBody(httpx.AsyncByteStream):
    async def __aiter__(self):  # type: ignore[no-untyped-def]
        yield b'{"partial": '
        raise httpx.RemoteProtocolError("peer closed connection without sending complete body")


async def test_body_cut_after_headers_on_create_is_ambiguous(make_client: MakeClient) -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(200, stream=BrokenBody())

    with pytest.raises(AmbiguousSubmitError):
        await make_client(handler).request("POST", "/x", json={}, creates_task=True)
    assert len(calls) == 1


async def test_body_cut_after_headers_on_get_is_retried(make_client: MakeClient) -> None:
    responses = [httpx.Response(200, stream=BrokenBody()), ok({"v": 2})]
    client = make_client(lambda r: responses.pop(0))
    assert (await client.request("GET", "/x")).json() == {"v": 2}


def test_storable_drops_secrets_callbacks_and_inline_media() -> None:
    frame = "data:image/png;base64," + "A" * 5000
    body = {
        "prompt": "p",
        "callBackUrl": "https://h/callbacks/tok/suno",
        "api_key": "sk-x",
        "input": {"img_url": frame, "nested": [{"callback_url": "u", "n": 1}]},
    }
    out = anyint.records.storable(body)
    assert out["prompt"] == "p" and "callBackUrl" not in out and "api_key" not in out
    assert out["input"]["nested"] == [{"n": 1}]
    assert out["input"]["img_url"].startswith(f"<{len(frame)} chars, sha256 ")
    assert body["input"]["img_url"] == frame  # the caller's body is untouched
