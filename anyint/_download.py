"""Streaming asset downloads: constant memory, size cap, content-type check, sha256."""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol
from urllib.parse import urljoin, urlsplit

import httpx

from ._answers import status_error_of
from ._exceptions import DownloadError

if TYPE_CHECKING:
    from ._client import AnyIntClient

__all__ = ["DEFAULT_MAX_BYTES", "BinarySink", "DownloadResult", "MediaKind", "download", "sniff"]

MediaKind = Literal["image", "audio", "video", "text", "any"]
DEFAULT_MAX_BYTES = 2 * 1024**3
_MAX_REDIRECTS = 5
# Types that say nothing about the content: the first bytes decide instead.
_GENERIC_TYPES = {"", "application/octet-stream", "binary/octet-stream", "application/binary"}


class BinarySink(Protocol):
    """Anything with ``write(bytes)``: a file, ``BytesIO``, an fsspec file or an async writer."""

    def write(self, data: bytes, /) -> object | Awaitable[object]: ...


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


def _check_scheme(client: AnyIntClient, url: str) -> None:
    scheme = urlsplit(url).scheme
    if scheme == "https":
        return
    if scheme == "http" and urlsplit(client.base_url).scheme == "http":
        return  # a plain-http gateway (the local emulator) serves its assets over http too
    raise DownloadError(
        f"refusing to download {scheme or 'scheme-less'} URL; only https "
        "(or http when the gateway itself is http) is allowed",
        url=url,
    )


async def download(
    client: AnyIntClient,
    url: str,
    sink: BinarySink,
    *,
    kind: MediaKind = "any",
    max_bytes: int = DEFAULT_MAX_BYTES,
    chunk_size: int | None = None,
) -> DownloadResult:
    """Stream ``url`` into ``sink`` chunk by chunk.

    The key is sent only when the URL is on the configured gateway (e.g. a video ``/content``
    route), never to an asset host. Redirects are followed by hand so each hop's scheme is checked.

    Args:
        client: The client whose connection pool and base URL to use.
        url: The asset URL.
        sink: Where the bytes go; ``write`` may be sync or async.
        kind: Expected media kind; a mismatching (or unsniffable generic) type is refused.
        max_bytes: Size cap; a larger asset is refused before or while reading.
        chunk_size: Bytes per write; None (default) passes chunks on as they arrive, which
            avoids re-buffering.

    Returns:
        Bytes written, sha256 and content type.

    Raises:
        DownloadError: Bad scheme, wrong type, over the cap, or cut short (retryable).
        APIStatusError: The asset host answered with an error (403/404 for an expired URL).
    """
    for _ in range(_MAX_REDIRECTS + 1):
        _check_scheme(client, url)
        headers = client.auth_headers("bearer") if client.is_gateway_url(url) else {}
        request = client.http.build_request("GET", url, headers=headers)
        try:
            response = await client.http.send(request, stream=True)
        except httpx.TransportError as exc:
            raise DownloadError(
                f"could not fetch asset: {type(exc).__name__}", url=url, retryable=True
            ) from exc
        try:
            if response.is_redirect and "location" in response.headers:
                url = urljoin(url, response.headers["location"])
                continue
            if response.status_code >= 400:
                await response.aread()
                error = status_error_of(response, None)
                assert error is not None
                error.message = f"asset download failed: {error.message}"
                error.args = (error.message,)
                raise error
            return await _consume(response, url, sink, kind, max_bytes, chunk_size)
        finally:
            await response.aclose()
    raise DownloadError(f"more than {_MAX_REDIRECTS} redirects", url=url)


async def _consume(
    response: httpx.Response,
    url: str,
    sink: BinarySink,
    kind: MediaKind,
    max_bytes: int,
    chunk_size: int | None,
) -> DownloadResult:
    declared = response.headers.get("content-type", "").split(";")[0].strip().lower()
    length = response.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > max_bytes:
        raise DownloadError(f"asset is {length} bytes, over the {max_bytes}-byte cap", url=url)
    digest = hashlib.sha256()
    total = 0
    content_type = declared
    try:
        async for chunk in response.aiter_bytes(chunk_size):
            if total == 0:
                content_type = _checked_type(declared, chunk, kind, url)
            total += len(chunk)
            if total > max_bytes:
                raise DownloadError(f"asset exceeds the {max_bytes}-byte cap", url=url)
            digest.update(chunk)
            written = sink.write(chunk)
            if inspect.isawaitable(written):
                await written
    except httpx.TransportError as exc:
        raise DownloadError(
            f"download cut short after {total} bytes: {type(exc).__name__}", url=url, retryable=True
        ) from exc
    if total == 0:
        raise DownloadError("asset is empty", url=url, retryable=True)
    if length is not None and length.isdigit() and int(length) != total:
        raise DownloadError(
            f"download cut short: {total} of {length} bytes", url=url, retryable=True
        )
    return DownloadResult(
        url=str(response.url), bytes=total, sha256=digest.hexdigest(), content_type=content_type
    )


def _checked_type(declared: str, head: bytes, kind: MediaKind, url: str) -> str:
    content_type = (sniff(head) or declared) if declared in _GENERIC_TYPES else declared
    if not _kind_matches(kind, content_type):
        raise DownloadError(
            f"expected {kind} content, got {content_type or 'no content type'}", url=url
        )
    return content_type
