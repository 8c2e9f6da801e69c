"""Real, deterministic media for the emulator: images, songs with stems, MP3/WAV/MP4 files.

Everything is derived from a seed (see :func:`seed_from`), so the same request always yields the
same bytes. A pure library: no web code.

Budget per synthesized file (CPU time on one core of the development machine, best of three,
measured with ``time.process_time``; sizes of the file):

========================================  ==============  ==========
File                                      CPU             Size
========================================  ==============  ==========
PNG 512x512 (Gemini) / 1328x1328          10 ms / 50 ms   4 / 11 KiB
PNG 4096x4096 (largest allowed)           0.55 s          60 KiB
song of 7.5 s, twelve stems (Suno track)  0.27 s          in memory
MP3 of that song (128 kbit/s)             0.25 s          120 KiB
WAV of that song (16-bit)                 1 ms            650 KiB
MP4 320x180, 5 s, 12 fps (video default)  0.13 s          25 KiB
MP4 1920x1080, 5 s, 4 fps (largest size)  0.45 s          120 KiB
MP4 320x180, 60 s (longest clip)          1.5 s           260 KiB
========================================  ==============  ==========

Time grows linearly with duration (a 60 s song takes about 1.3 s). The routes keep to the cheap
rows: outputs are small frames and short songs unless a request names a size, and each task's
file is rendered once and then served from memory.
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
