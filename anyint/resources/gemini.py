"""Gemini-compatible generateContent and streamGenerateContent (contract §9, §12.1)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Mapping
from contextlib import aclosing
from typing import Any, Unpack

from .._exceptions import APIResponseValidationError
from .._streaming import aiter_sse_json
from ..types.gemini import (
    Candidate,
    GenerateContentFields,
    GenerateContentParams,
    GenerateContentResponse,
    ResponseContent,
    ResponsePart,
)
from ._base import Resource, build_params, notify, parse_event, parse_response, require_id

__all__ = ["Gemini"]


def _path(model: str, method: str) -> str:
    # The model sits inside the path before a literal colon, so anything that could end the
    # segment or start a query must be refused before any I/O.
    require_id("model", model)
    if ":" in model or any(c.isspace() for c in model):
        raise ValueError(f"model must not contain ':' or whitespace, got {model!r}")
    return f"/gemini/v1beta/models/{model}:{method}"


#: A request given as the model or as a plain dict of its fields (camelCase or snake_case).
Params = GenerateContentParams | Mapping[str, Any]


class Gemini(Resource):
    """``client.gemini``: text, function calling and image output, sync or streamed (Bearer).

    Each method takes, positional only, ``model`` (a model ID such as ``gemini-2.0-flash``, no
    ``models/`` prefix) and ``params`` (:class:`GenerateContentParams` or a dict, camelCase or
    snake_case), and the request's fields as snake_case keywords, which override ``params``.
    Before any I/O, a ``model`` that is empty or could change the path raises ``ValueError``
    and a request that breaks a documented rule raises ``pydantic.ValidationError``; a refusal
    by the gateway raises :class:`~anyint.APIStatusError`.

    Example:
        >>> reply = await client.gemini.generate_content(  # doctest: +SKIP
        ...     "gemini-3.1-flash-image-preview",
        ...     contents=[{"role": "user", "parts": [{"text": "A launch poster"}]}],
        ...     generation_config={"response_modalities": ["TEXT", "IMAGE"]})
        >>> png = reply.images[0].data  # doctest: +SKIP
    """

    async def generate_content(
        self, model: str, params: Params | None = None, /, **fields: Unpack[GenerateContentFields]
    ) -> GenerateContentResponse:
        """``POST /gemini/v1beta/models/{model}:generateContent``.

        Returns:
            The reply; see ``.text``, ``.function_calls`` and ``.images``.
        """
        path = _path(model, "generateContent")
        body = build_params(GenerateContentParams, params, fields).to_body()
        response = await self._client.request("POST", path, json=body)
        return parse_response(GenerateContentResponse, response)

    def stream_generate_content(
        self, model: str, params: Params | None = None, /, **fields: Unpack[GenerateContentFields]
    ) -> AsyncGenerator[GenerateContentResponse, None]:
        """``POST .../models/{model}:streamGenerateContent?alt=sse``: partial replies as they come.

        Each chunk is a partial :class:`GenerateContentResponse`; the last one carries
        ``finishReason`` and full ``usageMetadata``. There is no ``[DONE]``: the stream just ends.
        The request is validated here, before iteration. To stop early, iterate inside
        ``contextlib.aclosing(...)`` so the connection is released at once.

        Raises:
            APIStatusError: While iterating: an error status or a mid-stream error event.
        """
        path = _path(model, "streamGenerateContent")
        body = build_params(GenerateContentParams, params, fields).to_body()
        return self._chunks(path, body)

    async def _chunks(
        self, path: str, body: dict[str, Any]
    ) -> AsyncGenerator[GenerateContentResponse, None]:
        async with self._client.stream("POST", path, json=body, params={"alt": "sse"}) as response:
            async for sse in aiter_sse_json(response):
                validate = GenerateContentResponse.model_validate
                yield parse_event(validate, sse.data, response, "Gemini stream chunk")

    async def stream_final(
        self,
        model: str,
        params: Params | None = None,
        /,
        *,
        on_text: Callable[[str], object] | None = None,
        **fields: Unpack[GenerateContentFields],
    ) -> GenerateContentResponse:
        """Stream a reply and return it merged into one response.

        Text of consecutive chunks is concatenated; image, function-call and other parts are kept
        in order; the last ``finishReason``, ``usageMetadata``, ``modelVersion`` and
        ``responseId`` win.

        Args:
            on_text: Called with each text delta of the first candidate (may be async).

        Returns:
            The merged reply.

        Raises:
            APIResponseValidationError: The stream ended with no chunk, or with no
                ``finishReason`` (cut short) and no prompt feedback explaining why.
        """
        merger = _Merger()
        async with aclosing(self.stream_generate_content(model, params, **fields)) as chunks:
            async for chunk in chunks:
                await notify(on_text, merger.feed(chunk))
        return merger.result()


class _Candidate:
    def __init__(self, index: int | None) -> None:
        self.index = index
        self.role: str | None = None
        self.parts: list[ResponsePart] = []
        self.finish_reason: str | None = None
        self.safety_ratings: list[dict[str, Any]] | None = None

    def add(self, part: ResponsePart) -> None:
        last = self.parts[-1] if self.parts else None
        mergeable = (
            last is not None
            and part.text is not None
            and last.text is not None
            and last.thought == part.thought
            # A thought signature belongs to one part; never fold a signed part into another.
            and last.thought_signature is None
        )
        if last is not None and mergeable:
            self.parts[-1] = last.model_copy(
                update={
                    "text": f"{last.text}{part.text}",
                    "thought_signature": part.thought_signature,
                }
            )
        else:
            self.parts.append(part)


class _Merger:
    """Folds streamed chunks into one :class:`GenerateContentResponse`."""

    def __init__(self) -> None:
        self.chunks = 0
        self.candidates: dict[int, _Candidate] = {}
        self.top: dict[str, Any] = {}

    def feed(self, chunk: GenerateContentResponse) -> str:
        """Apply one chunk; return the text it adds to the first candidate."""
        self.chunks += 1
        for name in ("usage_metadata", "model_version", "response_id", "prompt_feedback"):
            value = getattr(chunk, name)
            if value is not None:
                self.top[name] = value
        added = ""
        for position, cand in enumerate(chunk.candidates):
            key = cand.index if cand.index is not None else position
            state = self.candidates.setdefault(key, _Candidate(cand.index))
            state.finish_reason = cand.finish_reason or state.finish_reason
            if cand.safety_ratings is not None:
                state.safety_ratings = cand.safety_ratings
            if cand.content is None:
                continue
            state.role = cand.content.role or state.role
            for part in cand.content.parts:
                state.add(part)
                if key == 0 and part.text and not part.thought:
                    added += part.text
        return added

    def result(self) -> GenerateContentResponse:
        if self.chunks == 0:
            raise APIResponseValidationError("Gemini stream ended without any chunk")
        finished = any(c.finish_reason for c in self.candidates.values())
        if not finished and "prompt_feedback" not in self.top:
            raise APIResponseValidationError(
                "Gemini stream ended without a finishReason; the reply may be cut short"
            )
        candidates = [
            Candidate(
                content=ResponseContent(role=c.role or "model", parts=c.parts),
                finish_reason=c.finish_reason,
                index=c.index,
                safety_ratings=c.safety_ratings,
            )
            for _, c in sorted(self.candidates.items())
        ]
        return GenerateContentResponse(candidates=candidates, **self.top)
