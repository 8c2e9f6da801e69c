"""Every Suno creation route after a finished song, as submit → wait → fetch with the route names
of ``tasks.routes``, and the sync Suno tasks, against the in-process emulator.

Each follow-up route takes its parent from the finished song (``taskId``/``audioId``, or an
``uploadUrl`` the emulator served, as a public URL stands for on a real gateway) and its stored
outputs are checked for real (decoded); a request that breaks a follow-up rule is refused by the
gateway, creates no task and leaves the journal attempt ``rejected``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from prefect import flow

from anyint import BadRequestError
from anyint.records import CALLBACK_FIELDS
from anyint.types import RequestModel
from anyint.types import suno as su
from anyint.types.suno_requests import PLACEHOLDER_CALLBACK_URL
from emulator.media import probe
from flows import start_run
from tasks import ROUTES, AssetRecord, FinishedTask, RunConfig, fetch, journal, submit, wait
from tasks.suno_sync import (
    generate_persona,
    lrc_text,
    lyric_lines,
    srt_text,
    style_generate,
    timestamped_lyrics,
)
from tests.conftest import EmulatedGateway, call_log, created_task_ids, resume_flow_run

LYRICS = (
    "[Verse]\nThe city fades behind us\nHeadlights on the open road\n\n"
    "[Chorus]\nWe keep driving toward the light\nNever looking back tonight"
)
SONG = {
    "customMode": True,
    "instrumental": False,
    "model": "V5",
    "title": "Open Road",
    "style": "pop, acoustic",
    "prompt": LYRICS,
}
RUN = {"poll_interval": 0.01, "deadline_seconds": 30}


@pytest.fixture(autouse=True)
async def fast_suno(control: httpx.AsyncClient) -> None:
    """Every Suno stage is reached after 10 ms."""
    response = await control.post(
        "/_emulator/timing", json={"family": "suno", "after_seconds": 0.01}
    )
    response.raise_for_status()


def body(request: type[RequestModel], **fields: Any) -> dict[str, Any]:
    """A body checked by the client's model, without the callback URL (submit adds it)."""
    params = request.model_validate({"call_back_url": PLACEHOLDER_CALLBACK_URL, **fields})
    return {k: v for k, v in params.to_body().items() if k not in CALLBACK_FIELDS}


Song = su.MusicTask
#: Route → the body of that follow-up, made from the finished song.
BODIES: dict[str, Callable[[Song], dict[str, Any]]] = {
    "suno.extend": lambda s: body(
        su.ExtendParams,
        default_param_flag=True,
        audio_id=s.tracks[0].id,
        continue_at=3.0,
        prompt="[Bridge]\nAnd the road goes on",
        style="pop, acoustic",
        title="Open Road (Extended)",
        model="V5",
    ),
    "suno.upload-cover": lambda s: body(
        su.UploadCoverParams,
        upload_url=s.tracks[0].audio_url,
        custom_mode=False,
        instrumental=False,
        model="V5",
        prompt="The same tune as a slow jazz ballad",
    ),
    "suno.upload-extend": lambda s: body(
        su.UploadExtendParams,
        upload_url=s.tracks[1].audio_url,
        default_param_flag=False,
        model="V5",
    ),
    "suno.add-vocals": lambda s: body(
        su.AddVocalsParams,
        upload_url=s.tracks[0].audio_url,
        prompt="[Verse]\nSinging over the road",
        title="Road Song",
        style="soul",
        negative_tags="metal",
    ),
    "suno.add-instrumental": lambda s: body(
        su.AddInstrumentalParams,
        upload_url=s.tracks[0].audio_url,
        title="Road Band",
        tags="funk, bass, drums",
        negative_tags="metal",
        model="V5",
    ),
    "suno.replace-section": lambda s: body(
        su.ReplaceSectionParams,
        task_id=s.task_id,
        audio_id=s.tracks[0].id,
        prompt="[Verse]\nA new line here",
        tags="pop",
        title="Open Road (New Verse)",
        infill_start_s=0.0,
        infill_end_s=6.0,
    ),
    "suno.split-stem": lambda s: body(
        su.SplitStemParams, task_id=s.task_id, audio_id=s.tracks[0].id
    ),
}


async def step(
    run: RunConfig, route: str, request: dict[str, Any]
) -> tuple[FinishedTask, list[AssetRecord]]:
    submitted = await submit(run, route, request)
    finished = await wait(run, submitted)
    return finished, await fetch(run, finished, request=request)


@flow
async def follow_up(route: str) -> tuple[Song, FinishedTask, list[AssetRecord]]:
    run = await start_run(RUN)
    song, _ = await step(run, "suno.generate", SONG)
    parent = su.MusicTask.model_validate(song.snapshot)
    finished, records = await step(run, route, BODIES[route](parent))
    return parent, finished, records


def _decoded_seconds(gateway: EmulatedGateway, record: AssetRecord) -> float:
    facts = probe(gateway.read(record.key))
    assert facts.audio is not None, record.key
    return facts.duration


