"""AI Music task records (§11.6) and the wait loop over them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from anyint import AnyIntClient, PollSchedule, TaskFailedError
from anyint.types.suno import (
    CoverTask,
    LyricsTask,
    Mp4Task,
    MusicTask,
    MusicTaskResponse,
    StemUrls,
    VocalRemovalTask,
    VocalRemovalTaskResponse,
    WavTask,
)

from .conftest import Recorder

MakeClient = Callable[..., AnyIntClient]
FAST = PollSchedule(initial=0, factor=1, max_interval=0, deadline=5)
FIXTURES = Path(__file__).parents[1] / "contract" / "fixtures" / "suno"

TRACKS_READY = {
    "taskId": "t1",
    "sunoData": [
        {"id": "a1", "audioUrl": "https://cdn.test/1.mp3", "duration": 91.2},
        {"id": "a2", "audioUrl": "https://cdn.test/2.mp3", "duration": 88.0},
    ],
}
TRACKS_STREAMING = {
    "taskId": "t1",
    "sunoData": [{"id": "a1", "audioUrl": "", "streamAudioUrl": "https://cdn.test/s1"}],
}

# kind -> (record class, status field, response with results, response without results,
#          kind-specific failure statuses)
KINDS: dict[str, tuple[type[Any], str, Any, Any, list[str]]] = {
    "music": (
        MusicTask,
        "status",
        TRACKS_READY,
        TRACKS_STREAMING,
        ["GENERATE_AUDIO_FAILED", "SENSITIVE_WORD_ERROR"],
    ),
    "lyrics": (
        LyricsTask,
        "status",
        {"lyricsData": [{"text": "[Verse] hi", "title": "T", "status": "complete"}]},
        {"lyricsData": []},
        ["GENERATE_LYRICS_FAILED", "SENSITIVE_WORD_ERROR"],
    ),
    "vocal-removal": (
        VocalRemovalTask,
        "successFlag",
        {"originUrl": None, "vocalUrl": "https://cdn.test/v.mp3", "instrumentalUrl": "https://i"},
        {"originUrl": None, "vocalUrl": None, "instrumentalUrl": None},
        ["GENERATE_AUDIO_FAILED"],
    ),
    "wav": (
        WavTask,
        "successFlag",
        {"audio_wav_url": "https://cdn.test/a.wav"},
        {"audio_wav_url": None},
        ["GENERATE_WAV_FAILED"],
    ),
    "mp4": (
        Mp4Task,
        "successFlag",
        {"videoUrl": "https://cdn.test/v.mp4"},
        None,
        ["GENERATE_MP4_FAILED"],
    ),
    "cover": (
        CoverTask,
        "successFlag",
        {"images": ["https://cdn.test/1.png", "https://cdn.test/2.png"]},
        {"images": []},
        ["GENERATE_COVER_FAILED"],
    ),
}


def record(kind: str, status: str, *, ready: bool, **extra: Any) -> dict[str, Any]:
    _, field, with_results, without, _ = KINDS[kind]
    return {"taskId": "t1", field: status, "response": with_results if ready else without, **extra}


def envelope(data: Any) -> httpx.Response:
    return httpx.Response(200, json={"code": 200, "msg": "success", "data": data})


# -- status / terminal tables -------------------------------------------------------------------

# (status, results present, terminal, success)
COMMON = [
    ("PENDING", False, False, False),
    ("SUCCESS", True, True, True),
    ("SUCCESS", False, True, False),  # §11.6 [AI]: not ready without output URLs
    ("CREATE_TASK_FAILED", False, True, False),
    ("CALLBACK_EXCEPTION", True, True, True),
    ("CALLBACK_EXCEPTION", False, True, False),
    ("SOME_NEW_GENERATE_X_FAILED", False, True, False),
]


def _table() -> list[tuple[str, str, bool, bool, bool]]:
    rows = [(kind, *row) for kind in KINDS for row in COMMON]
    for kind, (*_, failures) in KINDS.items():
        rows += [(kind, status, False, True, False) for status in failures]
    rows += [
        ("music", "TEXT_SUCCESS", False, False, False),
        ("music", "FIRST_SUCCESS", False, False, False),
        ("music", "FIRST_SUCCESS", True, False, False),
    ]
    return rows


@pytest.mark.parametrize(("kind", "status", "ready", "terminal", "success"), _table())
def test_status_table(kind: str, status: str, ready: bool, terminal: bool, success: bool) -> None:
    cls = KINDS[kind][0]
    task = cls.model_validate(record(kind, status, ready=ready))
    assert task.task_id == "t1"
    assert task.status == status
    assert (task.is_terminal, task.is_success) == (terminal, success)
    if terminal and not success:
        assert task.error_message or status.endswith(("_FAILED", "_ERROR"))


def test_sensitive_word_error_is_not_a_failure_state_for_wav() -> None:
    # Only music and lyrics list it; an unlisted *_ERROR keeps polling rather than guessing.
    assert not WavTask.model_validate(
        record("wav", "SENSITIVE_WORD_ERROR", ready=False)
    ).is_terminal


def test_status_read_from_either_field_and_missing_status() -> None:
    assert WavTask.model_validate({"taskId": "w", "status": "SUCCESS"}).status == "SUCCESS"
    assert WavTask.model_validate({"taskId": "w", "successFlag": "PENDING"}).status == "PENDING"
    unknown = MusicTask.model_validate({"taskId": "m"})
    assert (unknown.status, unknown.is_terminal) == ("UNKNOWN", False)


def test_error_fields_and_numeric_codes() -> None:
    task = MusicTask.model_validate(
        {"taskId": "t", "status": "GENERATE_AUDIO_FAILED", "errorCode": 451, "errorMessage": "bad"}
    )
    assert (task.error_code, task.error_message) == ("451", "bad")
    no_urls = MusicTask.model_validate(record("music", "SUCCESS", ready=False))
    assert no_urls.error_message is not None and "no result URLs" in no_urls.error_message


def test_music_record_fixture_details() -> None:
    body = json.loads((FIXTURES / "query_task.json").read_text())["body"]
    task = MusicTaskResponse.model_validate(body).data
    assert task.params_dict == {
        "prompt": "A calm piano track",
        "style": "Classical",
        "title": "Peaceful Piano",
        "customMode": True,
        "instrumental": True,
        "model": "V5",
    }
    (track,) = task.tracks
    assert (track.audio_id, track.model_name, track.duration) == (
        "8551****662c",
        "chirp-v3-5",
        198.44,
    )
    assert track.stream_audio_url == "https://…"
    assert (task.operation_type, task.parent_music_id) == ("generate", "")
    assert task.is_success


def test_params_dict_is_lenient() -> None:
    assert MusicTask.model_validate({"taskId": "t", "param": "not json"}).params_dict == {}
    assert MusicTask.model_validate({"taskId": "t", "param": "[1]"}).params_dict == {}
    assert MusicTask.model_validate({"taskId": "t", "param": {"a": 1}}).params_dict == {"a": 1}
    assert MusicTask.model_validate({"taskId": "t"}).params_dict == {}


def test_vocal_removal_stems() -> None:
    body = json.loads((FIXTURES / "query_vocal_removal.json").read_text())["body"]
    task = VocalRemovalTaskResponse.model_validate(body).data
    assert task.stems == {
        "instrumental": "https://…_Instrumental.mp3",
        "vocal": "https://…_Vocals.mp3",
    }
    assert (task.status, task.is_success, task.complete_time) == ("SUCCESS", True, "1753782937000")
    split = VocalRemovalTask.model_validate(
        {
            "taskId": "t",
            "successFlag": "SUCCESS",
            "response": {f"{name}Url": f"https://x/{name}" for name in STEM_NAMES},
        }
    )
    assert len(StemUrls.model_fields) == 15  # the 14 URLs of §11.6 + piano (older docs)
    assert split.stems == {
        "origin": "https://x/origin",
        "instrumental": "https://x/instrumental",
        "vocal": "https://x/vocal",
        "backing_vocals": "https://x/backingVocals",
        "drums": "https://x/drums",
        "bass": "https://x/bass",
        "guitar": "https://x/guitar",
        "keyboard": "https://x/keyboard",
        "percussion": "https://x/percussion",
        "strings": "https://x/strings",
        "synth": "https://x/synth",
        "fx": "https://x/fx",
        "brass": "https://x/brass",
        "woodwinds": "https://x/woodwinds",
    }
    # Only the original back is not a result.
    only_origin = {"taskId": "t", "successFlag": "SUCCESS", "response": {"originUrl": "https://o"}}
    assert not VocalRemovalTask.model_validate(only_origin).is_success


STEM_NAMES = [
    "origin",
    "instrumental",
    "vocal",
    "backingVocals",
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
]


def test_result_accessors() -> None:
    assert WavTask.model_validate(record("wav", "SUCCESS", ready=True)).audio_wav_url == (
        "https://cdn.test/a.wav"
    )
    assert Mp4Task.model_validate(record("mp4", "SUCCESS", ready=True)).video_url == (
        "https://cdn.test/v.mp4"
    )
    assert CoverTask.model_validate(record("cover", "SUCCESS", ready=True)).images == [
        "https://cdn.test/1.png",
        "https://cdn.test/2.png",
    ]
    lyrics = LyricsTask.model_validate(record("lyrics", "SUCCESS", ready=True))
    assert lyrics.lyrics[0].text == "[Verse] hi"
    assert MusicTask.model_validate(record("music", "PENDING", ready=False)).tracks[0].audio_id


# -- wait() -------------------------------------------------------------------------------------

QUERY_PATH = {
    "music": "/suno/query/task",
    "lyrics": "/suno/query/lyrics",
    "vocal-removal": "/suno/query/vocal-removal",
    "wav": "/suno/query/wav",
    "mp4": "/suno/query/mp4",
    "cover": "/suno/query/cover",
}


async def test_wait_follows_the_music_stages(make_client: MakeClient) -> None:
    rec = Recorder(
        envelope(record("music", "PENDING", ready=False)),
        envelope(record("music", "TEXT_SUCCESS", ready=False)),
        envelope(record("music", "FIRST_SUCCESS", ready=False)),
        envelope(record("music", "FIRST_SUCCESS", ready=False)),
        envelope(record("music", "SUCCESS", ready=True)),
    )
    seen: list[str] = []
    task = await make_client(rec).suno.wait(
        "t1", schedule=FAST, on_change=lambda t: seen.append(t.status)
    )
    assert isinstance(task, MusicTask)
    assert [t.audio_url for t in task.tracks] == [
        "https://cdn.test/1.mp3",
        "https://cdn.test/2.mp3",
    ]
    assert seen == ["PENDING", "TEXT_SUCCESS", "FIRST_SUCCESS", "SUCCESS"]
    assert len(rec.requests) == 5
    for request in rec.requests:
        assert (request.method, request.url.path) == ("GET", "/suno/query/task")
        assert request.url.params["taskId"] == "t1"


@pytest.mark.parametrize("kind", list(KINDS))
async def test_wait_polls_the_right_route_per_kind(make_client: MakeClient, kind: str) -> None:
    rec = Recorder(
        envelope(record(kind, "PENDING", ready=False)),
        envelope(record(kind, "SUCCESS", ready=True)),
    )
    task = await make_client(rec).suno.wait("t1", kind=kind, schedule=FAST)  # type: ignore[call-overload]
    assert isinstance(task, KINDS[kind][0])
    assert task.is_success
    assert [r.url.path for r in rec.requests] == [QUERY_PATH[kind]] * 2


@pytest.mark.parametrize("kind", list(KINDS))
async def test_wait_raises_on_failure_states(make_client: MakeClient, kind: str) -> None:
    failure = KINDS[kind][4][0]
    rec = Recorder(
        envelope(record(kind, "PENDING", ready=False)),
        envelope(record(kind, failure, ready=False, errorCode=500, errorMessage="upstream died")),
    )
    with pytest.raises(TaskFailedError) as info:
        await make_client(rec).suno.wait("t1", kind=kind, schedule=FAST)  # type: ignore[call-overload]
    err = info.value
    assert (err.task_id, err.status, err.error_code, err.error_message) == (
        "t1",
        failure,
        "500",
        "upstream died",
    )


async def test_wait_refuses_success_without_urls(make_client: MakeClient) -> None:
    rec = Recorder(envelope(record("music", "SUCCESS", ready=False)))
    with pytest.raises(TaskFailedError, match="no result URLs"):
        await make_client(rec).suno.wait("t1", schedule=FAST)


async def test_wait_accepts_callback_exception_with_urls(make_client: MakeClient) -> None:
    rec = Recorder(envelope(record("wav", "CALLBACK_EXCEPTION", ready=True)))
    task = await make_client(rec).suno.wait("t1", kind="wav", schedule=FAST)
    assert task.audio_wav_url == "https://cdn.test/a.wav"


async def test_wait_checks_arguments_before_io(make_client: MakeClient) -> None:
    rec = Recorder(envelope(record("music", "SUCCESS", ready=True)))
    suno = make_client(rec).suno
    with pytest.raises(ValueError, match="kind must be one of"):
        await suno.wait("t1", kind="video", schedule=FAST)  # type: ignore[call-overload]
    with pytest.raises(ValueError, match="task_id"):
        await suno.wait("", schedule=FAST)
    assert rec.requests == []
