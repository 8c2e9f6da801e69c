"""Real, deterministic media for the emulator: images, songs with stems, MP3/WAV/MP4 files.

Everything is derived from a seed (see :func:`seed_from`), so the same request always yields the
same bytes. A pure library: no web code.
"""

from ._audio import MP3_SAMPLE_RATES, mp3, wav
from ._image import (
    MAX_IMAGE_SIDE,
    PALETTE,
    ImageFacts,
    NamedColor,
    describe_image,
    jpeg,
    nearest_color,
    png,
    seed_color,
)
from ._probe import AudioFacts, MediaFacts, VideoFacts, decode_audio, probe
from ._seed import seed_from
from ._song import MAX_SONG_SECONDS, STEM_NAMES, Song, synth_song
from ._video import AAC_SAMPLE_RATES, MAX_VIDEO_SECONDS, MAX_VIDEO_SIDE, mp4

__all__ = [
    "AAC_SAMPLE_RATES",
    "MAX_IMAGE_SIDE",
    "MAX_SONG_SECONDS",
    "MAX_VIDEO_SECONDS",
    "MAX_VIDEO_SIDE",
    "MP3_SAMPLE_RATES",
    "PALETTE",
    "STEM_NAMES",
    "AudioFacts",
    "ImageFacts",
    "MediaFacts",
    "NamedColor",
    "Song",
    "VideoFacts",
    "decode_audio",
    "describe_image",
    "jpeg",
    "mp3",
    "mp4",
    "nearest_color",
    "png",
    "probe",
    "seed_color",
    "seed_from",
    "synth_song",
    "wav",
]
