"""AI Music emulator: follow-up routes on a finished song and every follow-up rule (§16.1.6)."""

from __future__ import annotations

import io
import wave
from typing import Any

import httpx
import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image

import anyint
from anyint import AnyIntClient
from anyint.types.suno import PLACEHOLDER_CALLBACK_URL, MusicTask
from emulator.app import EmulatorApp
from emulator.media import STEM_NAMES, decode_audio, probe

from .conftest import AUTH, NOW

CB = PLACEHOLDER_CALLBACK_URL
LYRICS = (
    "[Verse]\nThe city fades behind us\nHeadlights on the open road\n\n"
    "[Chorus]\nWe keep driving toward the light\nNever looking back tonight"
)
# The client's stem keys: the twelve stems, with Suno's "vocal" for the lead vocals.
STEM_FIELDS = tuple("vocal" if name == "vocals" else name for name in STEM_NAMES)


async def song(
    client: AnyIntClient, raw: httpx.AsyncClient, *, instrumental: bool = False, model: str = "V5"
) -> MusicTask:
    """A finished custom-mode song (every status is reached at once)."""
    await raw.post("/_emulator/timing", json={"family": "suno", "after_seconds": 0})
    created = await client.suno.generate(
        custom_mode=True,
        instrumental=instrumental,
        model=model,
        title="Summer Breeze",
        style="pop, acoustic, warm vocals",
        prompt=None if instrumental else LYRICS,
        call_back_url=CB,
    )
    return await client.suno.wait(created.task_id, schedule=NOW)


async def audio_of(raw: httpx.AsyncClient, url: str | None) -> NDArray[np.float32]:
    assert url
    response = await raw.get(url)
    assert response.status_code == 200
    return decode_audio(response.content)[0]


def close(a: NDArray[np.float32], b: NDArray[np.float32], tolerance: float = 0.25) -> bool:
    """Equal within MP3 error.

    A 96 kbps MP3 of these songs is off by about 13 % RMS, and so is a sum of decoded stems;
    an unrelated track is off by well over 100 %.
    """
    assert len(a) == len(b)
    rms = float(np.sqrt(np.mean(b.astype(np.float64) ** 2))) or 1.0
    return float(np.sqrt(np.mean((a - b).astype(np.float64) ** 2))) < tolerance * rms


async def post(raw: httpx.AsyncClient, route: str, body: dict[str, Any]) -> httpx.Response:
    return await raw.post(f"/suno/{route}", json=body, headers=AUTH)


async def test_vocal_removal_stems_sum_back_to_the_track(
    client: AnyIntClient, raw: httpx.AsyncClient
) -> None:
    task = await song(client, raw)
    track = task.tracks[0]
    created = await client.suno.vocal_removal(
        task_id=task.task_id, audio_id=track.id, call_back_url=CB
    )
    stems = await client.suno.wait(created.task_id, kind="vocal-removal", schedule=NOW)
    assert set(stems.stems) == {"origin", "vocal", "instrumental"}
    assert stems.music_id == track.id and stems.music_index == 0
    assert stems.success_flag == "SUCCESS" and stems.raw_status is None
    mix = await audio_of(raw, track.audio_url)
    vocal = await audio_of(raw, stems.stems["vocal"])
    backing = await audio_of(raw, stems.stems["instrumental"])
    assert np.abs(vocal).max() > 0.05
    assert close(vocal + backing, mix)
    assert np.array_equal(await audio_of(raw, stems.stems["origin"]), mix)


@pytest.mark.parametrize("route", ["split-stem", "vocal-removal"])
async def test_split_stem_fills_twelve_stems_that_sum_to_the_track(
    client: AnyIntClient, raw: httpx.AsyncClient, route: str
) -> None:
    task = await song(client, raw)
    track = task.tracks[1]
    body = {"taskId": task.task_id, "audioId": track.id, "callBackUrl": CB, "type": "split_stem"}
    created = await post(raw, route, body)
    stems = await client.suno.wait(
        created.json()["data"]["taskId"], kind="vocal-removal", schedule=NOW
    )
    assert set(stems.stems) == {"origin", *STEM_FIELDS}
    assert stems.response is not None and stems.response.instrumental_url is None
    if route == "split-stem":
        total = sum([await audio_of(raw, stems.stems[name]) for name in STEM_FIELDS])
        assert close(total, await audio_of(raw, track.audio_url))


