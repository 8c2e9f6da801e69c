"""The emulator's media library: real files, checked by decoding them, and byte determinism."""

from __future__ import annotations

import io
import math
import re

import numpy as np
import pytest
from PIL import Image

from emulator.media import (
    PALETTE,
    STEM_NAMES,
    decode_audio,
    describe_image,
    jpeg,
    mp3,
    mp4,
    nearest_color,
    png,
    probe,
    seed_color,
    seed_from,
    synth_song,
    wav,
)

SR = 44100
MP3_FRAME = 1152  # samples per MPEG-1 Layer III frame


def _rms(x: np.ndarray) -> float:
    return math.sqrt(float(np.mean(np.square(x, dtype=np.float64))))


def _encode(img: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **params)
    return buf.getvalue()


@pytest.fixture(scope="module")
def song():
    return synth_song(seed=7, duration=8.0)


# --- seeds ----------------------------------------------------------------------------------------


def test_seed_from_is_stable_canonical_and_64_bit() -> None:
    # A pinned value: the emulator's assets must not change when Python or the machine does.
    assert seed_from("suno", {"prompt": "a song", "n": 1}) == 12192706348154699449
    assert seed_from({"a": 1, "b": [1, 2]}) == seed_from({"b": [1, 2], "a": 1})
    assert seed_from("a", "b") != seed_from("ab") != seed_from("b", "a")
    assert all(0 <= seed_from(i) < 2**64 for i in range(50))


def test_seed_from_rejects_what_json_cannot_say() -> None:
    with pytest.raises(TypeError):
        seed_from(object())
    with pytest.raises(ValueError):
        seed_from(float("nan"))


# --- images ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(512, 512), (64, 48), (1, 1), (3, 701)])
def test_png_is_a_real_png_of_the_requested_size(size: tuple[int, int]) -> None:
    with Image.open(io.BytesIO(png(*size, seed=1, text="a lighthouse at dusk"))) as img:
        assert (img.format, img.size, img.mode) == ("PNG", size, "RGB")
        img.load()


@pytest.mark.parametrize("seed", range(8))
def test_png_and_jpeg_dominant_colour_is_the_seed_colour(seed: int) -> None:
    expected = seed_color(seed)
    facts = describe_image(png(320, 200, seed=seed, text="caption"))
    assert facts.color_name == expected.name
    assert facts.dominant_color == expected.rgb  # the background is one flat colour
    assert facts.dominant_fraction > 0.5
    assert describe_image(jpeg(320, 200, seed=seed)).color_name == expected.name


def test_images_are_deterministic() -> None:
    assert png(256, 128, seed=3, text="hi") == png(256, 128, seed=3, text="hi")
    assert jpeg(256, 128, seed=3) == jpeg(256, 128, seed=3)
    assert png(256, 128, seed=3) != png(256, 128, seed=4)
    assert png(256, 128, seed=3) != png(256, 128, seed=3, text="hi")
    assert jpeg(256, 128, seed=3) != jpeg(256, 128, seed=4)


@pytest.mark.parametrize("size", [(0, 10), (10, 0), (4097, 10)])
def test_image_size_out_of_range_is_refused(size: tuple[int, int]) -> None:
    with pytest.raises(ValueError, match="must be between"):
        png(*size, seed=1)


def test_describe_solid_red_png() -> None:
    facts = describe_image(_encode(Image.new("RGB", (64, 48), (255, 0, 0)), "PNG"))
    assert (facts.format, facts.width, facts.height, facts.mode) == ("PNG", 64, 48, "RGB")
    assert facts.dominant_color == (255, 0, 0)
    assert facts.color_name == "red"
    assert facts.dominant_fraction == 1.0
    times = "\N{MULTIPLICATION SIGN}"
    assert facts.sentence() == f"A PNG image, 64{times}48 pixels, mostly red (#ff0000)."


