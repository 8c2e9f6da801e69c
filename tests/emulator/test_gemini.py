"""Emulated Gemini generateContent: images in and out, function calling, SSE, errors."""

from __future__ import annotations

import io
import json
from typing import Any

import httpx
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types
from PIL import Image

from anyint import AnyIntClient, APIStatusError, BadRequestError
from anyint.types.gemini import Part
from emulator.app import EmulatorApp
from emulator.server import IN_PROCESS_BASE_URL, ThreadedEmulatorServer

from ._images import b64, solid

TEXT_MODEL = "gemini-2.0-flash"
IMAGE_MODEL = "gemini-3.1-flash-image-preview"
AUTH = {"Authorization": "Bearer k"}
TIMES = "\N{MULTIPLICATION SIGN}"
TEMPERATURE_TOOL = {
    "functionDeclarations": [
        {
            "name": "get_current_temperature",
            "description": "Gets the current temperature for a given location.",
            "parameters": {
                "type": "object",
                "properties": {
                    "location": {"type": "string", "description": "The city name"},
                },
                "required": ["location"],
            },
        }
    ]
}
LONDON = [{"role": "user", "parts": [{"text": "What is the temperature in London?"}]}]


def path(model: str, method: str = "generateContent") -> str:
    return f"/gemini/v1beta/models/{model}:{method}"


def user(*parts: Any) -> list[dict[str, Any]]:
    return [{"role": "user", "parts": list(parts)}]


def sse_chunks(text: str) -> list[dict[str, Any]]:
    blocks = text.strip().split("\n\n")
    assert all(block.startswith("data: ") for block in blocks)
    return [json.loads(block.removeprefix("data: ")) for block in blocks]


# -- text answers --------------------------------------------------------------------------------


async def test_answer_describes_inline_image(client: AnyIntClient) -> None:
    image = Part.from_bytes(solid((208, 16, 16)), "image/png")
    reply = await client.gemini.generate_content(
        TEXT_MODEL, contents=[{"role": "user", "parts": [image, {"text": "What colour is it?"}]}]
    )
    assert reply.text.startswith(f"Image 1: A PNG image, 64{TIMES}48 pixels, mostly red (#d01010)")
    assert '"What colour is it?"' in reply.text
    assert reply.finish_reason == "STOP" and reply.model_version == TEXT_MODEL
    usage = reply.usage_metadata
    assert usage is not None and usage.prompt_token_count and usage.candidates_token_count
    assert usage.total_token_count == usage.prompt_token_count + usage.candidates_token_count
    assert reply.response_id


async def test_snake_case_body_is_accepted(raw: httpx.AsyncClient) -> None:
    part = {
        "inline_data": {"mime_type": "image/jpeg", "data": b64(solid((30, 60, 220), fmt="JPEG"))}
    }
    snake = {"contents": user(part, {"text": "hi"}), "generation_config": {"temperature": 0.2}}
    camel = {
        "contents": user(
            {"inlineData": {"mimeType": "image/jpeg", "data": part["inline_data"]["data"]}},
            {"text": "hi"},
        ),
        "generationConfig": {"temperature": 0.2},
    }
    answers = []
    for body in (snake, camel):
        response = await raw.post(path(TEXT_MODEL), json=body, headers=AUTH)
        assert response.status_code == 200, response.text
        answers.append(response.json()["candidates"][0]["content"]["parts"][0]["text"])
    assert answers[0] == answers[1] and "A JPEG image" in answers[0] and "mostly blue" in answers[0]


async def test_file_data_from_the_emulator_is_read(
    app: EmulatorApp, raw: httpx.AsyncClient
) -> None:
    url = app.backend.serve(
        IN_PROCESS_BASE_URL, "k", "g.png", "image/png", lambda: solid((0, 0, 0))
    )
    body = {"contents": user({"fileData": {"fileUri": url, "mimeType": "image/png"}})}
    response = await raw.post(path(TEXT_MODEL), json=body, headers=AUTH)
    assert "mostly black" in response.json()["candidates"][0]["content"]["parts"][0]["text"]
    body = {"contents": user({"fileData": {"fileUri": "https://example.com/x.png"}})}
    refused = await raw.post(path(TEXT_MODEL), json=body, headers=AUTH)
    assert refused.status_code == 400
    assert "contents[0].parts[0].fileData.fileUri" in refused.json()["error"]["message"]


