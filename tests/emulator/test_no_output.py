"""The ``task_no_output`` fault: a task reaches its success status without its output.

Each family says "done" in its own words and leaves out what it normally delivers: DashScope's
``output.video_url``, Kling's ``task_result`` entries, the OpenAI-style video's content, Suno's
audio and result URLs (queries and callbacks alike). A client must not treat that as a result.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from anyint import AnyIntClient
from anyint.types.suno import PLACEHOLDER_CALLBACK_URL
from emulator.app import EmulatorApp

from ._creates import AUTH, CREATES, Create, fault, instant, tasks

RECEIVER = "http://receiver.test/callback"


async def two_tasks(raw: httpx.AsyncClient, create: Create) -> tuple[str, str]:
    """A task under the fault, then an ordinary one (the fault is used up by the first)."""
    await instant(raw, create.family)
    await fault(raw, f"POST {create.path}", "task_no_output")
    empty, full = [create.task_id((await create.post(raw)).json()) for _ in range(2)]
    listed = await tasks(raw)
    assert listed[empty]["no_output"] and not listed[full]["no_output"]
    return empty, full


def receive_callbacks(app: EmulatorApp) -> list[dict[str, Any]]:
    """Callback bodies POSTed by ``app``, collected in the returned list."""
    bodies: list[dict[str, Any]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200)

    app.backend.callbacks.transport = httpx.MockTransport(handle)
    return bodies


# -- video families -------------------------------------------------------------------------------


async def test_dashscope_succeeds_without_video_url(
    client: AnyIntClient, raw: httpx.AsyncClient
) -> None:
    create = CREATES["dashscope-video"]
    empty, full = await two_tasks(raw, create)
    output = (await create.poll(raw, empty))["output"]
    assert output["task_status"] == "SUCCEEDED" and output["end_time"]
    assert "video_url" not in output
    assert (await create.poll(raw, full))["output"]["video_url"]
    # The client's own model reads it as a success that carries nothing.
    snapshot = await client.dashscope.get_task(empty)
    assert snapshot.status == "SUCCEEDED" and snapshot.video_url is None


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("kling-text2video", "videos"),
        ("kling-image2video", "videos"),
        ("kling-omni-video", "videos"),
        ("kling-image", "images"),
    ],
)
async def test_kling_succeeds_with_an_empty_result(
    raw: httpx.AsyncClient, name: str, key: str
) -> None:
    create = CREATES[name]
    empty, full = await two_tasks(raw, create)
    data = (await create.poll(raw, empty))["data"]
    assert data["task_status"] == "succeed" and data["task_result"] == {key: []}
    assert (await create.poll(raw, full))["data"]["task_result"][key]


async def test_kling_callback_has_the_empty_result_too(
    app: EmulatorApp, raw: httpx.AsyncClient
) -> None:
    bodies = receive_callbacks(app)
    create = CREATES["kling-text2video"]
    await instant(raw, "kling")
    await fault(raw, f"POST {create.path}", "task_no_output")
    body = {**create.body, "callback_url": RECEIVER}
    created = await raw.post(create.path, json=body, headers=AUTH)
    await create.poll(raw, create.task_id(created.json()))
    await app.backend.callbacks.drain()
    final = [b for b in bodies if b["task_status"] == "succeed"]
    assert final and all(b["task_result"] == {"videos": []} for b in final)


async def test_video_job_completes_but_content_is_404(raw: httpx.AsyncClient) -> None:
    create = CREATES["videos"]
    empty, full = await two_tasks(raw, create)
    job = await create.poll(raw, empty)
    assert (job["status"], job["progress"], job["error"]) == ("completed", 100, None)
    for variant in ("video", "thumbnail"):
        content = await raw.get(
            f"{create.path}/{empty}/content", params={"variant": variant}, headers=AUTH
        )
        assert content.status_code == 404
        assert content.json()["error"]["code"] == "video_content_missing"
    ok = await raw.get(f"{create.path}/{full}/content", headers=AUTH)
    assert ok.status_code == 200 and ok.headers["content-type"] == "video/mp4"


# -- AI Music -------------------------------------------------------------------------------------


async def test_song_succeeds_without_audio_urls(
    client: AnyIntClient, raw: httpx.AsyncClient
) -> None:
    create = CREATES["suno-generate"]
    empty, full = await two_tasks(raw, create)
    record = (await create.poll(raw, empty))["data"]
    assert record["status"] == "SUCCESS" and record["errorCode"] is None
    tracks = record["response"]["sunoData"]
    assert len(tracks) == 2
    for track in tracks:
        assert track["id"] and track["title"] and track["imageUrl"]
        audio = ("audioUrl", "sourceAudioUrl", "streamAudioUrl", "sourceStreamAudioUrl")
        assert [track[k] for k in audio] == ["", "", "", ""]
    # The client's own model reads it as a success that carries nothing.
    snapshot = await client.suno.get_music_task(empty)
    assert snapshot.status == "SUCCESS" and not snapshot.has_results
    assert (await client.suno.get_music_task(full)).has_results


async def test_lyrics_succeed_without_variants(raw: httpx.AsyncClient) -> None:
    create = CREATES["suno-lyrics"]
    empty, full = await two_tasks(raw, create)
    record = (await create.poll(raw, empty))["data"]
    assert record["status"] == "SUCCESS" and record["response"]["lyricsData"] == []
    assert (await create.poll(raw, full))["data"]["response"]["lyricsData"]


async def finished_song(raw: httpx.AsyncClient) -> tuple[str, str]:
    """taskId and first audioId of a finished song (made without any fault)."""
    await instant(raw, "suno")
    song = CREATES["suno-generate"]
    task_id = song.task_id((await song.post(raw)).json())
    record = (await song.poll(raw, task_id))["data"]
    return task_id, record["response"]["sunoData"][0]["id"]


def no_urls(response: Any) -> bool:
    """Whether a follow-up record's ``response`` holds no URL at all."""
    return not response or not any(v for v in response.values() if v)