def test_every_suno_creation_route_is_a_row_of_the_table() -> None:
    creation = {name for name in ROUTES if name.startswith("suno.")}
    tested_elsewhere = {
        "suno.generate",  # here as the parent of every follow-up, and in tests/flows
        "suno.generate-lyrics",
        "suno.vocal-removal",
        "suno.wav-generate",
        "suno.mp4-generate",
        "suno.generate-cover",
    }
    assert creation == set(BODIES) | tested_elsewhere


@pytest.mark.parametrize("route", [r for r in BODIES if r != "suno.split-stem"])
async def test_a_music_follow_up_stores_two_decodable_tracks(
    gateway: EmulatedGateway, control: httpx.AsyncClient, route: str
) -> None:
    parent, finished, records = await follow_up(route)

    made = su.MusicTask.model_validate(finished.snapshot)
    assert finished.status == "SUCCESS" and len(made.tracks) == 2
    audio = [r for r in records if r.kind == "audio"]
    assert [r.key.rsplit("/", 1)[1] for r in audio] == ["track-1.mp3", "track-2.mp3"]
    assert {r.audio_id for r in audio} == {t.id for t in made.tracks}
    assert all(r.route == route and r.task_id == finished.task_id for r in records)
    source = parent.tracks[0].duration or 0.0
    for record, track in zip(audio, made.tracks, strict=True):
        seconds = _decoded_seconds(gateway, record)
        assert abs(seconds - (track.duration or 0)) < 0.2, record.key
        if route == "suno.extend":
            assert seconds > 3.0 + 5.0  # the source up to continueAt, then a new song
        if route == "suno.replace-section":
            assert abs(seconds - source) < 0.2  # the same track, one window re-sung
    assert sorted(await created_task_ids(control)) == sorted([parent.task_id, finished.task_id])


async def test_split_stem_stores_every_stem(gateway: EmulatedGateway) -> None:
    parent, _, records = await follow_up("suno.split-stem")
    names = {r.key.rsplit("/", 1)[1] for r in records}
    assert {"stem-vocal.mp3", "stem-drums.mp3", "stem-bass.mp3"} <= names and len(names) > 10
    assert all(r.kind == "stem" for r in records)
    source = parent.tracks[0].duration or 0.0
    for record in records:
        assert abs(_decoded_seconds(gateway, record) - source) < 0.2


#: Route → (how the body breaks a follow-up rule, what the refusal says).
BROKEN: dict[str, tuple[Callable[[dict[str, Any], Song], None], str]] = {
    "suno.extend": (lambda b, s: b.update(model="V4_5"), "does not match"),
    "suno.upload-cover": (
        lambda b, s: b.update(uploadUrl="https://example.com/song.mp3"),
        "cannot be fetched",
    ),
    "suno.upload-extend": (
        lambda b, s: b.update(uploadUrl=s.tracks[0].image_url),
        "not audio",
    ),
    "suno.add-vocals": (
        lambda b, s: b.update(
            uploadUrl=str(s.tracks[0].audio_url).replace("/_assets/", "/_assets/x")
        ),
        "no such emulator asset",
    ),
    "suno.add-instrumental": (
        lambda b, s: b.update(uploadUrl="https://files.example.net/vocals.wav"),
        "cannot be fetched",
    ),
    "suno.replace-section": (
        lambda b, s: b.update(infillStartS=30.0, infillEndS=40.0),
        "past the end",
    ),
    "suno.split-stem": (lambda b, s: b.update(audioId="not-a-track"), "does not belong"),
}


@flow
async def broken_follow_up(route: str) -> tuple[str, str]:
    run = await start_run(RUN)
    song, _ = await step(run, "suno.generate", SONG)
    parent = su.MusicTask.model_validate(song.snapshot)
    request = BODIES[route](parent)
    breaks, _ = BROKEN[route]
    breaks(request, parent)
    try:
        await submit(run, route, request)
    except BadRequestError as exc:
        digest = journal.identity(run.gateway.base_url, run.intent, route, request)
        return str(exc), digest
    raise AssertionError("the broken request was accepted")


@pytest.mark.parametrize("route", sorted(BROKEN))
async def test_a_follow_up_that_breaks_a_rule_is_refused_and_creates_nothing(
    gateway: EmulatedGateway, control: httpx.AsyncClient, route: str
) -> None:
    message, digest = await broken_follow_up(route)
    assert BROKEN[route][1] in message
    assert len(await created_task_ids(control)) == 1  # the parent song only
    entry = journal.latest(gateway.store, digest)
    assert entry is not None and entry.state == "rejected"  # a fixed request may be sent again


# -- sync Suno tasks ------------------------------------------------------------------------------


@flow
async def karaoke_of_a_song(fail: bool = False) -> tuple[Any, str]:
    run = await start_run(RUN)
    song, records = await step(run, "suno.generate", SONG)
    track = su.MusicTask.model_validate(song.snapshot).tracks[0]
    assert track.id is not None
    beside = next(r.key for r in records if r.audio_id == track.id and r.kind == "audio")
    timed = await timestamped_lyrics(run, song.task_id, track.id, beside=beside, title="Open Road")
    style = await style_generate(run, "Pop, Mysterious")
    if fail:
        raise RuntimeError("a later step failed")
    return timed, style


