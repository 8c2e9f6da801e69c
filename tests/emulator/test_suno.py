"""AI Music emulator: songs and their stages, lyrics, style, queries, validation and task faults."""

from __future__ import annotations

import io
import json
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

import anyint
from anyint import AnyIntClient
from anyint.types.suno import PLACEHOLDER_CALLBACK_URL, MusicTask
from emulator.app import EmulatorApp
from emulator.media import decode_audio, probe
from emulator.music import SONG_SECONDS
from emulator.server import ThreadedEmulatorServer

from .conftest import AUTH, NOW

CB = PLACEHOLDER_CALLBACK_URL
LYRICS = "[Verse]\nThe city fades behind us\n\n[Chorus]\nWe keep driving toward the light"
SIMPLE = {
    "customMode": False,
    "instrumental": False,
    "model": "V5",
    "prompt": "A bright summer pop song about travel and freedom",
    "callBackUrl": CB,
}


async def timing(raw: httpx.AsyncClient, **kwargs: Any) -> None:
    response = await raw.post("/_emulator/timing", json={"family": "suno", **kwargs})
    response.raise_for_status()


async def fetch(raw: httpx.AsyncClient, url: str) -> bytes:
    response = await raw.get(url)
    assert response.status_code == 200, url
    return response.content


async def created_ids(raw: httpx.AsyncClient) -> list[str]:
    calls = (await raw.get("/_emulator/calls")).json()["calls"]
    return [c["created_task_id"] for c in calls if c["created_task_id"]]


async def test_generate_walks_every_stage_with_real_tracks(
    client: AnyIntClient, raw: httpx.AsyncClient
) -> None:
    await timing(raw, after_polls=2)
    created = await client.suno.generate(**SIMPLE)
    assert await created_ids(raw) == [created.task_id]
    seen: dict[str, MusicTask] = {}
    task = await client.suno.wait(
        created.task_id, schedule=NOW, on_change=lambda t: seen.setdefault(t.status, t)
    )
    assert list(seen) == ["PENDING", "TEXT_SUCCESS", "FIRST_SUCCESS", "SUCCESS"]
    assert seen["PENDING"].tracks == []
    text = seen["TEXT_SUCCESS"].tracks
    assert len(text) == 2 and all(t.title and not t.stream_audio_url for t in text)
    first = seen["FIRST_SUCCESS"].tracks
    assert all(t.stream_audio_url and t.image_url and not t.audio_url for t in first)

    assert task.type == "GENERATE" and task.operation_type == "generate"
    assert task.params_dict == SIMPLE  # param is the request as a JSON string
    assert isinstance(task.param, str)
    first_track, second_track = task.tracks
    assert first_track.id != second_track.id
    assert "[Verse]" in (first_track.prompt or "") and first_track.tags
    assert first_track.model_name == "chirp-v5"
    songs = []
    for track in task.tracks:
        assert track.audio_url and track.duration
        data = await fetch(raw, track.audio_url)
        facts = probe(data)
        assert facts.format == "mp3" and facts.audio is not None
        samples, rate = decode_audio(data)
        assert abs(len(samples) / rate - track.duration) < 0.01
        assert SONG_SECONDS[0] - 0.01 <= track.duration <= SONG_SECONDS[1] + 0.01
        assert np.abs(samples).max() > 0.1  # not silence
        songs.append(data)
        image = Image.open(io.BytesIO(await fetch(raw, track.image_url or "")))
        assert image.format == "JPEG"
    assert songs[0] != songs[1]  # the two tracks differ


async def test_same_request_gives_same_audio(client: AnyIntClient, raw: httpx.AsyncClient) -> None:
    await timing(raw, after_seconds=0)
    urls = []
    for _ in range(2):
        created = await client.suno.generate(**SIMPLE)
        task = await client.suno.wait(created.task_id, schedule=NOW)
        urls.append(task.tracks[0].audio_url or "")
    assert urls[0] != urls[1]
    assert await fetch(raw, urls[0]) == await fetch(raw, urls[1])


async def test_lyrics_task_has_variants_with_sections(
    client: AnyIntClient, raw: httpx.AsyncClient
) -> None:
    await timing(raw, after_polls=1)
    created = await client.suno.generate_lyrics(
        prompt="A song about a peaceful night in the city", call_back_url=CB
    )
    task = await client.suno.wait(created.task_id, kind="lyrics", schedule=NOW)
    assert task.type == "LYRICS" and task.params_dict["prompt"].startswith("A song about")
    assert len(task.lyrics) >= 2
    assert len({item.title for item in task.lyrics}) == len(task.lyrics)
    for item in task.lyrics:
        assert item.status == "complete" and item.title
        assert "[Verse]" in (item.text or "") and "[Chorus]" in (item.text or "")
        assert "city" in (item.text or "").lower()


