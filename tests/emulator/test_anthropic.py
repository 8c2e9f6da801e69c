"""Emulated Anthropic messages: image understanding, SSE events, tools, count_tokens, errors."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import httpx
import pytest

from anyint import AnyIntClient, APIStatusError, AuthenticationError, BadRequestError
from anyint.types.anthropic import image_block
from emulator.app import EmulatorApp
from emulator.server import IN_PROCESS_BASE_URL, ThreadedEmulatorServer

from ._images import b64, solid

MODEL = "claude-sonnet-4-6"
HEADERS = {"x-api-key": "k", "anthropic-version": "2023-06-01"}
TIMES = "\N{MULTIPLICATION SIGN}"
WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Get the current weather for a city.",
    "input_schema": {
        "type": "object",
        "properties": {"location": {"type": "string"}, "unit": {"enum": ["celsius", "kelvin"]}},
        "required": ["location"],
    },
}


def ask(*blocks: Any, text: str = "What is in this picture?") -> list[dict[str, Any]]:
    return [{"role": "user", "content": [*blocks, {"type": "text", "text": text}]}]


def image_source(data: bytes, media_type: str = "image/png") -> dict[str, Any]:
    return {
        "type": "image",
        "source": {"type": "base64", "media_type": media_type, "data": b64(data)},
    }


def sse_events(text: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for chunk in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in chunk.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


# -- answers from the real images ----------------------------------------------------------------


async def test_answer_describes_the_image_sent(client: AnyIntClient) -> None:
    msg = await client.anthropic.create(
        model=MODEL,
        max_tokens=256,
        messages=ask(image_block(solid((208, 16, 16))), text="Which colour dominates?"),
    )
    assert msg.text.startswith(f"Image 1: A PNG image, 64{TIMES}48 pixels, mostly red (#d01010).")
    assert '"Which colour dominates?"' in msg.text
    assert msg.stop_reason == "end_turn" and msg.model == MODEL and msg.id.startswith("msg_")
    assert msg.usage is not None and msg.usage.input_tokens and msg.usage.output_tokens


async def test_each_image_is_described_in_order(client: AnyIntClient) -> None:
    msg = await client.anthropic.create(
        model=MODEL,
        max_tokens=256,
        messages=ask(
            image_block(solid((30, 60, 220), (20, 10))),
            image_block(solid((40, 170, 60), (33, 77), "JPEG")),
        ),
    )
    lines = msg.text.splitlines()
    assert lines[0].startswith(f"Image 1: A PNG image, 20{TIMES}10 pixels, mostly blue")
    assert lines[1].startswith(f"Image 2: A JPEG image, 33{TIMES}77 pixels, mostly green")


async def test_reply_is_deterministic_and_text_only_works(client: AnyIntClient) -> None:
    params = {"model": MODEL, "max_tokens": 64, "messages": [{"role": "user", "content": "Hi"}]}
    first, second = await client.anthropic.create(params), await client.anthropic.create(params)
    assert first.text == second.text and '"Hi"' in first.text


async def test_url_source_served_by_the_emulator(app: EmulatorApp, client: AnyIntClient) -> None:
    url = app.backend.serve(
        IN_PROCESS_BASE_URL, "test-img", "a.png", "image/png", lambda: solid((245, 135, 20))
    )
    source = {"type": "image", "source": {"type": "url", "url": url}}
    msg = await client.anthropic.create(model=MODEL, max_tokens=64, messages=ask(source))
    assert f"64{TIMES}48 pixels, mostly orange" in msg.text


async def test_external_url_is_refused(client: AnyIntClient) -> None:
    source = {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}
    with pytest.raises(BadRequestError) as err:
        await client.anthropic.create(model=MODEL, max_tokens=64, messages=ask(source))
    assert "messages[0].content[0].source" in err.value.message
    assert "cannot fetch external URLs" in err.value.message


async def test_undecodable_image_names_the_block(client: AnyIntClient) -> None:
    bad = {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": b64(b"nope!")},
    }
    with pytest.raises(BadRequestError) as err:
        await client.anthropic.create(
            model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "a"}, *ask(bad)]
        )
    assert err.value.error_type == "invalid_request_error"
    assert "messages[1].content[0].source" in err.value.message


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ({"type": "base64", "media_type": "image/png", "data": "%%%"}, "not valid base64"),
        ({"type": "base64", "media_type": "image/jpeg", "data": b64(solid((1, 1, 1)))}, "PNG"),
        ({"type": "base64", "media_type": "image/bmp", "data": "AAAA"}, "media_type"),
        ({"type": "file", "file_id": "f"}, "type must be"),
    ],
)
async def test_bad_image_sources_are_400(
    raw: httpx.AsyncClient, source: dict[str, Any], expected: str
) -> None:
    body = {"model": MODEL, "max_tokens": 9, "messages": ask({"type": "image", "source": source})}
    response = await raw.post("/anthropic/v1/messages", json=body, headers=HEADERS)
    assert response.status_code == 400
    error = response.json()
    assert error["type"] == "error" and error["error"]["type"] == "invalid_request_error"
    assert "messages[0].content[0].source" in error["error"]["message"]
    assert expected in error["error"]["message"]


async def test_json_requested_gives_json_text(client: AnyIntClient) -> None:
    msg = await client.anthropic.create(
        model=MODEL,
        max_tokens=256,
        messages=ask(image_block(solid((240, 215, 40))), text="Answer in JSON only."),
    )
    data = json.loads(msg.text)
    assert data["images"] == [
        {"format": "PNG", "width": 64, "height": 48, "color": "yellow", "hex": "#f0d728"}
    ]


async def test_max_tokens_and_stop_sequences(client: AnyIntClient) -> None:
    messages = ask(image_block(solid((0, 0, 0))))
    short = await client.anthropic.create(model=MODEL, max_tokens=3, messages=messages)
    assert short.stop_reason == "max_tokens" and len(short.text) == 12
    stopped = await client.anthropic.create(
        model=MODEL, max_tokens=99, messages=messages, stop_sequences=["pixels"]
    )
    assert stopped.stop_reason == "stop_sequence" and stopped.stop_sequence == "pixels"
    assert stopped.text.endswith(f"64{TIMES}48 ")


# -- streaming -----------------------------------------------------------------------------------


async def test_stream_event_sequence(raw: httpx.AsyncClient) -> None:
    body = {"model": MODEL, "max_tokens": 99, "stream": True, "messages": ask()}
    response = await raw.post("/anthropic/v1/messages", json=body, headers=HEADERS)
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.text)
    names = [name for name, _ in events]
    assert names[:3] == ["message_start", "ping", "content_block_start"]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert names.count("content_block_delta") >= 3
    assert all(name == data["type"] for name, data in events)
    assert events[-2][1]["delta"]["stop_reason"] == "end_turn"
    assert events[-2][1]["usage"]["output_tokens"] > 1


async def test_stream_final_matches_create(client: AnyIntClient) -> None:
    params = {"model": MODEL, "max_tokens": 256, "messages": ask(image_block(solid((9, 9, 200))))}
    deltas: list[str] = []
    streamed = await client.anthropic.stream_final(params, on_text=deltas.append)
    whole = await client.anthropic.create(params)
    assert streamed.text == whole.text == "".join(deltas) and len(deltas) > 2
    assert streamed.stop_reason == "end_turn"
    assert streamed.usage == whole.usage


async def test_sse_error_fault_fails_the_stream(
    client: AnyIntClient, raw: httpx.AsyncClient
) -> None:
    await raw.post(
        "/_emulator/faults", json={"match": "POST /anthropic/v1/messages", "fault": "sse_error"}
    )
    with pytest.raises(APIStatusError) as err:
        await client.anthropic.stream_final(model=MODEL, max_tokens=99, messages=ask())
    assert "injected fault" in err.value.message


# -- tools and token counting --------------------------------------------------------------------


async def test_tool_use_then_tool_result(client: AnyIntClient) -> None:
    question = "What's the weather in Paris right now?"
    first = await client.anthropic.create(
        model=MODEL, max_tokens=200, tools=[WEATHER_TOOL], messages=ask(text=question)
    )
    assert first.stop_reason == "tool_use"
    (call,) = first.tool_uses
    assert call.name == "get_weather" and call.input == {"location": "Paris"}
    history = [
        *ask(text=question),
        {"role": "assistant", "content": [b.model_dump() for b in first.content]},
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": call.id, "content": '{"temp_c": 17}'}
            ],
        },
    ]
    final = await client.anthropic.create(
        model=MODEL, max_tokens=200, tools=[WEATHER_TOOL], messages=history
    )
    assert final.stop_reason == "end_turn"
    assert "get_weather reported temp_c 17" in final.text and question in final.text


async def test_streamed_tool_use_and_tool_choice(client: AnyIntClient) -> None:
    streamed = await client.anthropic.stream_final(
        model=MODEL, max_tokens=200, tools=[WEATHER_TOOL], messages=ask(text="Weather in Rome?")
    )
    assert streamed.tool_uses[0].input == {"location": "Rome"}
    forced = await client.anthropic.create(
        model=MODEL,
        max_tokens=200,
        tools=[WEATHER_TOOL],
        tool_choice={"type": "tool", "name": "get_weather"},
        messages=ask(text="Hello there"),
    )
    assert [b.type for b in forced.content] == ["tool_use"]
    none = await client.anthropic.create(
        model=MODEL,
        max_tokens=200,
        tools=[WEATHER_TOOL],
        tool_choice={"type": "none"},
        messages=ask(text="Weather in Rome?"),
    )
    assert none.stop_reason == "end_turn" and not none.tool_uses


async def test_count_tokens_matches_usage(client: AnyIntClient) -> None:
    messages = ask(image_block(solid((1, 2, 3), (300, 200))), text="Describe it.")
    counted = await client.anthropic.count_tokens(
        model=MODEL, messages=messages, system="Be brief."
    )
    msg = await client.anthropic.create(
        model=MODEL, max_tokens=64, messages=messages, system="Be brief."
    )
    assert msg.usage is not None and counted.input_tokens == msg.usage.input_tokens
    text_only = await client.anthropic.count_tokens(model=MODEL, messages=ask(text="Describe it."))
    assert counted.input_tokens - text_only.input_tokens >= 80  # the 300x200 image counts


# -- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ({"model": "nope", "max_tokens": 5, "messages": ask()}, 400, "does not exist"),
        ({"model": "gemini-3-flash-preview", "max_tokens": 5, "messages": ask()}, 400, "family"),
        ({"model": MODEL, "messages": ask()}, 400, "max_tokens"),
        ({"model": MODEL, "max_tokens": 0, "messages": ask()}, 400, "max_tokens"),
        ({"model": MODEL, "max_tokens": 5, "messages": []}, 400, "messages"),
        (
            {"model": MODEL, "max_tokens": 5, "messages": [{"role": "bot", "content": "x"}]},
            400,
            "role",
        ),
    ],
)
async def test_bad_requests_use_the_anthropic_envelope(
    raw: httpx.AsyncClient, body: dict[str, Any], status: int, needle: str
) -> None:
    for path in ("/anthropic/v1/messages", "/anthropic/v1/messages/count_tokens"):
        response = await raw.post(path, json=body, headers=HEADERS)
        if path.endswith("count_tokens") and needle == "max_tokens":
            continue  # count_tokens takes no max_tokens
        assert response.status_code == status, response.text
        assert response.json()["type"] == "error"
        assert needle in response.json()["error"]["message"]


async def test_auth_is_required(raw: httpx.AsyncClient) -> None:
    body = {"model": MODEL, "max_tokens": 5, "messages": ask()}
    no_key = await raw.post("/anthropic/v1/messages", json=body, headers={"anthropic-version": "x"})
    assert no_key.status_code == 401
    assert no_key.json()["error"]["type"] == "authentication_error"
    no_version = await raw.post("/anthropic/v1/messages", json=body, headers={"x-api-key": "k"})
    assert no_version.status_code == 400
    broken = await raw.post(
        "/anthropic/v1/messages",
        content=b"{oops",
        headers={**HEADERS, "content-type": "application/json"},
    )
    assert broken.status_code == 400 and broken.json()["type"] == "error"


async def test_client_maps_auth_failure(app: EmulatorApp, client: AnyIntClient) -> None:
    app.backend.valid_keys = {"another-key"}
    with pytest.raises(AuthenticationError):
        await client.anthropic.create(model=MODEL, max_tokens=5, messages=ask())


# -- the official SDK ----------------------------------------------------------------------------


def sdk(server: ThreadedEmulatorServer) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(
        api_key="k", base_url=f"{server.base_url}/anthropic", max_retries=0
    )


async def test_official_sdk_create_with_image(server: ThreadedEmulatorServer) -> None:
    async with sdk(server) as c:
        msg = await c.messages.create(
            model=MODEL,
            max_tokens=128,
            messages=ask(image_source(solid((130, 55, 175), (10, 20))), text="Colour?"),
        )
        assert msg.content[0].type == "text"
        assert f"A PNG image, 10{TIMES}20 pixels, mostly purple (#8237af)" in msg.content[0].text
        assert msg.usage.input_tokens > 0 and msg.stop_reason == "end_turn"
        counted = await c.messages.count_tokens(model=MODEL, messages=ask(text="Colour?"))
        assert counted.input_tokens > 0


async def test_official_sdk_stream(server: ThreadedEmulatorServer) -> None:
    async with sdk(server) as c:
        async with c.messages.stream(
            model=MODEL, max_tokens=128, messages=ask(image_source(solid((240, 135, 180))))
        ) as stream:
            pieces = [text async for text in stream.text_stream]
            final = await stream.get_final_message()
        assert len(pieces) > 2 and "".join(pieces) == final.content[0].text
        assert "mostly pink" in final.content[0].text and final.stop_reason == "end_turn"
        assert final.usage.output_tokens > 1


async def test_official_sdk_tool_use_and_errors(server: ThreadedEmulatorServer) -> None:
    async with sdk(server) as c:
        msg = await c.messages.create(
            model=MODEL,
            max_tokens=128,
            tools=[WEATHER_TOOL],  # type: ignore[list-item]
            messages=ask(text="Get the weather in Berlin"),
        )
        assert msg.stop_reason == "tool_use"
        assert [(b.name, b.input) for b in msg.content if b.type == "tool_use"] == [
            ("get_weather", {"location": "Berlin"})
        ]
        with pytest.raises(anthropic.BadRequestError) as err:
            await c.messages.create(model="nope", max_tokens=5, messages=ask())
        assert err.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]
