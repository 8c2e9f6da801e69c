"""The band: a song's skeleton (tempo, key, chords, sections) and one renderer per stem."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["INSTRUMENTS", "Plan", "make_plan"]

F64 = NDArray[np.float64]

_TABLE = 2048  # wavetable length: one period of a note's waveform
_NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_SCALES = {False: (0, 2, 4, 5, 7, 9, 11), True: (0, 2, 3, 5, 7, 8, 10)}
# Progressions as scale degrees (0 = tonic), one chord per bar.
_PROGRESSIONS = {
    False: ((0, 4, 5, 3), (0, 5, 3, 4), (5, 3, 0, 4), (0, 3, 0, 4)),
    True: ((0, 5, 2, 6), (0, 3, 4, 0), (0, 6, 5, 6), (0, 5, 3, 4)),
}
# Formants (Hz) of a few sung vowels: a, e, i, o, u.
_FORMANT_GAINS = (1.0, 0.6, 0.3)
_FORMANT_WIDTHS = (110.0, 140.0, 180.0)  # Hz
_VOWELS = (
    (730.0, 1090.0, 2440.0),
    (530.0, 1840.0, 2480.0),
    (270.0, 2290.0, 3010.0),
    (570.0, 840.0, 2410.0),
    (300.0, 870.0, 2240.0),
)


@dataclass(frozen=True)
class Plan:
    """The musical skeleton every instrument plays along to."""

    sr: int
    n: int
    beat: float  # seconds
    root: int  # MIDI note of the tonic, between A2 and G#3
    scale: tuple[int, ...]
    chords: tuple[tuple[int, int, int], ...]  # per bar: triad as semitones above root
    chorus: tuple[bool, ...]  # per bar
    intro: int  # bars before the voice comes in
    kit: _Kit

    @property
    def bar(self) -> float:
        return 4 * self.beat

    def bars(self) -> range:
        return range(len(self.chords))

    def start(self, bar: int, beats: float = 0.0) -> float:
        return bar * self.bar + beats * self.beat

    def note(self, bar: int, index: int, around: int) -> int:
        """MIDI note of chord tone ``index`` (3 and up: next octave) of ``bar``, near ``around``."""
        chord = self.chords[bar]
        octave, i = divmod(index, 3)
        # Voice the chord from the root octave nearest to ``around``, then stack upwards.
        shift = 12 * round((around - self.root - chord[0]) / 12)
        return self.root + chord[i] + 12 * octave + shift


def make_plan(gen: np.random.Generator, duration: float, sr: int) -> tuple[Plan, str]:
    """Draw tempo, key, progression and sections; returns the plan and the key's name."""
    bpm = int(gen.integers(84, 133))
    beat = 60.0 / bpm
    root = int(gen.integers(45, 57))
    minor = bool(gen.random() < 0.5)
    scale = _SCALES[minor]
    progression = _PROGRESSIONS[minor][int(gen.integers(4))]
    n_bars = math.ceil(duration / (4 * beat))
    intro = 1 if n_bars >= 3 else 0
    # Four-bar sections in a real-length song, two-bar ones in a clip so it still has a chorus.
    section = 4 if n_bars >= 12 else 2
    chords = []
    for bar in range(n_bars):
        degree = progression[bar % len(progression)]
        chords.append(tuple(scale[(degree + k) % 7] + 12 * ((degree + k) // 7) for k in (0, 2, 4)))
    chorus = tuple(bar >= intro and ((bar - intro) // section) % 2 == 1 for bar in range(n_bars))
    plan = Plan(
        sr=sr,
        n=round(duration * sr),
        beat=beat,
        root=root,
        scale=scale,
        chords=tuple((c[0], c[1], c[2]) for c in chords),
        chorus=chorus,
        intro=intro,
        kit=_Kit(sr),
    )
    return plan, f"{_NOTE_NAMES[root % 12]} {'minor' if minor else 'major'}"


# --- building blocks ----------------------------------------------------------------------------


def _hz(midi: float) -> float:
    return float(440.0 * 2.0 ** ((midi - 69) / 12))


def _add(buf: F64, sr: int, start: float, segment: F64) -> None:
    """Mix ``segment`` into ``buf`` from ``start`` seconds, cut at the end of the song."""
    i = round(start * sr)
    j = min(len(buf), i + len(segment))
    if i < j:
        buf[i:j] += segment[: j - i]


def _noise(gen: np.random.Generator, n: int, brightness: int) -> F64:
    """White noise differentiated ``brightness`` times (each pass tilts it further to the top)."""
    x = gen.standard_normal(n + brightness)
    return np.diff(x, n=brightness) / (2.0 ** (brightness / 2)) if brightness else x


class _Kit:
    """Note renderers for one song, memoised: the patterns repeat every few bars, so most notes
    are rendered once and then only mixed in (this makes synthesis ~10x faster)."""

    def __init__(self, sr: int) -> None:
        self.sr = sr
        self._cache: dict[tuple[object, ...], F64] = {}

    def env(self, n: int, attack: float, decay: float, release: float = 0.02) -> F64:
        """Linear attack, exponential decay, linear release over the last ``release`` seconds."""
        key = ("env", n, attack, decay, release)
        if key not in self._cache:
            t = np.arange(n) / self.sr
            env = np.minimum(t / max(attack, 1e-4), 1.0) * np.exp(-t / decay)
            tail = min(n, max(1, round(release * self.sr)))
            env[n - tail :] *= np.linspace(1.0, 0.0, tail)
            self._cache[key] = env
        return self._cache[key]

    def tone(
        self,
        amps: tuple[float, ...],
        f0: float,
        n: int,
        shape: tuple[float, float, float],
        vibrato: tuple[float, float, float] | None = None,
    ) -> F64:
        """A note: harmonic ``amps`` at ``f0`` Hz, ``shape`` = (attack, decay, release) seconds,
        optional ``vibrato`` = (depth in semitones, rate in Hz, onset delay in seconds)."""
        key = ("tone", amps, f0, n, shape, vibrato)
        if key not in self._cache:
            freq: float | F64 = f0
            if vibrato is not None:
                depth, rate, delay = vibrato
                t = np.arange(n) / self.sr
                amount = depth * np.clip((t - delay) / 0.2, 0.0, 1.0)
                freq = f0 * 2.0 ** (amount * np.sin(2 * np.pi * rate * t) / 12)
            self._cache[key] = self.osc(amps, freq, n) * self.env(n, *shape)
        return self._cache[key]

    def voice(self, f0: float, vowel: int, n: int, pad: bool) -> F64:
        """A sung vowel: a harmonic source shaped by three formant resonances, with vibrato."""
        k = np.arange(1, 41)
        harmonic = k * f0
        weights = np.zeros_like(harmonic)
        for formant, gain, width in zip(
            _VOWELS[vowel], _FORMANT_GAINS, _FORMANT_WIDTHS, strict=True
        ):
            weights += gain / (1 + ((harmonic - formant) / width) ** 2)
        weights /= np.sqrt(k)
        amps = tuple(round(float(w), 6) for w in weights)
        if pad:
            return self.tone(amps, f0, n, (0.15, 30.0, 0.2), (0.35, 5.2, 0.05))
        return self.tone(amps, f0, n, (0.03, 30.0, 0.06), (0.5, 5.6, 0.15))

    def osc(self, amps: tuple[float, ...], freq: float | F64, n: int) -> F64:
        """Wavetable oscillator: one period built from harmonic amplitudes, read at ``freq``.

        ``freq`` is a constant or a per-sample array (vibrato, pitch sweeps). Harmonics that would
        reach Nyquist are dropped so nothing aliases.
        """
        top = float(np.max(freq))
        kept = tuple(a for k, a in enumerate(amps, 1) if k * top < 0.45 * self.sr)
        key = ("table", kept)
        if key not in self._cache:
            grid = np.arange(_TABLE + 1) / _TABLE  # one extra point closes the period
            k = np.arange(1, len(kept) + 1)[:, None]
            self._cache[key] = (np.asarray(kept)[:, None] * np.sin(2 * np.pi * k * grid)).sum(0)
        if isinstance(freq, float):
            phase = np.arange(n) * (freq / self.sr)
        else:
            phase = np.cumsum(freq) / self.sr
        wave: F64 = np.interp((phase % 1.0) * _TABLE, _TABLE_X, self._cache[key])
        return wave


_TABLE_X = np.arange(_TABLE + 1, dtype=np.float64)


# --- instruments: each adds its part into a float64 buffer --------------------------------------


def _drums(p: Plan, out: F64, gen: np.random.Generator) -> None:
    kit, sr = p.kit, p.sr
    kick_extra = bool(gen.random() < 0.5)
    hat_n, kick_n, snare_n = round(0.06 * sr), round(0.35 * sr), round(0.25 * sr)
    t = np.arange(kick_n) / sr
    kick = kit.osc((1.0,), 45 + 90 * np.exp(-t / 0.03), kick_n) * kit.env(kick_n, 0.002, 0.15)
    body = 0.5 * kit.tone((1.0, 0.3), 185.0, snare_n, (0.001, 0.05, 0.02))
    for bar in p.bars():
        for b in range(8):  # eighth notes
            start = p.start(bar, b / 2)
            for s in (0.0, 0.25) if p.chorus[bar] else (0.0,):  # hats, doubled in choruses
                hat = 0.25 * _noise(gen, hat_n, 2) * kit.env(hat_n, 0, 0.02)
                _add(out, sr, start + s * p.beat, hat)
            if bar < p.intro:
                continue
            if b in (0, 4) or (kick_extra and b == 5):
                _add(out, sr, start, kick)
            if b in (2, 6):
                snap = 0.7 * _noise(gen, snare_n, 1) * kit.env(snare_n, 0.001, 0.09)
                _add(out, sr, start, body + snap)


def _percussion(p: Plan, out: F64, gen: np.random.Generator) -> None:
    kit, sr = p.kit, p.sr
    accents = (1.0, 0.45, 0.7, 0.45)
    shaker_n, tambourine_n = round(0.05 * sr), round(0.2 * sr)
    for bar in p.bars():
        if bar < p.intro:
            continue
        for s in range(16):  # shaker on sixteenths
            shaker = accents[s % 4] * _noise(gen, shaker_n, 3) * kit.env(shaker_n, 0.004, 0.015)
            _add(out, sr, p.start(bar, s / 4), shaker)
        if p.chorus[bar]:
            for b in (1, 3):
                jingle = 1.5 * _noise(gen, tambourine_n, 2) * kit.env(tambourine_n, 0.002, 0.06)
                _add(out, sr, p.start(bar, b), jingle)


def _bass(p: Plan, out: F64, gen: np.random.Generator) -> None:
    # (beat, length in beats, chord tone): three grooves, picked once per song.
    grooves = (
        ((0, 1.5, 0), (1.5, 0.5, 0), (2, 1.5, 1), (3.5, 0.5, 2)),
        ((0, 0.5, 0), (0.5, 0.5, 0), (1, 1, 3), (2, 0.5, 0), (2.5, 0.5, 0), (3, 1, 2)),
        ((0, 2, 0), (2, 1, 2), (3, 1, 3)),
    )
    groove = grooves[int(gen.integers(len(grooves)))]
    amps = (1.0, 0.55, 0.3, 0.18, 0.1, 0.05)
    for bar in p.bars():
        for beat, length, tone in groove:
            n = round(length * p.beat * p.sr)
            note = p.kit.tone(amps, _hz(p.note(bar, tone, 40)), n, (0.005, 0.5, 0.02))
            _add(out, p.sr, p.start(bar, beat), note)


def _triads(
    p: Plan,
    out: F64,
    hits: Sequence[tuple[float, float]],
    amps: tuple[float, ...],
    around: int,
    envelope: tuple[float, float, float],
    *,
    chorus_only: bool = False,
) -> None:
    """Each bar's chord (three tones near ``around``), struck at every ``(beat, length)`` hit."""
    for bar in p.bars():
        if chorus_only and not p.chorus[bar]:
            continue
        for beat, length in hits:
            n = round(length * p.beat * p.sr)
            for i in range(3):
                note = p.kit.tone(amps, _hz(p.note(bar, i, around)), n, envelope)
                _add(out, p.sr, p.start(bar, beat), note)


def _keyboard(p: Plan, out: F64, gen: np.random.Generator) -> None:
    hits = ((0, 2), (2, 2)) if gen.random() < 0.5 else ((0, 1.5), (1.5, 1), (2.5, 1.5))
    _triads(p, out, hits, (1.0, 0.45, 0.25, 0.12, 0.06), 64, (0.004, 0.9, 0.05))


def _guitar(p: Plan, out: F64, gen: np.random.Generator) -> None:
    strokes = (0, 1, 1.5, 2, 3, 3.5) if gen.random() < 0.5 else (0, 1, 2, 3)
    amps = (1.0, 0.8, 0.6, 0.45, 0.3, 0.2, 0.12, 0.08)
    n = round(0.45 * p.sr)
    for bar in p.bars():
        for beat in strokes:
            up = beat % 1 != 0
            for string, tone in enumerate((0, 2, 3, 4)):  # root, fifth, octave, third
                note = p.kit.tone(amps, _hz(p.note(bar, tone, 55)), n, (0.002, 0.3, 0.05))
                # Strings sound one after another (reversed and softer on an upstroke).
                delay = 0.012 * (3 - string if up else string)
                _add(out, p.sr, p.start(bar, beat) + delay, 0.6 * note if up else note)


def _strings(p: Plan, out: F64, gen: np.random.Generator) -> None:
    amps = tuple(1 / k for k in range(1, 11))  # a sawtooth, softened by the slow attack
    rate = round(5.0 + gen.random(), 2)
    n = round(p.bar * p.sr) + round(0.2 * p.sr)
    for bar in p.bars():
        level = 1.0 if p.chorus[bar] else 0.55
        for i in range(3):
            f0 = _hz(p.note(bar, i, 62))
            note = p.kit.tone(amps, f0, n, (0.4, 20.0, 0.25), (0.12, rate, 0.3))
            _add(out, p.sr, p.start(bar), level * note)


def _synth(p: Plan, out: F64, gen: np.random.Generator) -> None:
    amps = (1.0, 0.0, 1 / 3, 0.0, 1 / 5, 0.0, 1 / 7)  # square-ish
    order = (0, 1, 2, 3, 2, 1) if gen.random() < 0.5 else (0, 2, 1, 3, 4, 3, 2, 1)
    n = round(0.25 * p.beat * p.sr)
    for bar in p.bars():
        if bar < p.intro:
            continue
        for s in range(16):
            f0 = _hz(p.note(bar, order[s % len(order)], 74))
            _add(out, p.sr, p.start(bar, s / 4), p.kit.tone(amps, f0, n, (0.003, 0.12, 0.02)))


def _fx(p: Plan, out: F64, gen: np.random.Generator) -> None:
    kit, sr = p.kit, p.sr
    n, m = round(p.bar * sr), round(1.5 * sr)
    for bar in p.bars():
        if not p.chorus[bar] or (bar > 0 and p.chorus[bar - 1]):
            continue
        # A riser over the bar before each chorus, then an impact on its downbeat.
        sweep = kit.osc((1.0,), np.geomspace(300.0, 3000.0, n), n)
        riser = (0.5 * _noise(gen, n, 1) + sweep) * np.linspace(0.0, 1.0, n) ** 2
        _add(out, sr, p.start(bar - 1), riser)
        boom = kit.tone((1.0, 0.2), 50.0, m, (0.002, 0.5, 0.02))
        hit = 0.6 * _noise(gen, m, 1) * kit.env(m, 0.001, 0.08)
        _add(out, sr, p.start(bar), boom + hit)


def _brass(p: Plan, out: F64, gen: np.random.Generator) -> None:
    amps = tuple(1 / k**0.7 for k in range(1, 9))
    stabs = ((0, 0.75), (2.5, 0.5)) if gen.random() < 0.5 else ((0, 1.5), (3, 0.5))
    _triads(p, out, stabs, amps, 62, (0.03, 0.6, 0.04), chorus_only=True)


def _woodwinds(p: Plan, out: F64, gen: np.random.Generator) -> None:
    amps = (1.0, 0.15, 0.05)  # flute-like: nearly a sine
    n = round(2 * p.beat * p.sr)
    for bar in p.bars():
        if bar < p.intro or p.chorus[bar]:
            continue
        for half in (0, 2):
            f0 = _hz(p.note(bar, int(gen.integers(1, 4)), 79))
            note = p.kit.tone(amps, f0, n, (0.06, 4.0, 0.1), (0.2, 5.5, 0.2))
            breath = 0.05 * _noise(gen, n, 1) * p.kit.env(n, 0.06, 4.0, 0.1)
            _add(out, p.sr, p.start(bar, half), note + breath)


def _vocals(p: Plan, out: F64, gen: np.random.Generator) -> None:
    # (beat, length in beats) phrases; the second bar of each pair ends in a breath.
    rhythms: tuple[tuple[tuple[float, float], ...], ...] = (
        ((0, 1), (1, 0.5), (1.5, 0.5), (2, 1), (3, 1)),
        ((0, 0.5), (0.5, 0.5), (1, 1), (2, 0.5), (2.5, 1.5)),
        ((0, 1.5), (1.5, 0.5), (2, 2)),
    )
    degree = 7 + int(gen.integers(-2, 3))  # position on the scale, an octave above the tonic
    for bar in p.bars():
        if bar < p.intro:
            continue
        rhythm = rhythms[int(gen.integers(len(rhythms)))]
        if (bar - p.intro) % 2 == 1:
            rhythm = tuple(note for note in rhythm if note[0] < 2.5)
        for beat, length in rhythm:
            degree = int(np.clip(degree + gen.integers(-2, 3), 3, 12))
            step = p.scale[degree % 7] + 12 * (degree // 7)
            if beat % 2 == 0:  # strong beats land on the nearest chord tone
                tones = np.array([c + 12 * o for c in p.chords[bar] for o in (0, 1, 2)])
                step = int(tones[np.argmin(np.abs(tones - step))])
            n = round(length * p.beat * p.sr)
            note = p.kit.voice(_hz(p.root + 12 + step), int(gen.integers(len(_VOWELS))), n, False)
            breath = 0.03 * _noise(gen, n, 1) * p.kit.env(n, 0.03, 30.0, 0.06)
            _add(out, p.sr, p.start(bar, beat), note + breath)


def _backing_vocals(p: Plan, out: F64, gen: np.random.Generator) -> None:
    vowel = 4 if gen.random() < 0.5 else 0  # "ooh" or "aah"
    n = round(p.bar * p.sr)
    for bar in p.bars():
        if not p.chorus[bar]:
            continue
        for tone in (1, 2):
            note = p.kit.voice(_hz(p.note(bar, tone, 67)), vowel, n, True)
            _add(out, p.sr, p.start(bar), note)


INSTRUMENTS: dict[str, Callable[[Plan, F64, np.random.Generator], None]] = {
    "vocals": _vocals,
    "backing_vocals": _backing_vocals,
    "drums": _drums,
    "bass": _bass,
    "guitar": _guitar,
    "keyboard": _keyboard,
    "percussion": _percussion,
    "strings": _strings,
    "synth": _synth,
    "fx": _fx,
    "brass": _brass,
    "woodwinds": _woodwinds,
}
