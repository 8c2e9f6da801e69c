"""Seeded H.264 MP4 clips (PyAV's bundled libx264), optionally with an AAC soundtrack."""

from __future__ import annotations

import importlib
import io
import math
import operator

import av
import numpy as np
from numpy.typing import ArrayLike, NDArray
from PIL import Image, ImageChops

from ._audio import BITEXACT, encode_audio, flush, planar
from ._image import PALETTE, draw_caption, gradient, ink_for, seed_color
from ._seed import rng

__all__ = ["AAC_SAMPLE_RATES", "MAX_VIDEO_SECONDS", "MAX_VIDEO_SIDE", "mp4"]

MAX_VIDEO_SIDE = 4096
MAX_VIDEO_SECONDS = 600.0
AAC_SAMPLE_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 88200, 96000)
_AAC_FRAME = 1024


def _x264_options(width: int, height: int) -> dict[str, str]:
    """libx264 settings: CRF 23, "veryfast" below 720p and "ultrafast" from 720p up.

    Speeds on one core: 320x180 5 s at 12 fps ~0.07 s; 1080p ~0.4 s with "ultrafast" against
    ~1.3 s with "veryfast" (the files, flat colours, stay small either way).

    On CPUs with AVX-512, x264's AVX-512 code is pinned off (``asm=AVX2``): with it, the same
    frames encoded twice in one process sometimes give different bitstreams (the output depends
    on leftover heap contents; reproduced with this PyAV build, never with the AVX2 code). Every
    AVX-512 CPU has AVX2, FMA3 and BMI2, so the pin never asks for an instruction that is missing.
    """
    preset = "ultrafast" if width * height >= 1280 * 720 else "veryfast"
    options = {"preset": preset, "crf": "23"}
    if _cpu_has("AVX512F"):
        options["x264-params"] = "asm=AVX2"
    return options