async def test_style_generate_expands_the_keywords(client: AnyIntClient) -> None:
    style = await client.suno.style_generate(content="Pop, Mysterious")
    assert "pop" in style.result.lower() and "mysterious" in style.result.lower()
    assert len(style.result) > 60
    assert json.loads(style.param or "") == {"content": "Pop, Mysterious"}
    assert style.success_flag == "1" and style.credits_consumed is not None


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ({"customMode": True, "instrumental": False, "style": "pop", "title": "T"}, 400, "prompt"),
        ({"customMode": True, "instrumental": True, "title": "T"}, 400, "style"),
        ({"customMode": False, "instrumental": False}, 400, "prompt is required"),
        ({"customMode": False, "instrumental": False, "prompt": "x", "title": "T"}, 400, "empty"),
        ({"customMode": False, "instrumental": False, "prompt": "x" * 501}, 413, "at most 500"),
        (
            {"customMode": True, "instrumental": False, "prompt": "x" * 3001, "model": "V4"}
            | {"style": "pop", "title": "T"},
            413,
            "model V4 allows at most 3000",
        ),
        (
            {"customMode": True, "instrumental": True, "style": "s" * 1001, "title": "T"},
            413,
            "style",
        ),
        ({"customMode": True, "instrumental": True, "style": "s", "title": "t" * 81}, 413, "80"),
        ({"customMode": False, "instrumental": False, "prompt": "x", "model": "V3"}, 400, "V3"),
        (
            {"customMode": False, "instrumental": False, "prompt": "x", "model": "kling-v3"},
            400,
            "not served on the suno",
        ),
        ({"customMode": "yes", "instrumental": False, "prompt": "x"}, 400, "customMode"),
        ({"customMode": False, "instrumental": False, "prompt": "x", "extra": 1}, 400, "extra"),
        (
            {"customMode": False, "instrumental": False, "prompt": "x", "callBackUrl": "ftp:x"},
            400,
            "http",
        ),
    ],
)
async def test_generate_validation_creates_nothing(
    raw: httpx.AsyncClient, app: EmulatorApp, body: dict[str, Any], status: int, needle: str
) -> None:
    full = {"model": "V5", "callBackUrl": CB} | body
    response = await raw.post("/suno/generate", json=full, headers=AUTH)
    assert response.status_code == status  # HTTP status = body code, never 200-with-code
    payload = response.json()
    assert payload["code"] == status and payload["data"] is None
    assert needle in payload["msg"]
    assert await created_ids(raw) == [] and app.backend.tasks == {}


UPLOAD = "http://emulator.anyint.local/_assets/a0/x.mp3"


@pytest.mark.parametrize(
    ("route", "body", "field"),
    [
        (
            "upload-cover",
            {"customMode": True, "instrumental": False, "model": "V4", "prompt": "x" * 3001}
            | {"style": "s", "title": "t", "uploadUrl": UPLOAD},
            "prompt",
        ),
        (
            "extend",
            {"defaultParamFlag": False, "audioId": "a", "model": "V4", "style": "s" * 201},
            "style",
        ),
        (
            "upload-extend",
            {"defaultParamFlag": False, "model": "V5", "title": "t" * 81, "uploadUrl": UPLOAD},
            "title",
        ),
        (
            "add-vocals",
            {
                "prompt": "p",
                "style": "s",
                "title": "t" * 81,
                "negativeTags": "n",
                "uploadUrl": UPLOAD,
            },
            "title",
        ),
        (
            "add-instrumental",
            {"title": "t", "tags": "s" * 1001, "negativeTags": "n", "uploadUrl": UPLOAD},
            "tags",
        ),
        ("mp4-generate", {"taskId": "t", "audioId": "a", "author": "a" * 51}, "author"),
    ],
)
async def test_every_route_answers_413_for_over_length_text(
    raw: httpx.AsyncClient, route: str, body: dict[str, Any], field: str
) -> None:
    response = await raw.post(f"/suno/{route}", json=body | {"callBackUrl": CB}, headers=AUTH)
    assert response.status_code == 413 and response.json()["code"] == 413
    assert response.json()["msg"].startswith(field)
    assert await created_ids(raw) == []


