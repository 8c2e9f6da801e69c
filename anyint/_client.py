"""The async AnyInt client: configuration, per-family auth and the resource families.

The retry loop is :mod:`anyint._sending`, error mapping :mod:`anyint._answers` and the create
rule :mod:`anyint._doubt`.
"""

from __future__ import annotations

import functools
import logging
import ssl
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from functools import cached_property
from typing import Any, Literal, Self, TypedDict, Unpack
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr

from ._answers import decode_json, status_error_of
from ._doubt import ambiguous_answer, create_doubt
from ._retry import RetryPolicy
from ._sending import Call, send
from .config import AnyIntSettings, settings
from .resources.anthropic import Anthropic
from .resources.dashscope import DashScope
from .resources.gemini import Gemini
from .resources.kling import Kling
from .resources.models import Models
from .resources.suno import Suno
from .resources.videos import Videos
from .secrets import remember

# ``ambiguous_answer``, ``create_doubt``, ``decode_json`` and ``status_error_of`` moved to
# ``_answers`` / ``_doubt``; they stay importable from here, where earlier code found them.
__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_DEADLINE",
    "DEFAULT_TIMEOUT",
    "AnyIntClient",
    "AuthStyle",
    "RequestOptions",
    "ambiguous_answer",
    "create_doubt",
    "decode_json",
    "status_error_of",
]

log = logging.getLogger("anyint")

DEFAULT_BASE_URL = "https://gateway.api.anyint.ai"
#: Explicit timeouts: a sync image or a long message may take minutes to come back, but a
#: connection that cannot be made in 10 s will not be made at all.
DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=300.0, write=60.0, pool=30.0)
#: Total seconds of one exchange: longer than any sync generation the contract describes and
#: than the read timeout, so only an answer that trickles or never ends reaches it.
DEFAULT_DEADLINE = 900.0
ANTHROPIC_VERSION = "2023-06-01"

#: How a family authenticates (contract §2.2): Bearer everywhere except the Anthropic routes.
AuthStyle = Literal["bearer", "anthropic"]


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


class RequestOptions(TypedDict, total=False):
    """How one gateway request is shaped (keywords of :meth:`AnyIntClient.request` / ``stream``).

    Attributes:
        auth: Auth style of the route family; ``"bearer"`` when not given.
        json: JSON body.
        params: Query parameters (never credentials).
        headers: Extra headers.
    """

    auth: AuthStyle
    json: Any
    params: Mapping[str, Any] | None
    headers: Mapping[str, str] | None


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
        deadline: Seconds one exchange (request and whole answer; a stream until it closes)
            may take in all, so a gateway trickling bytes cannot hold a call for ever. None
            removes the limit.
        retry: Retry policy for transport failures and retryable statuses.
        transport: httpx transport, the test seam (``httpx.MockTransport``, ``ASGITransport``).
        http_client: A ready ``httpx.AsyncClient`` to use instead of building one.

    Attributes:
        models: Models API: ``/openai/v1/models`` and ``/anthropic/v1/models``.
        anthropic: Anthropic-compatible messages (image understanding), sync and streaming.
        gemini: Gemini-compatible generateContent and streamGenerateContent.
        dashscope: DashScope sync images, video tasks and task queries.
        kling: Kling native video routes under ``/transtreams/kling/v1``.
        videos: OpenAI-style ``/openai/v1/videos`` (Kling through the gateway).
        suno: AI Music ``/suno/*`` creation, query and sync routes.

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
        deadline: float | None = DEFAULT_DEADLINE,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self._explicit_key = SecretStr(api_key) if isinstance(api_key, str) else api_key
        self._explicit_base_url = _check_base_url(base_url) if base_url else None
        self.retry = retry or RetryPolicy()
        if deadline is not None and deadline <= 0:
            raise ValueError(f"deadline must be positive seconds or None, got {deadline!r}")
        self.deadline = deadline
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
        self.models = Models(self)
        self.anthropic = Anthropic(self)
        self.gemini = Gemini(self)
        self.dashscope = DashScope(self)
        self.kling = Kling(self)
        self.videos = Videos(self)
        self.suno = Suno(self)

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
        # Known from now on to the error tree and the log scrubber (anyint.secrets).
        remember(key)
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
        """Whether ``url`` points at the configured gateway (and may receive our key).

        It must have the gateway's origin (scheme, host and port, the default port of the
        scheme when none is given: ``http`` and ``https``, or another port, are other origins)
        and lie under the gateway's base path, compared on the parsed URL with dot segments
        resolved: ``https://gateway.example/base/../elsewhere`` is not under ``/base``, and
        ``https://GATEWAY.example:443/base/x`` is. Downloads ask this for every redirect hop.
        """
        try:
            target, base = httpx.URL(url), httpx.URL(self.base_url)
        except (httpx.InvalidURL, TypeError):
            return False
        if (target.scheme, target.host) != (base.scheme, base.host) or not target.host:
            return False
        default_port = {"http": 80, "https": 443}.get(target.scheme)
        if (target.port or default_port) != (base.port or default_port):
            return False
        # The path as sent (still percent-encoded), so ``%2F..%2F`` cannot pass for a segment.
        path = target.raw_path.partition(b"?")[0].decode("ascii")
        prefix = base.raw_path.partition(b"?")[0].decode("ascii").rstrip("/")
        return path == prefix or path.startswith(prefix + "/")

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

    # -- the request engine ---------------------------------------------------------------------

    def _build(self, method: str, path: str, options: RequestOptions) -> httpx.Request:
        if not path.startswith("/"):
            raise ValueError(f"path must start with '/', got {path!r}")
        headers = {
            "accept": "application/json",
            **self.auth_headers(options.get("auth", "bearer")),
            **(options.get("headers") or {}),
        }
        return self._http.build_request(
            method,
            self.base_url + path,
            json=options.get("json"),
            params=options.get("params"),
            headers=headers,
        )

    async def request(
        self,
        method: str,
        path: str,
        *,
        creates_task: bool = False,
        ok_code: int | None = None,
        **options: Unpack[RequestOptions],
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
            creates_task: True for POSTs that create a paid gateway task (see above).
            ok_code: Body ``code`` meaning success (Suno 200, Kling 0); any other code raises.
            **options: ``auth``, ``json``, ``params`` and ``headers`` (:class:`RequestOptions`).

        Returns:
            The response, body read.

        Raises:
            APIStatusError: An error status or body code (subclass by status).
            APIConnectionError: No response, after retries.
            AmbiguousSubmitError: A create may have made a task; not resent.
        """
        request = self._build(method, path, options)
        body = options.get("json")
        call = Call(request, method, path, body, creates_task, ok_code, deadline=self.deadline)
        async with send(self._http, call, self.retry) as response:
            return response

    @asynccontextmanager
    async def stream(
        self, method: str, path: str, **options: Unpack[RequestOptions]
    ) -> AsyncIterator[httpx.Response]:
        """Like :meth:`request`, but yield a streaming response whose body is not yet read.

        Retries happen only before the first byte of a successful response is handed over.
        Reading the stream is bounded by the client's ``deadline``, counted from the hand-over.
        """
        request = self._build(method, path, options)
        call = Call(request, method, path, options.get("json"), stream=True, deadline=self.deadline)
        async with send(self._http, call, self.retry) as response:
            yield response
