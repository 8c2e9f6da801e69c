"""Audio encoders: 16-bit WAV (stdlib) and MP3 (PyAV's bundled libmp3lame)."""

from __future__ import annotations

import io
import operator
import wave

import av
import numpy as np
from av.audio.stream import AudioStream
from av.container import OutputContainer
from numpy.typing import ArrayLike, NDArray

__all__ = ["MP3_SAMPLE_RATES", "mp3", "wav"]

MP3_SAMPLE_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
# "bitexact" keeps FFmpeg from writing its version ("Lavf62.12.102") into the file, so the bytes
# stay the same when PyAV (and its bundled FFmpeg) is upgraded. Nothing else it writes depends on
# time: FFmpeg only stamps creation_time when asked to.
BITEXACT = {"fflags": "+bitexact"}
_MP3_FRAME = 1152  # samples per MPEG-1 Layer III frame


def planar(samples: ArrayLike) -> NDArray[np.float32]:
    """Validate audio and return it as contiguous float32 ``(channels, n)`` in [-1, 1].

    Accepts 1-D mono or 2-D ``(n_samples, channels)`` with one or two channels (the layout of
    ``soundfile`` and :mod:`wave`), floating point, full scale = 1.0.
    """
    arr = np.asarray(samples)
    if arr.ndim == 1:
        arr = arr[None, :]
    elif arr.ndim == 2 and arr.shape[1] in (1, 2):
        arr = arr.T
    else:
        raise ValueError(
            "samples must be 1-D (mono) or 2-D (n_samples, channels) with 1 or 2 channels, "
            f"got shape {arr.shape}"
        )
    if arr.dtype.kind != "f":
        raise ValueError(f"samples must be floating point in [-1, 1], got {arr.dtype}")
    if arr.shape[1] == 0:
        raise ValueError("samples are empty")
    if not np.isfinite(arr).all():
        raise ValueError("samples contain NaN or infinity")
    return np.ascontiguousarray(np.clip(arr, -1.0, 1.0), dtype=np.float32)


def wav(samples: ArrayLike, sample_rate: int) -> bytes:
    """Encode a 16-bit PCM WAV file.

    Samples are scaled by 32768 (and the top clipped to 32767), the inverse of how FFmpeg and
    most readers convert 16-bit PCM to float, so values on the 16-bit grid (all
    :func:`~emulator.media.synth_song` output) round-trip exactly.

    Args:
        samples: 1-D mono or ``(n_samples, channels)`` float audio in [-1, 1] (clipped).
        sample_rate: Samples per second, 1 to 384000.

    Returns:
        The WAV file.

    Raises:
        ValueError: Bad shape, dtype, sample rate, or non-finite samples.
    """
    data = planar(samples)
    sample_rate = operator.index(sample_rate)
    if not 1 <= sample_rate <= 384_000:
        raise ValueError(f"sample_rate must be between 1 and 384000, got {sample_rate}")
    pcm = np.clip(np.rint(data * 32768.0), -32768, 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(data.shape[0])
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm.T.tobytes())  # (n, channels): interleaved frames
    return buf.getvalue()


def mp3(samples: ArrayLike, sample_rate: int, *, bitrate: int = 128_000) -> bytes:
    """Encode an MP3 (MPEG-1/2 Layer III, constant bitrate) with libmp3lame.

    The file starts with a LAME/Info header that records the encoder delay and padding, so
    FFmpeg-based decoders (and most players) return exactly the original number of samples.

    Args:
        samples: 1-D mono or ``(n_samples, channels)`` float audio in [-1, 1] (clipped).
        sample_rate: One of :data:`MP3_SAMPLE_RATES`.
        bitrate: Bits per second, 8000 to 320000 (LAME rounds to the nearest legal rate).

    Returns:
        The MP3 file.

    Raises:
        ValueError: Bad shape, dtype, sample rate or bitrate, or non-finite samples.
    """
    data = planar(samples)
    if sample_rate not in MP3_SAMPLE_RATES:
        raise ValueError(f"sample_rate must be one of {MP3_SAMPLE_RATES}, got {sample_rate}")
    if not 8_000 <= bitrate <= 320_000:
        raise ValueError(f"bitrate must be between 8000 and 320000, got {bitrate}")
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp3", options=BITEXACT) as container:
        layout = "mono" if data.shape[0] == 1 else "stereo"
        stream = container.add_stream("libmp3lame", rate=sample_rate, layout=layout)
        stream.bit_rate = bitrate
        encode_audio(container, stream, data, sample_rate, _MP3_FRAME)
        flush(container, stream)
    return buf.getvalue()


def encode_audio(
    container: OutputContainer,
    stream: AudioStream,
    data: NDArray[np.float32],
    sample_rate: int,
    frame_size: int,
    start: int = 0,
    stop: int | None = None,
) -> int:
    """Encode whole frames of ``data`` from ``start`` up to ``stop``; returns where it stopped.

    Frames are cut at multiples of ``frame_size`` from the start of ``data`` (only the very last
    one may be short), so the encoder never needs its own FIFO and the same input is always cut
    the same way, however the calls interleave with video.
    """
    total = data.shape[1]
    stop = total if stop is None else min(stop, total)
    layout = "mono" if data.shape[0] == 1 else "stereo"
    pos = start
    while pos < stop:
        end = min(pos + frame_size, total)
        if end > stop:
            break  # this frame crosses ``stop``: the next call sends it
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(data[:, pos:end]), format="fltp", layout=layout
        )
        frame.sample_rate = sample_rate
        frame.pts = pos
        container.mux(stream.encode(frame))
        pos = end
    return pos


def flush(container: OutputContainer, stream: AudioStream) -> None:
    """Drain ``stream``'s encoder into ``container``."""
    container.mux(stream.encode(None))
