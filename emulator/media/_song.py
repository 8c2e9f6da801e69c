"""A seeded little song, rendered as the twelve stems Suno's stem separation returns."""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ._band import INSTRUMENTS, Plan, make_plan
from ._seed import rng

__all__ = ["MAX_SONG_SECONDS", "STEM_NAMES", "Song", "synth_song"]

F32 = NDArray[np.float32]

STEM_NAMES: tuple[str, ...] = (
    "vocals",
    "backing_vocals",
    "drums",
    "bass",
    "guitar",
    "keyboard",
    "percussion",
    "strings",
    "synth",
    "fx",
    "brass",
    "woodwinds",
)
# Suno's longest song. Memory: 10.6 MB per playing stem per minute at 44.1 kHz (silent stems are
# untouched zeros), so an 8-minute song with every stem playing holds about 1.1 GB.
MAX_SONG_SECONDS = 480.0
# Peak of the mix (about -1 dBFS): leaves room for MP3/AAC overshoot after decoding.
_HEADROOM = 0.89
# Every stem sample is a multiple of 2**-15 (the 16-bit PCM grid). Twelve such values sum exactly
# in float32 in any order, so mix == sum(stems) and mix - vocals == sum(other stems) hold bit for
# bit, and a 16-bit WAV of any stem or of the mix is lossless.
_GRID = 32768.0

# Relative loudness (RMS) of each stem in the mix.
_LEVELS = {
    "vocals": 0.16,
    "backing_vocals": 0.06,
    "drums": 0.17,
    "bass": 0.14,
    "guitar": 0.07,
    "keyboard": 0.08,
    "percussion": 0.035,
    "strings": 0.06,
    "synth": 0.045,
    "fx": 0.035,
    "brass": 0.06,
    "woodwinds": 0.045,
}
# Chance that an optional stem plays at all (several stems of a real song are silent too).
_CHANCE = {
    "backing_vocals": 0.6,
    "guitar": 0.6,
    "keyboard": 0.7,
    "percussion": 0.5,
    "strings": 0.5,
    "synth": 0.5,
    "fx": 0.5,
    "brass": 0.35,
    "woodwinds": 0.35,
}


@dataclass(frozen=True, eq=False)
class Song:
    """A rendered song: twelve mono float32 stems at ``sample_rate`` and their mix.

    Every array has the same length. ``mix`` is exactly the sum of the stems (all stems were
    scaled by one common factor so that the mix peaks at about -1 dBFS); silent stems are zeros.

    Attributes:
        sample_rate: Samples per second.
        bpm: Tempo in beats per minute.
        key: Key, e.g. ``"A minor"``.
        mix: Sum of the twelve stems.
    """

    sample_rate: int
    bpm: int
    key: str
    vocals: F32
    backing_vocals: F32
    drums: F32
    bass: F32
    guitar: F32
    keyboard: F32
    percussion: F32
    strings: F32
    synth: F32
    fx: F32
    brass: F32
    woodwinds: F32
    mix: F32

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.mix) / self.sample_rate

    @property
    def stems(self) -> dict[str, F32]:
        """The twelve stems by name, in :data:`STEM_NAMES` order."""
        return {name: getattr(self, name) for name in STEM_NAMES}

    @property
    def instrumental_mix(self) -> F32:
        """The mix without the lead vocals (exactly the sum of the other eleven stems)."""
        return self.mix - self.vocals

    @property
    def instrumental(self) -> bool:
        """True when the song has no voice at all."""
        return not (self.vocals.any() or self.backing_vocals.any())


