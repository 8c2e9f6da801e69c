"""Anthropic-compatible messages types (contract §8): request blocks, message, stream events.

The AnyInt page stops after ``tools``; block shapes, the message object and the stream events
follow Anthropic's public API ([UP] in the contract). Request models are strict (unknown fields
rejected), except tool blocks and tool definitions, which pass extra upstream fields through.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Annotated, Any, Literal, TypedDict, cast, get_args
from urllib.parse import urlsplit

from pydantic import (
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    field_validator,
    model_validator,
)
from pydantic_core import core_schema

from .._download import sniff
from ._base import ModelInput, PlainBase64, RequestModel, ResponseModel

__all__ = [
    "AnthropicMessage",
    "AnthropicStreamEvent",
    "AnthropicUsage",
    "Base64ImageSource",
    "ContentBlock",
    "ContentBlockDeltaEvent",
    "ContentBlockParam",
    "ContentBlockStartEvent",
    "ContentBlockStopEvent",
    "ImageBlockParam",
    "ImageMediaType",
    "InputJSONDelta",
    "MessageCountTokensFields",
    "MessageCountTokensParams",
    "MessageCreateFields",
    "MessageCreateParams",
    "MessageDelta",
    "MessageDeltaEvent",
    "MessageDeltaUsage",
    "MessageParam",
    "MessageStartEvent",
    "MessageStopEvent",
    "MessageTokensCount",
    "Metadata",
    "OtherBlock",
    "OtherDelta",
    "TextBlock",
    "TextBlockParam",
    "TextDelta",
    "ToolChoice",
    "ToolParam",
    "ToolResultBlockParam",
    "ToolUseBlock",
    "ToolUseBlockParam",
    "URLImageSource",
    "image_block",
]

#: Image types Anthropic accepts (§8.3).
ImageMediaType = Literal["image/jpeg", "image/png", "image/gif", "image/webp"]


# -- request blocks ------------------------------------------------------------------------------


class TextBlockParam(RequestModel):
    """``{"type": "text", "text": ...}``."""

    type: Literal["text"] = "text"
    text: str


class Base64ImageSource(RequestModel):
    """Inline image bytes: ``{"type": "base64", "media_type", "data"}``.

    ``data`` is plain base64, without a ``data:...;base64,`` prefix (that is the OpenAI form).
    """

    type: Literal["base64"] = "base64"
    media_type: ImageMediaType
    data: PlainBase64

    @model_validator(mode="after")
    def _media_type_matches(self) -> Base64ImageSource:
        # Anthropic rejects an image whose bytes disagree with media_type; catch it before I/O.
        # 24 base64 characters decode on their own to 18 bytes, enough for the magic numbers.
        actual = sniff(base64.b64decode(self.data[:24]))
        if actual is not None and actual.startswith("image/") and actual != self.media_type:
            raise ValueError(
                f"media_type is {self.media_type!r} but the data is {actual!r} (first bytes)"
            )
        return self


class URLImageSource(RequestModel):
    """An image the gateway fetches: ``{"type": "url", "url": "https://..."}``."""

    type: Literal["url"] = "url"
    url: str

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"url must be an http(s) URL (https preferred), got {value[:80]!r}")
        return value


ImageSource = Annotated[Base64ImageSource | URLImageSource, Field(discriminator="type")]


class ImageBlockParam(RequestModel):
    """``{"type": "image", "source": {...}}`` (§8.3)."""

    type: Literal["image"] = "image"
    source: ImageSource


class ToolUseBlockParam(RequestModel):
    """An earlier assistant tool call, sent back in the history. Extra fields pass through."""

    model_config = ConfigDict(extra="allow")

    type: Literal["tool_use"] = "tool_use"
    id: str
    name: str
    input: dict[str, Any]


class ToolResultBlockParam(RequestModel):
    """The result of a tool call, in a user turn. Extra fields pass through."""

    model_config = ConfigDict(extra="allow")

    type: Literal["tool_result"] = "tool_result"
    tool_use_id: str
    content: str | list[TextBlockParam | ImageBlockParam] | None = None
    is_error: bool | None = None


ContentBlockParam = Annotated[
    TextBlockParam | ImageBlockParam | ToolUseBlockParam | ToolResultBlockParam,
    Field(discriminator="type"),
]


def image_block(data: bytes, media_type: ImageMediaType | None = None) -> ImageBlockParam:
    """Build a base64 image block from raw bytes.

    Args:
        data: Image file bytes.
        media_type: Its type; sniffed from the bytes when omitted.

    Returns:
        The block, ready for ``MessageParam.content``.

    Raises:
        ValueError: ``media_type`` was omitted and the bytes are not PNG, JPEG, GIF or WebP.
    """
    if media_type is None:
        sniffed = sniff(data[:16])
        if sniffed not in ("image/jpeg", "image/png", "image/gif", "image/webp"):
            raise ValueError("media_type: cannot tell the image type from the bytes; pass it")
        media_type = cast(ImageMediaType, sniffed)
    source = Base64ImageSource(media_type=media_type, data=base64.b64encode(data).decode("ascii"))
    return ImageBlockParam(source=source)


# -- request -------------------------------------------------------------------------------------


class MessageParam(RequestModel):
    """One conversation turn: ``role`` and a string or a list of blocks."""

    role: Literal["user", "assistant"]
    content: str | list[ContentBlockParam]


class ToolParam(RequestModel):
    """An Anthropic tool definition. Extra fields (e.g. server-tool ``type``) pass through."""

    model_config = ConfigDict(extra="allow")

    name: str = Field(min_length=1)
    description: str | None = None
    input_schema: dict[str, Any] | None = None


class ToolChoice(RequestModel):
    """``{"type": "auto" | "any" | "tool" | "none", "name"?}``; ``name`` only with ``"tool"``."""

    type: Literal["auto", "any", "tool", "none"]
    name: str | None = None
    disable_parallel_tool_use: bool | None = None

    @model_validator(mode="after")
    def _name_iff_tool(self) -> ToolChoice:
        if (self.type == "tool") != (self.name is not None):
            raise ValueError("tool_choice.name is required with type 'tool' and only then")
        return self


class Metadata(RequestModel):
    """Request metadata: an opaque end-user id."""

    user_id: str | None = None


class MessageCreateParams(RequestModel):
    """Body of ``POST /anthropic/v1/messages`` (§8.2).

    Attributes:
        model: Model ID, e.g. ``claude-sonnet-4-6``.
        max_tokens: Required output cap, at least 1.
        messages: Conversation turns, at least one.
        system: Top-level system prompt (not a system-role message).
        temperature: 0 to 1.
        top_p: Nucleus sampling, 0 to 1.
        top_k: Top-k sampling, when the model supports it.
        stop_sequences: Custom stop strings.
        stream: Set by :meth:`Anthropic.stream`; leave unset for :meth:`Anthropic.create`.
        tools: Tool definitions.
        tool_choice: How the model must use tools.
        metadata: Request metadata.
    """

    model: str = Field(min_length=1)
    max_tokens: int = Field(ge=1)
    messages: list[MessageParam] = Field(min_length=1)
    system: str | list[TextBlockParam] | None = None
    temperature: float | None = Field(default=None, ge=0, le=1)
    top_p: float | None = Field(default=None, ge=0, le=1)
    top_k: int | None = Field(default=None, ge=0)
    stop_sequences: list[str] | None = None
    stream: bool | None = None
    tools: list[ToolParam] | None = None
    tool_choice: ToolChoice | None = None
    metadata: Metadata | None = None


class MessageCountTokensParams(RequestModel):
    """Body of ``POST /anthropic/v1/messages/count_tokens`` (§8.4)."""

    model: str = Field(min_length=1)
    messages: list[MessageParam] = Field(min_length=1)
    system: str | list[TextBlockParam] | None = None
    tools: list[ToolParam] | None = None
    tool_choice: ToolChoice | None = None


class MessageCountTokensFields(TypedDict, total=False):
    """Keyword fields of :class:`MessageCountTokensParams`."""

    model: str
    messages: Sequence[ModelInput[MessageParam]]
    system: str | Sequence[ModelInput[TextBlockParam]] | None
    tools: Sequence[ModelInput[ToolParam]] | None
    tool_choice: ModelInput[ToolChoice] | None


class MessageCreateFields(MessageCountTokensFields, total=False):
    """Keyword fields of :class:`MessageCreateParams`: those of a token count, plus sampling."""

    max_tokens: int
    temperature: float | None
    top_p: float | None
    top_k: int | None
    stop_sequences: Sequence[str] | None
    stream: bool | None
    metadata: ModelInput[Metadata] | None


# -- response ------------------------------------------------------------------------------------


class TextBlock(ResponseModel):
    """A text block of the reply."""

    type: Literal["text"] = "text"
    text: str = ""


class ToolUseBlock(ResponseModel):
    """A tool call the model asks for."""

    type: Literal["tool_use"] = "tool_use"
    id: str
    name: str
    input: dict[str, Any] = {}


class _OpenUnion:
    """Marks ``Annotated[A | B | Other, OPEN_UNION]``: parse by each member's ``type`` literal,
    and a ``type`` no member declares as the last member, so a block or delta type added later
    parses as the catch-all instead of failing."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        *known, other = get_args(source)
        tags = {get_args(m.model_fields["type"].annotation)[0]: m for m in known}

        def tag(value: Any) -> str:
            kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
            return kind if isinstance(kind, str) and kind in tags else "other"

        choices = {t: handler.generate_schema(m) for t, m in tags.items()}
        choices["other"] = handler.generate_schema(other)
        return core_schema.tagged_union_schema(choices, discriminator=tag)