@pytest.mark.parametrize(
    ("route", "query", "extra"),
    [
        ("wav-generate", "wav", {}),
        ("mp4-generate", "mp4", {}),
        ("vocal-removal", "vocal-removal", {}),
        ("split-stem", "vocal-removal", {"type": "split_stem"}),
        ("generate-cover", "cover", None),
    ],
)
async def test_follow_ups_succeed_without_result_urls(
    raw: httpx.AsyncClient, route: str, query: str, extra: dict[str, Any] | None
) -> None:
    parent, audio_id = await finished_song(raw)
    body: dict[str, Any] = {"taskId": parent, "callBackUrl": PLACEHOLDER_CALLBACK_URL}
    if extra is not None:  # cover art is made for the whole task, not one track
        body.update(audioId=audio_id, **extra)
    follow_up = Create(f"/suno/{route}", body, "suno", f"/suno/query/{query}?taskId={{id}}")
    await fault(raw, f"POST {follow_up.path}", "task_no_output")
    created = await follow_up.post(raw)
    assert created.status_code == 200, created.text
    record = (await follow_up.poll(raw, follow_up.task_id(created.json())))["data"]
    assert record["successFlag"] == "SUCCESS" and record["errorCode"] is None
    assert no_urls(record["response"]), record["response"]


async def test_suno_callbacks_lack_the_urls_too(app: EmulatorApp, raw: httpx.AsyncClient) -> None:
    bodies = receive_callbacks(app)
    parent, audio_id = await finished_song(raw)
    await fault(raw, "POST /suno/*", "task_no_output", times=2)
    song = Create(
        "/suno/generate",
        {**CREATES["suno-generate"].body, "callBackUrl": RECEIVER},
        "suno",
        "/suno/query/task?taskId={id}",
    )
    wav = Create(
        "/suno/wav-generate",
        {"taskId": parent, "audioId": audio_id, "callBackUrl": RECEIVER},
        "suno",
        "/suno/query/wav?taskId={id}",
    )
    for create in (song, wav):
        await create.poll(raw, create.task_id((await create.post(raw)).json()))
    await app.backend.callbacks.drain()
    [complete] = [b for b in bodies if b.get("callbackType") == "complete"]
    assert len(complete["data"]) == 2
    assert all(t["audio_url"] == t["stream_audio_url"] == "" for t in complete["data"])
    [wav_callback] = [b for b in bodies if "audio_wav_url" in b]
    assert wav_callback["audio_wav_url"] is None
