"""Gemini generateContent behaviour (contract §9): the reply and its stream chunks.

Replies describe the input images, call declared functions the prompt asks for, report function
results, and draw real PNGs when ``responseModalities`` asks for IMAGE. Bodies are the emulator's
own lenient models: Google accepts camelCase or snake_case (§9.3) and the google-genai SDK sends
fields our strict client models do not know. Replies are camelCase.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from ..calls import Call
from ..catalogue import check_model
from ..errors import EmulatorError, error_body
from ..media import png
from .gemini_reading import Reading, get, read_request
from .tool_use import fill_args, next_named_tool, pick_tool, result_text, schema_value, tool_text
from .understanding import (
    compose_answer,
    describe_bytes,
    dumps,
    estimate_tokens,
    finish,
    json_answer,
    split_for_stream,
    stream_pace,
)

__all__ = ["GenerateBody", "chunks", "generate", "sse", "stream_error"]

_SIZES = {"1K": 1024, "2K": 2048, "4K": 4096}
_DEFAULT_SIDE = 512
_IMAGE_OUTPUT_TOKENS = 1290  # what Gemini reports for one generated image up to 1024x1024
_FINISH = {"end": "STOP", "max_tokens": "MAX_TOKENS", "stop_sequence": "STOP"}
_MODES = {"AUTO": "auto", "VALIDATED": "auto", "MODE_UNSPECIFIED": "auto", "ANY": "any"}


class _Camel(BaseModel):
    # Google's parser takes both spellings; unknown fields are ignored, as SDKs add new ones.
    model_config = ConfigDict(extra="allow", alias_generator=to_camel, populate_by_name=True)


class ContentIn(_Camel):
    """One turn; parts are checked by hand so errors can name ``contents[i].parts[j]``."""

    role: str | None = None
    parts: list[dict[str, Any]] = Field(min_length=1)


class ImageConfigIn(_Camel):
    """``imageConfig``: aspect ratio and size of generated images."""

    aspect_ratio: str | None = Field(default=None, pattern=r"^[1-9]\d{0,2}:[1-9]\d{0,2}$")
    image_size: str | None = None


class GenerationConfigIn(_Camel):
    """``generationConfig`` (§9.3).

    Not the client's :class:`anyint.types.gemini.GenerationConfig`: the sampling ranges are the
    same, but the client also rejects what the google-genai SDK may send (unknown modalities,
    ``responseJsonSchema``, a schema without its MIME type), and the emulator answers those with
    its own messages naming the field (see ``_wants_image``).
    """

    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    top_k: int | None = Field(default=None, ge=1)
    max_output_tokens: int | None = Field(default=None, ge=1)
    stop_sequences: list[str] | None = None
    candidate_count: int | None = Field(default=None, ge=1)
    response_mime_type: str | None = None
    response_schema: dict[str, Any] | None = None
    response_json_schema: dict[str, Any] | None = None
    response_modalities: list[str] | None = None
    image_config: ImageConfigIn | None = None


class GenerateBody(_Camel):
    """Body of ``generateContent`` / ``streamGenerateContent`` (§9.3)."""

    contents: list[ContentIn] = Field(min_length=1)
    tools: list[dict[str, Any]] | None = None
    tool_config: dict[str, Any] | None = None
    generation_config: GenerationConfigIn | None = None
    safety_settings: list[dict[str, Any]] | None = None
    system_instruction: ContentIn | None = None
    cached_content: str | None = None


def _bad(where: str, message: str) -> EmulatorError:
    return EmulatorError(400, f"{where}: {message}", code="invalid_request")


def _wants_image(model: str, config: GenerationConfigIn) -> bool:
    modalities = [m.upper() for m in config.response_modalities or []]
    where = "generationConfig.responseModalities"
    unknown = sorted(set(modalities) - {"TEXT", "IMAGE"})
    if unknown:
        raise _bad(where, f"{', '.join(unknown)} output is not supported (use TEXT and IMAGE)")
    if "IMAGE" not in modalities:
        return False
    if "TEXT" not in modalities:
        raise _bad(where, 'IMAGE output requires TEXT as well: use ["TEXT", "IMAGE"] (§9.1)')
    check_model(model, "gemini", output="image")
    return True


def _image_size(config: GenerationConfigIn) -> tuple[int, int]:
    image = config.image_config or ImageConfigIn()
    side = _DEFAULT_SIDE
    if image.image_size is not None:
        if image.image_size.upper() not in _SIZES:
            raise _bad("generationConfig.imageConfig.imageSize", "must be one of 1K, 2K, 4K")
        side = _SIZES[image.image_size.upper()]
    a, b = (int(x) for x in (image.aspect_ratio or "1:1").split(":"))
    if max(a, b) > 8 * min(a, b):
        raise _bad("generationConfig.imageConfig.aspectRatio", "must be at most 8:1")
    if a >= b:
        return side, max(1, round(side * b / a))
    return max(1, round(side * a / b)), side


def _tool_mode(tool_config: dict[str, Any] | None) -> tuple[str, list[str] | None]:
    calling = get(tool_config or {}, "functionCallingConfig") or {}
    if not isinstance(calling, dict):
        raise _bad("toolConfig.functionCallingConfig", "must be an object")
    mode = str(calling.get("mode") or "AUTO").upper()
    if mode not in (*_MODES, "NONE"):
        raise _bad("toolConfig.functionCallingConfig.mode", "must be AUTO, ANY, NONE or VALIDATED")
    allowed = get(calling, "allowedFunctionNames")
    names = [str(n) for n in allowed] if isinstance(allowed, list) else None
    return _MODES.get(mode, "none"), names


def _text_reply(reading: Reading, config: GenerationConfigIn) -> str:
    if reading.function_results:
        return " ".join(result_text(reading.question, n, r) for n, r in reading.function_results)
    if (config.response_mime_type or "").lower() == "application/json":
        summary = json_answer(reading.question, reading.attachments)
        schema = config.response_schema or config.response_json_schema
        if schema is None:
            return dumps(summary)
        images = summary["images"]
        facts = {"answer": summary["answer"], **(images[0] if images else {})}
        facts["colour"] = facts.get("color")
        return dumps(schema_value(schema, {k: v for k, v in facts.items() if v}, summary["answer"]))
    return compose_answer(reading.question, reading.attachments)


def _image_parts(
    call: Call, model: str, body: GenerateBody, reading: Reading
) -> tuple[list[dict[str, Any]], int]:
    """A sentence about the drawn PNG and the PNG itself, and the sentence's tokens."""
    width, height = _image_size(body.generation_config or GenerationConfigIn())
    seed = call.backend.media_seed("gemini-image", model, body.model_dump(mode="json"))
    data = png(width, height, seed=seed, text=reading.question or None)
    text = f"Here is the image you asked for. {describe_bytes(data).sentence()}"
    inline = {"mimeType": "image/png", "data": base64.b64encode(data).decode()}
    return [{"text": text}, {"inlineData": inline}], estimate_tokens(text)