@pytest.mark.parametrize(
    ("content", "headers", "status"),
    [
        (b"{not json", AUTH | {"content-type": "application/json"}, 400),
        (b"[1, 2]", AUTH | {"content-type": "application/json"}, 400),
        (json.dumps(SIMPLE).encode(), {"content-type": "application/json"}, 401),
    ],
)
async def test_malformed_body_and_missing_auth(
    raw: httpx.AsyncClient, content: bytes, headers: dict[str, str], status: int
) -> None:
    response = await raw.post("/suno/generate", content=content, headers=headers)
    assert response.status_code == status
    assert response.json()["code"] == status
    assert await created_ids(raw) == []


async def test_length_limit_reaches_the_client_as_413(
    client: AnyIntClient, raw: httpx.AsyncClient
) -> None:
    # The client checks the same limit before sending; a raw request shows the gateway's answer,
    # and the client maps that answer to its typed error.
    body = SIMPLE | {"prompt": "x" * 501}
    with pytest.raises(anyint.PayloadTooLargeError):
        await client.request("POST", "/suno/generate", json=body, ok_code=200)
    assert await created_ids(raw) == []


async def test_query_errors(client: AnyIntClient, raw: httpx.AsyncClient) -> None:
    missing = await raw.get("/suno/query/task", headers=AUTH)
    empty = await raw.get("/suno/query/task", params={"taskId": " "}, headers=AUTH)
    unknown = await raw.get("/suno/query/wav", params={"taskId": "nope"}, headers=AUTH)
    assert [r.status_code for r in (missing, empty, unknown)] == [400, 400, 404]
    assert [r.json()["code"] for r in (missing, empty, unknown)] == [400, 400, 404]
    assert "taskId" in missing.json()["msg"]

    created = await client.suno.generate_lyrics(prompt="rain", call_back_url=CB)
    wrong = await raw.get("/suno/query/task", params={"taskId": created.task_id}, headers=AUTH)
    assert wrong.status_code == 404
    assert "lyrics task" in wrong.json()["msg"] and "/suno/query/lyrics" in wrong.json()["msg"]
    with pytest.raises(anyint.NotFoundError):
        await client.suno.get_music_task(created.task_id)


async def test_task_unknown_fault_answers_404(client: AnyIntClient, raw: httpx.AsyncClient) -> None:
    await raw.post(
        "/_emulator/faults", json={"match": "POST /suno/generate", "fault": "task_unknown"}
    )
    created = await client.suno.generate(**SIMPLE)
    with pytest.raises(anyint.NotFoundError):
        await client.suno.get_music_task(created.task_id)
    # Follow-ups cannot use it either.
    response = await raw.post(
        "/suno/generate-cover", json={"taskId": created.task_id, "callBackUrl": CB}, headers=AUTH
    )
    assert response.status_code == 400 and "not found" in response.json()["msg"]


async def test_task_failed_fault_ends_generate_audio_failed(
    client: AnyIntClient, raw: httpx.AsyncClient
) -> None:
    await timing(raw, after_polls=1)
    await raw.post(
        "/_emulator/faults", json={"match": "POST /suno/generate", "fault": "task_failed"}
    )
    created = await client.suno.generate(**SIMPLE)
    with pytest.raises(anyint.TaskFailedError) as info:
        await client.suno.wait(created.task_id, schedule=NOW)
    assert info.value.status == "GENERATE_AUDIO_FAILED"
    record = await client.suno.get_music_task(created.task_id)
    assert record.tracks == [] and record.error_code == "500" and record.error_message


async def test_openapi_lists_every_suno_route(app: EmulatorApp) -> None:
    paths = app.fastapi.openapi()["paths"]
    suno = {p for p in paths if p.startswith("/suno/")}
    assert len(suno) == 22
    schema = paths["/suno/generate"]["post"]["requestBody"]["content"]["application/json"]
    assert "$ref" in schema["schema"]


async def test_song_over_a_real_socket(server: ThreadedEmulatorServer) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        await http.post("/_emulator/timing", json={"family": "suno", "after_seconds": 0})
        async with AnyIntClient(api_key="k", base_url=server.base_url) as client:
            created = await client.suno.generate(**SIMPLE)
            task = await client.suno.wait(created.task_id, schedule=NOW)
        url = task.tracks[0].audio_url or ""
        assert url.startswith(server.base_url)
        data = (await http.get(url)).content
    assert probe(data).audio is not None
