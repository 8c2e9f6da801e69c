"""Reading a Gemini request: parts in either spelling, images, function results, tools, tokens."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic.alias_generators import to_snake

from ..backend import Backend
from ..errors import EmulatorError
from .tool_use import ToolSpec
from .understanding import (
    Attachment,
    decode_base64,
    describe_bytes,
    dumps,
    estimate_tokens,
    read_own_asset,
)

__all__ = ["Reading", "get", "read_request"]

_IMAGE_TOKENS = 258  # what Gemini counts for one input image (or attachment)
_PART_KINDS = ("text", "inlineData", "fileData", "functionCall", "functionResponse")
# Part fields that are legal but carry nothing the emulated model reads (either spelling).
_OTHER_PART_KEYS = frozenset(
    name
    for camel in (
        "thought",
        "thoughtSignature",
        "executableCode",
        "codeExecutionResult",
        "videoMetadata",
        "mediaResolution",
        "partMetadata",
    )
    for name in (camel, to_snake(camel))
)


def get(mapping: Mapping[str, Any], camel: str) -> Any:
    """``mapping[camel]``, or its snake_case spelling (§9.3: Google accepts both)."""
    if camel in mapping:
        return mapping[camel]
    return mapping.get(to_snake(camel))


@dataclass
class Reading:
    """What the emulated model takes from a request.

    Attributes:
        question: Text of the latest user turn that has text.
        attachments: Input images (and other inline media) of user turns, in order.
        tools: Declared functions.
        function_results: ``(name, response)`` of the ``functionResponse`` parts of the last turn.
        called: Names of the functions the model called in earlier turns, in order.
        text_tokens: Prompt text tokens (system instruction, turns, tool declarations).
        image_tokens: Prompt media tokens.
    """

    question: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    tools: list[ToolSpec] = field(default_factory=list)
    function_results: list[tuple[str, Any]] = field(default_factory=list)
    called: list[str] = field(default_factory=list)
    text_tokens: int = 0
    image_tokens: int = 0


def _bad(where: str, message: str) -> EmulatorError:
    return EmulatorError(400, f"{where}: {message}", code="invalid_request")


def _media(
    part: Mapping[str, Any], where: str, backend: Backend, own_base: str
) -> Attachment | None:
    """Decode an ``inlineData`` or ``fileData`` part; 400 naming the field when it is unusable."""
    inline = get(part, "inlineData")
    if inline is not None:
        where = f"{where}.inlineData"
        if not isinstance(inline, Mapping):
            raise _bad(where, "must be an object with mimeType and data")
        mime = get(inline, "mimeType")
        if not isinstance(mime, str) or "/" not in mime:
            raise _bad(f"{where}.mimeType", "is required, e.g. image/png")
        try:
            data = decode_base64(str(get(inline, "data") or ""), url_safe=True)
        except ValueError as exc:
            raise _bad(f"{where}.data", str(exc)) from None
    else:
        file_data = get(part, "fileData")
        if file_data is None:
            return None
        where = f"{where}.fileData"
        if not isinstance(file_data, Mapping):
            raise _bad(where, "must be an object with fileUri and mimeType")
        mime = str(get(file_data, "mimeType") or "image/*")
        try:
            data = read_own_asset(backend, str(get(file_data, "fileUri") or ""), own_base)
        except ValueError as exc:
            raise _bad(f"{where}.fileUri", str(exc)) from None
        where = f"{where}.fileUri"
    if not mime.startswith("image/"):
        return Attachment(mime, len(data))
    try:
        facts = describe_bytes(data)
    except ValueError as exc:
        raise _bad(where if where.endswith("fileUri") else f"{where}.data", str(exc)) from None
    return Attachment(mime, len(data), facts)


def _declarations(tools: Sequence[Mapping[str, Any]]) -> tuple[list[ToolSpec], int]:
    specs: list[ToolSpec] = []
    tokens = 0
    for t, tool in enumerate(tools):
        decls = get(tool, "functionDeclarations")
        if decls is None:
            continue  # googleSearch, codeExecution...: nothing to emulate
        if not isinstance(decls, list):
            raise _bad(f"tools[{t}].functionDeclarations", "must be a list")
        for d, decl in enumerate(decls):
            where = f"tools[{t}].functionDeclarations[{d}]"
            if not isinstance(decl, Mapping) or not isinstance(decl.get("name"), str):
                raise _bad(where, "a function declaration needs a 'name'")
            params = get(decl, "parameters") or get(decl, "parametersJsonSchema") or {}
            if not isinstance(params, Mapping):
                raise _bad(f"{where}.parameters", "must be an object schema")
            specs.append(ToolSpec(decl["name"], str(decl.get("description") or ""), params))
            tokens += estimate_tokens(dumps(decl)) + 10
    return specs, tokens


def read_request(
    contents: Sequence[tuple[str | None, Sequence[Mapping[str, Any]]]],
    *,
    system: Sequence[Mapping[str, Any]] | None,
    tools: Sequence[Mapping[str, Any]] | None,
    backend: Backend,
    own_base: str,
) -> Reading:
    """Validate every part, decode every input image and count prompt tokens.

    Args:
        contents: ``(role, parts)`` of each turn.
        system: Parts of ``systemInstruction``.
        tools: The ``tools`` array.
        backend: Gateway state (for asset URLs).
        own_base: This emulator's base URL as the caller reached it.

    Raises:
        EmulatorError: 400 naming the first unusable field.
    """
    reading = Reading()
    reading.text_tokens = sum(estimate_tokens(str(p.get("text") or "")) for p in system or ())
    for i, (role, parts) in enumerate(contents):
        if role not in (None, "user", "model", "function"):
            raise _bad(f"contents[{i}].role", "must be 'user' or 'model'")
        from_user = role != "model"
        turn = _Turn(backend, own_base, from_user=from_user, last=i == len(contents) - 1)
        reading.text_tokens += 3
        texts = [
            text
            for j, part in enumerate(parts)
            if (text := _read_part(reading, part, f"contents[{i}].parts[{j}]", turn)) is not None
        ]
        if from_user and texts:
            reading.question = "\n".join(texts)
    specs, tool_tokens = _declarations(tools or ())
    reading.tools = specs
    reading.text_tokens = max(1, reading.text_tokens + tool_tokens)
    return reading


@dataclass(frozen=True)
class _Turn:
    """Where a part comes from: what reading it needs beyond the part itself."""

    backend: Backend
    own_base: str
    from_user: bool
    last: bool


def _read_part(reading: Reading, part: Mapping[str, Any], where: str, turn: _Turn) -> str | None:
    """Validate one part into ``reading``; returns its text, if it has one."""
    kinds = [k for k in _PART_KINDS if get(part, k) is not None]
    if not kinds and not any(k in _OTHER_PART_KEYS for k in part):
        raise _bad(where, f"a part needs one of {', '.join(_PART_KINDS)}")
    text = part.get("text")
    if text is not None:
        if not isinstance(text, str):
            raise _bad(f"{where}.text", "must be a string")
        reading.text_tokens += estimate_tokens(text)
    attachment = _media(part, where, turn.backend, turn.own_base)
    if attachment is not None:
        reading.image_tokens += _IMAGE_TOKENS
        if turn.from_user:
            reading.attachments.append(attachment)
    call = get(part, "functionCall")
    if call is not None:
        reading.text_tokens += estimate_tokens(dumps(call))
        if isinstance(call, Mapping) and isinstance(call.get("name"), str):
            reading.called.append(call["name"])
    response = get(part, "functionResponse")
    if response is not None:
        if not isinstance(response, Mapping) or not isinstance(response.get("name"), str):
            raise _bad(f"{where}.functionResponse", "needs a 'name' and a 'response'")
        reading.text_tokens += estimate_tokens(dumps(response))
        if turn.last:
            reading.function_results.append((response["name"], response.get("response")))
    return text