_OPEN_UNION = _OpenUnion()


class _Unmodelled(ResponseModel):
    """A ``type`` this client does not model; the rest is kept whole as extras."""

    type: str


class OtherBlock(_Unmodelled):
    """A block type this client does not model (e.g. ``thinking``); kept whole."""


#: A reply block; unknown block types are kept as :class:`OtherBlock` rather than failing.
ContentBlock = Annotated[TextBlock | ToolUseBlock | OtherBlock, _OPEN_UNION]


class AnthropicUsage(ResponseModel):
    """Token usage; cache fields and others are kept as extras."""

    input_tokens: int | None = None
    output_tokens: int | None = None


class AnthropicMessage(ResponseModel):
    """The reply of ``POST /anthropic/v1/messages`` (§8.4).

    Attributes:
        id: ``msg_...``.
        content: Reply blocks.
        stop_reason: ``end_turn``, ``max_tokens``, ``stop_sequence``, ``tool_use`` or newer values.
        stop_sequence: The stop sequence hit, if any.
        usage: Token usage.
    """

    id: str | None = None
    type: str | None = None
    role: str | None = None
    model: str | None = None
    content: list[ContentBlock]
    stop_reason: str | None = None
    stop_sequence: str | None = None
    usage: AnthropicUsage | None = None

    @property
    def text(self) -> str:
        """All text blocks joined, in order."""
        return "".join(b.text for b in self.content if isinstance(b, TextBlock))

    @property
    def tool_uses(self) -> list[ToolUseBlock]:
        """The tool calls the model asked for, in order."""
        return [b for b in self.content if isinstance(b, ToolUseBlock)]