async def test_instrumental_song_has_silent_vocals_and_no_words(
    client: AnyIntClient, raw: httpx.AsyncClient
) -> None:
    task = await song(client, raw, instrumental=True)
    track = task.tracks[0]
    assert track.prompt == ""
    created = await client.suno.vocal_removal(
        task_id=task.task_id, audio_id=track.id, call_back_url=CB
    )
    stems = await client.suno.wait(created.task_id, kind="vocal-removal", schedule=NOW)
    assert np.abs(await audio_of(raw, stems.stems["vocal"])).max() < 1e-3
    words = await client.suno.timestamped_lyrics(task_id=task.task_id, audio_id=track.id)
    assert words.aligned_words == [] and len(words.waveform_data) > 10


async def test_timestamped_lyrics_follow_the_track(
    client: AnyIntClient, raw: httpx.AsyncClient
) -> None:
    task = await song(client, raw)
    track = task.tracks[0]
    assert track.duration
    result = await client.suno.timestamped_lyrics(task_id=task.task_id, audio_id=track.id)
    words = result.aligned_words
    sung = LYRICS.replace("[Verse]", "").replace("[Chorus]", "").split()
    assert [w.word.split("\n")[-1] for w in words] == sung
    assert words[0].word == "[Verse]\nThe"
    assert words[sung.index("We")].word == "[Chorus]\nWe"
    starts = [w.start_s or 0.0 for w in words]
    assert starts == sorted(starts) and starts[0] > 0
    assert all((w.start_s or 0) <= (w.end_s or 0) <= track.duration for w in words)
    assert max(result.waveform_data) == 1.0


async def test_wav_export_and_the_409_for_a_second_one(
    client: AnyIntClient, raw: httpx.AsyncClient
) -> None:
    task = await song(client, raw)
    first, second = task.tracks
    created = await client.suno.wav_generate(
        task_id=task.task_id, audio_id=first.id, call_back_url=CB
    )
    record = await client.suno.wait(created.task_id, kind="wav", schedule=NOW)
    assert record.music_id == first.id and record.audio_wav_url
    data = (await raw.get(record.audio_wav_url)).content
    with wave.open(io.BytesIO(data)) as wav:
        assert wav.getsampwidth() == 2
        assert abs(wav.getnframes() / wav.getframerate() - (first.duration or 0)) < 0.01
    assert close(decode_audio(data)[0], await audio_of(raw, first.audio_url))

    with pytest.raises(anyint.ConflictError) as info:
        await client.suno.wav_generate(task_id=task.task_id, audio_id=first.id, call_back_url=CB)
    assert info.value.status_code == 409 and info.value.body["data"]["taskId"] == created.task_id
    other = await client.suno.wav_generate(
        task_id=task.task_id, audio_id=second.id, call_back_url=CB
    )
    assert other.task_id != created.task_id


async def test_music_video_has_h264_video_and_the_song_as_audio(
    client: AnyIntClient, raw: httpx.AsyncClient
) -> None:
    task = await song(client, raw)
    track = task.tracks[0]
    created = await client.suno.mp4_generate(
        task_id=task.task_id, audio_id=track.id, call_back_url=CB, author="Ana", domain_name="x.io"
    )
    record = await client.suno.wait(created.task_id, kind="mp4", schedule=NOW)
    assert record.video_url and record.music_index == 0
    data = (await raw.get(record.video_url)).content
    facts = probe(data)
    assert facts.video is not None and facts.audio is not None
    assert (facts.video.codec, facts.video.width, facts.video.height) == ("h264", 320, 180)
    assert 8 <= facts.video.fps <= 12 and facts.audio.codec == "aac"
    assert abs(facts.duration - (track.duration or 0)) < 0.2
    assert len(data) < 1_000_000


async def test_cover_art_once_per_task(client: AnyIntClient, raw: httpx.AsyncClient) -> None:
    task = await song(client, raw)
    created = await client.suno.generate_cover_art(task_id=task.task_id, call_back_url=CB)
    cover = await client.suno.wait(created.task_id, kind="cover", schedule=NOW)
    assert len(cover.images) == 2
    for url in cover.images:
        image = Image.open(io.BytesIO((await raw.get(url)).content))
        assert image.format == "PNG" and image.size == (512, 512)
    again = await post(raw, "generate-cover", {"taskId": task.task_id, "callBackUrl": CB})
    assert again.status_code == 400
    assert again.json()["data"] == {"taskId": created.task_id}
    assert created.task_id in again.json()["msg"]


