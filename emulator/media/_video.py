"""Seeded H.264 MP4 clips (PyAV's bundled libx264), optionally with an AAC soundtrack."""

from __future__ import annotations

import importlib
import io
import math
import operator

import av
import numpy as np
from numpy.typing import ArrayLike, NDArray
from PIL import Image

from ._audio import BITEXACT, encode_audio, flush, planar
from ._image import PALETTE, draw_caption, gradient, ink_for, seed_color
from ._seed import rng

__all__ = ["AAC_SAMPLE_RATES", "MAX_VIDEO_SECONDS", "MAX_VIDEO_SIDE", "mp4"]

MAX_VIDEO_SIDE = 4096
MAX_VIDEO_SECONDS = 600.0
AAC_SAMPLE_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 88200, 96000)
_AAC_FRAME = 1024


def _x264_options() -> dict[str, str]:
    """libx264 settings: "veryfast" (a 320x180 5 s clip in about a tenth of a second), CRF 23.

    On CPUs with AVX-512, x264's AVX-512 code is pinned off (``asm=AVX2``): with it, the same
    frames encoded twice in one process sometimes give different bitstreams (the output depends
    on leftover heap contents; reproduced with this PyAV build, not with AVX2 or C code). Every
    AVX-512 CPU has AVX2, FMA3 and BMI2, so the pin never asks for an instruction that is missing,
    and it gives AVX-512 and AVX2 machines the same bytes.
    """
    options = {"preset": "veryfast", "crf": "23"}
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
    n_frames = max(1, round(duration * fps))

    sound = None
    if audio is not None:
        if sample_rate not in AAC_SAMPLE_RATES:
            raise ValueError(f"sample_rate must be one of {AAC_SAMPLE_RATES}, got {sample_rate}")
        sound = planar(audio)
        want = round(n_frames * sample_rate / fps)
        sound = np.pad(sound, ((0, 0), (0, max(0, want - sound.shape[1]))))[:, :want]

    frames = _Frames(seed, width, height, n_frames, text)
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4", options=BITEXACT) as container:
        video = container.add_stream("libx264", rate=fps, options=_x264_options())
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


class _Frames:
    """Draws frame ``i`` of a clip straight into yuv420p planes."""

    def __init__(self, seed: int, width: int, height: int, n_frames: int, text: str | None):
        gen = rng(seed, "video")
        self.width, self.height, self.n_frames = width, height, n_frames
        base = seed_color(seed)
        self.base = np.array(base.rgb, np.uint8)
        self.ink = np.array(ink_for(base.rgb), np.uint8)
        accents = [rgb for name, rgb in PALETTE.items() if name != base.name]
        self.band = round(height * 0.12)
        # The band scrolls: a ramp there and back, twice the width, read through a moving window.
        a, b = (accents[int(i)] for i in gen.choice(len(accents), size=2, replace=False))
        ramp = gradient(width, max(self.band, 1), a, b)
        self.ramp = np.concatenate([ramp, ramp[:, ::-1]], axis=1)
        # Shapes: (kind, colour, half-size, start x, start y, speed x, speed y) in pixels/frame.
        self.shapes = []
        side = min(width, height)
        for _ in range(int(gen.integers(3, 6))):
            half = max(1, int(gen.uniform(0.05, 0.11) * side))
            speed = gen.uniform(0.01, 0.04) * side
            angle = gen.uniform(0, 2 * math.pi)
            self.shapes.append(
                (
                    int(gen.integers(2)),
                    np.array(accents[int(gen.integers(len(accents)))], np.uint8),
                    half,
                    gen.uniform(0, width),
                    gen.uniform(0, max(1, height - self.band)),
                    speed * math.cos(angle),
                    speed * math.sin(angle),
                )
            )
        self.caption: tuple[int, int, NDArray[np.float32]] | None = None
        if text:
            mask = Image.new("RGB", (width, height))
            draw_caption(mask, text, (255, 255, 255))
            box = mask.getbbox()
            if box:
                alpha = np.asarray(mask.crop(box))[:, :, 0].astype(np.float32) / 255
                self.caption = (box[0], box[1], alpha[:, :, None])

    def rgb(self, i: int) -> NDArray[np.uint8]:
        w, h, band = self.width, self.height, self.band
        img = np.empty((h, w, 3), np.uint8)
        img[:] = self.base
        if band:
            shift = (i * max(1, w // 48)) % (2 * w)
            img[h - band :] = np.roll(self.ramp, -shift, axis=1)[:, :w]
        for kind, color, half, x0, y0, vx, vy in self.shapes:
            cx = _bounce(x0 + vx * i, half, w - half)
            cy = _bounce(y0 + vy * i, half, h - band - half)
            top, bottom = max(0, round(cy) - half), min(h, round(cy) + half)
            left, right = max(0, round(cx) - half), min(w, round(cx) + half)
            if top >= bottom or left >= right:
                continue
            if kind == 0:  # disc
                yy, xx = np.ogrid[top:bottom, left:right]
                inside = (xx + 0.5 - cx) ** 2 + (yy + 0.5 - cy) ** 2 <= half * half
                img[top:bottom, left:right][inside] = color
            else:  # square
                img[top:bottom, left:right] = color
        if self.caption is not None:
            x, y, alpha = self.caption
            region = img[y : y + alpha.shape[0], x : x + alpha.shape[1]]
            region[:] = np.rint(region * (1 - alpha) + self.ink * alpha).astype(np.uint8)
        # Progress line: makes every frame differ and shows the clip's length at a glance.
        done = round(w * (i + 1) / self.n_frames)
        img[max(0, h - band - max(1, h // 90)) : h - band, :done] = self.ink
        return img

    def yuv(self, i: int) -> NDArray[np.uint8]:
        """Frame ``i`` as the ``(height * 3 // 2, width)`` array PyAV takes for yuv420p.

        The BT.601 limited-range conversion is done in integer NumPy rather than swscale, whose
        SIMD paths may round differently on another CPU.
        """
        rgb = self.rgb(i).astype(np.int32)
        r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
        y = ((66 * r + 129 * g + 25 * b + 128) >> 8) + 16
        # Chroma from the 2x2 average of each block (the encoder's 4:2:0 sampling).
        h, w = self.height, self.width
        quad = rgb.reshape(h // 2, 2, w // 2, 2, 3).sum(axis=(1, 3))
        r2, g2, b2 = quad[..., 0], quad[..., 1], quad[..., 2]
        u = ((-38 * r2 - 74 * g2 + 112 * b2 + 512) >> 10) + 128
        v = ((112 * r2 - 94 * g2 - 18 * b2 + 512) >> 10) + 128
        planes = (y.ravel(), u.ravel(), v.ravel())
        return np.concatenate(planes).astype(np.uint8).reshape(h * 3 // 2, w)


def _bounce(pos: float, low: float, high: float) -> float:
    """Reflect ``pos`` back and forth between ``low`` and ``high`` (a ball off the walls)."""
    if high <= low:
        return (low + high) / 2
    span = high - low
    phase = (pos - low) % (2 * span)
    return low + (phase if phase <= span else 2 * span - phase)
