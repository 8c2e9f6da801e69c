"""Seeded PNG/JPEG pictures and a small image describer (format, size, dominant colour)."""

from __future__ import annotations

import io
import math
import operator
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ._seed import rng

__all__ = [
    "MAX_IMAGE_SIDE",
    "PALETTE",
    "ImageFacts",
    "NamedColor",
    "describe_image",
    "jpeg",
    "nearest_color",
    "png",
    "seed_color",
]

RGB = tuple[int, int, int]

MAX_IMAGE_SIDE = 4096
# The names describe_image may answer with. The values are mid-tones of each name, so that a
# saturated primary and its darker or lighter shades still land on the right name.
PALETTE: dict[str, RGB] = {
    "red": (220, 30, 30),
    "orange": (245, 135, 20),
    "yellow": (240, 215, 40),
    "green": (40, 165, 60),
    "cyan": (30, 195, 215),
    "blue": (35, 75, 215),
    "purple": (130, 55, 175),
    "pink": (240, 135, 180),
    "brown": (125, 80, 40),
    "black": (15, 15, 15),
    "white": (245, 245, 245),
    "gray": (128, 128, 128),
}
_DESCRIBABLE = ("PNG", "JPEG", "GIF", "WEBP")
# Dominant colour is computed on at most this many pixels per side: plenty for a histogram, and it
# keeps a 4096x4096 input fast.
_ANALYSIS_SIDE = 256
_MAX_CAPTION = 80
_TIMES = "\N{MULTIPLICATION SIGN}"


class NamedColor(NamedTuple):
    """A colour with the palette name it is nearest to."""

    name: str
    rgb: RGB

    @property
    def hex(self) -> str:
        """The colour as ``#rrggbb``."""
        return "#{:02x}{:02x}{:02x}".format(*self.rgb)


@dataclass(frozen=True)
class ImageFacts:
    """What :func:`describe_image` found.

    Attributes:
        format: ``"PNG"``, ``"JPEG"``, ``"GIF"`` or ``"WEBP"``.
        width: Width in pixels.
        height: Height in pixels.
        mode: Pillow mode of the stored image (``"RGB"``, ``"RGBA"``, ``"P"``, ``"L"``...).
        dominant_color: Mean colour of the most common 5-bit-per-channel colour bin.
        color_name: The :data:`PALETTE` name nearest to ``dominant_color``.
        dominant_fraction: Share of (opaque) pixels in that bin, from 0 to 1.
    """

    format: str
    width: int
    height: int
    mode: str
    dominant_color: RGB
    color_name: str
    dominant_fraction: float

    def sentence(self) -> str:
        """One line such as ``A PNG image, 64x48 pixels, mostly red (#d01010).``

        The size is written with a real multiplication sign (U+00D7), not a letter x.
        """
        hex_color = NamedColor(self.color_name, self.dominant_color).hex
        return (
            f"A {self.format} image, {self.width}{_TIMES}{self.height} pixels, "
            f"mostly {self.color_name} ({hex_color})."
        )


def nearest_color(rgb: tuple[int, int, int]) -> NamedColor:
    """The :data:`PALETTE` name whose shades come nearest to ``rgb``.

    Distances are measured in CIELAB (roughly perceptual) to a few shades per name (navy is
    blue, maroon red, silver gray, teal cyan...), not only to the one colour in
    :data:`PALETTE`, which is what RGB distance to twelve points gets wrong.

    Returns:
        The name and ``rgb`` itself.
    """
    lab = _lab(rgb)
    best = min(_SHADES_LAB, key=lambda shade: math.dist(lab, shade[1]))
    return NamedColor(best[0], (int(rgb[0]), int(rgb[1]), int(rgb[2])))


