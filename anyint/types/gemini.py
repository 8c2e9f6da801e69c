"""Gemini-compatible generateContent types (contract §9).

Python names are snake_case; the wire is the documented camelCase (``inlineData``,
``functionDeclarations``, ``generationConfig``), produced by pydantic aliases. Requests accept
either spelling when built from dicts; responses accept both too, as Google's parser does (§9.3).
Fields beyond the AnyInt table follow Google's public API ([UP] in the contract).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

from pydantic import ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from .._exceptions import APIResponseValidationError
from ._base import ModelInput, PlainBase64, RequestModel, ResponseModel

__all__ = [
    "Candidate",
    "Content",
    "FileData",
    "FunctionCall",
    "FunctionCallingConfig",
    "FunctionDeclaration",
    "FunctionResponse",
    "GenerateContentFields",
    "GenerateContentParams",
    "GenerateContentResponse",
    "GenerationConfig",
    "ImageConfig",
    "InlineData",
    "InlineImage",
    "Part",
    "ResponseBlob",
    "ResponseContent",
    "ResponseFileData",
    "ResponsePart",
    "SafetySetting",
    "Tool",
    "ToolConfig",
    "UsageMetadata",
]

_FUNCTION_NAME = r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$"
_MIME = r"^[\w.+-]+/[\w.+-]+$"
_DATA_URL = re.compile(r"data:(image/[\w.+-]+);base64,([A-Za-z0-9+/_-]+={0,2})")


class _Request(RequestModel):
    model_config = ConfigDict(alias_generator=to_camel)


class _Response(ResponseModel):
    model_config = ConfigDict(alias_generator=to_camel)


def _decode_lenient(value: str) -> bytes:
    """Decode response base64: standard or URL-safe alphabet, padding optional (Google's JSON)."""
    text = "".join(value.split())
    text += "=" * (-len(text) % 4)
    altchars = b"-_" if ("-" in text or "_" in text) else None
    return base64.b64decode(text, altchars=altchars, validate=True)


# -- request parts -------------------------------------------------------------------------------


class InlineData(_Request):
    """Small inline media: ``{"mimeType": "image/png", "data": "<base64>"}``."""

    mime_type: str = Field(pattern=_MIME)
    data: PlainBase64


class FileData(_Request):
    """Remote media: ``{"fileUri", "mimeType"}`` (gateway support unconfirmed, §17 item 18)."""

    file_uri: str = Field(min_length=1)
    mime_type: str | None = Field(default=None, pattern=_MIME)


class FunctionCall(_Response):
    """A function call the model asks for: ``{"name", "args"}``.

    Lenient on purpose even inside requests: it is only ever echoed back from a model reply, and
    any field Google adds (such as ``id``) must survive the round trip.
    """

    name: str
    args: dict[str, Any] | None = None
    id: str | None = None


class FunctionResponse(_Request):
    """The result of a function call, sent back in the next turn: ``{"name", "response"}``."""

    name: str = Field(pattern=_FUNCTION_NAME)
    response: dict[str, Any]
    id: str | None = None


_PART_DATA = ("text", "inline_data", "file_data", "function_call", "function_response")


class Part(_Request):
    """One part of a turn, carrying exactly one kind of data.

    The kinds are ``text``, ``inlineData``, ``fileData``, ``functionCall`` and
    ``functionResponse``.

    ``thought`` and ``thoughtSignature`` are not data: they mark model reasoning and must be sent
    back unchanged with the model turn that carried them (Google's thinking models require it).
    """

    text: str | None = None
    inline_data: InlineData | None = None
    file_data: FileData | None = None
    function_call: FunctionCall | None = None
    function_response: FunctionResponse | None = None
    thought: bool | None = None
    thought_signature: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Part:
        present = [to_camel(n) for n in _PART_DATA if getattr(self, n) is not None]
        if len(present) != 1:
            raise ValueError(
                "a part must set exactly one of text, inlineData, fileData, functionCall, "
                f"functionResponse; got {present or 'none'}"
            )
        return self

    @classmethod
    def from_bytes(cls, data: bytes, mime_type: str) -> Part:
        """An ``inlineData`` part from raw bytes (keep them small, §9.3)."""
        encoded = base64.b64encode(data).decode("ascii")
        return cls(inline_data=InlineData(mime_type=mime_type, data=encoded))

    @classmethod
    def from_function_response(cls, name: str, response: dict[str, Any]) -> Part:
        """A ``functionResponse`` part answering the call named ``name``."""
        return cls(function_response=FunctionResponse(name=name, response=response))


class Content(_Request):
    """One turn: ``{"role": "user" | "model" | "function", "parts": [...]}``.

    ``role`` is recommended, not required (§9.3); ``systemInstruction`` usually omits it.
    """

    role: Literal["user", "model", "function"] | None = None
    parts: list[Part] = Field(min_length=1)


# -- request -------------------------------------------------------------------------------------


class FunctionDeclaration(_Request):
    """A function the model may call (§9.5); ``parameters`` is an OpenAPI-style schema."""

    name: str = Field(pattern=_FUNCTION_NAME)
    description: str | None = None
    parameters: dict[str, Any] | None = None


class Tool(_Request):
    """``{"functionDeclarations": [...]}`` (the one tool shape the contract documents)."""

    function_declarations: list[FunctionDeclaration] = Field(min_length=1)


class FunctionCallingConfig(_Request):
    """``{"mode": "AUTO" | "ANY" | "NONE" | "VALIDATED", "allowedFunctionNames"?}``."""

    mode: Literal["AUTO", "ANY", "NONE", "VALIDATED"] | None = None
    allowed_function_names: list[str] | None = None


class ToolConfig(_Request):
    """``{"functionCallingConfig": {...}}``."""

    function_calling_config: FunctionCallingConfig | None = None


class ImageConfig(_Request):
    """Image output options: ``{"aspectRatio": "16:9", "imageSize": "1K"}``."""

    aspect_ratio: str | None = Field(default=None, pattern=r"^\d+:\d+$")
    image_size: str | None = None


class GenerationConfig(_Request):
    """``generationConfig`` (§9.3): sampling, limits, structured output, output modalities.

    Ranges follow Google's API: ``temperature`` 0-2, ``topP`` 0-1.
    """

    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    top_k: int | None = Field(default=None, ge=1)
    max_output_tokens: int | None = Field(default=None, ge=1)
    stop_sequences: list[str] | None = None
    candidate_count: int | None = Field(default=None, ge=1)
    response_mime_type: str | None = Field(default=None, pattern=_MIME)
    response_schema: dict[str, Any] | None = None
    response_modalities: list[Literal["TEXT", "IMAGE"]] | None = Field(default=None, min_length=1)
    image_config: ImageConfig | None = None

    @model_validator(mode="after")
    def _consistent(self) -> GenerationConfig:
        modalities = self.response_modalities or []
        # §9.4: the image route "requires responseModalities to include TEXT and IMAGE".
        if "IMAGE" in modalities and "TEXT" not in modalities:
            raise ValueError("responseModalities with IMAGE must also include TEXT (§9.4)")
        if self.response_schema is not None and self.response_mime_type not in (
            "application/json",
            "text/x.enum",
        ):
            raise ValueError(
                "responseSchema needs responseMimeType 'application/json' (or 'text/x.enum')"
            )
        return self


class SafetySetting(_Request):
    """``{"category": "HARM_CATEGORY_...", "threshold": "BLOCK_..."}``."""

    category: str = Field(min_length=1)
    threshold: str = Field(min_length=1)


class GenerateContentParams(_Request):
    """Body of ``POST /gemini/v1beta/models/{model}:generateContent`` (§9.3).

    Attributes:
        contents: The conversation, at least one turn.
        tools: Function declarations.
        tool_config: Function-calling mode.
        generation_config: Sampling, limits and output modalities.
        safety_settings: Safety thresholds.
        system_instruction: System prompt, as a content without role.
        cached_content: Name of cached content to reuse.
    """

    contents: list[Content] = Field(min_length=1)
    tools: list[Tool] | None = None
    tool_config: ToolConfig | None = None
    generation_config: GenerationConfig | None = None
    safety_settings: list[SafetySetting] | None = None
    system_instruction: Content | None = None
    cached_content: str | None = None


class GenerateContentFields(TypedDict, total=False):
    """Keyword fields of :class:`GenerateContentParams`."""

    contents: Sequence[ModelInput[Content]]
    tools: Sequence[ModelInput[Tool]] | None
    tool_config: ModelInput[ToolConfig] | None
    generation_config: ModelInput[GenerationConfig] | None
    safety_settings: Sequence[ModelInput[SafetySetting]] | None
    system_instruction: ModelInput[Content] | None
    cached_content: str | None


# -- response ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InlineImage:
    """A decoded image from a reply."""

    mime_type: str
    data: bytes


class ResponseBlob(_Response):
    """``inlineData`` of a reply part (base64 still encoded)."""

    mime_type: str | None = None
    data: str | None = None


class ResponseFileData(_Response):
    """``fileData`` of a reply part."""

    file_uri: str | None = None
    mime_type: str | None = None


class ResponsePart(_Response):
    """A reply part; unknown part kinds (e.g. ``executableCode``) are kept as extras."""

    text: str | None = None
    inline_data: ResponseBlob | None = None
    file_data: ResponseFileData | None = None
    function_call: FunctionCall | None = None
    function_response: dict[str, Any] | None = None
    thought: bool | None = None
    thought_signature: str | None = None

    def to_param(self) -> Part | None:
        """This part as a request part, to send the model's turn back; None if not sendable."""
        fields = {n: getattr(self, n) for n in (*_PART_DATA, "thought", "thought_signature")}
        data = {k: v for k, v in fields.items() if v is not None}
        if not any(n in data for n in _PART_DATA):
            return None
        if "inline_data" in data:
            blob = data["inline_data"]
            # Re-encode: replies may use URL-safe or unpadded base64, requests send the standard.
            data["inline_data"] = {
                "mime_type": blob.mime_type,
                "data": base64.b64encode(_decode_lenient(blob.data or "")).decode("ascii"),
            }
        if "file_data" in data:
            data["file_data"] = data["file_data"].model_dump(exclude_none=True)
        return Part.model_validate(data)


class ResponseContent(_Response):
    """``candidates[].content``: role ``model`` and its parts."""

    role: str | None = None
    parts: list[ResponsePart] = []

    def to_param(self) -> Content:
        """This turn as a request :class:`Content`, for the next call's history.

        Raises:
            ValueError: No part of the turn can be sent back.
        """
        parts = [p for p in (part.to_param() for part in self.parts) if p is not None]
        role = self.role if self.role in ("user", "model", "function") else "model"
        return Content(role=role, parts=parts)


class Candidate(_Response):
    """One candidate reply."""

    content: ResponseContent | None = None
    finish_reason: str | None = None
    index: int | None = None
    safety_ratings: list[dict[str, Any]] | None = None


class UsageMetadata(_Response):
    """Token counts; per-modality details are kept as extras."""

    prompt_token_count: int | None = None
    candidates_token_count: int | None = None
    total_token_count: int | None = None


class GenerateContentResponse(_Response):
    """A generateContent reply, or one streamed chunk of it (§9.6).

    Helpers read the first candidate, as the contract's examples do.
    """

    candidates: list[Candidate] = []
    usage_metadata: UsageMetadata | None = None
    model_version: str | None = None
    response_id: str | None = None
    prompt_feedback: dict[str, Any] | None = None

    @property
    def parts(self) -> list[ResponsePart]:
        """Parts of the first candidate (empty when there is none, e.g. a blocked prompt)."""
        if not self.candidates or self.candidates[0].content is None:
            return []
        return self.candidates[0].content.parts

    @property
    def finish_reason(self) -> str | None:
        """``finishReason`` of the first candidate."""
        return self.candidates[0].finish_reason if self.candidates else None

    @property
    def text(self) -> str:
        """Text parts of the first candidate joined (model "thought" parts left out)."""
        return "".join(p.text for p in self.parts if p.text is not None and not p.thought)

    @property
    def function_calls(self) -> list[FunctionCall]:
        """Function calls the model asks for, in order."""
        return [p.function_call for p in self.parts if p.function_call is not None]

    @property
    def images(self) -> list[InlineImage]:
        """Images of the first candidate, decoded to bytes.

        ``inlineData`` image parts come first; then ``data:image/...;base64,`` strings found in
        text parts, which some image models return instead (§9.4 [3P]). Hosted image URLs in
        text are not fetched.

        Raises:
            APIResponseValidationError: An ``inlineData`` image is not base64.
        """
        images: list[InlineImage] = []
        for part in self.parts:
            blob = part.inline_data
            if blob is None or not (blob.mime_type or "").startswith("image/"):
                continue
            try:
                images.append(InlineImage(str(blob.mime_type), _decode_lenient(blob.data or "")))
            except (binascii.Error, ValueError) as exc:
                raise APIResponseValidationError(
                    f"inlineData image ({blob.mime_type}) is not valid base64"
                ) from exc
        for part in self.parts:
            for match in _DATA_URL.finditer(part.text or ""):
                try:
                    images.append(InlineImage(match[1], _decode_lenient(match[2])))
                except (binascii.Error, ValueError):
                    continue  # text may quote a broken or cut-off data URL: not an image
        return images
