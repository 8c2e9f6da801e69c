"""Ids: unique across emulator instances unless a seed is set, then fully deterministic.

A real gateway never hands two clients the same task id. An unseeded emulator behaves the same
way, so a test cannot pass by finding one emulator's task on another. A seed (``create_app``,
``/_emulator/seed``, ``/_emulator/reset``, ``--seed``) brings back reproducible ids. Media bytes
stay a function of the request either way.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

import emulator.__main__ as cli
from emulator.app import EmulatorApp, create_app
from emulator.backend import Backend
from emulator.server import IN_PROCESS_BASE_URL, EmulatorTransport, ThreadedEmulatorServer

from ._creates import AUTH, CREATES, SONG, instant


@asynccontextmanager
async def connect(app: EmulatorApp) -> AsyncIterator[httpx.AsyncClient]:
    """A raw client on ``app``, every family's tasks terminal at once."""
    async with httpx.AsyncClient(
        transport=EmulatorTransport(app), base_url=IN_PROCESS_BASE_URL
    ) as raw:
        await instant(raw)
        yield raw


async def song_ids(app: EmulatorApp) -> dict[str, Any]:
    """Task id, audio ids, asset URLs and first track's bytes of one song made on ``app``."""
    async with connect(app) as raw:
        created = await raw.post("/suno/generate", json=SONG, headers=AUTH)
        task_id = created.json()["data"]["taskId"]
        query = await raw.get("/suno/query/task", params={"taskId": task_id}, headers=AUTH)
        tracks = query.json()["data"]["response"]["sunoData"]
        audio = await raw.get(tracks[0]["audioUrl"])
    return {
        "task": task_id,
        "audio": [t["id"] for t in tracks],
        "urls": [t["audioUrl"] for t in tracks],
        "bytes": audio.content,
    }


async def task_ids(app: EmulatorApp) -> list[str]:
    """The ids of one task per create route, made on ``app`` in a fixed order."""
    ids = []
    async with connect(app) as raw:
        for name in sorted(CREATES):
            response = await CREATES[name].post(raw)
            assert response.status_code == 200, response.text
            ids.append(CREATES[name].task_id(response.json()))
    return ids


async def test_unseeded_apps_never_share_ids_but_share_media() -> None:
    first, second = await song_ids(create_app()), await song_ids(create_app())
    assert first["task"] != second["task"]
    assert not set(first["audio"]) & set(second["audio"])
    assert not set(first["urls"]) & set(second["urls"])  # asset ids differ too
    assert first["bytes"] == second["bytes"]  # the same request still gives the same song


async def test_no_create_route_repeats_an_id_across_apps() -> None:
    first, second = await task_ids(create_app()), await task_ids(create_app())
    assert len(set(first)) == len(first)
    assert not set(first) & set(second)


async def test_chat_ids_are_unique_too() -> None:
    body = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 16,
        "messages": [{"role": "user", "content": "hi"}],
    }
    headers = {**AUTH, "anthropic-version": "2023-06-01"}
    ids = []
    for _ in range(2):
        async with connect(create_app()) as raw:
            response = await raw.post("/anthropic/v1/messages", json=body, headers=headers)
            ids.append(response.json()["id"])
    assert ids[0] != ids[1]


async def test_the_same_seed_gives_the_same_ids_every_way() -> None:
    expected = await task_ids(create_app(seed=42))
    assert await task_ids(create_app(seed=42)) == expected
    assert await task_ids(create_app(Backend(seed=42))) == expected
    for route in ("/_emulator/seed", "/_emulator/reset"):
        app = create_app()
        async with connect(app) as raw:
            answer = await raw.post(route, json={"seed": 42})
            assert answer.json()["seed"] == 42
        assert await task_ids(app) == expected
    assert await task_ids(create_app(seed=43)) != expected
    seeded = [await song_ids(create_app(seed=42)) for _ in range(2)]
    assert seeded[0] == seeded[1]


async def test_reset_without_a_seed_is_unseeded_again() -> None:
    app = create_app(seed=42)
    seeded = await task_ids(app)
    runs = []
    for body in ({}, None, {"seed": None}):
        async with connect(app) as raw:
            answer = await raw.post("/_emulator/reset", json=body)
            assert answer.json()["seed"] is None and app.backend.seed is None
        runs.append(await task_ids(app))
    everything = [seeded, *runs]
    assert len({i for ids in everything for i in ids}) == sum(map(len, everything))


async def test_seed_zero_keeps_the_ids_the_emulator_always_gave() -> None:
    app = create_app()
    async with connect(app) as raw:
        await raw.post("/_emulator/reset", json={"seed": 0})
        created = await raw.post("/suno/generate", json=SONG, headers=AUTH)
    # Two audio ids come first (the tracks), then the task: its id is the third of seed 0.
    assert created.json()["data"]["taskId"] == hashlib.sha256(b"0:3").hexdigest()[:24]


def test_threaded_servers_never_share_ids() -> None:
    ids = []
    for _ in range(2):
        with ThreadedEmulatorServer() as server:
            created = httpx.post(f"{server.base_url}/suno/generate", json=SONG, headers=AUTH)
            ids.append(created.json()["data"]["taskId"])
    assert ids[0] != ids[1]


@pytest.mark.parametrize(("argv", "seed"), [([], None), (["--seed", "5"], 5)])
def test_cli_is_unseeded_unless_given_a_seed(
    monkeypatch: pytest.MonkeyPatch, argv: list[str], seed: int | None
) -> None:
    served: list[EmulatorApp] = []
    monkeypatch.setattr(cli.uvicorn, "run", lambda app, **kw: served.append(app))
    cli.main(argv)
    [app] = served
    assert app.backend.seed == seed
    same = Backend(seed=5).new_id()
    assert (app.backend.new_id() == same) is (seed == 5)


def test_create_app_takes_a_seed_or_a_backend_not_both() -> None:
    with pytest.raises(ValueError, match="seed"):
        create_app(Backend(), seed=1)
