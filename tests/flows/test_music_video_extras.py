"""``music-video``'s edits (``extend``, ``replace_section``) and ``style_assist`` on the emulator.

Which track each later step works on is checked from the requests recorded in the manifest: an
edit names the track before it, and the follow-ups name the last edit's track.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from anyint import APIStatusError
from emulator.media import decode_audio, probe
from flows._music_extras import fit_style
from flows.music_video import MusicVideoResult, music_video
from tests.conftest import EmulatedGateway, call_log, created_task_ids, resume_flow_run
from tests.flows.conftest import Refusal

FAST: dict[str, Any] = {"poll_interval": 0.01}
#: Only the song (and its edits): no follow-ups.
SONG_ONLY: dict[str, Any] = {
    "stems": None,
    "wav": False,
    "cover_art": False,
    "music_video": False,
    **FAST,
}
CUSTOM_EXTEND: dict[str, Any] = {"extend": True, "extend_at": 3.0}
#: Emulated songs are 6-7.5 s long (emulator.music.SONG_SECONDS).
SONG_SECONDS = (6.0, 7.5)


def _request(result: MusicVideoResult, step: str, kind: str = "audio") -> dict[str, Any]:
    """The request body the manifest recorded for ``step``'s outputs of ``kind``."""
    task_id = result.task_ids[step]
    record = next(r for r in result.assets[kind] if r.task_id == task_id)
    assert record.request is not None
    return record.request


def _tracks(result: MusicVideoResult, step: str) -> list[str]:
    """The audioIds of ``step``'s tracks, in order."""
    task_id = result.task_ids[step]
    return [r.audio_id for r in result.assets["audio"] if r.task_id == task_id and r.audio_id]


async def _paths(control: httpx.AsyncClient) -> list[str]:
    return [c["path"] for c in await call_log(control)]


async def test_extend_then_replace_section_feed_the_follow_ups_and_a_resume_pays_once(
    gateway: EmulatedGateway, fast_music: httpx.AsyncClient
) -> None:
    parameters: dict[str, Any] = {
        **SONG_ONLY,
        "wav": True,
        "music_video": True,
        "extend": True,
        "replace_section": [1.0, 7.0],
        "replace_lyrics": "[Bridge]\nA brand new line",
    }
    # The run fails after extend and replace-section are paid for.
    fault = {"match": "POST /suno/wav-generate", "fault": "status", "status": 400}
    (await fast_music.post("/_emulator/faults", json=fault)).raise_for_status()
    state = await music_video(**parameters, return_state=True)
    with pytest.raises(APIStatusError, match="400"):
        await state.aresult()
    first = await created_task_ids(fast_music)
    assert len(first) == 4  # lyrics, song, extend, replace-section

    resumed = await resume_flow_run(music_video, state.state_details.flow_run_id)
    result: MusicVideoResult = await resumed.aresult()
    created = await created_task_ids(fast_music)
    assert set(created) - set(first) == {result.task_ids["wav"], result.task_ids["music_video"]}
    assert len(created) == len(first) + 2  # nothing made twice
    assert set(result.reused_steps) == {"lyrics", "song", "extend", "replace_section"}
    assert (await _paths(fast_music)).count("/suno/extend") == 1

    # extend continued the song's chosen track, from its end (the model's own settings).
    extend = _request(result, "extend")
    assert extend["audioId"] == result.song_audio_id == _tracks(result, "song")[0]
    assert extend["defaultParamFlag"] is False and "continueAt" not in extend
    # replace-section re-sang the extension's first track, with the given lyrics.
    replaced = _request(result, "replace_section")
    assert replaced["taskId"] == result.task_ids["extend"]
    assert replaced["audioId"] == _tracks(result, "extend")[0]
    assert (replaced["infillStartS"], replaced["infillEndS"]) == (1.0, 7.0)
    assert replaced["prompt"] == "[Bridge]\nA brand new line"
    # The follow-ups used the re-sung track, and the result describes it.
    assert result.audio_id == _tracks(result, "replace_section")[0] != result.song_audio_id
    for step, kind in (("wav", "wav"), ("music_video", "music_video")):
        request = _request(result, step, kind)
        assert (request["taskId"], request["audioId"]) == (
            result.task_ids["replace_section"],
            result.audio_id,
        )
    # The extended song is the song plus a new song's length, and the WAV is of that track.
    assert result.duration is not None and result.track_key is not None
    assert 2 * SONG_SECONDS[0] - 0.1 <= result.duration <= 2 * SONG_SECONDS[1] + 0.1
    samples, rate = decode_audio(gateway.read(result.track_key))
    assert len(samples) / rate == pytest.approx(result.duration, abs=0.01)
    (wav,) = result.assets["wav"]
    assert probe(gateway.read(wav.key)).duration == pytest.approx(result.duration, abs=0.01)