def test_describe_mostly_blue_with_noise() -> None:
    gen = np.random.default_rng(0)
    pixels = np.clip(np.array([20, 40, 230]) + gen.integers(-3, 4, (300, 400, 3)), 0, 255)
    speckled = gen.random((300, 400)) < 0.15  # 15% of the pixels any colour at all
    pixels[speckled] = gen.integers(0, 256, (int(speckled.sum()), 3))
    facts = describe_image(_encode(Image.fromarray(pixels.astype(np.uint8)), "PNG"))
    assert facts.color_name == "blue"
    assert np.abs(np.array(facts.dominant_color) - [20, 40, 230]).max() <= 8


def test_describe_jpeg_gif_and_webp() -> None:
    green = Image.new("RGB", (90, 60), (30, 160, 60))
    jpg = describe_image(_encode(green, "JPEG", quality=85))
    assert (jpg.format, jpg.width, jpg.height, jpg.color_name) == ("JPEG", 90, 60, "green")
    gif = describe_image(_encode(Image.new("RGB", (20, 30), (250, 220, 30)), "GIF"))
    assert (gif.format, gif.mode, gif.color_name) == ("GIF", "P", "yellow")
    webp = describe_image(_encode(Image.new("RGB", (40, 40), (240, 130, 20)), "WEBP"))
    assert (webp.format, webp.color_name) == ("WEBP", "orange")


def test_describe_ignores_transparent_pixels() -> None:
    img = Image.new("RGBA", (100, 100), (255, 255, 255, 0))  # mostly fully transparent white
    img.paste((120, 40, 170, 255), (40, 40, 60, 60))
    facts = describe_image(_encode(img, "PNG"))
    assert (facts.mode, facts.color_name) == ("RGBA", "purple")
    assert facts.dominant_color == (120, 40, 170)


def test_describe_large_image_is_subsampled_but_reports_the_real_size() -> None:
    img = Image.new("RGB", (4096, 4096), (128, 128, 128))
    img.paste((255, 0, 0), (0, 0, 4096, 1000))
    for fmt in ("PNG", "JPEG"):
        facts = describe_image(_encode(img, fmt))
        assert (facts.width, facts.height, facts.color_name) == (4096, 4096, "gray")


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"definitely not an image",
        png(32, 32, seed=1)[:60],  # truncated
        _encode(Image.new("RGB", (8, 8)), "BMP"),  # decodable, but not a format we describe
    ],
)
def test_describe_garbage_raises_value_error(data: bytes) -> None:
    with pytest.raises(ValueError, match="not a decodable image"):
        describe_image(data)


@pytest.mark.parametrize(
    ("rgb", "name"),
    [
        ((255, 0, 0), "red"),
        ((128, 0, 0), "red"),
        ((0, 128, 0), "green"),
        ((0, 0, 128), "blue"),
        ((0, 0, 255), "blue"),
        ((255, 255, 0), "yellow"),
        ((255, 165, 0), "orange"),
        ((128, 0, 128), "purple"),
        ((255, 192, 203), "pink"),
        ((139, 69, 19), "brown"),
        ((0, 0, 0), "black"),
        ((255, 255, 255), "white"),
        ((192, 192, 192), "gray"),
        ((0, 128, 128), "cyan"),
    ],
)
def test_nearest_color_names_common_colours(rgb: tuple[int, int, int], name: str) -> None:
    assert nearest_color(rgb).name == name


def test_palette_names_are_their_own_nearest() -> None:
    assert set(PALETTE) == {
        *("red", "green", "blue", "yellow", "orange", "purple"),
        *("pink", "brown", "black", "white", "gray", "cyan"),
    }
    assert all(nearest_color(rgb).name == name for name, rgb in PALETTE.items())


# --- songs ----------------------------------------------------------------------------------------


