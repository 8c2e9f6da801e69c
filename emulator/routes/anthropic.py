"""Anthropic-compatible messages (contract §8): ``POST /anthropic/v1/messages`` (JSON or SSE) and
``POST /anthropic/v1/messages/count_tokens``, with ``x-api-key`` + ``anthropic-version`` auth.

Thin: bodies, reading and replies live in :mod:`emulator.chat.anthropic`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from ..auth import anthropic_auth
from ..backend import Backend
from ..chat import anthropic
from ..chat.anthropic import CountTokensBody, MessagesBody
from ._common import call_of, event_stream, sse_error_requested

router = APIRouter(tags=["anthropic"])


@router.post("/anthropic/v1/messages", response_model=None)
async def create_message(
    body: MessagesBody, request: Request, backend: Backend = Depends(anthropic_auth)
) -> dict[str, Any] | StreamingResponse:
    """Answer a conversation, describing its images; SSE events when ``stream`` is true."""
    call = call_of(request, backend)
    message = anthropic.message(call, body)
    call.reported(message["usage"])  # §8.4; a stream ends with the same counts
    if not body.stream:
        return message
    return event_stream(anthropic.events(call, message, fail=sse_error_requested(request)))


@router.post("/anthropic/v1/messages/count_tokens")
async def count_tokens(
    body: CountTokensBody, request: Request, backend: Backend = Depends(anthropic_auth)
) -> dict[str, int]:
    """``{"input_tokens": n}``, the same count ``usage.input_tokens`` reports for the request."""
    return {"input_tokens": anthropic.count_tokens(call_of(request, backend), body)}