def _lab(rgb: tuple[int, int, int]) -> tuple[float, float, float]:
    """sRGB (D65) to CIELAB."""
    linear = [c / 255 for c in rgb]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in linear]
    r, g, b = linear
    xyz = (
        (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047,
        0.2126 * r + 0.7152 * g + 0.0722 * b,
        (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883,
    )
    fx, fy, fz = (t ** (1 / 3) if t > 216 / 24389 else (24389 / 27 * t + 16) / 116 for t in xyz)
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


# Extra shades per name, beside the PALETTE colour itself.
_SHADES: dict[str, tuple[RGB, ...]] = {
    "red": ((255, 0, 0), (139, 0, 0), (178, 34, 34)),
    "orange": ((255, 165, 0), (255, 140, 0), (210, 105, 30)),
    "yellow": ((255, 255, 0), (255, 215, 0), (255, 250, 160)),
    "green": ((0, 255, 0), (0, 100, 0), (50, 205, 50), (144, 238, 144), (107, 142, 35)),
    "cyan": ((0, 255, 255), (0, 128, 128), (64, 224, 208), (175, 238, 238)),
    "blue": ((0, 0, 255), (0, 0, 128), (65, 105, 225), (100, 149, 237), (135, 206, 250)),
    "purple": ((128, 0, 128), (75, 0, 130), (148, 0, 211), (255, 0, 255), (216, 160, 240)),
    "pink": ((255, 192, 203), (255, 105, 180), (219, 112, 147)),
    "brown": ((139, 69, 19), (160, 82, 45), (101, 67, 33), (210, 180, 140)),
    "black": ((0, 0, 0),),
    "white": ((255, 255, 255), (250, 245, 230)),
    "gray": ((192, 192, 192), (90, 90, 90), (112, 128, 144)),
}
_SHADES_LAB = [
    (name, _lab(rgb)) for name, base in PALETTE.items() for rgb in (base, *_SHADES[name])
]


def seed_color(seed: int) -> NamedColor:
    """The dominant colour of :func:`png`, :func:`jpeg` and :func:`~emulator.media.mp4` output.

    A palette colour with a little seeded jitter (so images are not all the same twelve shades),
    kept only while the jittered colour is still nearest to the same name.
    """
    gen = rng(seed, "color")
    names = list(PALETTE)
    name = names[int(gen.integers(len(names)))]
    jitter = gen.integers(-14, 15, size=3)
    base = np.array(PALETTE[name])
    jittered = tuple(int(c) for c in np.clip(base + jitter, 0, 255))
    rgb: RGB = (jittered[0], jittered[1], jittered[2])
    if nearest_color(rgb).name != name:
        rgb = PALETTE[name]
    return NamedColor(name, rgb)


def png(width: int, height: int, *, seed: int, text: str | None = None) -> bytes:
    """A real PNG picture drawn from ``seed``.

    A solid background in :func:`seed_color` (more than half of the pixels at any size, so it is
    the dominant colour), a gradient band along the bottom, a few seeded shapes in other palette
    colours and, optionally, a caption.

    Args:
        width: Width in pixels, 1 to :data:`MAX_IMAGE_SIDE`.
        height: Height in pixels, 1 to :data:`MAX_IMAGE_SIDE`.
        seed: Any int; the same arguments always give the same bytes.
        text: Optional caption (shortened to fit the width; at most 80 characters are used).

    Returns:
        The PNG file.

    Raises:
        ValueError: A side is out of range.
    """
    buf = io.BytesIO()
    # Fixed compression settings and no metadata chunks (Pillow writes no tIME): byte-stable.
    scene(width, height, seed=seed, text=text).save(buf, "PNG", compress_level=6)
    return buf.getvalue()


def jpeg(
    width: int, height: int, *, seed: int, text: str | None = None, quality: int = 90
) -> bytes:
    """A real baseline JPEG of the same picture :func:`png` draws.

    Args:
        width: Width in pixels, 1 to :data:`MAX_IMAGE_SIDE`.
        height: Height in pixels, 1 to :data:`MAX_IMAGE_SIDE`.
        seed: Any int; the same arguments always give the same bytes.
        text: Optional caption.
        quality: libjpeg quality, 1 to 95.

    Returns:
        The JPEG file (no EXIF).

    Raises:
        ValueError: A side or the quality is out of range.
    """
    if not 1 <= quality <= 95:
        raise ValueError(f"quality must be between 1 and 95, got {quality}")
    buf = io.BytesIO()
    scene(width, height, seed=seed, text=text).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def scene(width: int, height: int, *, seed: int, text: str | None = None) -> Image.Image:
    """The RGB picture behind :func:`png` and :func:`jpeg` (also the first video frame's layout)."""
    width, height = operator.index(width), operator.index(height)
    for side, value in (("width", width), ("height", height)):
        if not 1 <= value <= MAX_IMAGE_SIDE:
            raise ValueError(f"{side} must be between 1 and {MAX_IMAGE_SIDE}, got {value}")
    gen = rng(seed, "image")
    base = seed_color(seed)
    accents = [rgb for name, rgb in PALETTE.items() if name != base.name]
    img = Image.new("RGB", (width, height), base.rgb)

    band = round(height * 0.12)
    if band:
        start, end = (accents[int(i)] for i in gen.choice(len(accents), size=2, replace=False))
        img.paste(Image.fromarray(gradient(width, band, start, end)), (0, height - band))

    # At most 6 shapes of at most 22% x 22% of the picture each, plus the 12% band: the background
    # keeps well over half of the pixels whatever the seed.
    draw = ImageDraw.Draw(img)
    free_h = height - band
    for _ in range(int(gen.integers(3, 7))):
        sw = int(gen.uniform(0.06, 0.22) * width)
        sh = int(gen.uniform(0.06, 0.22) * free_h)
        x0 = int(gen.integers(0, max(1, width - sw + 1)))
        y0 = int(gen.integers(0, max(1, free_h - sh + 1)))
        box = (x0, y0, x0 + sw - 1, y0 + sh - 1)
        fill = accents[int(gen.integers(len(accents)))]
        kind = int(gen.integers(3))
        if not (sw and sh):
            continue  # too small a picture for this shape (rounding up would break the budget)
        if kind == 0:
            draw.ellipse(box, fill=fill)
        elif kind == 1:
            draw.rectangle(box, fill=fill)
        else:
            draw.polygon([(x0, box[3]), (x0 + sw // 2, y0), (box[2], box[3])], fill=fill)
    if text:
        draw_caption(img, text, ink_for(base.rgb))
    return img


def gradient(width: int, height: int, start: RGB, end: RGB) -> np.ndarray:
    """A left-to-right ``height x width x 3`` uint8 ramp from ``start`` to ``end``."""
    ramp = np.linspace(0.0, 1.0, width)[:, None]
    row = np.asarray(start) * (1 - ramp) + np.asarray(end) * ramp
    return np.broadcast_to(np.rint(row).astype(np.uint8), (height, width, 3)).copy()


def ink_for(background: RGB) -> RGB:
    """Black or white, whichever reads better on ``background``."""
    luma = 0.299 * background[0] + 0.587 * background[1] + 0.114 * background[2]
    return (0, 0, 0) if luma > 140 else (255, 255, 255)


@lru_cache(maxsize=32)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    # Pillow's bundled font: no system font lookup, so the pixels do not depend on the machine.
    return ImageFont.load_default(size)


def draw_caption(img: Image.Image, text: str, ink: RGB) -> None:
    """Write ``text`` at the top left of ``img``, shrinking (then shortening) it to fit.

    Pictures under 32 pixels a side get no caption: it could not be read, and would cover them.
    """
    text = " ".join(text.split())[:_MAX_CAPTION]
    width, height = img.size
    if min(width, height) < 32:
        return
    margin = max(1, min(width, height) // 32)
    avail = width - 2 * margin
    draw = ImageDraw.Draw(img)
    size = max(8, min(48, height // 14))
    font = _font(size)
    floor = max(8, size // 2)  # below half size a caption stops being readable: shorten instead
    while draw.textlength(text, font=font) > avail and size > floor:
        size -= 2
        font = _font(size)
    if draw.textlength(text, font=font) > avail:
        while text and draw.textlength(text + "…", font=font) > avail:
            text = text[:-1]
        text = text.rstrip() + "…" if text else ""
    if text:
        draw.text((margin, margin), text, fill=ink, font=font)


def describe_image(data: bytes) -> ImageFacts:
    """Format, size, mode and dominant colour of an image file.

    The dominant colour is the most common colour after quantising every channel to 5 bits, given
    as the mean of the pixels in that bin (so a solid colour comes back exactly). Large pictures
    are subsampled first (JPEGs are decoded at reduced scale), so a 4096x4096 input stays fast.
    Fully transparent pixels are ignored unless every pixel is transparent. Animated images are
    described by their first frame.

    Args:
        data: The file's bytes (PNG, JPEG, GIF or WebP).

    Returns:
        The facts; :meth:`ImageFacts.sentence` renders them as one line.

    Raises:
        ValueError: ``"not a decodable image ..."`` for anything Pillow cannot decode, or a
            format other than the four above.
    """
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt, (width, height), mode = img.format, img.size, img.mode
            if fmt not in _DESCRIBABLE:
                raise _Unsupported(fmt)
            if fmt == "JPEG":
                # DCT-domain downscale: decodes a 4096^2 JPEG at 1/8 of the cost.
                img.draft("RGB", (_ANALYSIS_SIDE, _ANALYSIS_SIDE))
            img.load()
            small: Image.Image = img
            scale = _ANALYSIS_SIDE / max(img.size)
            if scale < 1:
                # NEAREST keeps real colours: a blending filter would invent edge colours.
                size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
                small = img.resize(size, Image.Resampling.NEAREST)
            pixels = np.asarray(small.convert("RGBA")).reshape(-1, 4)
    except _Unsupported as exc:
        raise ValueError(f"not a decodable image (unsupported format {exc.args[0]!r})") from None
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as exc:
        raise ValueError(f"not a decodable image: {exc}") from exc

    opaque = pixels[pixels[:, 3] >= 128]
    rgb = (opaque if len(opaque) else pixels)[:, :3]
    q = rgb.astype(np.int32) >> 3
    keys = (q[:, 0] << 10) | (q[:, 1] << 5) | q[:, 2]
    counts = np.bincount(keys, minlength=1 << 15)
    top = int(np.argmax(counts))
    mean = np.rint(rgb[keys == top].mean(axis=0)).astype(int)
    dominant: RGB = (int(mean[0]), int(mean[1]), int(mean[2]))
    return ImageFacts(
        format=fmt,
        width=width,
        height=height,
        mode=mode,
        dominant_color=dominant,
        color_name=nearest_color(dominant).name,
        dominant_fraction=float(counts[top]) / len(keys),
    )


class _Unsupported(Exception):
    """A decodable image in a format describe_image does not promise to handle."""