def _reply_parts(
    call: Call, model: str, body: GenerateBody, reading: Reading, *, wants_image: bool
) -> tuple[list[dict[str, Any]], str, int, int]:
    """The reply's parts, finish reason, and output text and image tokens."""
    config = body.generation_config or GenerationConfigIn()
    mode, allowed = _tool_mode(body.tool_config)
    tool = None
    if not reading.function_results:
        tool = pick_tool(reading.question, reading.tools, mode=mode, allowed=allowed)
    elif mode != "none":  # a result came back: the next tool the prompt names, if any
        tool = next_named_tool(reading.question, reading.tools, reading.called, allowed=allowed)
    if tool is not None:
        args = fill_args(tool_text(reading.question, tool, reading.tools), tool.parameters)
        parts = [{"functionCall": {"name": tool.name, "args": args}}]
        return parts, "STOP", estimate_tokens(dumps(args)) + 5, 0
    done = finish(
        _text_reply(reading, config),
        max_tokens=config.max_output_tokens,
        stop_sequences=config.stop_sequences,
    )
    if wants_image and done.reason == "end":
        parts, tokens = _image_parts(call, model, body, reading)
        return parts, _FINISH[done.reason], tokens, _IMAGE_OUTPUT_TOKENS
    return [{"text": done.text}], _FINISH[done.reason], estimate_tokens(done.text), 0