def test_song_has_the_twelve_stems_on_one_timeline(song) -> None:
    assert tuple(song.stems) == STEM_NAMES
    assert len(STEM_NAMES) == 12
    for stem in (*song.stems.values(), song.mix):
        assert stem.dtype == np.float32 and stem.shape == (8 * SR,)
    assert song.duration == 8.0
    assert not song.instrumental and song.vocals.any()
    assert 0.5 < float(np.abs(song.mix).max()) < 1.0  # loud, and never clipping


def test_mix_is_exactly_the_sum_of_the_stems(song) -> None:
    total = np.zeros_like(song.mix)
    for stem in song.stems.values():
        total += stem
    assert np.array_equal(total, song.mix)
    # Exact in any order: every sample sits on the 16-bit grid, so float32 sums do not round.
    assert np.array_equal(np.sum(list(song.stems.values())[::-1], axis=0), song.mix)
    others = [s for name, s in song.stems.items() if name != "vocals"]
    assert np.array_equal(np.sum(others, axis=0), song.instrumental_mix)


def test_instrumental_song_has_silent_voice() -> None:
    song = synth_song(seed=7, duration=8.0, instrumental=True)
    assert song.instrumental
    assert not song.vocals.any() and not song.backing_vocals.any()
    assert np.array_equal(song.instrumental_mix, song.mix)
    assert _rms(song.mix) > 0.05


def test_songs_are_deterministic_and_seeded(song) -> None:
    again = synth_song(seed=7, duration=8.0)
    assert all(np.array_equal(stem, again.stems[name]) for name, stem in song.stems.items())
    other = synth_song(seed=8, duration=8.0)
    assert not np.array_equal(song.mix, other.mix)
    # Across seeds some optional stems stay silent, as in real separations.
    silent = {n for s in (song, other) for n, stem in s.stems.items() if not stem.any()}
    assert silent and not silent & {"drums", "bass"}


@pytest.mark.parametrize("duration", [0.0, -1.0, float("nan"), 481.0])
def test_song_duration_out_of_range_is_refused(duration: float) -> None:
    with pytest.raises(ValueError, match="duration"):
        synth_song(seed=1, duration=duration)


def test_short_odd_length_song() -> None:
    song = synth_song(seed=3, duration=0.3, sample_rate=22050)
    assert song.mix.shape == (round(0.3 * 22050),)
    assert song.sample_rate == 22050


# --- MP3 and WAV ----------------------------------------------------------------------------------


def test_mp3_decodes_to_the_requested_duration_with_real_content(song) -> None:
    data = mp3(song.mix, SR)
    facts = probe(data)
    assert facts.format == "mp3" and facts.video is None
    assert facts.audio is not None
    assert (facts.audio.codec, facts.audio.sample_rate, facts.audio.channels) == ("mp3", SR, 1)
    decoded, rate = decode_audio(data)
    assert rate == SR
    # Tolerance: one MP3 frame. FFmpeg trims LAME's encoder delay (576 + 529 samples) and the
    # final frame's padding using the LAME/Info header, so in practice the length is exact; one
    # frame leaves room for a decoder that only honours the delay.
    assert abs(len(decoded) - len(song.mix)) <= MP3_FRAME
    assert abs(facts.duration - 8.0) <= MP3_FRAME / SR
    n = min(len(decoded), len(song.mix))
    assert _rms(decoded) > 0.05
    assert np.corrcoef(decoded[:n], song.mix[:n])[0, 1] > 0.95  # the same music, not noise


def test_mp3_stereo_and_other_rates() -> None:
    t = np.arange(22050) / 22050
    stereo = np.stack([0.5 * np.sin(2 * np.pi * 440 * t), 0.5 * np.sin(2 * np.pi * 660 * t)], 1)
    facts = probe(mp3(stereo, 22050, bitrate=64_000))
    assert facts.audio is not None
    assert (facts.audio.sample_rate, facts.audio.channels) == (22050, 2)
    assert abs(facts.duration - 1.0) <= MP3_FRAME / 22050


