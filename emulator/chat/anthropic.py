"""Anthropic messages behaviour (contract §8): reading a conversation, the reply, its SSE events.

Replies describe the images actually sent (format, size, dominant colour) and echo the question;
declared tools are called when the question asks for them (see :mod:`.tool_use`). Bodies are the
emulator's own lenient models: the official SDK may send fields our strict client models do not
know (``cache_control``, ``thinking``, ``service_tier``...).
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..calls import Call
from ..catalogue import check_model
from ..errors import EmulatorError
from .tool_use import ToolSpec, fill_args, next_named_tool, pick_tool, result_text, tool_text
from .understanding import (
    IMAGE_MIME,
    Attachment,
    compose_answer,
    decode_base64,
    describe_bytes,
    dumps,
    estimate_tokens,
    finish,
    json_answer,
    read_own_asset,
    split_for_stream,
    stream_pace,
)

__all__ = ["CountTokensBody", "MessagesBody", "count_tokens", "events", "message"]

_MEDIA_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
_MAX_IMAGE_BYTES = 5 * 1024 * 1024  # Anthropic's per-image limit
_MAX_IMAGE_SIDE = 8000
_STOP_REASONS = {"end": "end_turn", "max_tokens": "max_tokens", "stop_sequence": "stop_sequence"}


class _Lenient(BaseModel):
    # Unknown fields (cache_control, thinking, service_tier, ...) are accepted and ignored.
    model_config = ConfigDict(extra="allow")


class MessageIn(_Lenient):
    """One turn; blocks are checked by hand so errors can name ``messages[i].content[j]``."""

    role: Literal["user", "assistant"]
    content: str | list[dict[str, Any]]


class CountTokensBody(_Lenient):
    """Body of ``count_tokens`` (§8.4)."""

    model: str = Field(min_length=1)
    messages: list[MessageIn] = Field(min_length=1)
    system: str | list[dict[str, Any]] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: dict[str, Any] | None = None


class MessagesBody(CountTokensBody):
    """Body of ``POST /anthropic/v1/messages`` (§8.2)."""

    max_tokens: int = Field(ge=1)
    temperature: float | None = Field(default=None, ge=0, le=1)
    top_p: float | None = Field(default=None, ge=0, le=1)
    top_k: int | None = Field(default=None, ge=0)
    stop_sequences: list[str] | None = None
    stream: bool | None = None


@dataclass
class _Reading:
    """What the emulated model takes from a request."""

    question: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    input_tokens: int = 0
    tool_results: list[tuple[str, Any]] = field(default_factory=list)
    tools: list[ToolSpec] = field(default_factory=list)
    wants_json: bool = False
    # Names of earlier tool_use blocks by id, so a tool_result can say which tool reported.
    tool_names: dict[str, str] = field(default_factory=dict)


def _bad(where: str, message: str) -> EmulatorError:
    return EmulatorError(400, f"{where}: {message}", code="invalid_request")


def _image(block: dict[str, Any], where: str, call: Call) -> Attachment:
    """Decode and describe one image block; 400 naming ``<where>.source`` if it cannot be."""
    where = f"{where}.source"
    source = block.get("source")
    if not isinstance(source, dict):
        raise _bad(where, "an image block needs a source object")
    kind = source.get("type")
    try:
        if kind == "base64":
            media_type = source.get("media_type")
            if media_type not in _MEDIA_TYPES:
                raise ValueError(f"media_type must be one of {', '.join(_MEDIA_TYPES)}")
            data = decode_base64(str(source.get("data") or ""))
        elif kind == "url":
            media_type = None
            data = read_own_asset(call.backend, str(source.get("url") or ""), call.base_url)
        else:
            raise ValueError("type must be 'base64' or 'url'")
        if len(data) > _MAX_IMAGE_BYTES:
            raise ValueError(f"image exceeds the 5 MB maximum ({len(data)} bytes)")
        facts = describe_bytes(data)
        if media_type is not None and IMAGE_MIME[facts.format] != media_type:
            raise ValueError(f"media_type is {media_type} but the data is a {facts.format} image")
        if max(facts.width, facts.height) > _MAX_IMAGE_SIDE:
            raise ValueError(f"image dimensions exceed the maximum of {_MAX_IMAGE_SIDE} pixels")
    except ValueError as exc:
        message = str(exc)
        raise _bad(
            where, message if not message.startswith("is ") else f"image {message}"
        ) from None
    return Attachment(IMAGE_MIME[facts.format], len(data), facts)


def _image_tokens(item: Attachment) -> int:
    # Anthropic's published estimate: width * height / 750, about 1600 at most after resizing.
    assert item.facts is not None
    return min(1600, math.ceil(item.facts.width * item.facts.height / 750))


def _text_of(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n".join(str(b.get("text", "")) for b in value if isinstance(b, dict))
    return ""


def _maybe_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _read_image(reading: _Reading, block: dict[str, Any], where: str, call: Call) -> int:
    """Decode an image into the reading's attachments; returns its tokens."""
    item = _image(block, where, call)
    reading.attachments.append(item)
    return _image_tokens(item)


