"""Server-sent events: httpx-sse framing, JSON decoding, mid-stream errors as typed errors."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
from httpx_sse import EventSource, SSEError

from ._exceptions import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    make_status_error,
)

__all__ = ["SSEMessage", "aiter_sse_json", "sse_error"]

# Anthropic-style error types, mapped to the status that carries the same meaning.
_ERROR_TYPE_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "overloaded_error": 529,
}


@dataclass(frozen=True)
class SSEMessage:
    """One decoded event: its ``event:`` name (empty when absent) and its JSON ``data``."""

    event: str
    data: Any


def sse_error(event: str, data: Any, request: httpx.Request | None = None) -> APIStatusError | None:
    """Return the error an event carries, or None for an ordinary event.

    Recognises Anthropic ``event: error`` / ``{"type": "error", "error": {...}}`` and Google
    ``{"error": {"code", "message", "status"}}`` payloads.
    """
    if not isinstance(data, dict):
        return None
    err = data.get("error")
    if event != "error" and data.get("type") != "error" and not isinstance(err, dict):
        return None
    err = err if isinstance(err, dict) else {}
    etype = err.get("type") or err.get("status")
    code = err.get("code")
    status = code if isinstance(code, int) else _ERROR_TYPE_STATUS.get(str(etype), 500)
    return make_status_error(
        f"stream error: {err.get('message') or 'unknown error'}",
        status_code=status,
        http_status=200,
        request=request,
        body=data,
        error_type=None if etype is None else str(etype),
        error_code=None if code is None else str(code),
    )


async def aiter_sse_json(response: httpx.Response) -> AsyncIterator[SSEMessage]:
    """Yield each event of a streaming response with its JSON data decoded.

    Events may arrive split across any network chunk boundary. ``ping`` events and a
    ``[DONE]`` sentinel are skipped.

    Raises:
        APIStatusError: A mid-stream ``error`` event.
        APIResponseValidationError: The body is not an event stream, or an event is not JSON.
    """
    try:
        async for sse in EventSource(response).aiter_sse():
            if sse.event == "ping" or sse.data in ("", "[DONE]"):
                continue
            try:
                data = json.loads(sse.data)
            except ValueError as exc:
                raise APIResponseValidationError(
                    f"stream event {sse.event or 'message'!r} is not JSON", request=response.request
                ) from exc
            error = sse_error(sse.event, data, response.request)
            if error is not None:
                raise error
            yield SSEMessage(sse.event, data)
    except SSEError as exc:
        raise APIResponseValidationError(str(exc), request=response.request) from exc
    except httpx.TransportError as exc:
        # The stream broke after the gateway started answering: the request did arrive.
        raise APIConnectionError(
            f"stream interrupted: {type(exc).__name__}: {exc}", request=response.request, sent=True
        ) from exc