async def test_json_output_follows_the_response_schema(client: AnyIntClient) -> None:
    schema = {
        "type": "OBJECT",
        "properties": {"color": {"type": "STRING"}, "width": {"type": "INTEGER"}},
    }
    reply = await client.gemini.generate_content(
        TEXT_MODEL,
        contents=[{"parts": [Part.from_bytes(solid((40, 165, 60)), "image/png")]}],
        generation_config={"response_mime_type": "application/json", "response_schema": schema},
    )
    assert json.loads(reply.text) == {"color": "green", "width": 64}


async def test_max_output_tokens(client: AnyIntClient) -> None:
    reply = await client.gemini.generate_content(
        TEXT_MODEL, contents=LONDON, generation_config={"max_output_tokens": 2}
    )
    assert reply.finish_reason == "MAX_TOKENS" and len(reply.text) == 8


# -- function calling ----------------------------------------------------------------------------


async def test_function_call_then_function_response(client: AnyIntClient) -> None:
    reply = await client.gemini.generate_content(
        TEXT_MODEL, contents=LONDON, tools=[TEMPERATURE_TOOL]
    )
    (call,) = reply.function_calls
    assert (call.name, call.args) == ("get_current_temperature", {"location": "London"})
    assert reply.finish_reason == "STOP"
    history = [
        *LONDON,
        reply.candidates[0].content.to_param(),  # type: ignore[union-attr]
        {
            "role": "user",
            "parts": [
                Part.from_function_response(
                    "get_current_temperature", {"temperature": 14, "unit": "celsius"}
                )
            ],
        },
    ]
    final = await client.gemini.generate_content(
        TEXT_MODEL, contents=history, tools=[TEMPERATURE_TOOL]
    )
    assert not final.function_calls
    assert "get_current_temperature reported temperature 14, unit celsius" in final.text
    assert "London" in final.text


async def test_function_calling_modes(client: AnyIntClient) -> None:
    unrelated = [{"role": "user", "parts": [{"text": "Tell me a joke."}]}]
    plain = await client.gemini.generate_content(
        TEXT_MODEL, contents=unrelated, tools=[TEMPERATURE_TOOL]
    )
    assert not plain.function_calls
    forced = await client.gemini.generate_content(
        TEXT_MODEL,
        contents=unrelated,
        tools=[TEMPERATURE_TOOL],
        tool_config={"function_calling_config": {"mode": "ANY"}},
    )
    assert forced.function_calls[0].name == "get_current_temperature"
    off = await client.gemini.generate_content(
        TEXT_MODEL,
        contents=LONDON,
        tools=[TEMPERATURE_TOOL],
        tool_config={"function_calling_config": {"mode": "NONE"}},
    )
    assert not off.function_calls and "London" in off.text


# -- image output --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image_config", "size"),
    [
        (None, (512, 512)),
        ({"aspect_ratio": "16:9"}, (512, 288)),
        ({"image_size": "1K"}, (1024, 1024)),
    ],
)
async def test_image_output_is_a_real_png(
    client: AnyIntClient, image_config: dict[str, str] | None, size: tuple[int, int]
) -> None:
    config: dict[str, Any] = {"response_modalities": ["TEXT", "IMAGE"]}
    if image_config:
        config["image_config"] = image_config
    contents = [{"role": "user", "parts": [{"text": "A launch poster"}]}]
    reply = await client.gemini.generate_content(
        IMAGE_MODEL, contents=contents, generation_config=config
    )
    (image,) = reply.images
    with Image.open(io.BytesIO(image.data)) as img:
        assert (img.format, img.size) == ("PNG", size)
    assert f"{size[0]}{TIMES}{size[1]} pixels" in reply.text
    details = reply.usage_metadata.model_extra["candidatesTokensDetails"]  # type: ignore[union-attr]
    assert {"modality": "IMAGE", "tokenCount": 1290} in details
    again = await client.gemini.generate_content(
        IMAGE_MODEL, contents=contents, generation_config=config
    )
    assert again.images[0].data == image.data  # seeded from the request


