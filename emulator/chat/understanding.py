"""How the emulated chat models "understand" a request: deterministic answers from real inputs.

No language model runs here. An answer describes each input image by what the bytes really hold
(format, size, dominant colour, via :func:`emulator.media.describe_image`) and echoes the question,
so a test can check that the image it sent is the image that was read. The Anthropic and Gemini
routes share this module; tool choice and structured output live in :mod:`.tool_use`.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..backend import Backend
from ..errors import EmulatorError
from ..media import ImageFacts, describe_image

__all__ = [
    "IMAGE_MIME",
    "Attachment",
    "Finished",
    "compose_answer",
    "decode_base64",
    "describe_bytes",
    "describe_lines",
    "dumps",
    "estimate_tokens",
    "finish",
    "json_answer",
    "read_own_asset",
    "shorten",
    "split_for_stream",
    "stream_pace",
]

#: Pillow format name -> MIME type, for the formats ``describe_image`` reads.
IMAGE_MIME = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
_ECHO_CHARS = 120
_TAIL = "(AnyInt emulator: a deterministic reply; no model was run.)"
_LOOPBACK_NAMES = {"localhost"}


@dataclass(frozen=True)
class Attachment:
    """One input item an answer talks about.

    Attributes:
        mime_type: Declared (or sniffed) media type.
        size: Size of the decoded bytes.
        facts: What :func:`describe_image` found, for images; None for other media.
    """

    mime_type: str
    size: int
    facts: ImageFacts | None = None


def shorten(text: str, limit: int = _ECHO_CHARS) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "\N{HORIZONTAL ELLIPSIS}"


def describe_lines(attachments: Sequence[Attachment]) -> list[str]:
    """One line per attachment, e.g. ``Image 1: A PNG image, 64x48 pixels, mostly red (#d01010).``

    (The size uses a real multiplication sign, as :meth:`ImageFacts.sentence` writes it.)
    """
    lines: list[str] = []
    images = others = 0
    for item in attachments:
        if item.facts is not None:
            images += 1
            lines.append(f"Image {images}: {item.facts.sentence()}")
        else:
            others += 1
            lines.append(
                f"Attachment {others}: {item.mime_type}, {item.size} bytes "
                "(the emulator describes images only)."
            )
    return lines


def compose_answer(question: str, attachments: Sequence[Attachment]) -> str:
    """The reply text: a line per input image, then a short echo of the question.

    Args:
        question: The latest user text (may be empty).
        attachments: Every input image (and other inline media) of the conversation, in order.

    Returns:
        Deterministic text: the same request always gets the same answer.
    """
    echo = f'You asked: "{shorten(question)}".' if question.strip() else "You sent no text."
    return "\n".join([*describe_lines(attachments), f"{echo} {_TAIL}"])


def json_answer(question: str, attachments: Sequence[Attachment]) -> dict[str, Any]:
    """The reply as a JSON object, for requests that ask for JSON (§12.3)."""
    return {
        "answer": compose_answer(question, attachments).splitlines()[-1],
        "images": [
            {
                "format": a.facts.format,
                "width": a.facts.width,
                "height": a.facts.height,
                "color": a.facts.color_name,
                "hex": "#{:02x}{:02x}{:02x}".format(*a.facts.dominant_color),
            }
            for a in attachments
            if a.facts is not None
        ],
    }


def estimate_tokens(text: str) -> int:
    """A plausible token count: about four characters per token, at least one for any text."""
    return math.ceil(len(text) / 4) if text else 0


@dataclass(frozen=True)
class Finished:
    """The reply text after output limits, and why it ended.

    Attributes:
        text: What is sent.
        reason: ``"end"``, ``"max_tokens"`` or ``"stop_sequence"``.
        stop_sequence: The stop sequence that cut the text, if any.
    """

    text: str
    reason: str
    stop_sequence: str | None = None


def finish(text: str, *, max_tokens: int | None, stop_sequences: Sequence[str] | None) -> Finished:
    """Apply stop sequences, then the output token cap, as a model would while generating."""
    cut, hit = len(text), None
    for seq in stop_sequences or ():
        at = text.find(seq) if seq else -1
        if 0 <= at < cut:
            cut, hit = at, seq
    if max_tokens is not None and estimate_tokens(text[:cut]) > max_tokens:
        return Finished(text[: max_tokens * 4], "max_tokens")
    if hit is not None:
        return Finished(text[:cut], "stop_sequence", hit)
    return Finished(text, "end")


def split_for_stream(text: str, *, words: int = 5) -> list[str]:
    """Split ``text`` into stream deltas of about ``words`` words that join back exactly.

    Short texts still give two pieces when they can, so a stream is never a single event.
    """
    pieces: list[str] = []
    start, count = 0, 0
    for i, char in enumerate(text):
        if char in " \n" and i > start:
            count += 1
            if count == words:
                pieces.append(text[start : i + 1])
                start, count = i + 1, 0
    if start < len(text):
        pieces.append(text[start:])
    if len(pieces) == 1 and len(text) > 1:
        half = len(text) // 2
        pieces = [text[:half], text[half:]]
    return pieces


def stream_pace(backend: Backend) -> float:
    """Seconds between stream events: none when testing, a reader's pace for a demo."""
    return 0.02 if backend.profile == "realistic" else 0.0


def decode_base64(data: str, *, url_safe: bool = False) -> bytes:
    """Decode base64 strictly (whitespace tolerated).

    Args:
        data: The encoded text.
        url_safe: Also accept the URL-safe alphabet and missing padding, as Google's JSON
            parser does (the google-genai SDK sends bytes that way).

    Raises:
        ValueError: Empty, a ``data:`` URL, or not base64.
    """
    if not data:
        raise ValueError("data is empty")
    if data.startswith("data:"):
        raise ValueError("data must be plain base64 without a 'data:...;base64,' prefix")
    text = "".join(data.split())
    altchars = None
    if url_safe:
        text += "=" * (-len(text) % 4)
        altchars = b"-_" if ("-" in text or "_" in text) else None
    try:
        return base64.b64decode(text, altchars=altchars, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"data is not valid base64 ({exc})") from None


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _same_server(url_host: str, url_port: int | None, own_base: str) -> bool:
    own = urlsplit(own_base)
    if url_port != own.port:
        return False
    own_host = own.hostname or ""
    # localhost and 127.0.0.1 reach the same socket; a client may have used either.
    return url_host == own_host or (_is_loopback(url_host) and _is_loopback(own_host))


def read_own_asset(backend: Backend, url: str, own_base: str) -> bytes:
    """The bytes behind ``url`` when it is an asset this emulator serves.

    Args:
        backend: The gateway state holding the assets.
        url: The image URL from the request.
        own_base: The emulator's base URL as the caller reached it.

    Raises:
        ValueError: Not an http(s) URL, an external URL (the emulator has no internet), or an
            unknown or expired asset. The message says which.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"url must be an http(s) URL, got {shorten(url, 80)!r}")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"url has an invalid port: {shorten(url, 80)!r}") from None
    segments = parts.path.split("/")
    own = _same_server(parts.hostname, port, own_base)
    if not own or len(segments) != 4 or segments[1] != "_assets":
        raise ValueError(
            "the emulator cannot fetch external URLs; send the image as base64, or use a URL "
            f"this emulator served (under {own_base}/_assets/)"
        )
    try:
        return backend.get_asset(segments[2]).data
    except EmulatorError as exc:
        raise ValueError(f"cannot read {shorten(url, 80)!r}: {exc.message}") from None


def describe_bytes(data: bytes) -> ImageFacts:
    """:func:`describe_image`, with a message that suits a request error.

    Raises:
        ValueError: The bytes are not a PNG, JPEG, GIF or WebP image.
    """
    try:
        return describe_image(data)
    except ValueError:
        raise ValueError(
            f"is not a decodable image (PNG, JPEG, GIF or WebP expected); first bytes {data[:8]!r}"
        ) from None


def dumps(value: Any) -> str:
    """Compact, key-order-preserving JSON as a model would write it."""
    return json.dumps(value, ensure_ascii=False)
