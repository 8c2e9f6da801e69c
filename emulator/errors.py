"""Neutral emulator errors and the per-family envelopes they are rendered in.

Routes raise :class:`EmulatorError`; :func:`render_error` renders it in the body that family's
clients expect: the documented OpenAI-style envelope (contract §2.3) by default, and the native
shapes of Anthropic, Gemini, DashScope, Kling and Suno where the contract records them (§8.4,
§9.6, §10.1, §10.4, §11.3).
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.responses import JSONResponse

__all__ = ["EmulatorError", "family_of", "render_error"]

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    413: "request_too_large",
    429: "rate_limit_error",
}
_GOOGLE_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    413: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    503: "UNAVAILABLE",
}
_DASHSCOPE_CODES = {
    400: "InvalidParameter",
    401: "InvalidApiKey",
    403: "AccessDenied",
    404: "NotFound",
    429: "Throttling",
    503: "ServiceUnavailable",
}


class EmulatorError(Exception):
    """A gateway error, independent of how a family spells it.

    Args:
        status: HTTP status (and Suno business code).
        message: What went wrong and, where useful, how to fix it.
        code: Machine-readable code (``error.code``), e.g. ``invalid_api_key``.
        headers: Extra response headers such as ``Retry-After``.
        data: Suno ``data`` payload for errors that carry one (cover exists → existing taskId).
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        data: Any = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = headers or {}
        self.data = data

    @property
    def type(self) -> str:
        """The error ``type`` string for OpenAI/Anthropic-style envelopes."""
        return _TYPES.get(
            self.status, "api_error" if self.status >= 500 else "invalid_request_error"
        )


def family_of(path: str) -> str:
    """The route family a path belongs to, which decides the error envelope."""
    for prefix, family in (
        ("/anthropic/", "anthropic"),
        ("/gemini/", "gemini"),
        ("/dashscope/", "dashscope"),
        ("/transtreams/kling/", "kling"),
        ("/suno/", "suno"),
    ):
        if path.startswith(prefix):
            return family
    return "openai"


def error_body(error: EmulatorError, family: str) -> dict[str, Any]:
    """The JSON body of ``error`` in ``family``'s envelope."""
    if family == "anthropic":
        return {"type": "error", "error": {"type": error.type, "message": error.message}}
    if family == "gemini":
        status = _GOOGLE_STATUS.get(error.status, "INTERNAL")
        return {"error": {"code": error.status, "message": error.message, "status": status}}
    if family == "dashscope":
        code = error.code or _DASHSCOPE_CODES.get(error.status, "InternalError")
        return {"request_id": str(uuid.uuid4()), "code": code, "message": error.message}
    if family == "kling":
        return {
            "code": 1000 + error.status,
            "message": error.message,
            "request_id": str(uuid.uuid4()),
            "data": None,
        }
    if family == "suno":
        return {"code": error.status, "msg": error.message, "data": error.data}
    return {"error": {"message": error.message, "type": error.type, "code": error.code}}


def render_error(error: EmulatorError, path: str) -> JSONResponse:
    """Render ``error`` for the family that owns ``path``."""
    return JSONResponse(
        error_body(error, family_of(path)), status_code=error.status, headers=error.headers
    )
