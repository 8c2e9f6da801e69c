"""The retry loop: send one built request until it succeeds, fails for good, or leaves doubt.

Who may be resent is decided here and only here: anything not yet sent, any idempotent read, and
any answer with a retryable status, except that a create is resent only after an answer that
proves no task was made (see :mod:`anyint._doubt`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from ._answers import status_error_of
from ._doubt import create_doubt
from ._exceptions import AmbiguousSubmitError, APIConnectionError, APITimeoutError
from ._retry import RetryPolicy
from .records import request_digest

__all__ = ["Call", "send"]

log = logging.getLogger("anyint")

# httpx errors raised before any byte of the request left this process: always safe to resend.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


@dataclass(frozen=True)
class Call:
    """One logical gateway call, as the retry loop needs to know it.

    Attributes:
        request: The built request, sent again unchanged on each retry.
        method: HTTP method as the caller gave it.
        path: Gateway path (for logs, errors and the request digest).
        body: JSON body (for the digest of a create in doubt).
        creates_task: The POST creates a paid task (resent only after a proven rejection).
        ok_code: Body ``code`` meaning success (Suno 200, Kling 0); any other code is an error.
        stream: Hand over a successful response with its body unread.
        deadline: Seconds one exchange may take in all, however steadily bytes trickle in
            (httpx's timeouts bound each read, not the sum); for a stream, until it closes.
            None: no total limit.
    """

    request: httpx.Request
    method: str
    path: str
    body: Any = None
    creates_task: bool = False
    ok_code: int | None = None
    stream: bool = False
    deadline: float | None = None

    @property
    def idempotent(self) -> bool:
        """Whether a request that may have reached the gateway can be sent again."""
        return self.method.upper() in ("GET", "HEAD", "OPTIONS")


def _transport_error(
    exc: httpx.TransportError, call: Call
) -> APIConnectionError | AmbiguousSubmitError:
    """The error a transport failure amounts to: doubt for a create that left, else a
    connection (or timeout) error that says whether the request was sent."""
    method, path = call.method, call.path
    sent = not isinstance(exc, _NOT_SENT)
    if sent and call.creates_task:
        return AmbiguousSubmitError(
            method=method,
            path=path,
            request_digest=request_digest(method, path, call.body),
            cause=type(exc).__name__,
            request=call.request,
        )
    if isinstance(exc, httpx.TimeoutException):
        detail = f": {exc}" if str(exc) and str(exc) != "timed out" else ""
        return APITimeoutError(
            f"{method} {path} timed out ({type(exc).__name__}{detail})",
            request=call.request,
            sent=sent,
        )
    return APIConnectionError(
        f"{method} {path} failed: {type(exc).__name__}: {exc}", request=call.request, sent=sent
    )


async def _open(http: httpx.AsyncClient, call: Call) -> httpx.Response:
    """Send once; read the body unless a successful stream is wanted (never leak it on error).

    Past the call's total deadline the exchange counts as a read timeout: the request was sent,
    so a create is in doubt and a read is retried, as for any other read timeout.
    """
    try:
        async with asyncio.timeout(call.deadline):
            response = await http.send(call.request, stream=True)
            try:
                if not call.stream or response.status_code >= 400:
                    await response.aread()
            except BaseException:
                await response.aclose()
                raise
    except TimeoutError as exc:
        raise httpx.ReadTimeout(_late(call), request=call.request) from exc
    return response


def _late(call: Call) -> str:
    return f"no complete answer within the {call.deadline:g} s total deadline"


class _Bounded(httpx.AsyncByteStream):
    """A handed-over stream body whose reading ends at the call's deadline, counted from the
    hand-over (a stream of pings would otherwise never end). Each read gets what is left, so
    no timeout scope spans a ``yield`` (which would cancel the consumer's code instead)."""

    def __init__(self, inner: httpx.AsyncByteStream, call: Call) -> None:
        self.inner, self.call = inner, call

    async def __aiter__(self) -> AsyncIterator[bytes]:
        assert self.call.deadline is not None
        loop = asyncio.get_running_loop()
        end = loop.time() + self.call.deadline
        chunks = aiter(self.inner)
        while True:
            try:
                async with asyncio.timeout(max(end - loop.time(), 0.0)):
                    chunk = await anext(chunks)
            except StopAsyncIteration:
                return
            except TimeoutError as exc:
                late = f"stream still open: {_late(self.call)}"
                raise httpx.ReadTimeout(late, request=self.call.request) from exc
            yield chunk

    async def aclose(self) -> None:
        await self.inner.aclose()


class _Retries:
    """Counts attempts against a :class:`RetryPolicy` and sleeps between them."""

    def __init__(self, policy: RetryPolicy, call: Call) -> None:
        self.policy = policy
        self.call = call
        self.done = 0

    async def again(self, why: object, headers: httpx.Headers | None = None) -> bool:
        """Sleep and return True when another attempt is allowed, else return False."""
        delay = self.policy.delay(self.done, headers)
        if self.done >= self.policy.max_retries or delay is None:
            return False
        self.done += 1
        log.debug("retrying %s %s after %s (%.2fs)", self.call.method, self.call.path, why, delay)
        await self.policy.sleep(delay)
        return True


@asynccontextmanager
async def send(
    http: httpx.AsyncClient, call: Call, retry: RetryPolicy
) -> AsyncIterator[httpx.Response]:
    """Yield the successful response to ``call``, retrying what may be retried.

    Raises:
        APIStatusError: An error status or body code, once retries are spent or not allowed.
        APIConnectionError: No response, after retries.
        AmbiguousSubmitError: A create may have made a task; not resent.
    """
    retries = _Retries(retry, call)
    while True:
        try:
            response = await _open(http, call)
        except httpx.TransportError as exc:
            error = _transport_error(exc, call)
            if isinstance(error, APIConnectionError):
                resendable = call.idempotent or not error.sent
                if resendable and await retries.again(exc):
                    continue
            raise error from exc
        try:
            status_error = status_error_of(response, call.ok_code)
            answer_error = (
                create_doubt(
                    response, status_error, method=call.method, path=call.path, body=call.body
                )
                if call.creates_task
                else status_error
            )
            if answer_error is None:
                log.debug("%s %s -> %s", call.method, call.path, response.status_code)
                if call.stream and call.deadline is not None:
                    response.stream = _Bounded(response.stream, call)  # type: ignore[arg-type]
                yield response
                return
        finally:
            await response.aclose()
        if answer_error.retryable and await retries.again(
            answer_error.status_code, response.headers
        ):
            continue
        raise answer_error
