"""Reading gateway answers: error envelopes into status errors, success bodies into JSON."""

from __future__ import annotations

from typing import Any

import httpx

from ._exceptions import APIResponseValidationError, APIStatusError, make_status_error
from ._retry import parse_retry_after

__all__ = ["decode_json", "error_fields", "json_or_none", "request_id_of", "status_error_of"]


def status_error_of(response: httpx.Response, ok_code: int | None) -> APIStatusError | None:
    """Turn an error HTTP status, or a 2xx body with an error ``code``, into an exception."""
    http_status = response.status_code
    if http_status < 400 and ok_code is None:
        return None  # also keeps an unread streaming body unread
    body = json_or_none(response)
    status = http_status
    if http_status < 400:
        if not isinstance(body, dict) or "code" not in body:
            return None
        code = body.get("code")
        if code == ok_code or code == str(ok_code):
            return None
        status = code if isinstance(code, int) and 400 <= code < 600 else 400
    message, error_type, error_code = error_fields(body, response)
    return make_status_error(
        message,
        status_code=status,
        http_status=http_status,
        request=response.request,
        body=body,
        error_type=error_type,
        error_code=error_code,
        request_id=request_id_of(response, body),
        retry_after=parse_retry_after(response.headers),
    )


def json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def error_fields(body: Any, response: httpx.Response) -> tuple[str, str | None, str | None]:
    """Read message/type/code from any documented error envelope.

    Shapes: OpenAI-style ``{"error": {message, type, code}}`` (§2.3), Anthropic
    ``{"type": "error", "error": {type, message}}``, Google ``{"error": {code, message, status}}``,
    DashScope ``{code, message}``, Kling ``{code, message}`` and Suno ``{code, msg}``.
    """
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            message = str(err.get("message") or f"HTTP {response.status_code}")
            etype = err.get("type") or err.get("status")
            code = err.get("code")
            return message, _opt_str(etype), _opt_str(code)
        text = body.get("message") or body.get("msg")
        if text is not None:
            return str(text), None, _opt_str(body.get("code"))
    raw = response.text[:200] if response.content else ""
    return (raw or f"HTTP {response.status_code} {response.reason_phrase}"), None, None


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def request_id_of(response: httpx.Response, body: Any) -> str | None:
    for header in ("x-request-id", "request-id", "x-dashscope-request-id"):
        if header in response.headers:
            return response.headers[header]
    if isinstance(body, dict) and isinstance(body.get("request_id"), str):
        return str(body["request_id"])
    return None


def decode_json(response: httpx.Response) -> Any:
    """Decode a success body, raising :class:`APIResponseValidationError` when it is not JSON."""
    try:
        return response.json()
    except ValueError as exc:
        raise APIResponseValidationError(
            f"expected JSON from {response.request.method} {response.request.url.path}, got "
            f"{response.headers.get('content-type', 'no content type')}",
            request=response.request,
        ) from exc
