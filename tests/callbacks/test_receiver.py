"""The callback receiver over HTTP: auth, limits, shapes, idempotency, concurrency, events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from blocks import AssetStore
from callbacks import build_event, create_callback_app, identify_callback, read_inbox

from .conftest import TOKEN, make_client

URL = f"/callbacks/{TOKEN}"

SUNO_BARE = {
    "callbackType": "complete",
    "task_id": "5c79be8e",
    "data": [
        {
            "id": "e2318cad",
            "audio_url": "https://cdn.example.com/track1.mp3",
            "stream_audio_url": "https://cdn.example.com/stream/track1.mp3",
            "image_url": "https://cdn.example.com/cover1.jpeg",
            "title": "Summer Breeze",
            "tags": "pop, R&B",
            "duration": 91.2,
        }
    ],
}
SUNO_WRAPPED = {"code": 200, "msg": "All generated successfully.", "data": dict(SUNO_BARE)}


def record_of(store: AssetStore, task_id: str, phase: str) -> dict[str, Any]:
    return store.read_json(f"inbox/{task_id}/{phase}.json")  # type: ignore[no-any-return]


# -- health, token, methods ------------------------------------------------------------------------


async def test_healthz(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"ok": True, "store": "memory://store"}


@pytest.mark.parametrize(
    "path",
    [
        "/callbacks/wrong-token-0123456789/suno",
        f"/callbacks/{TOKEN[:-1]}/suno",
        f"/callbacks/{TOKEN}x/suno",
        "/callbacks/%C3%A9t%C3%A9-not-ascii-token/suno",  # compare_digest must not raise on it
        "/callbacks//suno",
        "/callbacks/suno",
        f"/callbacks/{TOKEN}/suno/",  # no slash redirect that would tell the path exists
    ],
)
async def test_wrong_or_missing_token_is_a_plain_404(
    client: httpx.AsyncClient, memory_store: AssetStore, path: str
) -> None:
    unknown = await client.post("/no/such/path", json=SUNO_BARE)
    r = await client.post(path, json=SUNO_BARE)
    assert r.status_code == 404
    assert r.json() == unknown.json() == {"detail": "Not Found"}
    assert memory_store.list("inbox") == []


async def test_other_methods(client: httpx.AsyncClient) -> None:
    wrong = await client.get("/callbacks/wrong-token-0123456789/suno")
    assert wrong.status_code == 404
    right = await client.get(f"{URL}/suno")
    assert right.status_code == 405
    assert right.headers["allow"] == "POST"


async def test_unknown_family(client: httpx.AsyncClient) -> None:
    r = await client.post(f"{URL}/midjourney", json=SUNO_BARE)
    assert r.status_code == 404


def test_token_is_required_and_validated(
    monkeypatch: pytest.MonkeyPatch, memory_store: AssetStore
) -> None:
    with pytest.raises(ValueError, match="ANYINT_CALLBACK_TOKEN"):
        create_callback_app(memory_store)
    with pytest.raises(ValueError, match="ANYINT_CALLBACK_TOKEN"):
        create_callback_app(memory_store, token="")
    weak = "short/secret"
    with pytest.raises(ValueError, match="URL-safe") as info:
        create_callback_app(memory_store, token=weak)
    assert weak not in str(info.value)
    # Resolved when the app is created, not at import.
    monkeypatch.setenv("ANYINT_CALLBACK_TOKEN", TOKEN)
    assert create_callback_app(memory_store, emit_events=False).state.receiver.token_ok(TOKEN)


# -- body limits and decoding ----------------------------------------------------------------------


async def test_body_over_limit_with_content_length(memory_store: AssetStore) -> None:
    app = create_callback_app(memory_store, token=TOKEN, max_body=1024, emit_events=False)
    async with make_client(app) as c:
        r = await c.post(f"{URL}/suno", content=b"x" * 1025)
        assert r.status_code == 413
        ok = await c.post(f"{URL}/suno", json={"task_id": "small"})
        assert ok.status_code == 200


async def test_body_over_limit_chunked_stops_reading(memory_store: AssetStore) -> None:
    app = create_callback_app(memory_store, token=TOKEN, max_body=4096, emit_events=False)
    pulled = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal pulled
        for _ in range(1000):
            pulled += 1
            yield b" " * 1024

    async with make_client(app) as c:
        r = await c.post(f"{URL}/suno", content=chunks())
    assert "content-length" not in r.request.headers
    assert r.status_code == 413
    assert pulled < 10  # refused at the cap, not after reading 1 MB


@pytest.mark.parametrize("length", ["abc", "-1", "1, 2"])
async def test_bad_content_length(memory_store: AssetStore, length: str) -> None:
    app = create_callback_app(memory_store, token=TOKEN, emit_events=False)
    async with make_client(app) as c:
        request = c.build_request("POST", f"{URL}/suno", content=b"{}")
        request.headers["content-length"] = length
        r = await c.send(request)
    assert r.status_code == 400


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"",
        b'{"task_id": "t1", "x": NaN}',
        b"\xff\xfe{}",
        b"[" * 100_000 + b"]" * 100_000,  # recursion in the decoder must not become a 500
        # Decodes fine but would make the (recursive) encoder overflow when stored.
        b'{"task_id": "deep", "v": ' + b"[" * 900 + b"]" * 900 + b"}",
    ],
)
async def test_malformed_json_is_400(client: httpx.AsyncClient, content: bytes) -> None:
    r = await client.post(f"{URL}/suno", content=content)
    assert r.status_code == 400


@pytest.mark.parametrize(
    ("family", "body"),
    [
        ("suno", []),
        ("suno", "text"),
        ("suno", {"hello": "world"}),
        ("kling", {"task_status": "succeed"}),
        ("kling", {"task_id": "k1"}),  # an id but no status: cannot tell the phase
        ("dashscope", {"output": {"task_status": "SUCCEEDED"}}),
        ("videos", [1, 2]),
        ("kling", {"task_id": "k1", "task_status": "in progress!"}),
    ],
)
async def test_unknown_shapes_are_422(
    client: httpx.AsyncClient, memory_store: AssetStore, family: str, body: Any
) -> None:
    r = await client.post(f"{URL}/{family}", json=body)
    assert r.status_code == 422
    assert memory_store.list("inbox") == []


# Odd ids ('/', '..', spaces...) are data and accepted: see test_odd_ids.py.
@pytest.mark.parametrize("task_id", ["x" * 4097, "é" * 2049, ""])  # over 4 KiB, or none
async def test_invalid_task_ids_are_400(
    client: httpx.AsyncClient, memory_store: AssetStore, task_id: str
) -> None:
    for family, body in [
        ("suno", {"task_id": task_id, "callbackType": "complete"}),
        ("kling", {"task_id": task_id, "task_status": "succeed"}),
    ]:
        r = await client.post(f"{URL}/{family}", json=body)
        assert r.status_code in (400, 422)  # suno: an empty id is "no task id" (422)
        if task_id:
            assert r.status_code == 400
    assert memory_store.list() == []


# -- shapes ----------------------------------------------------------------------------------------


async def test_both_suno_wrappers(client: httpx.AsyncClient, memory_store: AssetStore) -> None:
    bare = await client.post(f"{URL}/suno", json=SUNO_BARE)
    assert bare.status_code == 200
    assert bare.json() == {
        "ok": True,
        "duplicate": False,
        "task_id": "5c79be8e",
        "phase": "complete",
    }
    record = record_of(memory_store, "5c79be8e", "complete")
    assert record["body"] == SUNO_BARE
    assert record["family"] == "suno"
    assert set(record) == {"task_id", "family", "phase", "received_at", "body"}

    wrapped = {**SUNO_WRAPPED, "data": {**SUNO_BARE, "task_id": "2fac9f72"}}
    r = await client.post(f"{URL}/suno", json=wrapped)
    assert r.json()["phase"] == "complete"
    assert record_of(memory_store, "2fac9f72", "complete")["body"] == wrapped


SUNO_TYPES: list[tuple[dict[str, Any], str, str]] = [
    ({"callbackType": "text", "task_id": "g1", "data": []}, "g1", "text"),
    ({"callbackType": "first", "task_id": "g1", "data": SUNO_BARE["data"]}, "g1", "first"),
    (
        {
            "code": 200,
            "msg": "Text generation completed successfully.",
            "data": {"callbackType": "text", "task_id": "g2", "data": []},
        },
        "g2",
        "text",
    ),
    (
        {
            "callbackType": "complete",
            "task_id": "l1",
            "data": [{"text": "[Verse] hi", "title": "Hi", "status": "complete"}],
        },
        "l1",
        "complete",
    ),
    (
        {
            "code": 200,
            "msg": "vocal Removal generated successfully.",
            "data": {
                "task_id": "v1",
                "vocal_removal_info": {
                    "origin_url": "https://x.test/o.mp3",
                    "instrumental_url": "https://x.test/i.mp3",
                    "vocal_url": "https://x.test/v.mp3",
                },
            },
        },
        "v1",
        "complete",
    ),
    ({"task_id": "w1", "audio_wav_url": "https://x.test/a.wav"}, "w1", "complete"),
    ({"task_id": "m1", "video_url": "https://x.test/v.mp4"}, "m1", "complete"),
    ({"taskId": "c1", "images": ["https://x.test/1.png"]}, "c1", "complete"),
    (
        {
            "code": 531,
            "msg": "Generation failed",
            "data": {"callbackType": "error", "task_id": "e1"},
        },
        "e1",
        "error",
    ),
    (
        {"code": 500, "msg": "boom", "data": {"task_id": "e2", "callbackType": "complete"}},
        "e2",
        "error",
    ),
    ({"callbackType": "failed", "task_id": "e3"}, "e3", "error"),
]


GENERIC: list[tuple[str, dict[str, Any], str, str]] = [
    # Kling native callback: the task object itself.
    ("kling", {"task_id": "867283741759111202", "task_status": "succeed",
               "task_result": {"videos": [{"id": "v", "url": "https://x.test/k.mp4"}]}},
     "867283741759111202", "complete"),
    ("kling", {"task_id": "k2", "task_status": "failed", "task_status_msg": "nsfw"}, "k2", "error"),
    ("kling", {"task_id": "k3", "task_status": "processing"}, "k3", "processing"),
    # Kling's response wrapper, in case the gateway relays it.
    ("kling", {"code": 0, "message": "SUCCEED", "request_id": "r",
               "data": {"task_id": "k4", "task_status": "succeed"}}, "k4", "complete"),
    ("kling", {"task_id": 1234567890, "task_status": "submitted"}, "1234567890", "submitted"),
    # DashScope: output.task_id + output.task_status.
    ("dashscope", {"request_id": "r", "output": {"task_id": "0385dc79-5ff8-4d82-bcb6-caf8b4bd6f5c",
                   "task_status": "SUCCEEDED", "video_url": "https://x.test/d.mp4"}},
     "0385dc79-5ff8-4d82-bcb6-caf8b4bd6f5c", "complete"),
    ("dashscope", {"output": {"task_id": "d2", "task_status": "FAILED",
                              "code": "DataInspectionFailed", "message": "bad"}}, "d2", "error"),
    ("dashscope", {"output": {"task_id": "d3", "task_status": "CANCELED"}}, "d3", "error"),
    ("dashscope", {"output": {"task_id": "d4", "task_status": "RUNNING"}}, "d4", "running"),
    # OpenAI-style video object and event envelope.
    ("videos", {"id": "video_1", "object": "video", "status": "completed", "progress": 100},
     "video_1", "complete"),
    ("videos", {"id": "video_2", "object": "video", "status": "in_progress"},
     "video_2", "in_progress"),
    ("videos", {"id": "evt_9", "object": "event", "type": "video.failed",
                "data": {"id": "video_3"}}, "video_3", "error"),
    ("videos", {"taskId": "v4", "status": "queued"}, "v4", "queued"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("family", "body", "task_id", "phase"), [("suno", *row) for row in SUNO_TYPES] + GENERIC
)
async def test_each_family_and_task_type(
    client: httpx.AsyncClient,
    memory_store: AssetStore,
    family: str,
    body: dict[str, Any],
    task_id: str,
    phase: str,
) -> None:
    r = await client.post(f"{URL}/{family}", json=body)
    assert r.status_code == 200, r.text
    assert (r.json()["task_id"], r.json()["phase"]) == (task_id, phase)
    record = record_of(memory_store, task_id, phase)
    assert record["family"] == family
    assert record["body"] == body
    assert identify_callback(family, body) == (body_id(body), phase)


def body_id(body: dict[str, Any]) -> object:
    for container in (body, body.get("output") or {}, body.get("data") or {}):
        for key in ("task_id", "taskId"):
            if key in container:
                return container[key]
    return (body.get("data") or body)["id"]


# -- idempotency and concurrency -------------------------------------------------------------------


async def test_replay_100_times_keeps_one_record(
    client: httpx.AsyncClient, memory_store: AssetStore
) -> None:
    answers = [await client.post(f"{URL}/suno", json=SUNO_BARE)]
    first = record_of(memory_store, "5c79be8e", "complete")
    answers += [await client.post(f"{URL}/suno", json=SUNO_BARE) for _ in range(99)]
    assert [a.status_code for a in answers] == [200] * 100
    assert [a.json()["duplicate"] for a in answers] == [False] + [True] * 99
    assert memory_store.list("inbox") == ["inbox/5c79be8e/complete.json"]
    assert record_of(memory_store, "5c79be8e", "complete") == first  # never rewritten


async def test_200_concurrent_callbacks(
    client: httpx.AsyncClient, memory_store: AssetStore
) -> None:
    bodies = [
        {"callbackType": phase, "task_id": f"task-{n}", "data": []}
        for n in range(20)
        for phase in ("first", "complete")
        for _copy in range(5)
    ]
    answers = await asyncio.gather(*(client.post(f"{URL}/suno", json=b) for b in bodies))
    assert len(answers) == 200
    assert {a.status_code for a in answers} == {200}
    assert sum(not a.json()["duplicate"] for a in answers) == 40
    keys = memory_store.list("inbox")
    assert len(keys) == 40
    assert keys == sorted(
        f"inbox/task-{n}/{p}.json" for n in range(20) for p in ("first", "complete")
    )
    assert read_inbox(memory_store, "task-3").keys() == {"first", "complete"}


class _BrokenStore(AssetStore):
    """A store whose writes fail, as S3 does when it is down."""

    _block_type_slug = "anyint-test-broken-store"

    def put_json(self, key: str, value: Any) -> Any:
        raise OSError("store unreachable")

    def create_json(self, key: str, value: Any) -> bool:
        raise OSError("store unreachable")


async def test_store_failure_is_503_so_the_gateway_retries(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = create_callback_app(
        _BrokenStore(base_url="memory://broken"), token=TOKEN, emit_events=False
    )
    async with make_client(app) as c:
        r = await c.post(f"{URL}/suno", json=SUNO_BARE)
    assert r.status_code == 503
    assert "inbox write failed" in caplog.text
    assert TOKEN not in caplog.text


# -- S3 --------------------------------------------------------------------------------------------


async def test_inbox_on_s3(s3_store: AssetStore) -> None:
    app = create_callback_app(s3_store, token=TOKEN, emit_events=False)
    async with make_client(app) as c:
        answers = await asyncio.gather(
            *(c.post(f"{URL}/suno", json=SUNO_WRAPPED) for _ in range(5))
        )
    assert {a.status_code for a in answers} == {200}
    assert sum(not a.json()["duplicate"] for a in answers) == 1
    assert s3_store.list("inbox") == ["inbox/5c79be8e/complete.json"]
    assert read_inbox(s3_store, "5c79be8e")["complete"]["body"] == SUNO_WRAPPED


# -- events ----------------------------------------------------------------------------------------


def test_events_off_without_a_prefect_api(memory_store: AssetStore) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        app = create_callback_app(memory_store, token=TOKEN)
    assert app.state.receiver.emit_events is False


async def test_callbacks_work_with_events_off(memory_store: AssetStore) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        app = create_callback_app(memory_store, token=TOKEN)
    async with make_client(app) as c:
        r = await c.post(f"{URL}/kling", json={"task_id": "k1", "task_status": "succeed"})
    assert r.status_code == 200
    assert not app.state.receiver._pending


def test_build_event_is_the_emit_event_call() -> None:
    record = {
        "task_id": "t1",
        "family": "kling",
        "phase": "complete",
        "received_at": "2025-01-01T00:00:00+00:00",
        "body": {"task_id": "t1", "url": "https://private.example/secret.mp4"},
    }
    kwargs = build_event(record)
    assert kwargs["event"] == "anyint.callback.complete"
    assert kwargs["resource"] == {"prefect.resource.id": "anyint.task.t1", "anyint.family": "kling"}
    assert kwargs["payload"] == {
        "task_id": "t1",
        "family": "kling",
        "phase": "complete",
        "terminal": True,
        "inbox_key": "inbox/t1/complete.json",
        "received_at": "2025-01-01T00:00:00+00:00",
    }
    assert "private" not in json.dumps(kwargs, default=str)  # the body never rides along
    assert kwargs["id"] == build_event({**record, "received_at": "2026-01-01T00:00:00+00:00"})["id"]
    assert kwargs["id"] != build_event({**record, "phase": "error"})["id"]
    # It is a valid Prefect event.
    from prefect.events import Event

    event = Event(**kwargs)
    assert event.resource.id == "anyint.task.t1"


async def test_emission_goes_to_prefect_without_blocking(
    memory_store: AssetStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The live path with Prefect's recording events client (no server: a harness costs ~15 s)."""
    from prefect.events.clients import AssertingEventsClient
    from prefect.events.worker import EventsWorker
    from prefect.settings import PREFECT_API_URL, temporary_settings

    # A configured (never contacted) API makes emit_events=None mean "on".
    with temporary_settings({PREFECT_API_URL: "http://127.0.0.1:9/api"}):
        worker = EventsWorker.instance(AssertingEventsClient)
        monkeypatch.setattr(EventsWorker, "instance", lambda *_: worker)
        app = create_callback_app(memory_store, token=TOKEN)
        assert app.state.receiver.emit_events is True
        async with make_client(app) as c:
            first = await c.post(f"{URL}/kling", json={"task_id": "k9", "task_status": "succeed"})
            again = await c.post(f"{URL}/kling", json={"task_id": "k9", "task_status": "succeed"})
        await app.state.receiver.drain()
        await worker.drain()  # type: ignore[misc]  # an awaitable inside a running loop
    assert (first.status_code, again.json()["duplicate"]) == (200, True)
    assert AssertingEventsClient.last is not None
    events = [e for e in AssertingEventsClient.last.events if e.event.startswith("anyint.")]
    assert [(e.event, e.resource.id, e.payload["phase"]) for e in events] == [
        ("anyint.callback.complete", "anyint.task.k9", "complete")
    ]
