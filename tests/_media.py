"""Small real media for tests of any folder: a PNG to send, a data URL of it, and the colour of a
video's first frame (how a test sees that a first frame it sent was used)."""

from __future__ import annotations

import base64
import io

import av
from PIL import Image

from emulator.media import describe_image


def png_bytes(
    color: tuple[int, int, int] = (220, 20, 20), size: tuple[int, int] = (40, 30)
) -> bytes:
    """A small real PNG of one colour."""
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def data_url(data: bytes, media_type: str = "image/png") -> str:
    """``data:<type>;base64,...`` of ``data``."""
    return f"data:{media_type};base64,{base64.b64encode(data).decode()}"


def first_frame_colour(mp4: bytes) -> str:
    """The palette name of the dominant colour of the first frame of ``mp4``."""
    with av.open(io.BytesIO(mp4), mode="r") as container:
        frame = next(container.decode(video=0))
    buffer = io.BytesIO()
    frame.to_image().save(buffer, "PNG")
    return describe_image(buffer.getvalue()).color_name
