"""What a video task renders, read from its request: frame size, duration, reference image, seed.

A gateway renders 720p or 1080p; the emulator renders a small 16:9 (or requested aspect) frame
unless a request names an exact size, so a task finishes in a fraction of a second. A duration is
always honoured.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from ..backend import Backend
from ..errors import EmulatorError
from ..media import ImageFacts, describe_image, seed_color

__all__ = [
    "DEFAULT_SECONDS",
    "MAX_SECONDS",
    "MAX_SIDE",
    "PromptedBody",
    "VideoSpec",
    "aspect_size",
    "body_clip",
    "clip",
    "fps_for",
    "image_ref",
    "parse_seconds",
    "parse_size",
    "seed_for",
]

DEFAULT_SECONDS = 5
#: Emulator bound on a clip's length: every task renders a real file.
MAX_SECONDS = 60
#: Emulator bound on an exact frame size (1080p); bigger frames would take seconds to encode.
MAX_SIDE = 1920
#: Short side of the frames rendered when a request gives no exact size.
SMALL_SIDE = 180
_SEED_TRIES = 256


@dataclass(frozen=True)
class VideoSpec:
    """What a video task renders.

    Attributes:
        width: Frame width (even).
        height: Frame height (even).
        seconds: Requested length in seconds.
        fps: Frame rate; lower for big frames, to keep encoding fast.
        seed: Media seed (decides the colours and motion).
        text: Caption drawn on every frame (the prompt).
        audio: Whether the clip gets a soundtrack.
    """

    width: int
    height: int
    seconds: float
    fps: int
    seed: int
    text: str | None = None
    audio: bool = False

    @property
    def duration(self) -> float:
        """The MP4's real duration: a whole number of frames, as :func:`mp4` renders it."""
        return max(1, round(self.seconds * self.fps)) / self.fps

    @property
    def size(self) -> str:
        """``WxH``."""
        return f"{self.width}x{self.height}"


def fps_for(width: int, height: int) -> int:
    """Frame rate for a frame size: 12 fps for small frames, fewer as they grow (speed)."""
    pixels = width * height
    if pixels <= 320 * 320:
        return 12
    if pixels <= 640 * 360:
        return 8
    return 4


def parse_size(value: str, *, sep: str, field: str) -> tuple[int, int]:
    """Read an exact frame size such as ``1280*720`` (``sep="*"``) or ``1280x720``.

    Raises:
        EmulatorError: 400 naming ``field`` for a malformed, odd or too large size.
    """
    w, found, h = value.partition(sep)
    if not (found and w.isdigit() and h.isdigit()):
        raise EmulatorError(400, f"{field} must look like 'W{sep}H', got {value!r}")
    width, height = int(w), int(h)
    if not (2 <= width <= MAX_SIDE and 2 <= height <= MAX_SIDE):
        raise EmulatorError(
            400, f"{field} sides must be between 2 and {MAX_SIDE} pixels, got {value!r}"
        )
    if width % 2 or height % 2:
        raise EmulatorError(400, f"{field} sides must be even (H.264 4:2:0 video), got {value!r}")
    return width, height


def aspect_size(aspect: str | None, *, field: str, short: int = SMALL_SIDE) -> tuple[int, int]:
    """A small frame of aspect ratio ``W:H`` (16:9 when None) with the given short side.

    Raises:
        EmulatorError: 400 naming ``field`` for a malformed ratio or one beyond 1:4..4:1.
    """
    a, found, b = (aspect or "16:9").partition(":")
    if not (found and a.isdigit() and b.isdigit() and int(a) and int(b)):
        raise EmulatorError(400, f"{field} must look like 'W:H' (e.g. '16:9'), got {aspect!r}")
    ratio = int(a) / int(b)
    if not 0.25 <= ratio <= 4:
        raise EmulatorError(400, f"{field} must be between 1:4 and 4:1, got {aspect!r}")
    long = 2 * round(short * max(ratio, 1 / ratio) / 2)
    return (long, short) if ratio >= 1 else (short, long)