async def test_persona_once_per_track_and_reusable(
    client: AnyIntClient, raw: httpx.AsyncClient
) -> None:
    task = await song(client, raw)
    track = task.tracks[0]
    persona = await client.suno.generate_persona(
        task_id=task.task_id, audio_id=track.id, name="Ana", description="warm alto"
    )
    assert persona.persona_id and persona.name == "Ana"
    again = await post(
        raw,
        "generate-persona",
        {"taskId": task.task_id, "audioId": track.id, "name": "B", "description": "d"},
    )
    assert again.status_code == 400 and again.json()["data"] == {"personaId": persona.persona_id}
    base = {"customMode": True, "instrumental": True, "model": "V5", "style": "pop", "title": "T"}
    used = await post(raw, "generate", base | {"personaId": persona.persona_id, "callBackUrl": CB})
    assert used.status_code == 200
    unknown = await post(raw, "generate", base | {"personaId": "p-nope", "callBackUrl": CB})
    assert unknown.status_code == 400 and "personaId" in unknown.json()["msg"]


async def test_extend_keeps_the_source_up_to_continue_at(
    client: AnyIntClient, raw: httpx.AsyncClient
) -> None:
    task = await song(client, raw)
    source = task.tracks[0]
    created = await client.suno.extend(
        default_param_flag=True,
        audio_id=source.id,
        continue_at=3.0,
        prompt="[Verse]\nOn and on",
        style="pop",
        title="Summer Breeze II",
        model="V5",
        call_back_url=CB,
    )
    extended = await client.suno.wait(created.task_id, schedule=NOW)
    assert extended.operation_type == "extend" and extended.parent_music_id == source.id
    new = extended.tracks[0]
    assert new.duration and new.duration > 3.0 + 5.0
    head = (await audio_of(raw, new.audio_url))[: 3 * 32000 - 2000]
    assert close(head, (await audio_of(raw, source.audio_url))[: len(head)])

    mismatch = await post(
        raw,
        "extend",
        {"defaultParamFlag": False, "audioId": source.id, "model": "V4", "callBackUrl": CB},
    )
    assert mismatch.status_code == 400 and "does not match" in mismatch.json()["msg"]
    late = await post(
        raw,
        "extend",
        {"defaultParamFlag": True, "audioId": source.id, "model": "V5", "callBackUrl": CB}
        | {"continueAt": 99.0, "prompt": "p", "style": "s", "title": "t"},
    )
    assert late.status_code == 400 and "continueAt" in late.json()["msg"]


async def test_replace_section_keeps_the_rest_of_the_track(
    client: AnyIntClient, raw: httpx.AsyncClient
) -> None:
    task = await song(client, raw)
    source = task.tracks[1]
    assert source.duration
    created = await client.suno.replace_section(
        task_id=task.task_id,
        audio_id=source.id,
        prompt="[Verse]\nNew words",
        tags="pop",
        title="Summer Breeze (edit)",
        infill_start_s=0.0,
        infill_end_s=6.0,
        call_back_url=CB,
    )
    edited = await client.suno.wait(created.task_id, schedule=NOW)
    new = edited.tracks[0]
    assert new.duration == source.duration and edited.operation_type == "replace_section"
    before, after = await audio_of(raw, source.audio_url), await audio_of(raw, new.audio_url)
    assert not close(after[: 6 * 32000], before[: 6 * 32000])
    body = {"taskId": task.task_id, "audioId": source.id, "prompt": "p", "tags": "t", "title": "t"}
    late = await post(raw, "replace-section", body | {"infillStartS": 2.0, "infillEndS": 9.0})
    assert late.status_code == 400 and "past the end" in late.json()["msg"]
    short = await post(raw, "replace-section", body | {"infillStartS": 0.0, "infillEndS": 5.0})
    assert short.status_code == 400 and "6-60" in short.json()["msg"]


async def test_upload_routes_take_only_emulator_audio(
    client: AnyIntClient, raw: httpx.AsyncClient
) -> None:
    task = await song(client, raw)
    upload = task.tracks[0].audio_url or ""
    simple = {"customMode": False, "instrumental": False, "model": "V5", "prompt": "cover it"}
    overlay = {"title": "T", "negativeTags": "metal", "callBackUrl": CB, "uploadUrl": upload}
    bodies = {
        "upload-cover": simple | {"uploadUrl": upload, "callBackUrl": CB},
        "upload-extend": {"defaultParamFlag": False, "model": "V5", "uploadUrl": upload}
        | {"callBackUrl": CB},
        "add-vocals": overlay | {"prompt": "[Verse]\nla la", "style": "pop"},
        "add-instrumental": overlay | {"tags": "rock"},
    }
    response = await post(raw, "upload-cover", bodies["upload-cover"])
    finished = await client.suno.wait(response.json()["data"]["taskId"], schedule=NOW)
    assert finished.operation_type == "upload_cover" and len(finished.tracks) == 2
    # The other routes share the song machinery: check their records before any audio exists.
    await raw.post("/_emulator/timing", json={"family": "suno", "after_polls": 1})
    for route in ("upload-extend", "add-vocals", "add-instrumental"):
        response = await post(raw, route, bodies[route])
        assert response.status_code == 200, response.text
        record = await client.suno.get_music_task(response.json()["data"]["taskId"])
        assert record.status == "TEXT_SUCCESS" and len(record.tracks) == 2
        assert record.operation_type == route.replace("-", "_")

    external = await post(
        raw, "upload-cover", bodies["upload-cover"] | {"uploadUrl": "https://cdn.example.com/a.mp3"}
    )
    assert external.status_code == 400 and "external URLs" in external.json()["msg"]
    image = await post(
        raw, "add-vocals", bodies["add-vocals"] | {"uploadUrl": task.tracks[0].image_url}
    )
    assert image.status_code == 400 and "not audio" in image.json()["msg"]


