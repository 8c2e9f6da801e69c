"""Gemini-compatible generateContent (contract §9): ``POST /gemini/v1beta/models/{model}:
generateContent`` and ``...:streamGenerateContent?alt=sse``, Bearer / ``x-goog-api-key`` auth.

Thin: bodies, reading and replies live in :mod:`emulator.chat.gemini`; errors use Google's
envelope (rendered by the app).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from ..auth import gemini_auth
from ..backend import Backend
from ..chat import gemini
from ..chat.gemini import GenerateBody
from ._common import call_of, event_stream, sse_error_requested

router = APIRouter(tags=["gemini"])

_PREFIX = "/gemini/v1beta/models/{model}"


@router.post(_PREFIX + ":generateContent")
async def generate_content(
    model: str, body: GenerateBody, request: Request, backend: Backend = Depends(gemini_auth)
) -> dict[str, Any]:
    """Text, function calls or text plus a PNG, as one GenerateContentResponse (§9.6)."""
    call = call_of(request, backend)
    reply = gemini.generate(call, model, body)
    call.reported(reply["usageMetadata"])
    return reply


@router.post(_PREFIX + ":streamGenerateContent")
async def stream_generate_content(
    model: str, body: GenerateBody, request: Request, backend: Backend = Depends(gemini_auth)
) -> StreamingResponse:
    """The same reply as server-sent ``data:`` chunks; only ``alt=sse`` is served (§9.6)."""
    if request.query_params.get("alt") != "sse":
        raise gemini.stream_error()
    call = call_of(request, backend)
    reply = gemini.generate(call, model, body)
    call.reported(reply["usageMetadata"])  # the last chunk carries it whole (§9.6)
    chunks = gemini.chunks(reply)
    return event_stream(gemini.sse(call, chunks, fail=sse_error_requested(request)))
