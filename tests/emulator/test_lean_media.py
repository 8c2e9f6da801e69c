"""Lean media mode: every task's files are the same bytes, rendered once, and still valid media;
ids and URLs stay unique per task; ``full`` (the default) is unchanged."""

from __future__ import annotations

import hashlib
import io
import wave
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from anyint import AnyIntClient, RetryPolicy
from anyint.types.suno import PLACEHOLDER_CALLBACK_URL
from blocks.store import AssetStore
from emulator.__main__ import main as emulator_main
from emulator.app import EmulatorApp, create_app
from emulator.backend import Backend, Timing
from emulator.lean import MediaReuse
from emulator.media import decode_audio, probe
from emulator.server import IN_PROCESS_BASE_URL, EmulatorTransport

from .conftest import EMULATOR_KEY, NOW

CB = PLACEHOLDER_CALLBACK_URL
PIPELINES = 3


async def _no_sleep(delay: float) -> None:
    return None


def _client(app: EmulatorApp) -> AnyIntClient:
    return AnyIntClient(
        api_key=EMULATOR_KEY,
        base_url=IN_PROCESS_BASE_URL,
        transport=EmulatorTransport(app),
        retry=RetryPolicy(sleep=_no_sleep),
    )


async def _pipeline(client: AnyIntClient, i: int) -> dict[str, Any]:
    """A music-video pipeline's gateway tasks (song, stems, WAV, cover art, video) and URLs."""
    created = await client.suno.generate(
        custom_mode=True,
        instrumental=False,
        model="V5",
        title=f"Road trip {i}",
        style="pop, acoustic",
        prompt=f"[Verse]\nSong number {i} on the open road\nHeadlights {i} times",
        call_back_url=CB,
    )
    song = await client.suno.wait(created.task_id, schedule=NOW)
    track = song.tracks[0]
    task_id, audio_id = song.task_id, track.id
    assert audio_id
    made = await client.suno.vocal_removal(task_id=task_id, audio_id=audio_id, call_back_url=CB)
    stems = await client.suno.wait(made.task_id, kind="vocal-removal", schedule=NOW)
    made = await client.suno.wav_generate(task_id=task_id, audio_id=audio_id, call_back_url=CB)
    wav = await client.suno.wait(made.task_id, kind="wav", schedule=NOW)
    cover = await client.suno.wait(
        (await client.suno.generate_cover_art(task_id=song.task_id, call_back_url=CB)).task_id,
        kind="cover",
        schedule=NOW,
    )
    made = await client.suno.mp4_generate(
        task_id=task_id, audio_id=audio_id, call_back_url=CB, author=f"Ana {i}"
    )
    video = await client.suno.wait(made.task_id, kind="mp4", schedule=NOW)
    urls = {
        "song": track.audio_url,
        "image": track.image_url,
        "vocals": stems.stems["vocal"],
        "instrumental": stems.stems["instrumental"],
        "wav": wav.audio_wav_url,
        "cover": cover.images[0],
        "video": video.video_url,
    }
    ids = [song.task_id, stems.task_id, wav.task_id, cover.task_id, video.task_id]
    return {"ids": ids, "audio_ids": [t.id for t in song.tracks], "urls": urls, "track": track}


@pytest.fixture
def lean() -> EmulatorApp:
    app = create_app(media="lean")
    app.backend.timing["suno"] = Timing(after_seconds=0)  # every status reached at once
    return app


Runs = tuple[AnyIntClient, list[dict[str, Any]]]


@pytest.fixture
async def runs(lean: EmulatorApp) -> AsyncIterator[Runs]:
    client = _client(lean)
    yield client, [await _pipeline(client, i) for i in range(PIPELINES)]
    await client.aclose()


async def _bytes(app: EmulatorApp, url: str | None) -> bytes:
    assert url
    async with httpx.AsyncClient(transport=EmulatorTransport(app)) as raw:
        response = await raw.get(url)
    assert response.status_code == 200, url
    return response.content