async def test_image_output_rules(raw: httpx.AsyncClient) -> None:
    body = {"contents": LONDON, "generationConfig": {"responseModalities": ["IMAGE"]}}
    only_image = await raw.post(path(IMAGE_MODEL), json=body, headers=AUTH)
    assert only_image.status_code == 400
    assert only_image.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert "TEXT" in only_image.json()["error"]["message"]
    body["generationConfig"] = {"responseModalities": ["TEXT", "IMAGE"]}
    text_model = await raw.post(path(TEXT_MODEL), json=body, headers=AUTH)
    assert text_model.status_code == 400 and "cannot produce image" in text_model.text
    body["generationConfig"] = {"responseModalities": ["TEXT", "AUDIO"]}
    audio = await raw.post(path(IMAGE_MODEL), json=body, headers=AUTH)
    assert audio.status_code == 400 and "AUDIO" in audio.text


# -- streaming -----------------------------------------------------------------------------------


async def test_stream_chunks_and_final(client: AnyIntClient) -> None:
    contents = [{"role": "user", "parts": [Part.from_bytes(solid((9, 9, 9)), "image/png")]}]
    chunks = [c async for c in client.gemini.stream_generate_content(TEXT_MODEL, contents=contents)]
    assert len(chunks) > 2
    assert all(c.finish_reason is None and c.usage_metadata is None for c in chunks[:-1])
    assert chunks[-1].finish_reason == "STOP" and chunks[-1].usage_metadata is not None
    merged = await client.gemini.stream_final(TEXT_MODEL, contents=contents)
    whole = await client.gemini.generate_content(TEXT_MODEL, contents=contents)
    assert merged.text == whole.text == "".join(c.text for c in chunks)
    assert "mostly black" in merged.text


async def test_raw_sse_has_no_done_and_image_in_one_chunk(raw: httpx.AsyncClient) -> None:
    body = {"contents": LONDON, "generationConfig": {"responseModalities": ["TEXT", "IMAGE"]}}
    response = await raw.post(
        path(IMAGE_MODEL, "streamGenerateContent"), params={"alt": "sse"}, json=body, headers=AUTH
    )
    assert response.headers["content-type"].startswith("text/event-stream")
    assert "[DONE]" not in response.text
    chunks = sse_chunks(response.text)
    image_chunks = [c for c in chunks if "inlineData" in c["candidates"][0]["content"]["parts"][0]]
    assert len(image_chunks) == 1 and image_chunks[0] is chunks[-1]
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"


async def test_stream_function_call(client: AnyIntClient) -> None:
    merged = await client.gemini.stream_final(TEXT_MODEL, contents=LONDON, tools=[TEMPERATURE_TOOL])
    assert merged.function_calls[0].args == {"location": "London"}


async def test_stream_without_alt_sse_is_400(raw: httpx.AsyncClient) -> None:
    response = await raw.post(
        path(TEXT_MODEL, "streamGenerateContent"), json={"contents": LONDON}, headers=AUTH
    )
    assert response.status_code == 400
    assert "alt=sse" in response.json()["error"]["message"]


async def test_sse_error_fault(client: AnyIntClient, raw: httpx.AsyncClient) -> None:
    await raw.post(
        "/_emulator/faults", json={"match": "POST /gemini/v1beta/models/*", "fault": "sse_error"}
    )
    with pytest.raises(APIStatusError) as err:
        await client.gemini.stream_final(TEXT_MODEL, contents=LONDON)
    assert err.value.status_code == 503 and "injected fault" in err.value.message


