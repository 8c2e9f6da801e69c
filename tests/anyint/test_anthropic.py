"""Anthropic-compatible messages: request rules, sync create, typed stream events, assembly."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from PIL import Image
from pydantic import ValidationError

import anyint
from anyint import AnyIntClient, APIResponseValidationError, RetryPolicy
from anyint.types.anthropic import (
    ContentBlockDeltaEvent,
    ContentBlockStartEvent,
    ContentBlockStopEvent,
    ImageBlockParam,
    InputJSONDelta,
    MessageCreateParams,
    MessageDeltaEvent,
    MessageStartEvent,
    MessageStopEvent,
    OtherBlock,
    TextBlock,
    TextDelta,
    ToolUseBlock,
    image_block,
)

from .conftest import BASE_URL, TEST_KEY, Recorder

MakeClient = Callable[..., AnyIntClient]


def _image(fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (2, 2), (200, 30, 30)).save(buf, fmt)
    return buf.getvalue()


PNG = _image("PNG")
JPEG = _image("JPEG")
PNG_B64 = base64.b64encode(PNG).decode()

MESSAGE = {
    "id": "msg_01",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-6",
    "content": [
        {"type": "text", "text": "A red "},
        {"type": "thinking", "thinking": "hmm", "signature": "s"},
        {"type": "text", "text": "square."},
        {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"q": "red"}},
    ],
    "stop_reason": "tool_use",
    "stop_sequence": None,
    "usage": {"input_tokens": 25, "output_tokens": 9, "cache_read_input_tokens": 0},
}


def ok(body: object, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=body)


def user(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


def request(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 512,
        "messages": [user("Hello")],
    }
    body.update(overrides)
    return body


def sse(*events: dict[str, Any], extra: str = "") -> bytes:
    out = [f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events]
    return (extra + "".join(out)).encode()


def sse_response(body: bytes, status: int = 200) -> httpx.Response:
    return httpx.Response(status, headers={"content-type": "text/event-stream"}, content=body)


def text_stream_events(*texts: str) -> list[dict[str, Any]]:
    start = {**MESSAGE, "content": [], "stop_reason": None}
    start["usage"] = {"input_tokens": 25, "output_tokens": 1}
    events: list[dict[str, Any]] = [
        {"type": "message_start", "message": start},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    ]
    events += [
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": t}}
        for t in texts
    ]
    events += [
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": 12},
        },
        {"type": "message_stop"},
    ]
    return events


# -- create -------------------------------------------------------------------------------------


async def test_create_sends_documented_request(make_client: MakeClient) -> None:
    rec = Recorder(ok(MESSAGE))
    content = [image_block(PNG), {"type": "text", "text": "Describe this."}]
    msg = await make_client(rec).anthropic.create(
        model="claude-sonnet-4-6", max_tokens=512, messages=[user(content)], system="Be brief."
    )
    (req,) = rec.requests
    assert (req.method, str(req.url)) == ("POST", f"{BASE_URL}/anthropic/v1/messages")
    assert req.headers["x-api-key"] == TEST_KEY
    assert req.headers["anthropic-version"] == "2023-06-01"
    assert req.headers["content-type"] == "application/json"
    assert "authorization" not in req.headers
    assert json.loads(req.content) == {
        "model": "claude-sonnet-4-6",
        "max_tokens": 512,
        "system": "Be brief.",
        "messages": [
            {
                "role": "user",
                "content": [
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64},
                    },
                    {"type": "text", "text": "Describe this."},
                ],
            }
        ],
    }
    assert msg.text == "A red square."
    assert isinstance(msg.content[1], OtherBlock) and msg.content[1].type == "thinking"
    assert msg.tool_uses == [ToolUseBlock(id="toolu_1", name="lookup", input={"q": "red"})]
    assert msg.stop_reason == "tool_use" and msg.usage is not None
    assert msg.usage.output_tokens == 9


async def test_create_accepts_a_params_object(make_client: MakeClient) -> None:
    rec = Recorder(ok(MESSAGE))
    params = MessageCreateParams.model_validate(
        request(tools=[{"name": "lookup", "input_schema": {"type": "object"}}])
    )
    await make_client(rec).anthropic.create(params)
    assert json.loads(rec.requests[0].content)["tools"] == [
        {"name": "lookup", "input_schema": {"type": "object"}}
    ]


async def test_tool_result_round_trip_body(make_client: MakeClient) -> None:
    rec = Recorder(ok(MESSAGE))
    messages = [
        user("What is red?"),
        {"role": "assistant", "content": [MESSAGE["content"][3]]},
        user([{"type": "tool_result", "tool_use_id": "toolu_1", "content": "a colour"}]),
    ]
    await make_client(rec).anthropic.create(
        model="m", max_tokens=10, messages=messages, tool_choice={"type": "tool", "name": "lookup"}
    )
    body = json.loads(rec.requests[0].content)
    assert body["messages"] == messages
    assert body["tool_choice"] == {"type": "tool", "name": "lookup"}


async def test_create_refuses_stream_true_and_mixed_arguments(make_client: MakeClient) -> None:
    rec = Recorder(ok(MESSAGE))
    client = make_client(rec)
    with pytest.raises(ValueError, match="stream"):
        await client.anthropic.create(**request(stream=True))
    assert rec.requests == []
    # A params object plus keyword fields: the keywords win.
    await client.anthropic.create(MessageCreateParams(**request()), max_tokens=3)
    assert json.loads(rec.requests[0].content)["max_tokens"] == 3


async def test_native_error_envelope(make_client: MakeClient) -> None:
    body = {"type": "error", "error": {"type": "invalid_request_error", "message": "bad"}}
    with pytest.raises(anyint.BadRequestError) as info:
        await make_client(Recorder(ok(body, 400))).anthropic.create(**request())
    assert (info.value.message, info.value.error_type) == ("bad", "invalid_request_error")


async def test_create_rejects_unreadable_reply(make_client: MakeClient) -> None:
    client = make_client(Recorder(ok({"id": "msg"})), retry=RetryPolicy(max_retries=0))
    with pytest.raises(APIResponseValidationError, match="AnthropicMessage"):
        await client.anthropic.create(**request())


async def test_count_tokens(make_client: MakeClient) -> None:
    rec = Recorder(ok({"input_tokens": 14}))
    count = await make_client(rec).anthropic.count_tokens(
        model="claude-sonnet-4-6", messages=[user("Hello")]
    )
    (req,) = rec.requests
    assert req.url.path == "/anthropic/v1/messages/count_tokens"
    assert req.headers["x-api-key"] == TEST_KEY
    assert json.loads(req.content) == {"model": "claude-sonnet-4-6", "messages": [user("Hello")]}
    assert count.input_tokens == 14


# -- request rules ------------------------------------------------------------------------------


def _image_msg(source: dict[str, Any]) -> dict[str, Any]:
    return request(messages=[user([{"type": "image", "source": source}])])


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        (request(max_tokens=0), "max_tokens", "greater than or equal to 1"),
        ({"model": "m", "messages": [user("x")]}, "max_tokens", "Field required"),
        (request(messages=[]), "messages", "at least 1"),
        (request(model=""), "model", "at least 1"),
        (request(temperature=1.5), "temperature", "less than or equal to 1"),
        (request(top_p=-0.1), "top_p", "greater than or equal to 0"),
        (request(messages=[{"role": "system", "content": "x"}]), "role", "'user' or 'assistant'"),
        (request(max_token=5), "max_token", "Extra inputs are not permitted"),
        (
            _image_msg({"type": "base64", "media_type": "image/bmp", "data": PNG_B64}),
            "media_type",
            "image/jpeg",
        ),
        (
            _image_msg(
                {"type": "base64", "media_type": "image/png", "data": "data:image/png;base64,AAAA"}
            ),
            "data",
            "without a 'data:",
        ),
        (
            _image_msg({"type": "base64", "media_type": "image/png", "data": "not base64!"}),
            "data",
            "valid standard base64",
        ),
        (
            _image_msg({"type": "base64", "media_type": "image/jpeg", "data": PNG_B64}),
            "source",
            "media_type is 'image/jpeg' but the data is 'image/png'",
        ),
        (_image_msg({"type": "url", "url": "ftp://x/a.png"}), "url", "http(s) URL"),
        (_image_msg({"type": "file", "file_id": "f"}), "source", "does not match any"),
        (request(tool_choice={"type": "tool"}), "tool_choice", "name is required"),
        (request(tool_choice={"type": "auto", "name": "x"}), "tool_choice", "only then"),
    ],
)
async def test_bad_requests_fail_before_io(
    make_client: MakeClient, body: dict[str, Any], field: str, rule: str
) -> None:
    rec = Recorder(ok(MESSAGE))
    client = make_client(rec)
    with pytest.raises(ValidationError) as info:
        await client.anthropic.create(**body)
    text = str(info.value)
    assert field in text and rule in text
    with pytest.raises(ValidationError):
        client.anthropic.stream(**body)
    assert rec.requests == []


def test_image_block_helper() -> None:
    block = image_block(JPEG)
    assert isinstance(block, ImageBlockParam)
    assert block.to_body() == {
        "type": "image",
        "source": {
            "type": "base64",
            "media_type": "image/jpeg",
            "data": base64.b64encode(JPEG).decode(),
        },
    }
    assert block.source.media_type == "image/jpeg"  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="media_type"):
        image_block(b"plain text, not an image")
    with pytest.raises(ValidationError, match="media_type"):
        image_block(PNG, "image/gif")


# -- streaming ----------------------------------------------------------------------------------


async def test_stream_yields_typed_events(make_client: MakeClient) -> None:
    events = text_stream_events("Hel", "lo")
    body = sse(*events[:2], {"type": "future_event", "x": 1}, *events[2:], extra="event: ping\n")
    ping = b"event: ping\ndata: {}\n\n"
    body = body.replace(b"event: content_block_stop", ping + b"event: content_block_stop")
    rec = Recorder(sse_response(body))
    got = [e async for e in make_client(rec).anthropic.stream(**request())]
    (req,) = rec.requests
    assert req.url.path == "/anthropic/v1/messages" and req.headers["x-api-key"] == TEST_KEY
    assert json.loads(req.content) == {**request(), "stream": True}
    assert [type(e) for e in got] == [
        MessageStartEvent,
        ContentBlockStartEvent,
        ContentBlockDeltaEvent,
        ContentBlockDeltaEvent,
        ContentBlockStopEvent,
        MessageDeltaEvent,
        MessageStopEvent,
    ]
    delta = got[2]
    assert isinstance(delta, ContentBlockDeltaEvent) and isinstance(delta.delta, TextDelta)
    assert delta.delta.text == "Hel"


# A truly streamed body (not held in memory): the client must not read it before handing it over.
async def test_stream_survives_tiny_network_chunks(make_client: MakeClient) -> None:
    payload = sse(*text_stream_events("a", "b", "c"))

    class Trickle(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            for i in range(0, len(payload), 7):
                yield payload[i : i + 7]

    def handler(req: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=Trickle())

    msg = await make_client(handler).anthropic.stream_final(**request())
    assert msg.text == "abc"


async def test_stream_final_assembles_text_and_tool_use(make_client: MakeClient) -> None:
    start = {**MESSAGE, "content": [], "stop_reason": None, "usage": {"input_tokens": 25}}
    tool_start = {"type": "tool_use", "id": "toolu_9", "name": "lookup", "input": {}}
    events = [
        {"type": "message_start", "message": start},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "text_delta", "text": "Let "},
        },
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "me."}},
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": tool_start},
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": '{"q": "re'},
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": 'd", "n": 2}'},
        },
        {"type": "content_block_stop", "index": 1},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use", "stop_sequence": None},
            "usage": {"output_tokens": 30},
        },
        {"type": "message_stop"},
    ]
    seen: list[str] = []
    msg = await make_client(Recorder(sse_response(sse(*events)))).anthropic.stream_final(
        **request(), on_text=seen.append
    )
    assert seen == ["Let ", "me."]
    assert msg.text == "Let me."
    assert isinstance(msg.content[0], TextBlock)
    assert msg.tool_uses == [ToolUseBlock(id="toolu_9", name="lookup", input={"q": "red", "n": 2})]
    assert msg.stop_reason == "tool_use" and msg.id == "msg_01"
    assert msg.usage is not None and (msg.usage.input_tokens, msg.usage.output_tokens) == (25, 30)
    delta = ContentBlockDeltaEvent.model_validate(events[6])
    assert isinstance(delta.delta, InputJSONDelta)


async def test_stream_final_async_callback(make_client: MakeClient) -> None:
    seen: list[str] = []

    async def on_text(text: str) -> None:
        seen.append(text)

    rec = Recorder(sse_response(sse(*text_stream_events("x", "y"))))
    msg = await make_client(rec).anthropic.stream_final(request(), on_text=on_text)
    assert seen == ["x", "y"] and msg.text == "xy" and msg.stop_reason == "end_turn"


@pytest.mark.parametrize(
    ("error", "cls", "status"),
    [
        ({"type": "overloaded_error", "message": "Overloaded"}, anyint.InternalServerError, 529),
        ({"type": "rate_limit_error", "message": "slow"}, anyint.RateLimitError, 429),
    ],
)
async def test_mid_stream_error_event_raises_typed_error(
    make_client: MakeClient, error: dict[str, str], cls: type, status: int
) -> None:
    events = text_stream_events("partial")[:3]
    body = sse(*events) + sse({"type": "error", "error": error})
    client = make_client(Recorder(sse_response(body)))
    seen: list[str] = []
    with pytest.raises(cls) as info:
        await client.anthropic.stream_final(**request(), on_text=seen.append)
    assert info.value.status_code == status and error["message"] in info.value.message
    assert seen == ["partial"]
    with pytest.raises(cls):
        async for _ in client.anthropic.stream(**request()):
            pass


async def test_stream_without_message_stop_is_incomplete(make_client: MakeClient) -> None:
    body = sse(*text_stream_events("cut")[:-1])
    with pytest.raises(APIResponseValidationError, match="message_stop"):
        await make_client(Recorder(sse_response(body))).anthropic.stream_final(**request())


async def test_stream_error_status_is_typed(make_client: MakeClient) -> None:
    body = {"type": "error", "error": {"type": "authentication_error", "message": "bad key"}}
    with pytest.raises(anyint.AuthenticationError, match="bad key"):
        async for _ in make_client(Recorder(ok(body, 401))).anthropic.stream(**request()):
            pass


@pytest.mark.parametrize(
    ("events", "match"),
    [
        ([{"type": "content_block_stop", "index": 0}], "before message_start"),
        (
            [
                text_stream_events()[0],
                {
                    "type": "content_block_delta",
                    "index": 3,
                    "delta": {"type": "text_delta", "text": "x"},
                },
            ],
            "before its start",
        ),
        (
            [
                text_stream_events()[0],
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "tool_use", "id": "t", "name": "n", "input": {}},
                },
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "input_json_delta", "partial_json": '{"q": '},
                },
                {"type": "content_block_stop", "index": 0},
            ],
            "not valid JSON",
        ),
        ([{"type": "content_block_delta", "index": "zero"}], "unreadable Anthropic stream event"),
    ],
)
async def test_malformed_streams(
    make_client: MakeClient, events: list[dict[str, Any]], match: str
) -> None:
    rec = Recorder(sse_response(sse(*events)))
    with pytest.raises(APIResponseValidationError, match=match):
        await make_client(rec).anthropic.stream_final(**request())
