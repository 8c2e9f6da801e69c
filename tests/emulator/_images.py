"""Input images for the chat tests: one solid colour in any format, and its base64."""

from __future__ import annotations

import base64
import io

from PIL import Image


def solid(rgb: tuple[int, int, int], size: tuple[int, int] = (64, 48), fmt: str = "PNG") -> bytes:
    """An image of one colour, in any format Pillow writes (PNG, JPEG, GIF, WEBP...)."""
    buf = io.BytesIO()
    Image.new("RGB", size, rgb).save(buf, fmt)
    return buf.getvalue()


def b64(data: bytes) -> str:
    """``data`` as standard base64 text."""
    return base64.b64encode(data).decode()
