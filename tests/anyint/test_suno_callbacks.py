"""AI Music callbacks (§11.7): both wrappers, every task type, unknown shapes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from anyint.types.suno import SunoCallback, parse_callback

FIXTURES = Path(__file__).parents[1] / "contract" / "fixtures" / "suno"

TRACK_ITEM = {
    "id": "e231",
    "audio_url": "https://cdn.test/1.mp3",
    "stream_audio_url": "https://cdn.test/s/1",
    "image_url": "https://cdn.test/1.jpeg",
    "model_name": "chirp-v3-5",
    "title": "Summer Breeze",
    "duration": 91.2,
}

# task type -> (inner callback object, check on the parsed callback)
CALLBACKS: dict[str, tuple[dict[str, Any], Callable[[SunoCallback], bool]]] = {
    "music": (
        {"callbackType": "complete", "task_id": "m1", "data": [TRACK_ITEM]},
        lambda cb: (
            [t.audio_url for t in cb.tracks] == ["https://cdn.test/1.mp3"]
            and cb.tracks[0].audio_id == "e231"
            and cb.tracks[0].model_name == "chirp-v3-5"
            and cb.lyrics == []
        ),
    ),
    "lyrics": (
        {
            "callbackType": "complete",
            "task_id": "l1",
            "data": [
                {"text": "[Verse] x", "title": "T", "status": "complete", "error_message": ""}
            ],
        },
        lambda cb: [item.text for item in cb.lyrics] == ["[Verse] x"] and cb.tracks == [],
    ),
    "vocal-removal": (
        {
            "task_id": "v1",
            "vocal_removal_info": {
                "origin_url": None,
                "instrumental_url": "https://cdn.test/i.mp3",
                "vocal_url": "https://cdn.test/v.mp3",
                "drums_url": None,
            },
        },
        lambda cb: (
            cb.stems
            == {"instrumental": "https://cdn.test/i.mp3", "vocal": "https://cdn.test/v.mp3"}
        ),
    ),
    "wav": (
        {"task_id": "w1", "audio_wav_url": "https://cdn.test/a.wav"},
        lambda cb: cb.wav_url == "https://cdn.test/a.wav",
    ),
    "mp4": (
        {"task_id": "p1", "video_url": "https://cdn.test/v.mp4"},
        lambda cb: cb.video_url == "https://cdn.test/v.mp4",
    ),
    "cover": (
        {"taskId": "c1", "images": ["https://cdn.test/1.png", "https://cdn.test/2.png"]},
        lambda cb: cb.images == ["https://cdn.test/1.png", "https://cdn.test/2.png"],
    ),
}


@pytest.mark.parametrize("wrapped", [False, True], ids=["bare", "wrapped"])
@pytest.mark.parametrize("task_type", list(CALLBACKS))
def test_callbacks_in_both_shapes_for_every_task_type(task_type: str, wrapped: bool) -> None:
    inner, check = CALLBACKS[task_type]
    body = {"code": 200, "msg": "All generated successfully.", "data": inner} if wrapped else inner
    cb = parse_callback(body)
    assert cb.task_id == inner.get("task_id", inner.get("taskId"))
    assert cb.callback_type == "complete"
    assert (cb.is_terminal, cb.is_success) == (True, True)
    assert cb.code == (200 if wrapped else None)
    assert cb.msg == ("All generated successfully." if wrapped else None)
    assert check(cb)
    assert cb.raw == body
    assert SunoCallback.model_validate(body) == cb


@pytest.mark.parametrize(
    ("body", "callback_type", "terminal"),
    [
        (
            {
                "code": 200,
                "msg": "ok",
                "data": {"callbackType": "text", "task_id": "m", "data": []},
            },
            "text",
            False,
        ),
        ({"callbackType": "first", "task_id": "m", "data": [TRACK_ITEM]}, "first", False),
        (
            {"code": 501, "msg": "failed", "data": {"callbackType": "error", "task_id": "m"}},
            "error",
            True,
        ),
        ({"code": 531, "msg": "refunded", "data": {"task_id": "m", "data": None}}, "error", True),
        (
            {
                "code": "451",
                "msg": "download failed",
                "data": {"callbackType": "complete", "task_id": "m"},
            },
            "error",
            True,
        ),
        ({"callbackType": "FAILED", "task_id": "m"}, "error", True),
        ({"callbackType": "Complete", "task_id": "m", "data": []}, "complete", True),
    ],
)
def test_callback_type_and_terminality(
    body: dict[str, Any], callback_type: str, terminal: bool
) -> None:
    cb = parse_callback(body)
    assert (cb.task_id, cb.callback_type, cb.is_terminal) == ("m", callback_type, terminal)
    if callback_type == "error":
        assert not cb.is_success


def test_error_callback_keeps_code_and_reason() -> None:
    cb = parse_callback(json.loads((FIXTURES / "callback_error.json").read_text())["body"])
    assert (cb.code, cb.msg, cb.callback_type) == (501, "Audio generation failed.", "error")
    assert cb.dedup_key == "2fac****9f72:error"


def test_duplicate_deliveries_share_a_dedup_key() -> None:
    inner, _ = CALLBACKS["music"]
    first = parse_callback(inner)
    again = parse_callback({"code": 200, "msg": "ok", "data": inner})
    assert first.dedup_key == again.dedup_key == "m1:complete"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"callbackType": "complete", "data": [TRACK_ITEM]},
        {"code": 500, "msg": "boom", "data": None},
        {"code": 200, "msg": "ok", "data": {"callbackType": "complete"}},
        {"task_id": ""},
        {"task_id": 12},
    ],
)
def test_unknown_shapes_raise_value_error(body: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="not a Suno callback: no task_id/taskId"):
        parse_callback(body)
    with pytest.raises(ValueError, match="no task_id/taskId"):
        SunoCallback.model_validate(body)


def test_non_object_callback_raises_value_error() -> None:
    with pytest.raises(ValueError, match="JSON object"):
        parse_callback([1, 2])  # type: ignore[arg-type]


def test_callback_fixtures_parse_to_the_documented_content() -> None:
    def load(name: str) -> SunoCallback:
        return parse_callback(json.loads((FIXTURES / f"{name}.json").read_text())["body"])

    bare = load("callback_anyint_bare")
    assert (bare.task_id, bare.callback_type, bare.code) == ("5c79****be8e", "complete", None)
    assert bare.tracks[0].image_url == "https://cdn.example.com/cover1.jpeg"
    wrapped = load("callback_upstream_wrapped")
    assert (wrapped.task_id, wrapped.code, wrapped.tracks[0].duration) == (
        "2fac****9f72",
        200,
        198.44,
    )
    assert wrapped.tracks[0].create_time == "2025-01-01 00:00:00"
    assert load("callback_text_stage").tracks == []
    assert load("callback_cover").task_id == "21aee3c3c2a0****"
    assert len(load("callback_cover").images) == 2
