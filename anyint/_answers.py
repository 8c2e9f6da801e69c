"""Reading gateway answers: error envelopes into status errors, success bodies into JSON."""

from __future__ import annotations

import json
from typing import Any

import httpx

from ._exceptions import APIResponseValidationError, APIStatusError, make_status_error
from ._retry import parse_retry_after

__all__ = [
    "decode_json",
    "error_fields",
    "json_or_none",
    "printable_prefix",
    "request_id_of",
    "status_error_of",
    "unreadable_body",
]


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
    """Decode a success body, raising :class:`APIResponseValidationError` when it is not JSON.

    The error says what the body is: JSON cut short (at which byte of the declared length), or
    not JSON at all (its declared content type, size and a printable prefix). Either is flagged
    ``retryable``: a proxy's error page or a body cut short is a fault of one answer, not of the
    request, so a status query polls on through it and a sync call may be asked again. A create
    never gets here unguarded: :func:`~anyint.resources._base.parse_created` turns any unreadable
    answer to a create into doubt, which is never resent.
    """
    try:
        return response.json()
    except ValueError as exc:
        error = APIResponseValidationError(unreadable_body(response, exc), request=response.request)
        error.retryable = True
        raise error from exc


#: Characters of an unreadable body quoted in its error: enough to recognise an HTML error page.
PREFIX_CHARS = 80


def unreadable_body(response: httpx.Response, exc: ValueError) -> str:
    """Why a success body could not be decoded as JSON, naming the call (path without query)."""
    request = response.request
    call = f"expected JSON from {request.method} {request.url.path} (HTTP {response.status_code})"
    content_type = response.headers.get("content-type", "no content type")
    received = response.num_bytes_downloaded or len(response.content)
    declared = _declared_length(response)
    if declared is not None and received < declared:
        return (
            f"{call}, got a body cut short at byte {received} of the declared length "
            f"{declared} ({content_type})"
        )
    if not response.content:
        return f"{call}, got an empty body ({content_type})"
    if isinstance(exc, json.JSONDecodeError) and _ends_mid_value(exc):
        return f"{call}, got truncated JSON: it ends mid-value at byte {received} ({content_type})"
    return (
        f"{call}, got a body that is not JSON ({content_type}, {received} bytes): "
        f"{printable_prefix(response.content)}"
    )


def _ends_mid_value(exc: json.JSONDecodeError) -> bool:
    """Whether the parser ran out of input inside a value: JSON that is incomplete, as opposed
    to a body that is something else (which fails at its first character, or with extra data)."""
    rest = exc.doc[exc.pos :].rstrip()
    if not exc.doc.strip():
        return False  # nothing decodable at all (e.g. binary taken for UTF-16)
    if not rest:
        return True
    if exc.msg.startswith("Unterminated string"):
        return True
    return any(literal.startswith(rest) for literal in ("true", "false", "null"))


def _declared_length(response: httpx.Response) -> int | None:
    try:
        return int(response.headers["content-length"])
    except (KeyError, ValueError):
        return None


def printable_prefix(data: bytes, limit: int = PREFIX_CHARS) -> str:
    """The start of ``data`` as text, quoted, with control and other unprintable characters
    escaped (so a body cannot break a log line or a terminal), and ``...`` when cut."""
    text = data.decode("utf-8", "replace")
    shown = "".join(
        c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text[:limit]
    )
    return f"'{shown}'" + ("..." if len(text) > limit else "")