def test_stems_still_sum_to_the_mix_after_mp3(song) -> None:
    # At 320 kbit/s the decoded stems' sum is measured ~0.007 x the mix RMS away from the decoded
    # mix (independent coding noise adding up), while leaving out any one stem of our songs
    # costs >= 0.09. 0.03 (-30 dB) sits between: 4x the codec's noise, a third of a missing stem.
    decoded_mix, _ = decode_audio(mp3(song.mix, SR, bitrate=320_000))
    total = np.zeros_like(decoded_mix)
    for stem in song.stems.values():
        if stem.any():
            total += decode_audio(mp3(stem, SR, bitrate=320_000))[0]
    assert _rms(total - decoded_mix) < 0.03 * _rms(decoded_mix)


def test_wav_round_trips_within_16_bit_quantisation() -> None:
    gen = np.random.default_rng(1)
    noise = gen.uniform(-1, 1, 5000).astype(np.float32)
    decoded, rate = decode_audio(wav(noise, 16000))
    assert rate == 16000 and decoded.shape == noise.shape
    assert np.abs(decoded - noise).max() <= 0.5 / 32768 + 1e-9


def test_wav_of_a_song_is_lossless(song) -> None:
    data = wav(song.mix, SR)
    decoded, _ = decode_audio(data)
    assert np.array_equal(decoded, song.mix)
    facts = probe(data)
    assert facts.format == "wav" and facts.duration == 8.0
    assert facts.audio is not None and facts.audio.codec == "pcm_s16le"


def test_wav_stereo_decodes_to_the_channel_mean() -> None:
    left = np.full(100, 0.5, np.float32)
    right = np.full(100, -0.25, np.float32)
    decoded, _ = decode_audio(wav(np.stack([left, right], 1), 8000))
    assert np.allclose(decoded, 0.125)
    facts = probe(wav(np.stack([left, right], 1), 8000))
    assert facts.audio is not None and facts.audio.channels == 2


def test_audio_encoders_are_deterministic(song) -> None:
    assert mp3(song.mix, SR) == mp3(song.mix, SR)
    assert wav(song.mix, SR) == wav(song.mix, SR)
    other = synth_song(seed=8, duration=8.0)
    assert mp3(other.mix, SR) != mp3(song.mix, SR)
    # Bitexact muxing: the LAME tag says "Lavf" without FFmpeg's version number.
    assert re.search(rb"Lavf\d", mp3(song.mix, SR)) is None