async def test_extend_at_sings_new_lyrics_from_that_point(
    gateway: EmulatedGateway, fast_music: httpx.AsyncClient
) -> None:
    result = await music_video(
        **SONG_ONLY, extend=True, extend_at=3.0, extend_lyrics="[Outro]\nAnd on we go"
    )
    assert set(result.task_ids) == {"lyrics", "song", "extend"}
    extend = _request(result, "extend")
    assert extend["defaultParamFlag"] is True and extend["continueAt"] == 3.0
    assert extend["prompt"] == "[Outro]\nAnd on we go" and extend["style"] == result.style
    assert extend["title"] and extend["model"] == "V5"
    assert result.duration is not None  # 3 s of the song, then a new song's length
    assert 3.0 + SONG_SECONDS[0] - 0.1 <= result.duration <= 3.0 + SONG_SECONDS[1] + 0.1


@pytest.mark.parametrize(
    ("parameters", "named", "route"),
    [
        # Emulated songs are at most 7.5 s: a window ending at 16 s is past the end.
        ({"replace_section": [10.0, 16.0]}, r"'replace_section'.* ends after the song", "replace"),
        # 6 s of a song of at most 7.5 s is more than half of it.
        ({"replace_section": [0.0, 6.0]}, r"'replace_section'.* more than half", "replace"),
        ({"extend": True, "extend_at": 30.0, "extend_lyrics": "la"}, r"'extend_at'", "extend"),
    ],
)
async def test_an_edit_that_does_not_fit_the_song_fails_before_its_call(
    gateway: EmulatedGateway,
    fast_music: httpx.AsyncClient,
    parameters: dict[str, Any],
    named: str,
    route: str,
) -> None:
    if "replace_section" in parameters:
        parameters = {**parameters, "replace_lyrics": "[Verse]\nNew words"}
    with pytest.raises(ValueError, match=named) as caught:
        await music_video(**SONG_ONLY, **parameters)
    assert "s long" in str(caught.value)  # the song's length, for the fix
    paths = await _paths(fast_music)
    assert "/suno/generate" in paths
    assert not [p for p in paths if p.startswith(("/suno/replace-section", "/suno/extend"))]
    assert len(await created_task_ids(fast_music)) == 2  # lyrics and song only


async def test_style_assist_expands_the_style_once(
    gateway: EmulatedGateway, fast_music: httpx.AsyncClient
) -> None:
    rough = {"style": "Pop, Mysterious", "style_assist": True}
    state = await music_video(**SONG_ONLY, **rough, return_state=True)
    result: MusicVideoResult = await state.aresult()
    assert result.style != "Pop, Mysterious" and len(result.style) > len("Pop, Mysterious")
    assert _request(result, "song")["style"] == result.style
    assert (await _paths(fast_music)).count("/suno/style-generate") == 1

    again = await (await resume_flow_run(music_video, state.state_details.flow_run_id)).aresult()
    assert again.style == result.style and again.task_ids == result.task_ids
    assert (await _paths(fast_music)).count("/suno/style-generate") == 1  # not paid twice


def test_an_expanded_style_is_one_line_within_the_limit() -> None:
    expanded = "Dreamy pop:\nwarm pads,\x00 soft keys and a slow groove under breathy vocals"
    assert fit_style(expanded, "pop", 1000) == (
        "Dreamy pop: warm pads, soft keys and a slow groove under breathy vocals"
    )
    assert fit_style(expanded, "pop", 30) == "Dreamy pop: warm pads, soft"
    assert fit_style("Supercalifragilistic", "pop", 5) == "pop"  # no whole word fits
    assert fit_style(" \n ", "pop", 100) == "pop"


@pytest.mark.parametrize(
    ("parameters", "named"),
    [
        ({"extend_at": 3.0}, "extend_at"),  # without extend
        ({"extend": True, "extend_lyrics": "la la"}, "extend_lyrics"),  # without extend_at
        ({"extend": True, "extend_at": 3.0}, "extend_lyrics"),  # a vocal song needs words
        ({"extend": True, "extend_at": 0.0}, "extend_at"),
        ({"model": "V4", **CUSTOM_EXTEND, "extend_lyrics": "x" * 3001}, "extend_lyrics"),
        ({"replace_lyrics": "la"}, "replace_lyrics"),  # without replace_section
        ({"replace_section": [2.0, 9.0]}, "replace_lyrics"),
        ({"replace_section": [9.0, 2.0], "replace_lyrics": "la"}, "replace_section"),
        ({"replace_section": [2.0, 7.0], "replace_lyrics": "la"}, "replace_section"),  # 5 s
        ({"replace_section": [0.0, 61.0], "replace_lyrics": "la"}, "replace_section"),
        ({"replace_section": [1.0, 7.005], "replace_lyrics": "la"}, "replace_section"),
        ({"replace_section": [-1.0, 7.0], "replace_lyrics": "la"}, "replace_section"),
        ({"replace_section": [1.0], "replace_lyrics": "la"}, "replace_section"),
    ],
)
async def test_bad_edit_parameters_fail_before_any_create(
    refused: Refusal, parameters: dict[str, Any], named: str
) -> None:
    await refused(music_video, {**parameters, **FAST}, f"parameter '{named}'")