def _count(log: list[dict[str, Any]], path: str) -> int:
    return sum(1 for c in log if c["path"] == path)


async def test_timed_lyrics_beside_the_audio_and_style_paid_once_per_run(
    gateway: EmulatedGateway, control: httpx.AsyncClient
) -> None:
    state = await karaoke_of_a_song(fail=True, return_state=True)
    assert state.is_failed()
    resumed = await resume_flow_run(karaoke_of_a_song, state.state_details.flow_run_id)
    assert resumed.is_failed()
    log = await call_log(control)
    # The resume found both outputs stored: neither route was called again.
    assert _count(log, "/suno/timestamped-lyrics") == 1 and _count(log, "/suno/style-generate") == 1
    assert _count(log, "/suno/generate") == 1

    fresh = await karaoke_of_a_song(return_state=True)
    timed, style = await fresh.aresult()
    lrc, srt = timed.records
    folder = lrc.key.rsplit("/", 1)[0]
    assert lrc.key.endswith("/track-1.lrc") and srt.key.endswith("/track-1.srt")
    assert gateway.store.exists(f"{folder}/track-1.mp3")
    sung = LYRICS.replace("[Verse]", "").replace("[Chorus]", "").split()
    assert [w.word for w in timed.words] == sung
    assert [x.text for x in timed.lines] == [
        line for line in LYRICS.splitlines() if line and not line.startswith("[")
    ]  # a karaoke line ends where the sheet's line does
    lrc_lines = gateway.read(lrc.key).decode().splitlines()
    assert lrc_lines[0] == "[ti:Open Road]"
    assert " ".join(line.split("]", 1)[1] for line in lrc_lines[1:]).split() == sung
    assert gateway.read(srt.key).decode().startswith("1\n00:00:0")
    manifest = gateway.store.read_json(f"runs/{fresh.state_details.flow_run_id}/manifest.json")
    entries = [e for e in manifest["assets"] if e["kind"] == "timed_lyrics"]
    assert len(entries) == 2 and entries[0]["metadata"]["words"][0]["word"] == "The"
    assert "Pop" in style or "pop" in style


@flow
async def persona_song(audio_index: int = 0) -> tuple[Any, list[AssetRecord]]:
    run = await start_run(RUN)
    song, _ = await step(run, "suno.generate", SONG)
    track = su.MusicTask.model_validate(song.snapshot).tracks[audio_index]
    assert track.id is not None
    persona = await generate_persona(run, song.task_id, track.id, "Road Voice", "warm, airy")
    again = await generate_persona(run, song.task_id, track.id, "Road Voice", "warm, airy")
    assert again == persona  # the same step of the same run: stored, not called again
    new = {**SONG, "title": "Second Road", "personaId": persona.persona_id}
    _, records = await step(run, "suno.generate", new)
    return persona, records


async def test_a_persona_sings_a_new_song(
    gateway: EmulatedGateway, control: httpx.AsyncClient
) -> None:
    persona, records = await persona_song()
    assert persona.persona_id and not persona.adopted
    assert gateway.store.read_json(persona.record.key)["personaId"] == persona.persona_id
    assert any(
        r.kind == "audio" and r.request and r.request["personaId"] == persona.persona_id
        for r in records
    )
    assert _count(await call_log(control), "/suno/generate-persona") == 1


def _word(word: str, start: float, end: float, success: bool | None = True) -> su.AlignedWord:
    return su.AlignedWord(word=word, start_s=start, end_s=end, success=success)


def test_lines_end_at_line_breaks_pauses_and_a_word_limit() -> None:
    aligned = [
        _word("[Verse]\nHello", 1.0, 1.5),
        _word("world\n", 1.5, 2.0),  # a line break after the word ends its line too
        _word("again", 2.1, 2.4),
        _word("lost", 2.4, 2.5, success=False),  # not aligned: left out
        _word("later", 9.0, 9.5),  # a long pause starts a line
        *(_word(f"w{i}", 10.0 + i, 10.5 + i) for i in range(9)),  # no marks: 8 words a line
    ]
    words, lines = lyric_lines(aligned)
    assert "lost" not in [w.word for w in words] and words[0].word == "Hello"
    assert [x.text for x in lines] == [
        "Hello world",
        "again",
        "later w0 w1 w2 w3 w4 w5 w6",
        "w7 w8",
    ]
    lrc = lrc_text(lines, title="A [Song]")
    assert lrc.splitlines()[:2] == ["[ti:A [Song)]", "[00:01.00]Hello world"]
    assert lrc.splitlines()[-1] == "[00:18.50]"
    cue = srt_text([lines[0].model_copy(update={"start_s": 3599.9996, "end_s": 3661.25})])
    assert cue == "1\n01:00:00,000 --> 01:01:01,250\nHello world\n"