def _read_tool_result(
    reading: _Reading, block: dict[str, Any], where: str, call: Call, *, latest: bool
) -> int:
    """A ``tool_result`` block: its images, and its result when it answers the latest turn."""
    content = block.get("content")
    tokens = 0
    for k, inner in enumerate(content if isinstance(content, list) else []):
        if isinstance(inner, dict) and inner.get("type") == "image":
            tokens += _read_image(reading, inner, f"{where}.content[{k}]", call)
    text = _text_of(content)
    if latest:
        name = reading.tool_names.get(str(block.get("tool_use_id")), "the tool")
        reading.tool_results.append((name, _maybe_json(text)))
    return tokens + estimate_tokens(text) + 4


def _read_block(
    reading: _Reading, block: dict[str, Any], where: str, call: Call, *, latest: bool
) -> tuple[int, str | None]:
    """Validate one content block: its tokens, and its text for a text block."""
    kind = block.get("type")
    if kind == "text":
        if not isinstance(block.get("text"), str):
            raise _bad(where, "a text block needs a string 'text'")
        return estimate_tokens(block["text"]), block["text"]
    if kind == "image":
        return _read_image(reading, block, where, call), None
    if kind == "tool_use":
        reading.tool_names[str(block.get("id"))] = str(block.get("name", "tool"))
        return estimate_tokens(dumps(block.get("input", {}))) + 8, None
    if kind == "tool_result":
        return _read_tool_result(reading, block, where, call, latest=latest), None
    if not isinstance(kind, str):
        raise _bad(where, "every content block needs a 'type'")
    return 0, None


def _read_tools(reading: _Reading, tools: list[dict[str, Any]]) -> int:
    """Declared tools into the reading; returns their tokens."""
    tokens = 0
    for t, tool in enumerate(tools):
        if not isinstance(tool.get("name"), str) or not tool["name"]:
            raise _bad(f"tools[{t}]", "a tool needs a non-empty 'name'")
        schema = tool.get("input_schema")
        if schema is not None and not isinstance(schema, dict):
            raise _bad(f"tools[{t}].input_schema", "must be a JSON schema object")
        reading.tools.append(
            ToolSpec(tool["name"], str(tool.get("description") or ""), schema or {})
        )
        tokens += estimate_tokens(dumps(tool)) + 20
    return tokens


def _read(body: CountTokensBody, call: Call) -> _Reading:
    """Validate every block, decode every image, count tokens and find the question."""
    reading = _Reading()
    system = _text_of(body.system)
    tokens = estimate_tokens(system)
    users = [i for i, m in enumerate(body.messages) if m.role == "user"]
    last_user = users[-1] if users else -1
    for i, turn in enumerate(body.messages):
        tokens += 4  # role and turn markers
        blocks = (
            [{"type": "text", "text": turn.content}]
            if isinstance(turn.content, str)
            else turn.content
        )
        texts: list[str] = []
        for j, block in enumerate(blocks):
            where = f"messages[{i}].content[{j}]"
            used, text = _read_block(reading, block, where, call, latest=i == last_user)
            tokens += used
            if text is not None:
                texts.append(text)
        if turn.role == "user" and texts:
            # The question is the latest user text: a tool-result turn keeps the earlier one.
            reading.question = "\n".join(texts)
    tokens += _read_tools(reading, body.tools or [])
    reading.input_tokens = max(1, tokens)
    reading.wants_json = "JSON" in reading.question or "JSON" in system
    return reading


def _tool_mode(choice: dict[str, Any] | None) -> tuple[str, list[str] | None]:
    if not choice:
        return "auto", None
    kind = choice.get("type")
    if kind == "tool":
        return "any", [str(choice.get("name"))]
    if kind in ("auto", "any", "none"):
        return str(kind), None
    raise _bad("tool_choice.type", "must be one of auto, any, tool, none")