@pytest.mark.parametrize(
    ("samples", "rate", "message"),
    [
        (np.zeros(10, np.float32), 44000, "sample_rate"),
        (np.zeros(10, np.int16), SR, "floating point"),
        (np.zeros((10, 3), np.float32), SR, "channels"),
        (np.zeros(0, np.float32), SR, "empty"),
        (np.array([0.0, np.nan]), SR, "NaN"),
    ],
)
def test_mp3_refuses_bad_input(samples: np.ndarray, rate: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        mp3(samples, rate)


# --- MP4 ------------------------------------------------------------------------------------------


def test_mp4_is_h264_at_the_requested_size_and_duration() -> None:
    data = mp4(seed=5, width=320, height=180, duration=5.0, text="A cat surfing")
    facts = probe(data)
    assert "mp4" in facts.format.split(",")
    assert facts.audio is None and facts.video is not None
    video = facts.video
    assert (video.codec, video.width, video.height, video.pix_fmt) == ("h264", 320, 180, "yuv420p")
    assert video.fps == 12.0 and video.frames == 60
    assert abs(facts.duration - 5.0) <= 1 / 12
    assert video.duration is not None and abs(video.duration - 5.0) <= 1 / 12
    assert re.search(rb"Lavf\d", data) is None  # bitexact: no muxer version string


def test_mp4_duration_rounds_to_whole_frames() -> None:
    facts = probe(mp4(seed=5, width=64, height=64, duration=2.3, fps=10))
    assert facts.video is not None and facts.video.frames == 23
    assert abs(facts.duration - 2.3) <= 1 / 10


def test_mp4_frames_show_the_seed_colour() -> None:
    import av

    data = mp4(seed=9, width=160, height=90, duration=1.0)
    with av.open(io.BytesIO(data)) as container:
        first = next(container.decode(video=0)).to_image()
    assert describe_image(_encode(first, "PNG")).color_name == seed_color(9).name


def test_mp4_with_audio_has_an_aac_track_of_the_same_duration(song) -> None:
    data = mp4(seed=5, width=320, height=180, duration=5.0, audio=song.mix, sample_rate=SR)
    facts = probe(data)
    assert facts.video is not None and facts.audio is not None
    assert (facts.audio.codec, facts.audio.sample_rate, facts.audio.channels) == ("aac", SR, 1)
    assert facts.video.duration is not None and facts.audio.duration is not None
    # The 8 s song is cut to the video's 5 s; AAC works in 1024-sample frames, and the MP4 edit
    # list hides the encoder priming, so the two tracks agree to within one AAC frame.
    assert abs(facts.audio.duration - facts.video.duration) <= 1024 / SR
    decoded, rate = decode_audio(data)
    assert rate == SR and abs(len(decoded) - 5 * SR) <= 1024
    n = min(len(decoded), 5 * SR)
    assert np.corrcoef(decoded[:n], song.mix[:n])[0, 1] > 0.9


def test_mp4_pads_short_audio_with_silence() -> None:
    tone = (0.3 * np.sin(np.arange(SR) * 0.05)).astype(np.float32)  # 1 s
    facts = probe(mp4(seed=1, width=64, height=36, duration=3.0, audio=tone))
    assert facts.audio is not None and facts.audio.duration is not None
    assert abs(facts.audio.duration - 3.0) <= 1024 / SR


def test_mp4_is_deterministic(song) -> None:
    args = {"seed": 5, "width": 160, "height": 90, "duration": 2.0, "text": "hello"}
    first = mp4(**args, audio=song.mix)
    assert mp4(**args, audio=song.mix) == first
    assert mp4(**{**args, "seed": 6}, audio=song.mix) != first
    assert mp4(**{**args, "text": "bye"}, audio=song.mix) != first
    assert mp4(**args) == mp4(**args)


def test_mp4_is_deterministic_whatever_the_heap_holds() -> None:
    # x264's AVX-512 code let leftover heap contents leak into the bitstream (the same call gave
    # up to five different files in eight tries when junk was left between calls); the encoder
    # is pinned to AVX2 for that. Leave junk of varying sizes around and check it stays one file.
    junk: list[bytearray] = []
    outputs = set()
    for size in (1_000, 70_001, 333_333, 5_555, 190_000, 42):
        junk.append(bytearray(b"\xa5" * size))
        outputs.add(mp4(seed=6, width=96, height=64, duration=4.0))
    assert len(outputs) == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"width": 321}, "even"),
        ({"height": 181}, "even"),
        ({"width": 0}, "even"),
        ({"duration": 0.0}, "duration"),
        ({"fps": 0}, "fps"),
        ({"audio": np.zeros(10, np.float32), "sample_rate": 1234}, "sample_rate"),
    ],
)
def test_mp4_refuses_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"seed": 1, "width": 320, "height": 180, "duration": 1.0}
    with pytest.raises(ValueError, match=message):
        mp4(**{**args, **kwargs})


# --- reading --------------------------------------------------------------------------------------


def test_probe_and_decode_refuse_garbage() -> None:
    with pytest.raises(ValueError, match="not decodable media"):
        probe(b"\x00garbage" * 10)
    with pytest.raises(ValueError, match="not decodable audio"):
        decode_audio(b"\x00garbage" * 10)
    with pytest.raises(ValueError, match="no audio stream"):
        decode_audio(mp4(seed=1, width=32, height=32, duration=0.5))