# -- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "body", "needle"),
    [
        ("nope", {"contents": LONDON}, "does not exist"),
        ("claude-sonnet-4-6", {"contents": LONDON}, "gemini route family"),
        (TEXT_MODEL, {}, "contents"),
        (TEXT_MODEL, {"contents": []}, "contents"),
        (
            TEXT_MODEL,
            {"contents": user({"inlineData": {"mimeType": "image/png", "data": "@@"}})},
            "contents[0].parts[0].inlineData.data",
        ),
        (
            TEXT_MODEL,
            {"contents": user({"inlineData": {"mimeType": "image/png", "data": "AAAA"}})},
            "not a decodable image",
        ),
        (TEXT_MODEL, {"contents": user({"bogus": 1})}, "contents[0].parts[0]"),
        (TEXT_MODEL, {"contents": LONDON, "generationConfig": {"temperature": 9}}, "temperature"),
    ],
)
async def test_bad_requests_use_the_google_envelope(
    raw: httpx.AsyncClient, model: str, body: dict[str, Any], needle: str
) -> None:
    response = await raw.post(path(model), json=body, headers=AUTH)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == 400 and error["status"] == "INVALID_ARGUMENT"
    assert needle in error["message"]


async def test_auth_styles(raw: httpx.AsyncClient, client: AnyIntClient) -> None:
    body = {"contents": LONDON}
    missing = await raw.post(path(TEXT_MODEL), json=body)
    assert missing.status_code == 401 and missing.json()["error"]["status"] == "UNAUTHENTICATED"
    goog = await raw.post(path(TEXT_MODEL), json=body, headers={"x-goog-api-key": "k"})
    query = await raw.post(path(TEXT_MODEL), params={"key": "k"}, json=body)
    assert goog.status_code == query.status_code == 200
    with pytest.raises(BadRequestError):
        await client.gemini.generate_content("nope", contents=LONDON)


# -- the official SDK ----------------------------------------------------------------------------


def sdk(server: ThreadedEmulatorServer) -> genai.Client:
    options = types.HttpOptions(
        base_url=f"{server.base_url}/gemini",
        api_version="v1beta",
        # An explicit transport makes the SDK use httpx rather than aiohttp, whose session
        # subclassing raises a DeprecationWarning (an error under our pytest settings).
        async_client_args={"transport": httpx.AsyncHTTPTransport()},
    )
    return genai.Client(api_key="k", http_options=options)


async def test_official_sdk_generate_content(server: ThreadedEmulatorServer) -> None:
    c = sdk(server).aio
    try:
        reply = await c.models.generate_content(
            model=TEXT_MODEL,
            contents=[
                types.Part.from_bytes(data=solid((35, 75, 215), (40, 30)), mime_type="image/png"),
                "Describe the image.",
            ],
        )
        assert f"A PNG image, 40{TIMES}30 pixels, mostly blue (#234bd7)" in (reply.text or "")
        assert reply.usage_metadata is not None and reply.usage_metadata.total_token_count
        called = await c.models.generate_content(
            model=TEXT_MODEL,
            contents="What is the temperature in Madrid?",
            config=types.GenerateContentConfig(
                tools=[types.Tool.model_validate(TEMPERATURE_TOOL)],
                automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
            ),
        )
        assert called.function_calls is not None
        assert called.function_calls[0].args == {"location": "Madrid"}
        with pytest.raises(genai_errors.ClientError) as err:
            await c.models.generate_content(model="nope", contents="hi")
        assert err.value.code == 400
    finally:
        await c.aclose()


async def test_official_sdk_stream_and_image_output(server: ThreadedEmulatorServer) -> None:
    c = sdk(server).aio
    try:
        pieces = [
            chunk.text or ""
            async for chunk in await c.models.generate_content_stream(
                model=TEXT_MODEL, contents="Say something long enough to stream."
            )
        ]
        assert len(pieces) > 2 and "Say something long enough" in "".join(pieces)
        reply = await c.models.generate_content(
            model=IMAGE_MODEL,
            contents="A cinematic launch poster",
            config=types.GenerateContentConfig(
                response_modalities=["TEXT", "IMAGE"],
                image_config=types.ImageConfig(aspect_ratio="3:4"),
            ),
        )
        parts = reply.candidates[0].content.parts  # type: ignore[index,union-attr]
        images = [p.inline_data for p in parts if p.inline_data is not None]
        assert len(images) == 1 and images[0].mime_type == "image/png"
        with Image.open(io.BytesIO(images[0].data or b"")) as img:
            assert (img.format, img.size) == ("PNG", (384, 512))
    finally:
        await c.aclose()
