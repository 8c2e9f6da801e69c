"""Anthropic-compatible messages (contract §8): sync, streaming and token counting."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncGenerator, Callable, Mapping
from contextlib import aclosing
from typing import Any, Unpack

from pydantic import TypeAdapter, ValidationError

from .._exceptions import APIResponseValidationError
from .._streaming import aiter_sse_json
from ..types.anthropic import (
    AnthropicMessage,
    AnthropicStreamEvent,
    ContentBlockDeltaEvent,
    ContentBlockStartEvent,
    ContentBlockStopEvent,
    InputJSONDelta,
    MessageCountTokensFields,
    MessageCountTokensParams,
    MessageCreateFields,
    MessageCreateParams,
    MessageDeltaEvent,
    MessageStartEvent,
    MessageStopEvent,
    MessageTokensCount,
    TextDelta,
)
from ._base import Resource, build_params, notify, parse_event, parse_response

__all__ = ["Anthropic"]

log = logging.getLogger("anyint")

MESSAGES_PATH = "/anthropic/v1/messages"
COUNT_TOKENS_PATH = "/anthropic/v1/messages/count_tokens"

_EVENT: TypeAdapter[AnthropicStreamEvent] = TypeAdapter(AnthropicStreamEvent)
_KNOWN_EVENTS = frozenset(
    {
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    }
)


#: A request given as the model or as a plain dict of its fields.
CreateParams = MessageCreateParams | Mapping[str, Any]


class Anthropic(Resource):
    """``client.anthropic``: Claude-style messages with ``x-api-key`` auth.

    Each method takes the request as ``params`` (:class:`MessageCreateParams` or a dict,
    positional only) or as keyword fields; they merge, keywords winning (but see
    :meth:`count_tokens`). A request that breaks a documented rule raises
    ``pydantic.ValidationError`` before any I/O, and a refusal by the gateway raises
    :class:`~anyint.APIStatusError`.

    Example:
        >>> msg = await client.anthropic.create(  # doctest: +SKIP
        ...     model="claude-sonnet-4-6", max_tokens=512,
        ...     messages=[{"role": "user", "content": [image_block(png), {"type": "text",
        ...               "text": "Describe this."}]}])
        >>> msg.text  # doctest: +SKIP
    """

    async def create(
        self, params: CreateParams | None = None, /, **fields: Unpack[MessageCreateFields]
    ) -> AnthropicMessage:
        """Send one message and wait for the whole reply (``POST /anthropic/v1/messages``).

        Returns:
            The reply message.

        Raises:
            ValueError: ``stream=True`` was set (use :meth:`stream` or :meth:`stream_final`).
        """
        body = build_params(MessageCreateParams, params, fields)
        if body.stream:
            raise ValueError("stream=True: use stream() or stream_final() for a streamed reply")
        response = await self._client.request(
            "POST", MESSAGES_PATH, auth="anthropic", json=body.to_body()
        )
        return parse_response(AnthropicMessage, response)

    async def count_tokens(
        self,
        params: MessageCountTokensParams | Mapping[str, Any] | None = None,
        /,
        **fields: Unpack[MessageCountTokensFields],
    ) -> MessageTokensCount:
        """Count the input tokens of a request before sending it (``.../messages/count_tokens``).

        Unlike the other methods, ``params`` and keyword fields do not mix.

        Raises:
            ValueError: Both ``params`` and keyword fields were given.
        """
        if params is not None and fields:
            raise ValueError("pass either params or keyword fields, not both")
        body = (
            params
            if isinstance(params, MessageCountTokensParams)
            else MessageCountTokensParams.model_validate(params if params is not None else fields)
        )
        response = await self._client.request(
            "POST", COUNT_TOKENS_PATH, auth="anthropic", json=body.to_body()
        )
        return parse_response(MessageTokensCount, response)

    def stream(
        self, params: CreateParams | None = None, /, **fields: Unpack[MessageCreateFields]
    ) -> AsyncGenerator[AnthropicStreamEvent, None]:
        """Stream a reply as typed events (``"stream": true``).

        The request is validated here, before iteration starts, so a bad request fails at the
        call. ``ping`` events are skipped; event types this client does not know are skipped too.
        To stop early, iterate inside ``contextlib.aclosing(...)`` so the connection is released
        at once.

        Returns:
            An async generator of events, from ``message_start`` to ``message_stop``.

        Raises:
            APIStatusError: While iterating: an error status, or a mid-stream ``error`` event.
        """
        body = (
            build_params(MessageCreateParams, params, fields)
            .model_copy(update={"stream": True})
            .to_body()
        )
        return self._events(body)

    async def _events(self, body: dict[str, Any]) -> AsyncGenerator[AnthropicStreamEvent, None]:
        async with self._client.stream(
            "POST", MESSAGES_PATH, auth="anthropic", json=body
        ) as response:
            async for sse in aiter_sse_json(response):
                kind = sse.data.get("type") if isinstance(sse.data, dict) else None
                if kind not in _KNOWN_EVENTS:
                    # New event types must not break old clients (Anthropic's versioning rule).
                    log.debug("skipping unknown Anthropic stream event %r", kind or sse.event)
                    continue
                what = f"Anthropic stream event {kind!r}"
                yield parse_event(_EVENT.validate_python, sse.data, response, what)

    async def stream_final(
        self,
        params: CreateParams | None = None,
        /,
        *,
        on_text: Callable[[str], object] | None = None,
        **fields: Unpack[MessageCreateFields],
    ) -> AnthropicMessage:
        """Stream a reply and return it assembled, as :meth:`create` would.

        Args:
            on_text: Called with each text delta as it arrives (may be async).

        Returns:
            The complete message: text and tool-use blocks, stop reason and usage.

        Raises:
            APIStatusError: An error status or a mid-stream ``error`` event.
            APIResponseValidationError: The stream ended before ``message_stop`` or is malformed.
        """
        acc = _Accumulator()
        async with aclosing(self.stream(params, **fields)) as events:
            async for event in events:
                await notify(on_text, acc.feed(event))
                if acc.done:
                    return acc.message()
        raise APIResponseValidationError(
            "Anthropic stream ended before message_stop; the reply is incomplete"
        )


class _Accumulator:
    """Builds the final message from stream events, the way the Anthropic SDK does."""

    def __init__(self) -> None:
        self.base: dict[str, Any] | None = None
        self.blocks: dict[int, dict[str, Any]] = {}
        self.json_parts: dict[int, list[str]] = {}
        self.done = False

    def feed(self, event: AnthropicStreamEvent) -> str | None:
        """Apply one event; return the text it adds, if any."""
        if isinstance(event, MessageStartEvent):
            self.base = event.message.model_dump(exclude_none=True)
            self.base["content"] = []
            return None
        if self.base is None:
            raise APIResponseValidationError(f"{event.type} event before message_start")
        if isinstance(event, ContentBlockStartEvent):
            self.blocks[event.index] = event.content_block.model_dump(exclude_none=True)
        elif isinstance(event, ContentBlockDeltaEvent):
            return self._delta(event)
        elif isinstance(event, ContentBlockStopEvent):
            self._finish_block(event.index)
        elif isinstance(event, MessageDeltaEvent):
            self.base.update(event.delta.model_dump(exclude_none=True))
            if event.usage is not None:
                usage = self.base.setdefault("usage", {})
                usage.update(event.usage.model_dump(exclude_none=True))
        elif isinstance(event, MessageStopEvent):
            self.done = True
        return None

    def _block(self, index: int) -> dict[str, Any]:
        if index not in self.blocks:
            raise APIResponseValidationError(f"delta for content block {index} before its start")
        return self.blocks[index]

    def _delta(self, event: ContentBlockDeltaEvent) -> str | None:
        block = self._block(event.index)
        delta = event.delta
        if isinstance(delta, TextDelta):
            block["text"] = block.get("text", "") + delta.text
            return delta.text
        if isinstance(delta, InputJSONDelta):
            self.json_parts.setdefault(event.index, []).append(delta.partial_json)
        return None

    def _finish_block(self, index: int) -> None:
        block = self._block(index)
        parts = self.json_parts.pop(index, None)
        if parts is None:
            return
        raw = "".join(parts)
        try:
            block["input"] = json.loads(raw) if raw.strip() else {}
        except ValueError as exc:
            raise APIResponseValidationError(
                f"tool_use block {index} input is not valid JSON: {raw[:80]!r}"
            ) from exc

    def message(self) -> AnthropicMessage:
        assert self.base is not None  # feed() guarantees it before done is set
        self.base["content"] = [self.blocks[i] for i in sorted(self.blocks)]
        try:
            return AnthropicMessage.model_validate(self.base)
        except ValidationError as exc:
            raise APIResponseValidationError(
                f"assembled Anthropic message is invalid: {exc.errors()[0]['msg']}"
            ) from exc
