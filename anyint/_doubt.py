"""The create rule: an answer to a task-creating POST either proves rejection or leaves doubt.

A create that may have made a paid task is never resent; every path that cannot prove the task
was not made ends here, as an :class:`AmbiguousSubmitError` whose text masks callback URLs and
the key.
"""

from __future__ import annotations

from typing import Any

import httpx

from ._answers import error_fields, json_or_none, request_id_of
from ._exceptions import AmbiguousSubmitError, APIStatusError, proves_rejection
from .records import mask, request_digest

__all__ = ["ambiguous_answer", "create_doubt"]


def create_doubt(
    response: httpx.Response,
    status_error: APIStatusError | None,
    *,
    method: str,
    path: str,
    body: Any,
) -> APIStatusError | AmbiguousSubmitError | None:
    """Apply the create rule to an answer: keep a proven rejection, turn anything else to doubt.

    Args:
        response: The answer, body read.
        status_error: What :func:`status_error_of` made of it.
        method: HTTP method of the create.
        path: Gateway path of the create.
        body: Its JSON body (for the digest, and to mask its callback URL).

    Returns:
        None for a 2xx (its body is checked by the resource), ``status_error`` when it proves
        rejection (4xx, 503), else an :class:`AmbiguousSubmitError` (never resent).
    """
    if status_error is None:
        if response.is_success:
            return None
    elif proves_rejection(status_error.status_code):
        return status_error
    # Not chained to ``status_error``: its text is the gateway's, unmasked, and an exception's
    # cause travels with it wherever it is pickled with its chain (tblib, which Dask installs).
    return ambiguous_answer(
        response, method=method, path=path, body=body, status_error=status_error
    )


def ambiguous_answer(
    response: httpx.Response,
    *,
    method: str,
    path: str,
    body: Any,
    status_error: APIStatusError | None = None,
    problem: str | None = None,
) -> AmbiguousSubmitError:
    """Build the :class:`AmbiguousSubmitError` for an answer to a create that proves nothing.

    The gateway's status, message and request id are kept; callback URLs and the key are masked
    from the text, and the raw body is not kept.

    Args:
        response: The answer, body read.
        method: HTTP method of the create.
        path: Gateway path of the create.
        body: Its JSON body.
        status_error: The status error the answer amounts to, if any.
        problem: Why a 2xx answer cannot be read, if that is the doubt.

    Returns:
        The error, not raised.
    """
    decoded = json_or_none(response)
    if status_error is not None:
        status, message = status_error.status_code, status_error.message
    else:
        status, message = response.status_code, error_fields(decoded, response)[0]
    credentials = [
        value.removeprefix("Bearer ").strip()
        for name in ("authorization", "x-api-key")
        if (value := response.request.headers.get(name))
    ]
    code = f" with body code {status}" if status != response.status_code else ""
    cause = f"HTTP {response.status_code}{code}: {problem or message}"
    return AmbiguousSubmitError(
        method=method,
        path=path,
        request_digest=request_digest(method, path, body),
        cause=mask(cause, body, also=credentials),
        request=response.request,
        status_code=status,
        http_status=response.status_code,
        gateway_message=mask(message, body, also=credentials),
        request_id=request_id_of(response, decoded),
    )
