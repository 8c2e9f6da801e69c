"""Helpers every route module uses."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import Request
from fastapi.responses import StreamingResponse

from ..backend import Backend
from ..calls import Call

__all__ = ["base_url", "call_of", "event_stream", "sse_error_requested"]


def base_url(request: Request) -> str:
    """The emulator's own base URL as the caller reached it (asset URLs are built on it)."""
    return str(request.base_url).rstrip("/")


def call_of(request: Request, backend: Backend) -> Call:
    """The request as the family backends take it (with its call-log entry, if it has one)."""
    record = getattr(request.state, "call", None)
    return Call(backend, base_url(request), request.method, request.url.path, record)


def sse_error_requested(request: Request) -> bool:
    """Whether an ``sse_error`` fault asked this stream to fail part-way."""
    return bool(getattr(request.state, "sse_error", False))


def event_stream(events: AsyncIterator[bytes]) -> StreamingResponse:
    """Server-sent events, uncached, as every streaming family answers them."""
    return StreamingResponse(
        events, media_type="text/event-stream", headers={"cache-control": "no-cache"}
    )