def parse_seconds(
    value: Any, *, field: str, low: int = 1, high: int = MAX_SECONDS, default: int = DEFAULT_SECONDS
) -> int:
    """Read a duration given as an int or a numeric string (Kling and OpenAI accept both).

    Raises:
        EmulatorError: 400 naming ``field`` for anything else or a value outside ``low..high``.
    """
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise EmulatorError(400, f"{field} must be a whole number of seconds, got {value!r}")
    if isinstance(value, str) and not (value.isascii() and value.isdigit()):
        raise EmulatorError(400, f"{field} must be a whole number of seconds, got {value!r}")
    seconds = int(value)
    if not low <= seconds <= high:
        raise EmulatorError(400, f"{field} must be {low}..{high} seconds, got {value!r}")
    return seconds


# -- reference images -----------------------------------------------------------------------------


def image_ref(backend: Backend, ref: str, *, field: str, raw_base64: bool) -> ImageFacts | None:
    """Describe a reference image given as a data URL, raw base64 or an http(s) URL.

    The emulator has no network: an http(s) URL is read only when it is one of this emulator's
    own assets (``/_assets/...``), and otherwise gives None (the caller seeds from the URL).

    Args:
        backend: Gateway state (for its assets).
        ref: The field's value.
        field: Field name for error messages.
        raw_base64: Accept base64 without a ``data:`` prefix (Kling).

    Returns:
        Format, size and dominant colour of the image, or None for an external URL.

    Raises:
        EmulatorError: 400 naming ``field`` when the value is no URL, no base64, or not an image.
    """
    if ref.startswith(("http://", "https://")):
        path = urlsplit(ref).path.split("/")
        asset = backend.assets.get(path[2]) if len(path) > 2 and path[1] == "_assets" else None
        data = asset.data if asset is not None else None
        if data is None:
            return None
    elif ref.startswith("data:"):
        header, _, payload = ref.partition(",")
        if not header.endswith(";base64"):
            raise EmulatorError(400, f"{field} must be a base64 data URL (data:image/...;base64,)")
        data = _b64(payload, field)
    elif raw_base64:
        data = _b64(ref, field)
    else:
        raise EmulatorError(
            400, f"{field} must be an http(s) URL or a base64 data URL, got {ref[:40]!r}"
        )
    try:
        return describe_image(data)
    except ValueError as exc:
        raise EmulatorError(400, f"{field}: {exc}") from None


def _b64(payload: str, field: str) -> bytes:
    try:
        return base64.b64decode(payload.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise EmulatorError(400, f"{field} is not valid base64") from None


def seed_for(backend: Backend, *parts: object, color: str | None = None) -> int:
    """A media seed from the request; with ``color``, one whose clip has that dominant colour.

    This is how a reference image steers the output: the first frame takes its colour.
    """
    if color is not None:
        for k in range(_SEED_TRIES):
            seed = backend.media_seed(*parts, k)
            if seed_color(seed).name == color:
                return seed
    return backend.media_seed(*parts)


def clip(
    backend: Backend,
    frame: tuple[int, int],
    seconds: int,
    *,
    text: str | None,
    audio: bool,
    seed_parts: tuple[object, ...],
    reference: ImageFacts | None,
) -> VideoSpec:
    """The clip a create asks for; a reference image gives its first frame that image's colour.

    Args:
        backend: Gateway state (media seeds).
        frame: Rendered width and height.
        seconds: Requested length.
        text: Caption (the prompt).
        audio: Whether the clip gets a soundtrack.
        seed_parts: The request values the seed is drawn from (each family has its own).
        reference: What the reference image holds, if one was read.
    """
    width, height = frame
    seed = seed_for(backend, *seed_parts, color=reference.color_name if reference else None)
    return VideoSpec(width, height, seconds, fps_for(width, height), seed, text, audio)


class PromptedBody(Protocol):
    """What Kling native and OpenAI-style video bodies share: a prompt and the sound switches."""

    @property
    def prompt(self) -> str | None:
        """Text of the clip (its caption)."""

    @property
    def generate_audio(self) -> bool | None:
        """Whether to generate an audio track."""

    @property
    def sound(self) -> str | None:
        """Omni audio mode, ``on`` or ``off``."""


def body_clip(
    backend: Backend,
    body: PromptedBody,
    frame: tuple[int, int],
    seconds: int,
    *,
    seed_parts: tuple[object, ...],
    reference: ImageFacts | None,
) -> VideoSpec:
    """:func:`clip` of a Kling-style body: captioned with its prompt, sound on when asked for."""
    audio = bool(body.generate_audio) or body.sound == "on"
    return clip(
        backend,
        frame,
        seconds,
        text=body.prompt,
        audio=audio,
        seed_parts=seed_parts,
        reference=reference,
    )
