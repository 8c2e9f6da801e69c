"""Image inputs for understanding tasks: a public URL, a local file or inline data.

Local files are read only from inside the allowed folder (``ANYINT_INPUT_DIR``, default the
working directory), so a flow parameter cannot read arbitrary files of the worker.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from anyint import AnyIntClient, AnyIntError, download, sniff
from anyint.config import settings

__all__ = [
    "MAX_INLINE_BYTES",
    "ImageInput",
    "anthropic_image_block",
    "check_image_urls",
    "inline_image",
    "load_image",
]

#: Inline images beyond this are refused: the gateway limits encoded bodies (contract §13.5).
MAX_INLINE_BYTES = 5 * 1024 * 1024
_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}


@dataclass(frozen=True)
class ImageInput:
    """An image ready to send: either bytes with their type, or a URL the gateway fetches."""

    media_type: str | None = None
    data: bytes | None = None
    url: str | None = None


def _allowed_root() -> Path:
    return Path(settings().input_dir or Path.cwd()).resolve()


def _checked_bytes(data: bytes, field: str) -> ImageInput:
    if len(data) > MAX_INLINE_BYTES:
        raise ValueError(
            f"{field}: image is {len(data)} bytes; inline images may be at most "
            f"{MAX_INLINE_BYTES} bytes (use a public https URL instead)"
        )
    media_type = sniff(data[:16])
    if media_type not in _TYPES:
        raise ValueError(f"{field}: not a PNG, JPEG, GIF or WebP image")
    return ImageInput(media_type=media_type, data=data)


def load_image(ref: str, field: str = "images") -> ImageInput:
    """Turn one image reference into something to send, checking it before any paid call.

    Args:
        ref: ``https://...`` (or ``http://`` to the gateway itself), ``data:image/...;base64,...``
            or a local path inside the allowed folder.
        field: Name of the parameter, for error messages.

    Raises:
        ValueError: Unsupported scheme, unreadable or non-image data, too large, or a path outside
            the allowed folder.
    """
    if not isinstance(ref, str) or not ref.strip():
        raise ValueError(f"{field}: empty image reference")
    scheme = urlsplit(ref).scheme.lower()
    if scheme in ("http", "https"):
        if not urlsplit(ref).netloc:
            raise ValueError(f"{field}: {ref!r} is not a valid URL")
        return ImageInput(url=ref)
    if scheme == "data":
        header, _, payload = ref.partition(",")
        if ";base64" not in header:
            raise ValueError(f"{field}: data URLs must be base64 (data:image/png;base64,...)")
        try:
            data = base64.b64decode(payload, validate=True)
        except ValueError as exc:
            raise ValueError(f"{field}: data URL is not valid base64") from exc
        return _checked_bytes(data, field)
    if scheme and len(scheme) > 1:
        raise ValueError(
            f"{field}: {scheme}: URLs are not supported; use https, data: or a local path"
        )
    root = _allowed_root()
    path = (root / ref).resolve()
    if not path.is_relative_to(root):
        raise ValueError(
            f"{field}: {ref!r} is outside the allowed folder {root} "
            "(set ANYINT_INPUT_DIR to allow another)"
        )
    if not path.is_file():
        raise ValueError(f"{field}: no such file {ref!r} in {root}")
    return _checked_bytes(path.read_bytes(), field)


class _Discard:
    def write(self, data: bytes) -> int:
        return len(data)


async def check_image_urls(client: AnyIntClient, refs: dict[str, str]) -> None:
    """Fetch every image URL once before any paid call, so a dead link is the parameter's error.

    Args:
        client: Client whose connection pool (and, for gateway URLs, key) to use.
        refs: Parameter name → reference; only http(s) references are fetched.

    Raises:
        ValueError: Naming the parameter: unreachable, refused, too large or not an image.
    """
    for field, ref in refs.items():
        parts = urlsplit(ref)
        if parts.scheme not in ("http", "https"):
            continue
        host = parts.hostname or ""
        if host == "invalid" or host.endswith(".invalid"):
            raise ValueError(f"{field}: {ref!r} cannot be reached (.invalid never resolves)")
        try:
            await download(client, ref, _Discard(), kind="image", max_bytes=MAX_URL_IMAGE_BYTES)
        except AnyIntError as exc:
            raise ValueError(f"{field}: could not fetch {ref!r}: {exc}") from None


#: An image URL bigger than this is refused before the paid call (providers cap around 10-20 MB).
MAX_URL_IMAGE_BYTES = 20 * 1024 * 1024


async def inline_image(client: AnyIntClient, image: ImageInput) -> ImageInput:
    """``image`` as inline bytes: Gemini takes inline bytes only (contract §9.3), so a URL
    image is fetched first (within the inline size cap)."""
    if image.data is not None or image.url is None:
        return image
    buffer = io.BytesIO()
    result = await download(client, image.url, buffer, kind="image", max_bytes=MAX_INLINE_BYTES)
    return ImageInput(media_type=result.content_type, data=buffer.getvalue())


def anthropic_image_block(image: ImageInput) -> dict[str, Any]:
    """The Anthropic ``image`` content block of ``image`` (base64 bytes, or its URL)."""
    if image.data is None:
        return {"type": "image", "source": {"type": "url", "url": image.url}}
    data = base64.b64encode(image.data).decode()
    return {
        "type": "image",
        "source": {"type": "base64", "media_type": image.media_type, "data": data},
    }
