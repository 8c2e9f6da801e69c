"""Fetching an ``uploadUrl`` on this machine's loopback (contract §11.5: the gateway downloads it).

A real gateway downloads any public URL. The emulator never reaches the network, but it does
fetch URLs on the loopback interface, so a test or a local setup can hand it a file the way a
real user does: a presigned URL of a local S3 (moto, MinIO) or a folder served by a local web
server (``AssetStore.public_base_url``). Nothing else is fetched: an external host would make
offline runs depend on the network.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

import httpx

from ..errors import EmulatorError

__all__ = ["MAX_UPLOAD_BYTES", "fetch_loopback", "is_loopback"]

#: Largest upload fetched (the client refuses inputs above 100 MiB before sending them).
MAX_UPLOAD_BYTES = 128 * 1024 * 1024
#: Total seconds one fetch may take: a loopback server answers at once or not at all.
_FETCH_SECONDS = 10.0


def is_loopback(url: str) -> bool:
    """Whether ``url`` is ``http(s)`` on a loopback host (``127.0.0.0/8``, ``::1``, localhost)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def fetch_loopback(url: str) -> bytes:
    """The bytes at loopback ``url``, or a 400 saying why they cannot be had.

    Synchronous on purpose: route handlers call the rules synchronously, and a loopback server
    (another thread or process) answers within :data:`_FETCH_SECONDS` or fails the request.
    Redirects are not followed (a redirect could leave the loopback interface).
    """
    shown = url.split("?", 1)[0]  # a presigned query is a credential
    try:
        with (
            httpx.Client(timeout=_FETCH_SECONDS, follow_redirects=False) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code != 200:
                raise EmulatorError(
                    400,
                    f"uploadUrl {shown} cannot be fetched: HTTP {response.status_code}",
                    code="upload_download_failed",
                )
            data = bytearray()
            for chunk in response.iter_bytes():
                data += chunk
                if len(data) > MAX_UPLOAD_BYTES:
                    raise EmulatorError(
                        400,
                        f"uploadUrl {shown} is over {MAX_UPLOAD_BYTES} bytes",
                        code="upload_too_large",
                    )
    except (httpx.HTTPError, httpx.InvalidURL) as exc:  # InvalidURL: a bad port, say
        raise EmulatorError(
            400,
            f"uploadUrl {shown} cannot be fetched: {type(exc).__name__} (is a server running "
            "on that port?)",
            code="upload_download_failed",
        ) from None
    return bytes(data)