class MessageTokensCount(ResponseModel):
    """The reply of ``count_tokens``: ``{"input_tokens": n}``."""

    input_tokens: int


# -- stream events -------------------------------------------------------------------------------


class MessageStartEvent(ResponseModel):
    """First event: the message with empty content."""

    type: Literal["message_start"]
    message: AnthropicMessage


class ContentBlockStartEvent(ResponseModel):
    """A block begins at ``index``."""

    type: Literal["content_block_start"]
    index: int
    content_block: ContentBlock


class TextDelta(ResponseModel):
    """More text for a text block."""

    type: Literal["text_delta"]
    text: str


class InputJSONDelta(ResponseModel):
    """More of a tool call's JSON input (a fragment, not valid JSON on its own)."""

    type: Literal["input_json_delta"]
    partial_json: str


class OtherDelta(_Unmodelled):
    """A delta type this client does not model (e.g. ``thinking_delta``)."""


Delta = Annotated[TextDelta | InputJSONDelta | OtherDelta, _OPEN_UNION]


class ContentBlockDeltaEvent(ResponseModel):
    """A delta for the block at ``index``."""

    type: Literal["content_block_delta"]
    index: int
    delta: Delta


class ContentBlockStopEvent(ResponseModel):
    """The block at ``index`` is complete."""

    type: Literal["content_block_stop"]
    index: int


class MessageDelta(ResponseModel):
    """Top-level changes: the stop reason."""

    stop_reason: str | None = None
    stop_sequence: str | None = None


class MessageDeltaUsage(AnthropicUsage):
    """Cumulative usage reported near the end of the stream (the same fields as a message's)."""


class MessageDeltaEvent(ResponseModel):
    """Stop reason and cumulative ``usage.output_tokens``."""

    type: Literal["message_delta"]
    delta: MessageDelta
    usage: MessageDeltaUsage | None = None


class MessageStopEvent(ResponseModel):
    """The message is complete."""

    type: Literal["message_stop"]


#: One typed stream event (``ping`` and ``error`` never reach callers: see ``aiter_sse_json``).
AnthropicStreamEvent = Annotated[
    MessageStartEvent
    | ContentBlockStartEvent
    | ContentBlockDeltaEvent
    | ContentBlockStopEvent
    | MessageDeltaEvent
    | MessageStopEvent,
    Field(discriminator="type"),
]
