"""AI Music emulator: callbacks end to end, both wrappers, every task type, callback faults.

A receiver (``httpx.MockTransport``) stands in for the caller's ``callBackUrl``; every payload it
gets is read with the client's own :func:`anyint.types.suno.parse_callback`.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

import anyint
from anyint import AnyIntClient
from anyint.types.suno import SunoCallback, parse_callback
from emulator.app import EmulatorApp

from .conftest import NOW

RECEIVER = "http://receiver.test/suno-callback"
SONG = {
    "custom_mode": True,
    "instrumental": False,
    "model": "V5",
    "title": "Summer Breeze",
    "style": "pop, acoustic",
    "prompt": "[Verse]\nThe city fades behind us\n\n[Chorus]\nWe keep driving toward the light",
    "call_back_url": RECEIVER,
}


class Receiver:
    """Collects the JSON bodies POSTed to the callback URL."""

    def __init__(self, app: EmulatorApp) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.backend = app.backend
        app.backend.callbacks.transport = httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        assert str(request.url) == RECEIVER
        self.bodies.append(json.loads(request.content))
        return httpx.Response(200, json={"received": True})

    async def parsed(self) -> list[SunoCallback]:
        await self.backend.callbacks.drain()
        return [parse_callback(body) for body in self.bodies]


@pytest.fixture
async def receiver(app: EmulatorApp, raw: httpx.AsyncClient) -> Receiver:
    await raw.post("/_emulator/timing", json={"family": "suno", "after_polls": 1})
    return Receiver(app)


async def test_song_callbacks_text_first_complete(client: AnyIntClient, receiver: Receiver) -> None:
    created = await client.suno.generate(**SONG)
    task = await client.suno.wait(created.task_id, schedule=NOW)
    text, first, complete = await receiver.parsed()
    assert [c.callback_type for c in (text, first, complete)] == ["text", "first", "complete"]
    assert {c.task_id for c in (text, first, complete)} == {created.task_id}
    assert all(c.code is None for c in (text, first, complete))  # the bare AnyInt shape
    assert set(receiver.bodies[0]) == {"callbackType", "task_id", "data"}
    assert text.tracks == []
    [streaming] = first.tracks
    assert streaming.stream_audio_url and streaming.audio_url == ""
    assert complete.is_success and len(complete.tracks) == 2
    for called, queried in zip(complete.tracks, task.tracks, strict=True):
        assert called.id == queried.id and called.audio_url == queried.audio_url
        assert called.image_url == queried.image_url and called.duration == queried.duration
        assert called.title == "Summer Breeze" and called.tags == "pop, acoustic"
    item = receiver.bodies[2]["data"][0]
    assert "audio_url" in item and "audioUrl" not in item  # snake_case in callbacks


async def test_callbacks_go_out_by_time_without_polling(
    client: AnyIntClient, raw: httpx.AsyncClient, app: EmulatorApp
) -> None:
    receiver = Receiver(app)
    await raw.post("/_emulator/timing", json={"family": "suno", "after_seconds": 0.01})
    created = await client.suno.generate_lyrics(prompt="night city", call_back_url=RECEIVER)
    for _ in range(500):  # bounded: the timer fires after ~10 ms
        if receiver.bodies:
            break
        await asyncio.sleep(0.01)
    [callback] = await receiver.parsed()
    assert callback.task_id == created.task_id and callback.callback_type == "complete"
    assert len(callback.lyrics) >= 2 and "[Verse]" in (callback.lyrics[0].text or "")


async def test_wrapped_callback_shape(
    client: AnyIntClient, receiver: Receiver, raw: httpx.AsyncClient
) -> None:
    await raw.post("/_emulator/settings", json={"callback_shape": "wrapped"})
    created = await client.suno.generate(**SONG)
    await client.suno.wait(created.task_id, schedule=NOW)
    parsed = await receiver.parsed()
    assert [c.callback_type for c in parsed] == ["text", "first", "complete"]
    assert all(c.code == 200 and c.msg for c in parsed)
    text = receiver.bodies[0]
    assert text == {
        "code": 200,
        "msg": "Text generation completed successfully.",
        "data": {"callbackType": "text", "task_id": created.task_id, "data": []},
    }
    assert len(parsed[2].tracks) == 2 and parsed[2].is_success


async def test_failed_task_sends_an_error_callback(
    client: AnyIntClient, raw: httpx.AsyncClient, receiver: Receiver
) -> None:
    await raw.post(
        "/_emulator/faults", json={"match": "POST /suno/generate", "fault": "task_failed"}
    )
    created = await client.suno.generate(**SONG)
    with pytest.raises(anyint.TaskFailedError):
        await client.suno.wait(created.task_id, schedule=NOW)
    *_, error = await receiver.parsed()
    assert error.callback_type == "error" and error.is_terminal and not error.is_success
    assert error.code == 500 and error.msg and "GENERATE_AUDIO_FAILED" in error.msg
    assert receiver.bodies[-1]["callbackType"] == "error"


async def test_single_stage_callbacks_match_the_queries(
    client: AnyIntClient, raw: httpx.AsyncClient, receiver: Receiver
) -> None:
    created = await client.suno.generate(**SONG)
    song = await client.suno.wait(created.task_id, schedule=NOW)
    parent, audio_id = song.task_id, song.tracks[0].id
    track = {"task_id": parent, "audio_id": audio_id, "call_back_url": RECEIVER}
    lyrics = await client.suno.generate_lyrics(prompt="rain", call_back_url=RECEIVER)
    stems = await client.suno.vocal_removal(**track)
    wav = await client.suno.wav_generate(**track)
    mp4 = await client.suno.mp4_generate(**track)
    cover = await client.suno.generate_cover_art(task_id=parent, call_back_url=RECEIVER)
    lyrics_task = await client.suno.wait(lyrics.task_id, kind="lyrics", schedule=NOW)
    stems_task = await client.suno.wait(stems.task_id, kind="vocal-removal", schedule=NOW)
    wav_task = await client.suno.wait(wav.task_id, kind="wav", schedule=NOW)
    mp4_task = await client.suno.wait(mp4.task_id, kind="mp4", schedule=NOW)
    cover_task = await client.suno.wait(cover.task_id, kind="cover", schedule=NOW)

    by_task = {c.task_id: c for c in await receiver.parsed() if c.task_id != parent}
    assert all(c.is_success for c in by_task.values())
    assert [i.text for i in by_task[lyrics.task_id].lyrics] == [i.text for i in lyrics_task.lyrics]
    assert by_task[stems.task_id].stems == stems_task.stems
    assert set(by_task[stems.task_id].stems) == {"origin", "vocal", "instrumental"}
    assert by_task[wav.task_id].wav_url == wav_task.audio_wav_url
    assert by_task[mp4.task_id].video_url == mp4_task.video_url
    assert by_task[cover.task_id].images == cover_task.images and len(cover_task.images) == 2
    cover_body = next(b for b in receiver.bodies if b.get("taskId") == cover.task_id)
    assert set(cover_body) == {"taskId", "images"}  # camelCase taskId for cover art
    stems_body = next(b for b in receiver.bodies if b.get("task_id") == stems.task_id)
    assert stems_body["vocal_removal_info"]["vocal_url"] == stems_task.stems["vocal"]


@pytest.mark.parametrize(("fault", "copies"), [("callback_duplicate", 2), ("callback_drop", 0)])
async def test_callback_faults(
    client: AnyIntClient,
    raw: httpx.AsyncClient,
    receiver: Receiver,
    fault: str,
    copies: int,
) -> None:
    await raw.post(
        "/_emulator/faults", json={"match": "POST /suno/generate-lyrics", "fault": fault}
    )
    created = await client.suno.generate_lyrics(prompt="rain", call_back_url=RECEIVER)
    task = await client.suno.wait(created.task_id, kind="lyrics", schedule=NOW)
    assert task.is_success  # polling still works whatever happened to the webhook
    parsed = await receiver.parsed()
    assert len(parsed) == copies
    assert len({c.dedup_key for c in parsed}) == min(copies, 1)
    # The next task is not affected.
    again = await client.suno.generate_lyrics(prompt="sun", call_back_url=RECEIVER)
    await client.suno.wait(again.task_id, kind="lyrics", schedule=NOW)
    assert [c.task_id for c in await receiver.parsed()][copies:] == [again.task_id]


async def test_placeholder_callback_url_is_never_called(
    client: AnyIntClient, receiver: Receiver, app: EmulatorApp
) -> None:
    created = await client.suno.generate_lyrics(
        prompt="rain", call_back_url="https://callbacks.invalid/anyint"
    )
    await client.suno.wait(created.task_id, kind="lyrics", schedule=NOW)
    assert await receiver.parsed() == [] and app.backend.callbacks.log == []
