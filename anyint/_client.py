"""The async AnyInt client: configuration, per-family auth, error mapping and the retry loop."""

from __future__ import annotations

import functools
import logging
import ssl
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, Self
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr

from ._exceptions import (
    AmbiguousSubmitError,
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    make_status_error,
    proves_rejection,
)
from ._retry import RetryPolicy, parse_retry_after
from .config import AnyIntSettings, settings
from .records import mask, request_digest

if TYPE_CHECKING:
    from .resources.anthropic import Anthropic
    from .resources.dashscope import DashScope
    from .resources.gemini import Gemini
    from .resources.kling import Kling
    from .resources.models import Models
    from .resources.suno import Suno
    from .resources.videos import Videos

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_TIMEOUT", "AnyIntClient", "AuthStyle"]

log = logging.getLogger("anyint")

DEFAULT_BASE_URL = "https://gateway.api.anyint.ai"
#: Explicit timeouts: a sync image or a long message may take minutes to come back, but a
#: connection that cannot be made in 10 s will not be made at all.
DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=300.0, write=60.0, pool=30.0)
ANTHROPIC_VERSION = "2023-06-01"

#: How a family authenticates (contract §2.2): Bearer everywhere except the Anthropic routes.
AuthStyle = Literal["bearer", "anthropic"]

