"""Streaming asset downloads: constant memory, size cap, content-type check, sha256, and one
total time budget per download.

The budget exists because httpx's timeouts are per read: a server that sends one byte every few
seconds never trips them, and would hold a run for as long as it likes. Every download therefore
has a total deadline that grows with its size cap (:func:`download_budget`).

Error messages name URLs without their query string and user info (:func:`display_url`):
presigned asset URLs carry credentials in the query.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable
from urllib.parse import urljoin, urlsplit

import httpx

from ._answers import status_error_of
from ._exceptions import DownloadError

if TYPE_CHECKING:
    from ._client import AnyIntClient

__all__ = [
    "DEFAULT_BASE_SECONDS",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MIN_BYTES_PER_SECOND",
    "BinarySink",
    "DownloadResult",
    "HashingSink",
    "MediaKind",
    "display_url",
    "download",
    "download_budget",
    "sniff",
]

MediaKind = Literal["image", "audio", "video", "text", "any"]
DEFAULT_MAX_BYTES = 2 * 1024**3
#: Fixed part of a download's budget: connecting, redirects, a slow first byte.
DEFAULT_BASE_SECONDS = 60.0
#: The slowest average rate a download at its full size cap is allowed (512 KiB/s, about 4
#: Mbit/s): the 2 GiB default cap gets 60 s + 4096 s, about 69 minutes, so a real multi-GB video
#: on an ordinary link fits, while a server trickling bytes is cut off after a bounded time.
DEFAULT_MIN_BYTES_PER_SECOND = 512 * 1024
_MAX_REDIRECTS = 5
# Types that say nothing about the content: the first bytes decide instead.
_GENERIC_TYPES = {"", "application/octet-stream", "binary/octet-stream", "application/binary"}


class BinarySink(Protocol):
    """Anything with ``write(bytes)``: a file, ``BytesIO``, an fsspec file or an async writer."""

    def write(self, data: bytes, /) -> object | Awaitable[object]: ...


@runtime_checkable
class HashingSink(Protocol):
    """A sink that computes the sha256 of what it is given itself, e.g. on the thread that writes
    it, so hashing overlaps reading (``blocks._pipe.PipeWriter``). :func:`download` then skips
    its own hashing and takes the digest from :meth:`written_sha256` once the body is read.
    """

    def write(self, data: bytes, /) -> object | Awaitable[object]: ...

    async def written_sha256(self) -> str:
        """Wait until every byte given to ``write`` is written; their sha256 (hex).

        Raises whatever a write raised (the download fails with it, as with a plain sink).
        """
        ...


@dataclass(frozen=True)
class DownloadResult:
    """What was written to the sink.

    Attributes:
        url: The URL that was finally read (after redirects).
        bytes: Number of bytes written.
        sha256: Hex digest of those bytes.
        content_type: The media type (declared, or sniffed when the server sent a generic one).
    """

    url: str
    bytes: int
    sha256: str
    content_type: str


def sniff(head: bytes) -> str | None:
    """Guess a media type from the first bytes of a file (PNG, JPEG, GIF, WebP, MP3, WAV, MP4)."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    if head[4:8] == b"ftyp":
        return "video/mp4"
    return None


def _kind_matches(kind: MediaKind, content_type: str) -> bool:
    if kind == "any":
        return True
    if kind == "text":
        return content_type.startswith("text/") or content_type == "application/json"
    return content_type.startswith(kind + "/")


