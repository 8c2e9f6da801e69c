"""The sound of emulated tracks: seeded songs, extended and section-replaced ones, and the
files made from them (MP3 tracks and stems, WAV, MP4), plus word alignment on the real vocals.

A track is described by a :class:`TrackSpec` (a seed, or a source track and an edit), so any
follow-up (stems, WAV, video, timestamps) re-renders exactly the same samples. Rendering is
cached, so a task's media costs one render however many routes ask for it.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..media import STEM_NAMES, mp3, mp4, synth_song, wav
from .text import split_lyrics

__all__ = [
    "MP3_BITRATE",
    "SAMPLE_RATE",
    "SONG_SECONDS",
    "Rendered",
    "TrackSpec",
    "align_words",
    "render",
    "song_seconds",
    "stem_mp3",
    "track_mp3",
    "track_mp4",
    "track_wav",
    "waveform",
]

#: Range of a new track's length in seconds (each track's length is picked from its seed). Short,
#: so a test renders a song in about a tenth of a second; real Suno songs run minutes.
SONG_SECONDS: tuple[float, float] = (6.0, 7.5)
#: MP3 sample rate (an MPEG-1 rate; a little cheaper to synthesise than 44.1 kHz).
SAMPLE_RATE = 32000
MP3_BITRATE = 96_000
#: Music video size and frame rate: small, so an MV renders in well under a second.
VIDEO_SIZE = (320, 180)
VIDEO_FPS = 10

F32 = NDArray[np.float32]


def song_seconds(seed: int) -> float:
    """A track length in :data:`SONG_SECONDS`, in whole hundredths of a second."""
    low, high = SONG_SECONDS
    steps = round((high - low) * 100) + 1
    return round(low + (seed % steps) / 100, 2)


@dataclass(frozen=True)
class TrackSpec:
    """How to render a track.

    ``base is None``: a new song of ``seconds`` from ``seed``. With a ``base`` and no ``end``:
    an extension, ``base`` cut at ``start`` followed by ``seconds`` of new song. With ``end``:
    ``base`` with ``[start, end)`` replaced by new material of the same length.

    Attributes:
        seed: Seed of the new material.
        seconds: Length of the new material (ignored for a replacement).
        instrumental: No voice in the new material.
        base: The source track, for extensions and replacements.
        start: Cut point (extension) or window start (replacement), seconds.
        end: Window end (replacement), seconds.
    """

    seed: int
    seconds: float
    instrumental: bool
    base: TrackSpec | None = None
    start: float = 0.0
    end: float | None = None

    @property
    def samples(self) -> int:
        """Length in samples at :data:`SAMPLE_RATE`, known without rendering."""
        if self.base is None:
            return round(self.seconds * SAMPLE_RATE)
        if self.end is not None:
            return self.base.samples
        return min(round(self.start * SAMPLE_RATE), self.base.samples) + round(
            self.seconds * SAMPLE_RATE
        )

    @property
    def duration(self) -> float:
        """Exact length in seconds (what the MP3 decodes to)."""
        return self.samples / SAMPLE_RATE


@dataclass(frozen=True, eq=False)
class Rendered:
    """A rendered track: its twelve stems and their mix (the mix is their exact sum)."""

    stems: dict[str, F32]
    mix: F32

    @property
    def vocals(self) -> F32:
        """The lead vocal stem."""
        return self.stems["vocals"]

    @property
    def instrumental_mix(self) -> F32:
        """Everything but the lead vocals."""
        return self.mix - self.stems["vocals"]


def _splice(parts: list[tuple[Rendered, int, int]]) -> Rendered:
    """Concatenate sample ranges of rendered tracks (hard cuts keep mix == sum of stems)."""
    stems = {name: np.concatenate([r.stems[name][a:b] for r, a, b in parts]) for name in STEM_NAMES}
    mix = np.concatenate([r.mix[a:b] for r, a, b in parts])
    return Rendered(stems, mix)


@functools.lru_cache(maxsize=4)
def render(spec: TrackSpec) -> Rendered:
    """The samples of ``spec`` (cached: follow-ups of one task render it once)."""
    if spec.base is None:
        song = synth_song(
            seed=spec.seed,
            duration=spec.samples / SAMPLE_RATE,
            instrumental=spec.instrumental,
            sample_rate=SAMPLE_RATE,
        )
        return Rendered(song.stems, song.mix)
    base = render(spec.base)
    start = min(round(spec.start * SAMPLE_RATE), spec.base.samples)
    if spec.end is None:
        new_n = round(spec.seconds * SAMPLE_RATE)
        new = render(TrackSpec(spec.seed, new_n / SAMPLE_RATE, spec.instrumental))
        return _splice([(base, 0, start), (new, 0, new_n)])
    end = min(round(spec.end * SAMPLE_RATE), spec.base.samples)
    new = render(TrackSpec(spec.seed, (end - start) / SAMPLE_RATE, spec.instrumental))
    return _splice([(base, 0, start), (new, 0, end - start), (base, end, spec.base.samples)])


@functools.lru_cache(maxsize=32)
def track_mp3(spec: TrackSpec) -> bytes:
    """The track as an MP3 (cached; a few tens of kB)."""
    return mp3(render(spec).mix, SAMPLE_RATE, bitrate=MP3_BITRATE)


@functools.lru_cache(maxsize=32)
def stem_mp3(spec: TrackSpec, stem: str) -> bytes:
    """One stem as an MP3: a :data:`~emulator.media.STEM_NAMES` name or ``instrumental``."""
    rendered = render(spec)
    samples = rendered.instrumental_mix if stem == "instrumental" else rendered.stems[stem]
    return mp3(samples, SAMPLE_RATE, bitrate=MP3_BITRATE)


def track_wav(spec: TrackSpec) -> bytes:
    """The track as a 16-bit PCM WAV (lossless: the samples sit on the 16-bit grid)."""
    return wav(render(spec).mix, SAMPLE_RATE)


def track_mp4(spec: TrackSpec, *, seed: int, caption: str | None) -> bytes:
    """A music video: H.264 moving picture with the track as its AAC soundtrack."""
    width, height = VIDEO_SIZE
    return mp4(
        seed=seed,
        width=width,
        height=height,
        duration=spec.duration,
        fps=VIDEO_FPS,
        audio=render(spec).mix,
        sample_rate=SAMPLE_RATE,
        text=caption,
    )


def waveform(spec: TrackSpec, points: int = 100) -> list[float]:
    """Peak level of the track in ``points`` equal slices, scaled to 0-1 (3 decimals)."""
    mix = np.abs(render(spec).mix)
    slices = np.array_split(mix, points)
    peaks = np.array([float(s.max()) if len(s) else 0.0 for s in slices])
    top = float(peaks.max()) or 1.0
    return [round(float(p) / top, 3) for p in peaks]


def _voiced_seconds(spec: TrackSpec, frame: float = 0.05) -> list[float]:
    """Start times of the frames where the lead vocal is audible."""
    vocals = render(spec).vocals
    n = max(1, round(frame * SAMPLE_RATE))
    usable = len(vocals) // n * n
    if usable == 0:
        return []
    rms = np.sqrt(np.mean(vocals[:usable].reshape(-1, n).astype(np.float64) ** 2, axis=1))
    if not rms.any():
        return []
    return [i * frame for i in np.flatnonzero(rms > 0.1 * rms.max())]


def align_words(spec: TrackSpec, lyric_text: str, seed: int) -> list[dict[str, Any]]:
    """Aligned words (seconds) for ``lyric_text``, spread over where the voice really sings.

    Each word gets an equal share of the voiced frames, in order, so ``startS``/``endS`` rise
    through the song and stay within its duration. An instrumental track has no words.
    """
    words = split_lyrics(lyric_text)
    voiced = _voiced_seconds(spec) if words else []
    if not words or not voiced:
        return []
    gen = random.Random(seed)
    duration = spec.duration
    per_word = len(voiced) / len(words)
    out = []
    for i, word in enumerate(words):
        first = voiced[int(i * per_word)]
        last = voiced[min(len(voiced) - 1, max(int((i + 1) * per_word) - 1, int(i * per_word)))]
        start = round(first, 2)
        end = round(min(duration, max(last + 0.05, first + 0.01)), 2)
        out.append(
            {
                "word": word,
                "success": True,
                "startS": start,
                "endS": end,
                "palign": round(gen.uniform(0.0, 0.2), 2),
            }
        )
    return out
