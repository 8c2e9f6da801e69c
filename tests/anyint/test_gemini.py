"""Gemini-compatible routes: camelCase bodies, model path checks, streaming and reply helpers."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from PIL import Image
from pydantic import ValidationError

import anyint
from anyint import AnyIntClient, APIResponseValidationError
from anyint.types.gemini import (
    Content,
    FunctionCall,
    GenerateContentParams,
    GenerateContentResponse,
    InlineImage,
    Part,
)

from .conftest import BASE_URL, TEST_KEY, Recorder

MakeClient = Callable[..., AnyIntClient]


def _png(color: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (3, 2), color).save(buf, "PNG")
    return buf.getvalue()


PNG = _png((255, 0, 0))
PNG2 = _png((0, 0, 255))
B64 = base64.b64encode(PNG).decode()
B64_2 = base64.b64encode(PNG2).decode()

WEATHER_TOOL = {
    "functionDeclarations": [
        {
            "name": "get_current_temperature",
            "description": "Gets the current temperature for a given location.",
            "parameters": {
                "type": "object",
                "properties": {"location": {"type": "string"}},
                "required": ["location"],
            },
        }
    ]
}
USER_TURN = {"role": "user", "parts": [{"text": "What is the temperature in London?"}]}


def ok(body: object, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=body)


def reply(*parts: dict[str, Any], finish: str | None = "STOP", **top: Any) -> dict[str, Any]:
    cand: dict[str, Any] = {"content": {"role": "model", "parts": list(parts)}, "index": 0}
    if finish:
        cand["finishReason"] = finish
    return {"candidates": [cand], **top}


def sse(*chunks: dict[str, Any]) -> httpx.Response:
    body = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks).encode()
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)


# -- generateContent ----------------------------------------------------------------------------


async def test_generate_content_route_and_camel_case_body(make_client: MakeClient) -> None:
    rec = Recorder(ok(reply({"text": "14 degrees"})))
    result = await make_client(rec).gemini.generate_content(
        "gemini-2.0-flash",
        contents=[USER_TURN],
        tools=[{"function_declarations": WEATHER_TOOL["functionDeclarations"]}],
        generation_config={"temperature": 0.7, "max_output_tokens": 256, "top_p": 0.9},
        system_instruction={"parts": [{"text": "Be brief."}]},
        tool_config={"function_calling_config": {"mode": "AUTO"}},
    )
    (req,) = rec.requests
    assert req.method == "POST"
    assert req.url.raw_path == b"/gemini/v1beta/models/gemini-2.0-flash:generateContent"
    assert str(req.url) == f"{BASE_URL}/gemini/v1beta/models/gemini-2.0-flash:generateContent"
    assert req.headers["authorization"] == f"Bearer {TEST_KEY}"
    assert "x-api-key" not in req.headers and "x-goog-api-key" not in req.headers
    assert json.loads(req.content) == {
        "contents": [USER_TURN],
        "tools": [WEATHER_TOOL],
        "generationConfig": {"temperature": 0.7, "maxOutputTokens": 256, "topP": 0.9},
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "toolConfig": {"functionCallingConfig": {"mode": "AUTO"}},
    }
    assert result.text == "14 degrees" and result.finish_reason == "STOP"


async def test_params_object_or_camel_case_dict(make_client: MakeClient) -> None:
    body = {
        "contents": [
            {"role": "user", "parts": [{"inline_data": {"mime_type": "image/png", "data": B64}}]}
        ],
        "generation_config": {"responseModalities": ["TEXT", "IMAGE"]},
    }
    rec = Recorder(ok(reply({"text": "ok"})))
    client = make_client(rec)
    await client.gemini.generate_content("m", GenerateContentParams.model_validate(body))
    await client.gemini.generate_content("m", body)
    expected = {
        "contents": [
            {"role": "user", "parts": [{"inlineData": {"mimeType": "image/png", "data": B64}}]}
        ],
        "generationConfig": {"responseModalities": ["TEXT", "IMAGE"]},
    }
    assert [json.loads(r.content) for r in rec.requests] == [expected, expected]
    # A mapping plus keyword fields: the keywords win, whatever spelling either side uses.
    await client.gemini.generate_content("m", body, contents=[USER_TURN])
    sent = json.loads(rec.requests[2].content)
    assert sent["generationConfig"] == expected["generationConfig"]
    assert sent["contents"] != expected["contents"]


@pytest.mark.parametrize("key", ["inlineData", "inline_data"])
async def test_image_reply_decodes_to_bytes(make_client: MakeClient, key: str) -> None:
    inner = (
        {"mimeType": "image/png", "data": B64}
        if key == "inlineData"
        else {
            "mime_type": "image/png",
            "data": B64,
        }
    )
    body = reply(
        {"text": f"Here. Also ![x](data:image/png;base64,{B64_2})"},
        {key: inner},
        {"inlineData": {"mimeType": "audio/wav", "data": "UklGRg=="}},
        usageMetadata={
            "promptTokenCount": 5,
            "candidatesTokenCount": 1290,
            "totalTokenCount": 1295,
        },
    )
    result = await make_client(Recorder(ok(body))).gemini.generate_content(
        "gemini-3.1-flash-image-preview", contents=[USER_TURN]
    )
    # inlineData images first, then data URLs found in text; audio is not an image.
    assert result.images == [InlineImage("image/png", PNG), InlineImage("image/png", PNG2)]
    assert Image.open(io.BytesIO(result.images[0].data)).size == (3, 2)
    assert result.usage_metadata is not None
    assert result.usage_metadata.candidates_token_count == 1290


def test_url_safe_unpadded_inline_data_decodes() -> None:
    data = base64.urlsafe_b64encode(PNG).decode().rstrip("=")
    r = GenerateContentResponse.model_validate(
        reply({"inlineData": {"mimeType": "image/png", "data": data}})
    )
    assert r.images[0].data == PNG


def test_bad_inline_image_raises_but_bad_text_data_url_is_ignored() -> None:
    r = GenerateContentResponse.model_validate(reply({"text": "data:image/png;base64,A"}))
    assert r.images == []
    bad = GenerateContentResponse.model_validate(
        reply({"inlineData": {"mimeType": "image/png", "data": "**not base64**"}})
    )
    with pytest.raises(APIResponseValidationError, match="inlineData"):
        _ = bad.images


def test_blocked_prompt_has_no_parts() -> None:
    r = GenerateContentResponse.model_validate({"promptFeedback": {"blockReason": "SAFETY"}})
    assert (r.text, r.images, r.function_calls, r.finish_reason) == ("", [], [], None)


async def test_function_call_round_trip(make_client: MakeClient) -> None:
    call = {"name": "get_current_temperature", "args": {"location": "London"}}
    rec = Recorder(
        ok(reply({"functionCall": call, "thoughtSignature": "sig-1"})),
        ok(reply({"text": "It is 14°C in London."})),
    )
    gemini = make_client(rec).gemini
    first = await gemini.generate_content(
        "gemini-2.0-flash", contents=[USER_TURN], tools=[WEATHER_TOOL]
    )
    assert first.function_calls == [
        FunctionCall(name="get_current_temperature", args={"location": "London"})
    ]
    fc = first.function_calls[0]
    assert first.candidates[0].content is not None
    history = [
        Content.model_validate(USER_TURN),
        first.candidates[0].content.to_param(),
        Content(role="user", parts=[Part.from_function_response(fc.name, {"temperature": 14})]),
    ]
    second = await gemini.generate_content(
        "gemini-2.0-flash", contents=history, tools=[WEATHER_TOOL]
    )
    assert json.loads(rec.requests[1].content) == {
        "contents": [
            USER_TURN,
            {"role": "model", "parts": [{"functionCall": call, "thoughtSignature": "sig-1"}]},
            {
                "role": "user",
                "parts": [
                    {
                        "functionResponse": {
                            "name": "get_current_temperature",
                            "response": {"temperature": 14},
                        }
                    }
                ],
            },
        ],
        "tools": [WEATHER_TOOL],
    }
    assert second.text == "It is 14°C in London." and second.function_calls == []


async def test_google_error_envelope(make_client: MakeClient) -> None:
    body = {"error": {"code": 400, "message": "Invalid JSON", "status": "INVALID_ARGUMENT"}}
    with pytest.raises(anyint.BadRequestError) as info:
        await make_client(Recorder(ok(body, 400))).gemini.generate_content(
            "m", contents=[USER_TURN]
        )
    assert (info.value.message, info.value.error_type) == ("Invalid JSON", "INVALID_ARGUMENT")


# -- request rules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model", ["", " ", "models/gemini-2.0-flash", "a:b", "gemini 2", "x?alt=json", "x#y", ".."]
)
async def test_bad_model_is_refused_before_io(make_client: MakeClient, model: str) -> None:
    rec = Recorder(ok(reply({"text": "x"})))
    client = make_client(rec)
    with pytest.raises(ValueError, match="model"):
        await client.gemini.generate_content(model, contents=[USER_TURN])
    with pytest.raises(ValueError, match="model"):
        client.gemini.stream_generate_content(model, contents=[USER_TURN])
    with pytest.raises(ValueError, match="model"):
        await client.gemini.stream_final(model, contents=[USER_TURN])
    assert rec.requests == []


def _with(**fields: Any) -> dict[str, Any]:
    return {"contents": [USER_TURN], **fields}


def _parts(*parts: dict[str, Any]) -> dict[str, Any]:
    return {"contents": [{"role": "user", "parts": list(parts)}]}


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        ({"contents": []}, "contents", "at least 1"),
        ({}, "contents", "Field required"),
        (_parts(), "parts", "at least 1"),
        (
            _parts({"text": "a", "inlineData": {"mimeType": "image/png", "data": B64}}),
            "parts",
            "exactly one",
        ),
        (_parts({"thoughtSignature": "s"}), "parts", "exactly one"),
        (
            {"contents": [{"role": "assistant", "parts": [{"text": "x"}]}]},
            "role",
            "'user', 'model' or 'function'",
        ),
        (
            _parts(
                {"inlineData": {"mimeType": "image/png", "data": f"data:image/png;base64,{B64}"}}
            ),
            "data",
            "without a 'data:",
        ),
        (
            _parts({"inlineData": {"mimeType": "image/png", "data": "%%%"}}),
            "data",
            "valid standard base64",
        ),
        (_parts({"inlineData": {"mimeType": "png", "data": B64}}), "mimeType", "pattern"),
        (
            _parts({"inlineData": {"mimeType": "image/png", "data": B64, "extra": 1}}),
            "extra",
            "Extra inputs",
        ),
        (_parts({"functionResponse": {"name": "f"}}), "response", "Field required"),
        (_with(generationConfigs={}), "generationConfigs", "Extra inputs"),
        (_with(tools=[{"functionDeclarations": []}]), "functionDeclarations", "at least 1"),
        (_with(tools=[{"functionDeclarations": [{"name": "1abc"}]}]), "name", "pattern"),
        (_with(tools=[{"functionDeclarations": [{"name": "f" * 65}]}]), "name", "pattern"),
        (_with(tools=[{"functionDeclarations": [{"name": "get weather"}]}]), "name", "pattern"),
        (_with(generationConfig={"temperature": 2.5}), "temperature", "less than or equal to 2"),
        (_with(generationConfig={"topP": 1.5}), "topP", "less than or equal to 1"),
        (
            _with(generationConfig={"maxOutputTokens": 0}),
            "maxOutputTokens",
            "greater than or equal to 1",
        ),
        (
            _with(generationConfig={"responseModalities": ["IMAGE"]}),
            "generationConfig",
            "must also include TEXT",
        ),
        (
            _with(generationConfig={"responseModalities": ["TEXT", "VIDEO"]}),
            "responseModalities",
            "'TEXT' or 'IMAGE'",
        ),
        (_with(generationConfig={"responseModalities": []}), "responseModalities", "at least 1"),
        (
            _with(generationConfig={"responseSchema": {"type": "object"}}),
            "generationConfig",
            "responseMimeType",
        ),
        (
            _with(generationConfig={"imageConfig": {"aspectRatio": "wide"}}),
            "aspectRatio",
            "pattern",
        ),
        (_with(toolConfig={"functionCallingConfig": {"mode": "SOMETIMES"}}), "mode", "'AUTO'"),
        (
            _with(safetySettings=[{"category": "HARM_CATEGORY_HARASSMENT"}]),
            "threshold",
            "Field required",
        ),
    ],
)
async def test_bad_requests_fail_before_io(
    make_client: MakeClient, body: dict[str, Any], field: str, rule: str
) -> None:
    rec = Recorder(ok(reply({"text": "x"})))
    client = make_client(rec)
    with pytest.raises(ValidationError) as info:
        await client.gemini.generate_content("gemini-2.0-flash", body)
    text = str(info.value)
    assert field in text and rule in text, text
    with pytest.raises(ValidationError):
        client.gemini.stream_generate_content("gemini-2.0-flash", body)
    assert rec.requests == []


def test_documented_image_request_round_trips() -> None:
    body = {
        "contents": [{"role": "user", "parts": [{"text": "A launch poster"}]}],
        "generationConfig": {
            "responseModalities": ["TEXT", "IMAGE"],
            "imageConfig": {"aspectRatio": "16:9", "imageSize": "1K"},
            "responseMimeType": "application/json",
            "responseSchema": {"type": "object"},
        },
    }
    assert GenerateContentParams.model_validate(body).to_body() == body
    part = Part.from_bytes(PNG, "image/png")
    assert part.to_body() == {"inlineData": {"mimeType": "image/png", "data": B64}}


# -- streaming ----------------------------------------------------------------------------------


async def test_stream_route_query_and_chunks(make_client: MakeClient) -> None:
    rec = Recorder(sse(reply({"text": "Hel"}, finish=None), reply({"text": "lo"})))
    chunks = [
        c
        async for c in make_client(rec).gemini.stream_generate_content(
            "gemini-3-flash-preview", contents=[USER_TURN]
        )
    ]
    (req,) = rec.requests
    assert req.method == "POST"
    assert (
        req.url.raw_path
        == b"/gemini/v1beta/models/gemini-3-flash-preview:streamGenerateContent?alt=sse"
    )
    assert dict(req.url.params) == {"alt": "sse"}
    assert req.headers["authorization"] == f"Bearer {TEST_KEY}"
    assert json.loads(req.content) == {"contents": [USER_TURN]}
    assert [c.text for c in chunks] == ["Hel", "lo"]
    assert [c.finish_reason for c in chunks] == [None, "STOP"]


async def test_stream_final_merges_chunks(make_client: MakeClient) -> None:
    call = {"name": "get_current_temperature", "args": {"location": "London"}}
    chunks = [
        reply({"text": "Here "}, finish=None, modelVersion="v1", responseId="r1"),
        reply({"text": "is "}, finish=None, usageMetadata={"promptTokenCount": 4}),
        reply({"text": "it."}, {"inlineData": {"mimeType": "image/png", "data": B64}}, finish=None),
        reply({"text": "And "}, {"functionCall": call}, finish=None),
        reply(
            {"text": "done."},
            usageMetadata={"promptTokenCount": 4, "candidatesTokenCount": 9, "totalTokenCount": 13},
        ),
    ]
    seen: list[str] = []
    final = await make_client(Recorder(sse(*chunks))).gemini.stream_final(
        "gemini-3.1-flash-image-preview", contents=[USER_TURN], on_text=seen.append
    )
    assert seen == ["Here ", "is ", "it.", "And ", "done."]
    assert [p.model_dump(by_alias=True, exclude_none=True) for p in final.parts] == [
        {"text": "Here is it."},
        {"inlineData": {"mimeType": "image/png", "data": B64}},
        {"text": "And "},
        {"functionCall": call},
        {"text": "done."},
    ]
    assert final.text == "Here is it.And done."
    assert final.images == [InlineImage("image/png", PNG)]
    assert final.function_calls[0].name == "get_current_temperature"
    assert final.finish_reason == "STOP"
    assert final.usage_metadata is not None and final.usage_metadata.total_token_count == 13
    assert (final.model_version, final.response_id) == ("v1", "r1")


async def test_stream_final_keeps_thought_signatures_apart(make_client: MakeClient) -> None:
    chunks = [
        reply({"text": "a", "thoughtSignature": "s1"}, finish=None),
        reply({"text": "b"}, finish=None),
        reply({"text": "c"}, {"text": "", "thoughtSignature": "s2"}),
    ]
    final = await make_client(Recorder(sse(*chunks))).gemini.stream_final("m", contents=[USER_TURN])
    assert [(p.text, p.thought_signature) for p in final.parts] == [("a", "s1"), ("bc", "s2")]


async def test_stream_final_async_callback(make_client: MakeClient) -> None:
    seen: list[str] = []

    async def on_text(text: str) -> None:
        seen.append(text)

    rec = Recorder(sse(reply({"text": "x"}, finish=None), reply({"text": "y"})))
    final = await make_client(rec).gemini.stream_final("m", _with(), on_text=on_text)
    assert seen == ["x", "y"] and final.text == "xy"


@pytest.mark.parametrize(
    ("error", "cls"),
    [
        ({"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}, anyint.RateLimitError),
        (
            {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"},
            anyint.ServiceUnavailableError,
        ),
    ],
)
async def test_mid_stream_error_raises_typed_error(
    make_client: MakeClient, error: dict[str, Any], cls: type
) -> None:
    rec = Recorder(sse(reply({"text": "par"}, finish=None), {"error": error}))
    seen: list[str] = []
    with pytest.raises(cls) as info:
        await make_client(rec).gemini.stream_final("m", contents=[USER_TURN], on_text=seen.append)
    assert error["message"] in info.value.message and seen == ["par"]


async def test_stream_error_status(make_client: MakeClient) -> None:
    body = {"error": {"code": 404, "message": "no model", "status": "NOT_FOUND"}}
    with pytest.raises(anyint.NotFoundError):
        async for _ in make_client(Recorder(ok(body, 404))).gemini.stream_generate_content(
            "m", contents=[USER_TURN]
        ):
            pass


@pytest.mark.parametrize(
    ("chunks", "match"),
    [
        ([], "without any chunk"),
        ([reply({"text": "cut "}, finish=None)], "without a finishReason"),
        ([{"candidates": "not a list"}], "unreadable Gemini stream chunk"),
    ],
)
async def test_incomplete_streams(
    make_client: MakeClient, chunks: list[dict[str, Any]], match: str
) -> None:
    with pytest.raises(APIResponseValidationError, match=match):
        await make_client(Recorder(sse(*chunks))).gemini.stream_final("m", contents=[USER_TURN])


async def test_stream_final_blocked_prompt_is_returned(make_client: MakeClient) -> None:
    rec = Recorder(sse({"promptFeedback": {"blockReason": "SAFETY"}}))
    final = await make_client(rec).gemini.stream_final("m", contents=[USER_TURN])
    assert final.prompt_feedback == {"blockReason": "SAFETY"} and final.text == ""