def _text_content(body: MessagesBody, reading: _Reading) -> tuple[dict[str, Any], str, str | None]:
    """The text block of a reply that calls no tool, its stop reason and stop sequence."""
    if reading.tool_results:
        text = " ".join(result_text(reading.question, n, r) for n, r in reading.tool_results)
    elif reading.wants_json:
        text = dumps(json_answer(reading.question, reading.attachments))
    else:
        text = compose_answer(reading.question, reading.attachments)
    done = finish(text, max_tokens=body.max_tokens, stop_sequences=body.stop_sequences)
    return {"type": "text", "text": done.text}, _STOP_REASONS[done.reason], done.stop_sequence


def message(call: Call, body: MessagesBody) -> dict[str, Any]:
    """The complete message object answering ``body``."""
    check_model(body.model, "anthropic")
    reading = _read(body, call)
    content: list[dict[str, Any]] = []
    stop_sequence = None
    mode, allowed = _tool_mode(body.tool_choice)
    tool = None
    if not reading.tool_results:
        tool = pick_tool(reading.question, reading.tools, mode=mode, allowed=allowed)
    elif mode != "none":  # a result came back: the next tool the prompt names, if any
        called = reading.tool_names.values()
        tool = next_named_tool(reading.question, reading.tools, called, allowed=allowed)
    if tool is not None:
        if mode == "auto":
            content.append({"type": "text", "text": f"I'll use {tool.name} to answer that."})
        args = fill_args(tool_text(reading.question, tool, reading.tools), tool.parameters)
        tool_id = call.backend.new_id("toolu_")
        content.append({"type": "tool_use", "id": tool_id, "name": tool.name, "input": args})
        stop_reason = "tool_use"
    else:
        block, stop_reason, stop_sequence = _text_content(body, reading)
        content.append(block)
    output = sum(
        estimate_tokens(b["text"]) if b["type"] == "text" else estimate_tokens(dumps(b["input"]))
        for b in content
    )
    return {
        "id": call.backend.new_id("msg_"),
        "type": "message",
        "role": "assistant",
        "model": body.model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": {
            "input_tokens": reading.input_tokens,
            "output_tokens": max(1, output),
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
    }


def count_tokens(call: Call, body: CountTokensBody) -> int:
    """The same count ``usage.input_tokens`` reports for the request."""
    check_model(body.model, "anthropic")
    return _read(body, call).input_tokens


def _event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def _pieces(block: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The opening of a content block and its deltas."""
    if block["type"] == "text":
        pieces = [{"type": "text_delta", "text": p} for p in split_for_stream(block["text"])]
        return {"type": "text", "text": ""}, pieces
    raw = dumps(block["input"])
    cut = len(raw) // 2
    halves = (raw[:cut], raw[cut:])
    return {**block, "input": {}}, [{"type": "input_json_delta", "partial_json": p} for p in halves]


async def events(call: Call, reply: dict[str, Any], *, fail: bool) -> AsyncIterator[bytes]:
    """The message as Anthropic's event sequence (§8.4); ``fail`` cuts it with an error event."""
    pace = stream_pace(call.backend)
    usage = reply["usage"]
    start = {**reply, "content": [], "stop_reason": None, "stop_sequence": None}
    start["usage"] = {**usage, "output_tokens": 1}
    yield _event("message_start", {"type": "message_start", "message": start})
    yield _event("ping", {"type": "ping"})
    deltas = 0
    for index, block in enumerate(reply["content"]):
        opening, pieces = _pieces(block)
        yield _event(
            "content_block_start",
            {"type": "content_block_start", "index": index, "content_block": opening},
        )
        for piece in pieces:
            if pace:
                await asyncio.sleep(pace)
            yield _event(
                "content_block_delta",
                {"type": "content_block_delta", "index": index, "delta": piece},
            )
            deltas += 1
            if fail and deltas >= 2:
                error = {"type": "overloaded_error", "message": "injected fault: stream failed"}
                yield _event("error", {"type": "error", "error": error})
                return
        yield _event("content_block_stop", {"type": "content_block_stop", "index": index})
    delta = {"stop_reason": reply["stop_reason"], "stop_sequence": reply["stop_sequence"]}
    output = {"output_tokens": usage["output_tokens"]}
    yield _event("message_delta", {"type": "message_delta", "delta": delta, "usage": output})
    yield _event("message_stop", {"type": "message_stop"})