def synth_song(
    *, seed: int, duration: float, instrumental: bool = False, sample_rate: int = 44100
) -> Song:
    """Render a short seeded song: chords, bass, drums and a formant "voice" singing a melody.

    The seed picks tempo (84-132 bpm), key, major or minor, a four-chord progression, which of
    the optional stems play and every note. The voice enters after a one-bar intro and alternates
    verse and chorus sections; some stems (brass, backing vocals, fx) play only in choruses.

    Args:
        seed: Any int; the same arguments always give the same samples.
        duration: Length in seconds, up to :data:`MAX_SONG_SECONDS`.
        instrumental: Leave ``vocals`` and ``backing_vocals`` silent.
        sample_rate: 8000 to 96000 Hz.

    Returns:
        The song.

    Raises:
        ValueError: Duration or sample rate out of range.
    """
    if not 0 < duration <= MAX_SONG_SECONDS:
        raise ValueError(f"duration must be in (0, {MAX_SONG_SECONDS}] seconds, got {duration}")
    sample_rate = operator.index(sample_rate)
    if not 8000 <= sample_rate <= 96000:
        raise ValueError(f"sample_rate must be between 8000 and 96000, got {sample_rate}")
    gen = rng(seed, "song")
    plan, key = make_plan(gen, duration, sample_rate)
    playing = _playing(gen, instrumental)
    rendered, peak = _render_stems(plan, seed, playing, duration)
    mix, stems = _on_grid(rendered, peak, plan.n)
    return Song(sample_rate=sample_rate, bpm=round(60 / plan.beat), key=key, mix=mix, **stems)


def _playing(gen: np.random.Generator, instrumental: bool) -> set[str]:
    """The stems that play: vocals, drums and bass, and each optional stem by its chance."""
    playing = {"vocals", "drums", "bass"}
    for name, chance in _CHANCE.items():
        if gen.random() < chance:  # drawn for every stem, so one choice never shifts another
            playing.add(name)
    if not playing & {"guitar", "keyboard"}:
        playing.add("keyboard")
    if instrumental:
        playing -= {"vocals", "backing_vocals"}
    return playing


def _render_stems(
    plan: Plan, seed: int, playing: set[str], duration: float
) -> tuple[dict[str, F32], float]:
    """Each playing stem, faded and at its level, and the peak of any stem or of their sum."""
    n = plan.n
    fade_in = min(n, round(0.005 * plan.sr))  # no click at the start
    fade_out = min(n, round(min(1.0, duration / 10) * plan.sr))
    rendered: dict[str, F32] = {}
    total = np.zeros(n)
    peak = 0.0
    for name in STEM_NAMES:
        if name not in playing:
            continue
        stem = np.zeros(n)
        # Each stem has its own stream: adding a stem to the song changes no other stem.
        INSTRUMENTS[name](plan, stem, rng(seed, f"song/{name}"))
        stem[:fade_in] *= np.linspace(0.0, 1.0, fade_in)
        stem[n - fade_out :] *= np.linspace(1.0, 0.0, fade_out)
        rms = math.sqrt(float(np.dot(stem, stem)) / n)
        if rms == 0:
            continue
        stem *= _LEVELS[name] / rms
        total += stem
        peak = max(peak, float(np.max(np.abs(stem))))
        rendered[name] = stem.astype(np.float32)
    return rendered, max(peak, float(np.max(np.abs(total), initial=0.0)))


def _on_grid(rendered: dict[str, F32], peak: float, n: int) -> tuple[F32, dict[str, F32]]:
    """The mix and all twelve stems, scaled by one factor and rounded to the 16-bit grid."""
    # One factor for every stem (and so for the mix): nothing clips, the balance is kept.
    scale = _HEADROOM * _GRID / peak if peak > 0 else 1.0
    mix = np.zeros(n, np.float32)
    stems: dict[str, F32] = {}
    for name in STEM_NAMES:
        stem32 = rendered.get(name)
        if stem32 is None:
            # An untouched np.zeros: the OS backs it with no memory until it is written.
            stems[name] = np.zeros(n, np.float32)
            continue
        stem32 *= np.float32(scale)
        np.rint(stem32, out=stem32)
        stem32 /= np.float32(_GRID)
        mix += stem32
        stems[name] = stem32
    return mix, stems