async def test_followup_rules(
    client: AnyIntClient, raw: httpx.AsyncClient, app: EmulatorApp
) -> None:
    task = await song(client, raw)
    audio_id = task.tracks[0].id or ""
    lyrics = await client.suno.generate_lyrics(prompt="rain", call_back_url=CB)
    fault = {"match": "POST /suno/generate", "fault": "task_failed"}
    await raw.post("/_emulator/faults", json=fault)
    failed = await client.suno.generate(
        custom_mode=True, instrumental=True, model="V5", style="s", title="t", call_back_url=CB
    )
    failed_audio = app.backend.tasks[failed.task_id].data["tracks"][0].id
    cases = [
        ({"taskId": "nope", "audioId": audio_id}, "was not found"),
        ({"taskId": lyrics.task_id, "audioId": audio_id}, "is a lyrics task"),
        ({"taskId": failed.task_id, "audioId": failed_audio}, "is GENERATE_AUDIO_FAILED"),
        ({"taskId": task.task_id, "audioId": "other"}, "does not belong"),
        ({"taskId": task.task_id, "audioId": failed_audio}, "does not belong"),
    ]
    before = len(app.backend.tasks)
    for body, needle in cases:
        for route in ("vocal-removal", "split-stem", "wav-generate", "mp4-generate"):
            response = await post(raw, route, body | {"callBackUrl": CB})
            assert response.status_code == 400, route
            assert needle in response.json()["msg"], route
        persona = await post(raw, "generate-persona", body | {"name": "n", "description": "d"})
        words = await post(raw, "timestamped-lyrics", body)
        section = await post(
            raw,
            "replace-section",
            body | {"prompt": "p", "tags": "t", "title": "t", "infillStartS": 0, "infillEndS": 6},
        )
        assert persona.status_code == words.status_code == section.status_code == 400
    cover = await post(raw, "generate-cover", {"taskId": failed.task_id, "callBackUrl": CB})
    assert cover.status_code == 400 and "must be SUCCESS" in cover.json()["msg"]
    extend = {"defaultParamFlag": False, "model": "V5", "callBackUrl": CB}
    for audio, needle in ((failed_audio, "must be SUCCESS"), ("nope", "was not found")):
        response = await post(raw, "extend", extend | {"audioId": audio})
        assert response.status_code == 400 and needle in response.json()["msg"]
    assert len(app.backend.tasks) == before  # a rejected call creates nothing


async def test_followups_wait_for_the_parent(
    client: AnyIntClient, raw: httpx.AsyncClient, app: EmulatorApp
) -> None:
    await raw.post("/_emulator/timing", json={"family": "suno", "after_polls": 50})
    pending = await client.suno.generate(
        custom_mode=True, instrumental=True, model="V5", style="s", title="t", call_back_url=CB
    )
    audio_id = app.backend.tasks[pending.task_id].data["tracks"][0].id
    body = {"taskId": pending.task_id, "audioId": audio_id, "callBackUrl": CB}
    response = await post(raw, "wav-generate", body)
    assert response.status_code == 400
    assert "is PENDING; the parent task must be SUCCESS" in response.json()["msg"]


async def test_vocal_removal_type_enum(client: AnyIntClient, raw: httpx.AsyncClient) -> None:
    task = await song(client, raw)
    body = {"taskId": task.task_id, "audioId": task.tracks[0].id, "callBackUrl": CB}
    bad = await post(raw, "vocal-removal", body | {"type": "karaoke"})
    fixed = await post(raw, "split-stem", body | {"type": "separate_vocal"})
    assert bad.status_code == fixed.status_code == 400