def _cpu_has(feature: str) -> bool:
    # NumPy's runtime dispatcher has already probed the CPU: its table is the portable way to ask.
    for name in ("numpy._core._multiarray_umath", "numpy.core._multiarray_umath"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        return bool(getattr(module, "__cpu_features__", {}).get(feature, False))
    return False


def mp4(
    *,
    seed: int,
    width: int,
    height: int,
    duration: float,
    fps: int = 12,
    audio: ArrayLike | None = None,
    sample_rate: int = 44100,
    text: str | None = None,
) -> bytes:
    """A real MP4: H.264 (yuv420p) video of seeded moving shapes, optionally AAC audio.

    The picture is the :func:`~emulator.media.png` layout in motion: the seed colour
    (:func:`~emulator.media.seed_color`) fills most of each frame, shapes drift and bounce,
    the gradient band scrolls, a progress line grows along the bottom, and ``text`` is shown as
    a caption. The clip has ``round(duration * fps)`` frames (at least one), so its duration is
    within half a frame of ``duration``; the audio track, when given, is cut or padded with
    silence to exactly the video's duration.

    Args:
        seed: Any int; the same arguments always give the same bytes.
        width: Even width in pixels, 2 to :data:`MAX_VIDEO_SIDE` (yuv420p needs even sizes).
        height: Even height in pixels, 2 to :data:`MAX_VIDEO_SIDE`.
        duration: Seconds, up to :data:`MAX_VIDEO_SECONDS`.
        fps: Frames per second, 1 to 60.
        audio: Optional 1-D mono or ``(n_samples, channels)`` float audio in [-1, 1].
        sample_rate: Sample rate of ``audio``, one of :data:`AAC_SAMPLE_RATES`.
        text: Optional caption.

    Returns:
        The MP4 file (moov atom at the end: FFmpeg cannot move it to the front without a
        seekable, readable file).

    Raises:
        ValueError: Odd or out-of-range size, bad duration, fps, sample rate or audio.
    """
    width, height, fps = _checked(width, height, duration, fps)
    n_frames = max(1, round(duration * fps))
    sound = None
    if audio is not None:
        if sample_rate not in AAC_SAMPLE_RATES:
            raise ValueError(f"sample_rate must be one of {AAC_SAMPLE_RATES}, got {sample_rate}")
        sound = planar(audio)
        want = round(n_frames * sample_rate / fps)
        sound = np.pad(sound, ((0, 0), (0, max(0, want - sound.shape[1]))))[:, :want]
    return _encode(_Frames(seed, width, height, n_frames, text), fps, sound, sample_rate)


def _checked(width: int, height: int, duration: float, fps: int) -> tuple[int, int, int]:
    """Width, height and fps as ints, once the clip's size, duration and rate are valid."""
    width, height, fps = operator.index(width), operator.index(height), operator.index(fps)
    for side, value in (("width", width), ("height", height)):
        if not 2 <= value <= MAX_VIDEO_SIDE or value % 2:
            raise ValueError(
                f"{side} must be even and between 2 and {MAX_VIDEO_SIDE} "
                f"(H.264 yuv420p), got {value}"
            )
    if not 0 < duration <= MAX_VIDEO_SECONDS:
        raise ValueError(f"duration must be in (0, {MAX_VIDEO_SECONDS}] seconds, got {duration}")
    if not 1 <= fps <= 60:
        raise ValueError(f"fps must be between 1 and 60, got {fps}")
    return width, height, fps


def _encode(
    frames: _Frames, fps: int, sound: NDArray[np.float32] | None, sample_rate: int
) -> bytes:
    """Mux the frames as H.264 and ``sound`` (planar, cut to the video's length) as AAC."""
    width, height, n_frames = frames.width, frames.height, frames.n_frames
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4", options=BITEXACT) as container:
        video = container.add_stream("libx264", rate=fps, options=_x264_options(width, height))
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        # One thread: x264's frame threads make the bitstream depend on scheduling.
        video.codec_context.thread_count = 1
        aac = None
        if sound is not None:
            layout = "mono" if sound.shape[0] == 1 else "stereo"
            aac = container.add_stream("aac", rate=sample_rate, layout=layout)
            aac.bit_rate = 96_000 * sound.shape[0]
        sent = 0
        for i in range(n_frames):
            frame = av.VideoFrame.from_ndarray(frames.yuv(i), format="yuv420p")
            frame.pts = i
            container.mux(video.encode(frame))
            if aac is not None and sound is not None:
                # Keep the audio abreast of the video so the muxer need not buffer either.
                upto = sound.shape[1] if i == n_frames - 1 else (i + 1) * sample_rate // fps
                sent = encode_audio(container, aac, sound, sample_rate, _AAC_FRAME, sent, upto)
        container.mux(video.encode(None))
        if aac is not None:
            flush(container, aac)
    return buf.getvalue()


Planes = tuple[NDArray[np.uint8], NDArray[np.uint8], NDArray[np.uint8]]
Masks = tuple[NDArray[np.bool_], NDArray[np.bool_]]  # full resolution, chroma resolution


class _Frames:
    """Draws frame ``i`` of a clip straight into yuv420p planes.

    Everything is painted in YUV: the still parts (background, caption) are converted once, and
    each frame only copies them and paints the band, shapes and progress line in flat colours.
    That keeps a 1080p frame at a few milliseconds instead of a full RGB conversion per frame.
    """

    def __init__(self, seed: int, width: int, height: int, n_frames: int, text: str | None):
        gen = rng(seed, "video")
        self.width, self.height, self.n_frames = width, height, n_frames
        base = seed_color(seed)
        accents = [rgb for name, rgb in PALETTE.items() if name != base.name]
        self.ink = _yuv_color(ink_for(base.rgb))
        # Even band height and even scroll steps keep the band on whole chroma samples.
        self.band = 2 * round(height * 0.06)
        self.step = 2 * max(1, width // 96)
        # The band scrolls: a ramp there and back, read through a moving window (doubled so the
        # window never wraps).
        a, b = (accents[int(i)] for i in gen.choice(len(accents), size=2, replace=False))
        ramp = gradient(width, max(self.band, 2), a, b)
        loop = np.concatenate([ramp, ramp[:, ::-1], ramp, ramp[:, ::-1]], axis=1)
        self.ramp = _to_yuv(loop)
        # Shapes: (disc?, colour, half-size, start x, start y, speed x, speed y), pixels/frame.
        self.shapes = []
        side = min(width, height)
        for _ in range(int(gen.integers(3, 6))):
            half = max(1, int(gen.uniform(0.05, 0.11) * side))
            speed = gen.uniform(0.01, 0.04) * side
            angle = gen.uniform(0, 2 * math.pi)
            color = _yuv_color(accents[int(gen.integers(len(accents)))])
            self.shapes.append(
                (
                    bool(gen.integers(2)),
                    color,
                    half,
                    gen.uniform(0, width),
                    gen.uniform(0, max(1, height - self.band)),
                    speed * math.cos(angle),
                    speed * math.sin(angle),
                )
            )
        still = Image.new("RGB", (width, height), base.rgb)
        # The caption is drawn last in every frame, so it stays readable over passing shapes.
        self.caption: tuple[slice, slice, Planes, Masks] | None = None
        if text:
            draw_caption(still, text, ink_for(base.rgb))
            box = ImageChops.difference(still, Image.new("RGB", still.size, base.rgb)).getbbox()
            if box:
                left, top = box[0] // 2 * 2, box[1] // 2 * 2  # whole chroma samples
                right, bottom = min(width, -(-box[2] // 2) * 2), min(height, -(-box[3] // 2) * 2)
                rows, cols = slice(top, bottom), slice(left, right)
                pixels = np.asarray(still)[rows, cols]
                inked = (pixels != np.array(base.rgb, np.uint8)).any(axis=2)
                self.caption = (rows, cols, _to_yuv(pixels), (inked, _half(inked)))
        self.still = _to_yuv(np.asarray(still))

    def yuv(self, i: int) -> NDArray[np.uint8]:
        """Frame ``i`` as the ``(height * 3 // 2, width)`` array PyAV takes for yuv420p."""
        w, h, band = self.width, self.height, self.band
        y, u, v = (plane.copy() for plane in self.still)
        if band:
            shift = (i * self.step) % (2 * w)
            ry, ru, rv = self.ramp
            y[h - band :] = ry[:, shift : shift + w]
            u[(h - band) // 2 :] = ru[:, shift // 2 : (shift + w) // 2]
            v[(h - band) // 2 :] = rv[:, shift // 2 : (shift + w) // 2]
        for disc, (cy_, cu, cv), half, x0, y0, vx, vy in self.shapes:
            cx = _bounce(x0 + vx * i, half, w - half)
            cy = _bounce(y0 + vy * i, half, h - band - half)
            for plane, value, scale in ((y, cy_, 1), (u, cu, 2), (v, cv, 2)):
                _paint(plane, value, cx / scale, cy / scale, half / scale, disc)
        # Progress line: makes every frame differ and shows the clip's length at a glance.
        done = 2 * round(w * (i + 1) / self.n_frames / 2)
        thick = 2 * max(1, h // 180)
        top = max(0, h - band - thick)
        y[top : h - band, :done] = self.ink[0]
        u[top // 2 : (h - band) // 2, : done // 2] = self.ink[1]
        v[top // 2 : (h - band) // 2, : done // 2] = self.ink[2]
        if self.caption is not None:
            rows, cols, (sy, su, sv), (full, halved) = self.caption
            crows = slice(rows.start // 2, rows.stop // 2)
            ccols = slice(cols.start // 2, cols.stop // 2)
            y[rows, cols][full] = sy[full]
            u[crows, ccols][halved] = su[halved]
            v[crows, ccols][halved] = sv[halved]
        return np.concatenate([y.ravel(), u.ravel(), v.ravel()]).reshape(h * 3 // 2, w)


def _to_yuv(rgb: NDArray[np.uint8]) -> Planes:
    """BT.601 limited-range yuv420p planes of an even-sized RGB image.

    Integer NumPy rather than swscale, whose SIMD paths may round differently on another CPU.
    Chroma is taken from the 2x2 average of each block (4:2:0 sampling).
    """
    px = rgb.astype(np.int32)
    r, g, b = px[..., 0], px[..., 1], px[..., 2]
    y = ((66 * r + 129 * g + 25 * b + 128) >> 8) + 16
    h, w = rgb.shape[0] // 2, rgb.shape[1] // 2
    quad = px.reshape(h, 2, w, 2, 3).sum(axis=(1, 3))
    r4, g4, b4 = quad[..., 0], quad[..., 1], quad[..., 2]
    u = ((-38 * r4 - 74 * g4 + 112 * b4 + 512) >> 10) + 128
    v = ((112 * r4 - 94 * g4 - 18 * b4 + 512) >> 10) + 128
    return y.astype(np.uint8), u.astype(np.uint8), v.astype(np.uint8)


def _yuv_color(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    y, u, v = _to_yuv(np.broadcast_to(np.array(rgb, np.uint8), (2, 2, 3)))
    return int(y[0, 0]), int(u[0, 0]), int(v[0, 0])


def _half(mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """A chroma-resolution mask: a 2x2 block counts when at least two of its pixels do."""
    h, w = mask.shape[0] // 2, mask.shape[1] // 2
    counts: NDArray[np.bool_] = mask.reshape(h, 2, w, 2).sum(axis=(1, 3)) >= 2
    return counts


def _paint(
    plane: NDArray[np.uint8], value: int, cx: float, cy: float, half: float, disc: bool
) -> None:
    """Fill a disc or square centred on (cx, cy) in one plane (coordinates in its own pixels)."""
    rows, cols = plane.shape
    top, bottom = max(0, round(cy - half)), min(rows, round(cy + half))
    left, right = max(0, round(cx - half)), min(cols, round(cx + half))
    if top >= bottom or left >= right:
        return
    if not disc:
        plane[top:bottom, left:right] = value
        return
    yy, xx = np.ogrid[top:bottom, left:right]
    inside = (xx + 0.5 - cx) ** 2 + (yy + 0.5 - cy) ** 2 <= half * half
    plane[top:bottom, left:right][inside] = value


def _bounce(pos: float, low: float, high: float) -> float:
    """Reflect ``pos`` back and forth between ``low`` and ``high`` (a ball off the walls)."""
    if high <= low:
        return (low + high) / 2
    span = high - low
    phase = (pos - low) % (2 * span)
    return low + (phase if phase <= span else 2 * span - phase)
