"""Per-family authentication as FastAPI dependencies (contract §2.2).

Every family accepts a Bearer key; Anthropic routes also take ``x-api-key`` and require
``anthropic-version``; Gemini routes also take ``x-goog-api-key`` and ``?key=`` (§9.2 [INF]), which
is what the official SDKs send.
"""

from __future__ import annotations

from fastapi import Request

from .backend import Backend
from .errors import EmulatorError

__all__ = ["anthropic_auth", "backend_of", "bearer_auth", "gemini_auth"]


def backend_of(request: Request) -> Backend:
    """The backend serving this request."""
    backend: Backend = request.app.state.backend
    return backend


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def bearer_auth(request: Request) -> Backend:
    """Bearer auth for OpenAI-style, DashScope, Kling and Suno routes."""
    backend = backend_of(request)
    backend.check_key(_bearer(request) or request.headers.get("x-api-key"))
    return backend


def anthropic_auth(request: Request) -> Backend:
    """``x-api-key`` (or Bearer) plus a required ``anthropic-version`` header."""
    backend = backend_of(request)
    backend.check_key(request.headers.get("x-api-key") or _bearer(request))
    if not request.headers.get("anthropic-version"):
        raise EmulatorError(
            400,
            "anthropic-version header is required (use 2023-06-01)",
            code="missing_anthropic_version",
        )
    return backend


def gemini_auth(request: Request) -> Backend:
    """Bearer (the documented contract), ``x-goog-api-key`` or ``?key=``."""
    backend = backend_of(request)
    backend.check_key(
        _bearer(request) or request.headers.get("x-goog-api-key") or request.query_params.get("key")
    )
    return backend