# httpx errors raised before any byte of the request left this process: always safe to resend.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One TLS context per process: building one loads the CA bundle (~17 ms), and flows make a
    client per task."""
    return httpx.create_ssl_context()


def _check_base_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(
            f"base_url must be an http(s) URL such as {DEFAULT_BASE_URL!r}, got {url!r}"
        )
    if parts.query or parts.fragment:
        raise ValueError("base_url must not carry a query string or fragment")
    return url.rstrip("/")


class AnyIntClient:
    """Async client for every AnyInt route family.

    Configuration is resolved in this order, and never at import time:
    explicit argument → ``ANYINT_*`` environment (``ANYINT_API_KEY``, ``ANYINT_BASE_URL``) →
    default base URL ``https://gateway.api.anyint.ai`` (``https://api.anyint.ai`` works too).
    There is no default key: a call without one raises ``ValueError`` naming what to set.

    One client holds one connection pool; reuse it across calls and close it with
    ``await client.aclose()`` or ``async with``.

    Args:
        api_key: Gateway key. Kept as ``SecretStr``; it never appears in a URL, repr or log.
        base_url: Gateway base URL.
        timeout: httpx timeout for each request (per read/write, not total).
        retry: Retry policy for transport failures and retryable statuses.
        transport: httpx transport, the test seam (``httpx.MockTransport``, ``ASGITransport``).
        http_client: A ready ``httpx.AsyncClient`` to use instead of building one.

    Example:
        >>> async with AnyIntClient() as client:  # doctest: +SKIP
        ...     models = await client.models.list()
    """

    def __init__(
        self,
        api_key: str | SecretStr | None = None,
        base_url: str | None = None,
        *,
        timeout: httpx.Timeout | float | None = None,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self._explicit_key = SecretStr(api_key) if isinstance(api_key, str) else api_key
        self._explicit_base_url = _check_base_url(base_url) if base_url else None
        self.retry = retry or RetryPolicy()
        self.timeout = (
            timeout
            if isinstance(timeout, httpx.Timeout)
            else httpx.Timeout(timeout)
            if timeout is not None
            else DEFAULT_TIMEOUT
        )
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(
            transport=transport,
            timeout=self.timeout,
            follow_redirects=False,
            verify=_ssl_context(),
        )

    # -- configuration -----------------------------------------------------------------------

    @cached_property
    def _settings(self) -> AnyIntSettings:
        return settings()

    @cached_property
    def base_url(self) -> str:
        """The resolved gateway base URL, without a trailing slash."""
        if self._explicit_base_url:
            return self._explicit_base_url
        return _check_base_url(self._settings.base_url or DEFAULT_BASE_URL)

    def _api_key(self) -> str:
        key = self._explicit_key or self._settings.api_key
        if key is None or not key.get_secret_value().strip():
            raise ValueError(
                "No AnyInt API key: pass api_key= or set ANYINT_API_KEY "
                "(for the local emulator any non-empty key works)"
            )
        return key.get_secret_value()

    def __repr__(self) -> str:
        return f"AnyIntClient(base_url={self.base_url!r})"

    def auth_headers(self, auth: AuthStyle) -> dict[str, str]:
        """Headers that authenticate one request of the given family (contract §2.2).

        Args:
            auth: ``"bearer"`` for every family but Anthropic, ``"anthropic"`` for ``/anthropic``.

        Returns:
            A fresh header dict; callers must not log it.
        """
        if auth == "anthropic":
            return {"x-api-key": self._api_key(), "anthropic-version": ANTHROPIC_VERSION}
        return {"Authorization": f"Bearer {self._api_key()}"}

    def is_gateway_url(self, url: str) -> bool:
        """Whether ``url`` points at the configured gateway (and may receive our key)."""
        return url == self.base_url or url.startswith(self.base_url + "/")

    @property
    def http(self) -> httpx.AsyncClient:
        """The underlying httpx client (shared pool)."""
        return self._http

    # -- lifecycle -----------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the connection pool if this client created it."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- resources -----------------------------------------------------------------------------

    @cached_property
    def models(self) -> Models:
        """Models API: ``/openai/v1/models`` and ``/anthropic/v1/models``."""
        from .resources.models import Models

        return Models(self)

    @cached_property
    def anthropic(self) -> Anthropic:
        """Anthropic-compatible messages (image understanding), sync and streaming."""
        from .resources.anthropic import Anthropic

        return Anthropic(self)

    @cached_property
    def gemini(self) -> Gemini:
        """Gemini-compatible generateContent and streamGenerateContent."""
        from .resources.gemini import Gemini

        return Gemini(self)

    @cached_property
    def dashscope(self) -> DashScope:
        """DashScope sync images, video tasks and task queries."""
        from .resources.dashscope import DashScope

        return DashScope(self)

    @cached_property
    def kling(self) -> Kling:
        """Kling native video routes under ``/transtreams/kling/v1``."""
        from .resources.kling import Kling

        return Kling(self)

    @cached_property
    def videos(self) -> Videos:
        """OpenAI-style ``/openai/v1/videos`` (Kling through the gateway)."""
        from .resources.videos import Videos

        return Videos(self)

    @cached_property
    def suno(self) -> Suno:
        """AI Music ``/suno/*`` creation, query and sync routes."""
        from .resources.suno import Suno

        return Suno(self)

    # -- the request engine ---------------------------------------------------------------------

    def _build(
        self,
        method: str,
        path: str,
        *,
        auth: AuthStyle,
        json: Any,
        params: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
    ) -> httpx.Request:
        if not path.startswith("/"):
            raise ValueError(f"path must start with '/', got {path!r}")
        all_headers = {"accept": "application/json", **self.auth_headers(auth), **(headers or {})}
        return self._http.build_request(
            method, self.base_url + path, json=json, params=params, headers=all_headers
        )

    async def request(
        self,
        method: str,
        path: str,
        *,
        auth: AuthStyle = "bearer",
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        creates_task: bool = False,
        ok_code: int | None = None,
    ) -> httpx.Response:
        """Send one gateway request with retries and return the successful response.

        Retried: errors raised before the request was sent, retryable statuses (408, 429, Suno
        405/430/455, 5xx) with capped jittered backoff honouring ``Retry-After``. Reads that fail
        after sending are retried only for GET; any other POST raises the connection error.

        A create (``creates_task=True``) is resent only after an answer that proves no task was
        made: a 4xx or 503 (the retryable ones are retried, the others raised as status errors).
        Any other answer is doubt and raises :class:`AmbiguousSubmitError` at once: a dropped
        connection or read timeout after sending, a body cut short, a 5xx other than 503 (or a
        Suno/Kling body ``code`` of one), or any other non-2xx status. A 2xx body that is not the
        documented create answer is doubt too; resources check that with
        :func:`anyint.resources._base.parse_created`.

        Args:
            method: HTTP method.
            path: Gateway path starting with ``/``.
            auth: Auth style of the route family.
            json: JSON body.
            params: Query parameters (never credentials).
            headers: Extra headers.
            creates_task: True for POSTs that create a paid gateway task (see above).
            ok_code: Body ``code`` meaning success (Suno 200, Kling 0); any other code raises.

        Returns:
            The response, body read.

        Raises:
            APIStatusError: An error status or body code (subclass by status).
            APIConnectionError: No response, after retries.
            AmbiguousSubmitError: A create may have made a task; not resent.
        """
        async with self._send(
            method,
            path,
            auth=auth,
            json=json,
            params=params,
            headers=headers,
            creates_task=creates_task,
            ok_code=ok_code,
            stream=False,
        ) as response:
            return response

    @asynccontextmanager
    async def stream(
        self,
        method: str,
        path: str,
        *,
        auth: AuthStyle = "bearer",
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> AsyncIterator[httpx.Response]:
        """Like :meth:`request`, but yield a streaming response whose body is not yet read.

        Retries happen only before the first byte of a successful response is handed over.
        """
        async with self._send(
            method,
            path,
            auth=auth,
            json=json,
            params=params,
            headers=headers,
            creates_task=False,
            ok_code=None,
            stream=True,
        ) as response:
            yield response

    @asynccontextmanager
    async def _send(
        self,
        method: str,
        path: str,
        *,
        auth: AuthStyle,
        json: Any,
        params: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
        creates_task: bool,
        ok_code: int | None,
        stream: bool,
    ) -> AsyncIterator[httpx.Response]:
        request = self._build(method, path, auth=auth, json=json, params=params, headers=headers)
        idempotent = method.upper() in ("GET", "HEAD", "OPTIONS")
        retries = 0
        while True:
            try:
                response = await self._http.send(request, stream=True)
                try:
                    if not stream or response.status_code >= 400:
                        await response.aread()
                except BaseException:
                    await response.aclose()
                    raise
            except httpx.TransportError as exc:
                error = self._transport_error(exc, request, method, path, json, creates_task)
                if isinstance(error, APIConnectionError) and (idempotent or not error.sent):
                    delay = self.retry.delay(retries)
                    if retries < self.retry.max_retries and delay is not None:
                        retries += 1
                        log.debug("retrying %s %s after %s (%.2fs)", method, path, exc, delay)
                        await self.retry.sleep(delay)
                        continue
                raise error from exc
            try:
                status_error = status_error_of(response, ok_code)
                answer_error = (
                    create_doubt(response, status_error, method=method, path=path, body=json)
                    if creates_task
                    else status_error
                )
                if answer_error is None:
                    log.debug("%s %s -> %s", method, path, response.status_code)
                    yield response
                    return
            finally:
                await response.aclose()
            delay = self.retry.delay(retries, response.headers)
            if answer_error.retryable and retries < self.retry.max_retries and delay is not None:
                retries += 1
                log.debug(
                    "retrying %s %s after %s (%.2fs)", method, path, answer_error.status_code, delay
                )
                await self.retry.sleep(delay)
                continue
            raise answer_error

    @staticmethod
    def _transport_error(
        exc: httpx.TransportError,
        request: httpx.Request,
        method: str,
        path: str,
        body: Any,
        creates_task: bool,
    ) -> APIConnectionError | AmbiguousSubmitError:
        sent = not isinstance(exc, _NOT_SENT)
        if sent and creates_task:
            return AmbiguousSubmitError(
                method=method,
                path=path,
                request_digest=request_digest(method, path, body),
                cause=type(exc).__name__,
                request=request,
            )
        if isinstance(exc, httpx.TimeoutException):
            return APITimeoutError(
                f"{method} {path} timed out ({type(exc).__name__})", request=request, sent=sent
            )
        return APIConnectionError(
            f"{method} {path} failed: {type(exc).__name__}: {exc}", request=request, sent=sent
        )


def status_error_of(response: httpx.Response, ok_code: int | None) -> APIStatusError | None:
    """Turn an error HTTP status, or a 2xx body with an error ``code``, into an exception."""
    http_status = response.status_code
    if http_status < 400 and ok_code is None:
        return None  # also keeps an unread streaming body unread
    body = _json_or_none(response)
    status = http_status
    if http_status < 400:
        if not isinstance(body, dict) or "code" not in body:
            return None
        code = body.get("code")
        if code == ok_code or code == str(ok_code):
            return None
        status = code if isinstance(code, int) and 400 <= code < 600 else 400
    message, error_type, error_code = _error_fields(body, response)
    return make_status_error(
        message,
        status_code=status,
        http_status=http_status,
        request=response.request,
        body=body,
        error_type=error_type,
        error_code=error_code,
        request_id=_request_id(response, body),
        retry_after=parse_retry_after(response.headers),
    )


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
    decoded = _json_or_none(response)
    if status_error is not None:
        status, message = status_error.status_code, status_error.message
    else:
        status, message = response.status_code, _error_fields(decoded, response)[0]
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
        request_id=_request_id(response, decoded),
    )


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _error_fields(body: Any, response: httpx.Response) -> tuple[str, str | None, str | None]:
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


def _request_id(response: httpx.Response, body: Any) -> str | None:
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
