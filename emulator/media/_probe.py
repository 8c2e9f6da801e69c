"""Reading media back: decode audio to samples, probe containers for streams and durations."""

from __future__ import annotations

import io
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np
from av.audio.frame import AudioFrame
from av.container import InputContainer
from av.stream import Stream
from numpy.typing import NDArray

__all__ = ["AudioFacts", "MediaFacts", "VideoFacts", "decode_audio", "probe"]

# Demuxers whose stream duration already excludes the encoder's trailing padding (edit lists).
_EXACT_DURATION_FORMATS = {"mov", "mp4"}


@dataclass(frozen=True)
class VideoFacts:
    """The first video stream of a file.

    Attributes:
        codec: FFmpeg codec name (``"h264"``...).
        width: Width in pixels.
        height: Height in pixels.
        fps: Average frame rate.
        frames: Frame count, if the container records it.
        duration: Stream duration in seconds, if known.
        pix_fmt: Pixel format (``"yuv420p"``...), if known.
    """

    codec: str
    width: int
    height: int
    fps: float
    frames: int | None
    duration: float | None
    pix_fmt: str | None


@dataclass(frozen=True)
class AudioFacts:
    """The first audio stream of a file.

    Attributes:
        codec: FFmpeg codec name (``"mp3"``, ``"aac"``, ``"pcm_s16le"``...).
        sample_rate: Samples per second.
        channels: Channel count.
        duration: Stream duration in seconds, if known.
    """

    codec: str
    sample_rate: int
    channels: int
    duration: float | None


@dataclass(frozen=True)
class MediaFacts:
    """What :func:`probe` found.

    Attributes:
        format: FFmpeg demuxer name: ``"mp3"``, ``"wav"``, ``"mov,mp4,m4a,3gp,3g2,mj2"``...
        duration: Container duration in seconds (longest stream when the container has none).
        video: The first video stream, or None.
        audio: The first audio stream, or None.
    """

    format: str
    duration: float
    video: VideoFacts | None
    audio: AudioFacts | None


def _open(data: bytes, what: str) -> InputContainer:
    try:
        return av.open(io.BytesIO(data), "r")
    except (av.FFmpegError, ValueError, OSError) as exc:
        raise ValueError(f"not decodable {what}: {exc}") from exc


def _seconds(stream: Stream) -> float | None:
    if stream.duration is None or stream.time_base is None:
        return None
    return float(stream.duration * stream.time_base)


def probe(data: bytes) -> MediaFacts:
    """Container format, duration and first video/audio stream of a media file.

    Args:
        data: The file's bytes (MP4, MP3, WAV, or anything else FFmpeg demuxes).

    Returns:
        The facts.

    Raises:
        ValueError: ``"not decodable media ..."`` when FFmpeg cannot open it.
    """
    with _open(data, "media") as container:
        video = audio = None
        if container.streams.video:
            vs = container.streams.video[0]
            rate = vs.average_rate or vs.guessed_rate or Fraction(0)
            video = VideoFacts(
                codec=vs.codec_context.codec.canonical_name,
                width=vs.codec_context.width,
                height=vs.codec_context.height,
                fps=float(rate),
                frames=vs.frames or None,
                duration=_seconds(vs),
                pix_fmt=vs.codec_context.pix_fmt,
            )
        if container.streams.audio:
            st = container.streams.audio[0]
            audio = AudioFacts(
                codec=st.codec_context.codec.canonical_name,
                sample_rate=st.codec_context.sample_rate,
                channels=st.codec_context.channels,
                duration=_seconds(st),
            )
        if container.duration is not None:
            duration = container.duration / av.time_base
        else:
            known = [d for d in (_seconds(s) for s in container.streams) if d is not None]
            duration = max(known, default=0.0)
        return MediaFacts(format=container.format.name, duration=duration, video=video, audio=audio)


def decode_audio(data: bytes) -> tuple[NDArray[np.float32], int]:
    """Decode the first audio stream to mono float32.

    Channels are averaged. Encoder delay is removed by FFmpeg (MP3 LAME header, MP4 edit list);
    for MP4 the trailing padding of the last AAC frame is cut too, so an MP3 or MP4 written by
    this module decodes to the original length.

    Args:
        data: The file's bytes (MP3, WAV, MP4, ...).

    Returns:
        ``(samples, sample_rate)``, samples in [-1, 1] full scale.

    Raises:
        ValueError: ``"not decodable audio ..."`` when there is no decodable audio stream.
    """
    with _open(data, "audio") as container:
        if not container.streams.audio:
            raise ValueError("not decodable audio: the file has no audio stream")
        stream = container.streams.audio[0]
        parts: list[NDArray[np.float32]] = []
        rate = stream.codec_context.sample_rate
        try:
            for frame in container.decode(stream):
                parts.append(_mono(frame))
                rate = frame.sample_rate
        except (av.FFmpegError, ValueError) as exc:
            raise ValueError(f"not decodable audio: {exc}") from exc
        samples = np.concatenate(parts) if parts else np.zeros(0, np.float32)
        seconds = _seconds(stream)
        if seconds is not None and set(container.format.name.split(",")) & _EXACT_DURATION_FORMATS:
            samples = samples[: round(seconds * rate)]
        return samples, rate


def _mono(frame: AudioFrame) -> NDArray[np.float32]:
    arr = frame.to_ndarray()
    channels = len(frame.layout.channels)
    if not frame.format.is_planar:
        arr = arr.reshape(-1, channels).T  # packed: one row of interleaved samples
    scaled: NDArray[np.float32]
    if arr.dtype.kind == "f":
        scaled = arr.astype(np.float32)
    elif arr.dtype == np.uint8:
        scaled = ((arr.astype(np.float32) - 128) / 128).astype(np.float32)
    else:
        # The same scaling FFmpeg's own int -> float conversion uses (s16: / 32768).
        scaled = (arr / float(2 ** (8 * arr.dtype.itemsize - 1))).astype(np.float32)
    mono: NDArray[np.float32] = scaled[0] if channels == 1 else scaled.mean(0, dtype=np.float32)
    return mono