async def test_lean_ids_and_urls_are_unique_per_task(runs: Runs) -> None:
    _, pipelines = runs
    ids = [t for p in pipelines for t in p["ids"]]
    audio_ids = [a for p in pipelines for a in p["audio_ids"]]
    urls = [u for p in pipelines for u in p["urls"].values()]
    assert len(set(ids)) == len(ids) == PIPELINES * 5
    assert len(set(audio_ids)) == len(audio_ids) == PIPELINES * 2
    assert len(set(urls)) == len(urls) == PIPELINES * 7


async def test_lean_media_are_identical_valid_and_rendered_once(
    lean: EmulatorApp, runs: Runs
) -> None:
    _, pipelines = runs
    files = {
        kind: [await _bytes(lean, p["urls"][kind]) for p in pipelines]
        for kind in pipelines[0]["urls"]
    }
    for kind, data in files.items():
        assert len({hashlib.sha256(d).digest() for d in data}) == 1, kind
    # Valid media whose reported facts match the bytes.
    duration = pipelines[0]["track"].duration
    assert all(p["track"].duration == duration for p in pipelines)
    samples, rate = decode_audio(files["song"][0])
    assert abs(len(samples) / rate - duration) < 0.1
    with wave.open(io.BytesIO(files["wav"][0])) as w:
        assert abs(w.getnframes() / w.getframerate() - duration) < 0.01
    facts = probe(files["video"][0])
    assert facts.video is not None and facts.video.codec == "h264" and facts.audio is not None
    with Image.open(io.BytesIO(files["cover"][0])) as image:
        assert image.format == "PNG" and image.size == (512, 512)
    with Image.open(io.BytesIO(files["image"][0])) as image:
        assert image.format == "JPEG"
    # One render of each recipe for every pipeline: the two tracks' images, the WAV, the two
    # covers and the video (the MP3s are cached by track spec in emulator.music.audio).
    reuse = lean.backend.reused_media
    assert (reuse.renders, reuse.reuses) == (6, (PIPELINES - 1) * 6)


async def test_lean_files_verify_in_the_store(runs: Runs, tmp_path: Path) -> None:
    client, pipelines = runs
    store = AssetStore(base_url=str(tmp_path))
    stored = []
    for i, p in enumerate(pipelines):
        for kind, url in p["urls"].items():
            assert url
            stored.append(await store.download(client, url, f"run-{i}/{kind}"))
    assert len({s.key for s in stored}) == len(stored)
    for asset in stored:
        assert store.sha256(asset.key) == asset.sha256 and asset.bytes > 0


async def test_full_mode_keeps_media_per_request() -> None:
    app = create_app()
    app.backend.timing["suno"] = Timing(after_seconds=0)
    assert app.backend.media == "full" and not app.backend.lean
    client = _client(app)
    first, second = [await _pipeline(client, i) for i in range(2)]
    await client.aclose()
    for kind in ("song", "cover", "video"):
        assert await _bytes(app, first["urls"][kind]) != await _bytes(app, second["urls"][kind])
    assert app.backend.reused_media.renders == 0


def test_media_reuse_renders_each_recipe_once() -> None:
    reuse, made = MediaReuse(), []

    def make(n: int, *, text: str | None = None) -> bytes:
        made.append((n, text))
        return f"{n}:{text}".encode()

    assert reuse.render(make, 1, text="a") == reuse.render(make, 1, text="a") == b"1:a"
    assert reuse.render(make, 2) == b"2:None"
    assert made == [(1, "a"), (2, None)] and (reuse.renders, reuse.reuses) == (2, 1)
    reuse.clear()
    reuse.render(make, 1, text="a")
    assert len(made) == 3


def test_bad_media_mode_is_refused_naming_the_choices() -> None:
    with pytest.raises(ValueError, match=r"media must be one of \['full', 'lean'\]"):
        Backend(media="thin")
    with pytest.raises(ValueError, match="give media to the Backend"):
        create_app(Backend(), media="lean")
    with pytest.raises(SystemExit):
        emulator_main(["--media", "thin"])