def display_url(url: str) -> str:
    """``url`` as it may appear in a message: without query string, fragment or user info.

    Presigned URLs (S3, CDN tokens) carry their credentials in the query; a URL's user info may
    hold a password. What is left (scheme, host, port, path) still says which asset it was.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:  # e.g. a port that is not a number: show as little as possible
        return "<unparseable URL>"
    if ":" in host:  # an IPv6 literal needs its brackets back
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port is not None else host
    scheme = f"{parts.scheme}:" if parts.scheme else ""
    return f"{scheme}//{netloc}{parts.path}" if netloc else f"{scheme}{parts.path}"


def download_budget(
    max_bytes: int,
    *,
    base_seconds: float = DEFAULT_BASE_SECONDS,
    min_bytes_per_second: float = DEFAULT_MIN_BYTES_PER_SECOND,
) -> float:
    """The total time, in seconds, a download with size cap ``max_bytes`` may take.

    ``base_seconds + max_bytes / min_bytes_per_second``: the budget grows with the cap, so a
    download at the full cap must average at least ``min_bytes_per_second``. With the defaults
    the 2 GiB cap gets about 69 minutes and a 20 MiB image 100 s.

    Args:
        max_bytes: The download's size cap.
        base_seconds: Fixed allowance (connect, redirects, first byte).
        min_bytes_per_second: Slowest average rate allowed at the full cap.

    Raises:
        ValueError: A value that is not positive (named).
    """
    if base_seconds <= 0:
        raise ValueError(f"base_seconds must be > 0 seconds, got {base_seconds!r}")
    if min_bytes_per_second <= 0:
        raise ValueError(
            f"min_bytes_per_second must be > 0 bytes per second, got {min_bytes_per_second!r}"
        )
    return base_seconds + max(max_bytes, 0) / min_bytes_per_second


def _check_scheme(client: AnyIntClient, url: str) -> None:
    scheme = urlsplit(url).scheme
    if scheme == "https":
        return
    if scheme == "http" and urlsplit(client.base_url).scheme == "http":
        return  # a plain-http gateway (the local emulator) serves its assets over http too
    raise _error(
        f"refusing to download {scheme or 'scheme-less'} URL; only https "
        "(or http when the gateway itself is http) is allowed",
        url,
    )


def _error(message: str, url: str, *, retryable: bool = False) -> DownloadError:
    """A :class:`DownloadError` naming ``url`` the safe way, in its message and its ``url``."""
    shown = display_url(url)
    return DownloadError(f"{message} ({shown})", url=shown, retryable=retryable)


@dataclass
class _Job:
    """One download: what to write where, under which limits, and where it is (the hop being
    read and the bytes received, for the stall message)."""

    url: str
    sink: BinarySink
    kind: MediaKind
    max_bytes: int
    chunk_size: int | None
    bytes: int = 0


async def download(
    client: AnyIntClient,
    url: str,
    sink: BinarySink,
    *,
    kind: MediaKind = "any",
    max_bytes: int = DEFAULT_MAX_BYTES,
    chunk_size: int | None = None,
    budget_seconds: float | None = None,
) -> DownloadResult:
    """Stream ``url`` into ``sink`` chunk by chunk, within one total time budget.

    The key is decided per request: it is sent only to the gateway's origin (scheme, host and
    port) under its base path (e.g. a video ``/content`` route), never to an asset host, and
    once a redirect chain has left the gateway no later hop gets it, not even one that comes
    back to the gateway (a foreign host must not be able to make us send authenticated requests).
    Redirects are followed by hand so each hop's scheme is checked.

    The budget covers every redirect hop, read and sink write, and is owned by this one call:
    nothing here retries, and running out of it is not retryable (see the comment in the body).

    Args:
        client: The client whose connection pool and base URL to use.
        url: The asset URL.
        sink: Where the bytes go; ``write`` may be sync or async.
        kind: Expected media kind; a mismatching (or unsniffable generic) type is refused.
        max_bytes: Size cap; a larger asset is refused before or while reading.
        chunk_size: Bytes per write; None (default) passes chunks on as they arrive, which
            avoids re-buffering.
        budget_seconds: Total seconds the download may take; None (default) gives
            :func:`download_budget` of ``max_bytes`` (about 69 minutes for the 2 GiB cap).

    Returns:
        Bytes written, sha256 and content type.

    Raises:
        ValueError: ``budget_seconds`` is negative.
        DownloadError: Bad scheme, wrong type, over the cap, over the time budget, or cut short
            (retryable). Its message names the URL without its query string.
        APIStatusError: The asset host answered with an error (403/404 for an expired URL).
    """
    budget = download_budget(max_bytes) if budget_seconds is None else budget_seconds
    if budget < 0:
        raise ValueError(f"budget_seconds must be >= 0 seconds, got {budget_seconds!r}")
    job = _Job(url, sink, kind, max_bytes, chunk_size)
    try:
        async with asyncio.timeout(budget):
            return await _follow(client, job)
    except TimeoutError:
        # Not retryable: the budget was sized generously from the cap, so a server this slow is
        # not a blip a retry would fix, and a retry (Prefect retries retryable errors) would
        # open a fresh full budget each time, multiplying the deadline by the retry count. The
        # deadline is owned once, by this call; resuming the run later is the user's decision.
        raise _error(
            f"download did not finish within its {budget:.1f} s budget ({job.bytes} bytes "
            "received): the server is too slow. If that is expected, raise the budget: "
            "budget_seconds, or the AssetStore's download_base_seconds (or lower its "
            "download_min_bytes_per_second)",
            job.url,
        ) from None


async def _follow(client: AnyIntClient, job: _Job) -> DownloadResult:
    """Follow redirects by hand from ``job.url`` and consume the final answer."""
    url = job.url
    # Once any hop is off the gateway, the rest of the chain is untrusted: a foreign host could
    # otherwise redirect us back to the gateway and have us send it an authenticated request.
    trusted = True
    for _ in range(_MAX_REDIRECTS + 1):
        job.url = url
        _check_scheme(client, url)
        trusted = trusted and client.is_gateway_url(url)
        headers = client.auth_headers("bearer") if trusted else {}
        request = client.http.build_request("GET", url, headers=headers)
        try:
            response = await client.http.send(request, stream=True)
        except httpx.TransportError as exc:
            raise _error(
                f"could not fetch asset: {type(exc).__name__}", url, retryable=True
            ) from exc
        try:
            if response.is_redirect and "location" in response.headers:
                url = urljoin(url, response.headers["location"])
                continue
            if response.status_code >= 400:
                await response.aread()
                error = status_error_of(response, None)
                assert error is not None
                error.message = f"asset download failed ({display_url(url)}): {error.message}"
                error.args = (error.message,)
                raise error
            return await _consume(response, job)
        finally:
            await response.aclose()
    raise _error(f"more than {_MAX_REDIRECTS} redirects", url)


async def _consume(response: httpx.Response, job: _Job) -> DownloadResult:
    url, kind, max_bytes = job.url, job.kind, job.max_bytes
    declared = response.headers.get("content-type", "").split(";")[0].strip().lower()
    length = response.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > max_bytes:
        raise _error(f"asset is {length} bytes, over the {max_bytes}-byte cap", url)
    # A self-hashing sink hashes on its own thread: no second hash of every byte here.
    digest = None if isinstance(job.sink, HashingSink) else hashlib.sha256()
    total = 0
    content_type = declared
    try:
        async for chunk in response.aiter_bytes(job.chunk_size):
            if total == 0:
                content_type = _checked_type(declared, chunk, kind, url)
            total += len(chunk)
            job.bytes = total
            if total > max_bytes:
                raise _error(f"asset exceeds the {max_bytes}-byte cap", url)
            if digest is not None:
                digest.update(chunk)
            written = job.sink.write(chunk)
            if inspect.isawaitable(written):
                await written
    except httpx.TransportError as exc:
        raise _error(
            f"download cut short after {total} bytes: {type(exc).__name__}", url, retryable=True
        ) from exc
    if total == 0:
        raise _error("asset is empty", url, retryable=True)
    if length is not None and length.isdigit() and int(length) != total:
        raise _error(f"download cut short: {total} of {length} bytes", url, retryable=True)
    if digest is not None:
        sha256 = digest.hexdigest()
    else:
        assert isinstance(job.sink, HashingSink)
        sha256 = await job.sink.written_sha256()  # inside the budget: the last writes count
    return DownloadResult(
        url=str(response.url), bytes=total, sha256=sha256, content_type=content_type
    )


def _checked_type(declared: str, head: bytes, kind: MediaKind, url: str) -> str:
    content_type = (sniff(head) or declared) if declared in _GENERIC_TYPES else declared
    if not _kind_matches(kind, content_type):
        raise _error(f"expected {kind} content, got {content_type or 'no content type'}", url)
    return content_type