def generate(call: Call, model: str, body: GenerateBody) -> dict[str, Any]:
    """The complete GenerateContentResponse (§9.6): text, a function call, or text and a PNG."""
    check_model(model, "gemini")
    wants_image = _wants_image(model, body.generation_config or GenerationConfigIn())
    reading = read_request(
        [(c.role, c.parts) for c in body.contents],
        system=body.system_instruction.parts if body.system_instruction else None,
        tools=body.tools,
        backend=call.backend,
        own_base=call.base_url,
    )
    parts, finish_reason, text_out, image_out = _reply_parts(
        call, model, body, reading, wants_image=wants_image
    )
    return {
        "candidates": [
            {
                "content": {"role": "model", "parts": parts},
                "finishReason": finish_reason,
                "index": 0,
            }
        ],
        "usageMetadata": _usage(reading, max(1, text_out), image_out),
        "modelVersion": model,
        "responseId": call.backend.new_id(),
    }


def _usage(reading: Reading, text_out: int, image_out: int) -> dict[str, Any]:
    """``usageMetadata`` with per-modality details, as Gemini reports it."""

    def details(text: int, image: int) -> list[dict[str, Any]]:
        rows = [{"modality": "TEXT", "tokenCount": text}]
        return [*rows, {"modality": "IMAGE", "tokenCount": image}] if image else rows

    prompt = reading.text_tokens + reading.image_tokens
    candidates = text_out + image_out
    return {
        "promptTokenCount": prompt,
        "candidatesTokenCount": candidates,
        "totalTokenCount": prompt + candidates,
        "promptTokensDetails": details(reading.text_tokens, reading.image_tokens),
        "candidatesTokensDetails": details(text_out, image_out),
    }


def stream_error() -> EmulatorError:
    """The 400 for ``streamGenerateContent`` without ``alt=sse``."""
    return _bad(
        "alt",
        "streamGenerateContent is only served as server-sent events: add ?alt=sse "
        "(the streamed JSON array form is not supported)",
    )


def chunks(response: dict[str, Any]) -> list[dict[str, Any]]:
    """Split a response into stream chunks: text over several, other parts one each."""
    candidate = response["candidates"][0]
    groups: list[list[dict[str, Any]]] = []
    for part in candidate["content"]["parts"]:
        if "text" in part:
            pieces = split_for_stream(part["text"]) or [part["text"]]
            groups.extend([{"text": piece}] for piece in pieces)
        else:
            groups.append([part])
    top = {"modelVersion": response["modelVersion"], "responseId": response["responseId"]}
    out = [
        {"candidates": [{"content": {"role": "model", "parts": g}, "index": 0}], **top}
        for g in groups
    ]
    out[-1]["candidates"][0]["finishReason"] = candidate["finishReason"]
    out[-1]["usageMetadata"] = response["usageMetadata"]
    return out


async def sse(call: Call, parts: list[dict[str, Any]], *, fail: bool) -> AsyncIterator[bytes]:
    """``data:`` lines, no ``[DONE]``; ``fail`` sends one partial chunk then a Google error."""
    pace = stream_pace(call.backend)
    if fail:
        # The chunk before an injected failure must not look final.
        first = parts[0]
        first["candidates"][0].pop("finishReason", None)
        first.pop("usageMetadata", None)
        parts = [first]
    for n, chunk in enumerate(parts):
        if pace and n:
            await asyncio.sleep(pace)
        yield f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode()
    if fail:
        error = EmulatorError(503, "injected fault: the stream failed part-way")
        yield f"data: {json.dumps(error_body(error, 'gemini'))}\n\n".encode()
