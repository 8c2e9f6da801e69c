"""The receiver names its store and warns about callbacks its store's submit journal does not know.

A receiver on another store than the flows' stores every callback where no wait task looks: the
store in ``/healthz`` and one warning per unknown task id make that mismatch visible.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from prefect.blocks.fields import SecretDict
from typer.testing import CliRunner

from anyint_cli import app as cli
from blocks import AssetStore
from callbacks import create_callback_app
from callbacks.store_match import JournalIndex
from tasks import journal
from tasks.journal import JournalEntry, now_utc

from .conftest import TOKEN, make_client
from .test_server import uvicorn_logging

__all__ = ["uvicorn_logging"]

URL = f"/callbacks/{TOKEN}/suno"
SECRET = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"


def suno(task_id: str, phase: str = "complete") -> dict[str, object]:
    return {"callbackType": phase, "task_id": task_id, "data": []}


def claim(store: AssetStore, task_id: str | None, *, lease: float = 600.0) -> JournalEntry:
    """A ``sending`` claim, recorded as :func:`tasks.submit.submit` records it."""
    entry = JournalEntry(
        digest=journal.identity("http://gw.test", f"run:{task_id}", "suno.generate", {"n": 1}),
        route="suno.generate",
        state="sending",
        intent=f"run:{task_id}",
        sent_at=now_utc(),
        lease_until=time.time() + lease,
    )
    assert journal.claim(store, entry)
    return entry


def created(store: AssetStore, entry: JournalEntry, task_id: str) -> None:
    """The gateway answered: the claim becomes ``created`` with the task id, on the same key."""
    update = {"state": "created", "task_id": task_id, "created_at": now_utc()}
    journal.save(store, entry.model_copy(update=update))


def store_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "callbacks" and r.levelno == logging.WARNING
    ]


@pytest.fixture
def receiver(memory_store: AssetStore) -> FastAPI:
    """The receiver on ``memory://store``, looking again at once when a submit is in flight."""
    return create_callback_app(memory_store, token=TOKEN, emit_events=False, journal_recheck=0)


@pytest.fixture
async def client(receiver: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(receiver) as c:
        yield c


async def post(client: httpx.AsyncClient, receiver: FastAPI, body: dict[str, object]) -> None:
    """Deliver one callback and wait for the receiver's background journal check."""
    r = await client.post(URL, json=body)
    assert r.status_code == 200, r.text
    await receiver.state.receiver.drain()


# -- which store ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("configured", "shown"),
    [
        ("s3://AKIAEXAMPLE:{secret}@media/prefix?versionid=3#x", "s3://media/prefix"),
        (
            "sftp://deploy:{secret}@files.example.com:2222/media",
            "sftp://files.example.com:2222/media",
        ),
        ("simplecache::s3://AKIAEXAMPLE:{secret}@media/p", "simplecache::s3://media/p"),
        ("memory://store", "memory://store"),
    ],
)
async def test_healthz_shows_the_store_without_credentials(configured: str, shown: str) -> None:
    store = AssetStore(
        base_url=configured.format(secret=SECRET),
        storage_options=SecretDict({"key": "AKIAEXAMPLE", "secret": SECRET}),
    )
    app = create_callback_app(store, token=TOKEN, emit_events=False)
    async with make_client(app) as c:
        r = await c.get("/healthz")
    assert r.json() == {"ok": True, "store": shown}
    assert SECRET not in r.text and "AKIAEXAMPLE" not in r.text


async def test_healthz_resolves_a_local_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    app = create_callback_app(AssetStore(base_url="media"), token=TOKEN, emit_events=False)
    async with make_client(app) as c:
        assert (await c.get("/healthz")).json()["store"] == f"file://{tmp_path}/media"


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A loopback port something else listens on: the CLI's server stops right after starting."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.mark.usefixtures("uvicorn_logging")
@pytest.mark.parametrize("from_env", [False, True])
def test_cli_store_reaches_the_receiver(
    busy_port: int, monkeypatch: pytest.MonkeyPatch, from_env: bool
) -> None:
    monkeypatch.setenv("ANYINT_CALLBACK_TOKEN", TOKEN)
    url = f"s3://AKIAEXAMPLE:{SECRET}@media/flows"
    args = ["callbacks", "--host", "127.0.0.1", "--port", str(busy_port)]
    if from_env:
        monkeypatch.setenv("ANYINT_STORE", url)  # what the flows resolve without a store block
    else:
        args += ["--store", url]
    result = CliRunner().invoke(cli, args)
    assert "writing to s3://media/flows" in result.output, result.output
    assert SECRET not in result.output
    assert result.exit_code != 0  # the port was taken: uvicorn gave up binding it


# -- which task ids ------------------------------------------------------------------------------


async def test_unknown_task_warns_once_naming_the_store(
    client: httpx.AsyncClient,
    receiver: FastAPI,
    memory_store: AssetStore,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="callbacks")
    created(memory_store, claim(memory_store, "known-1"), "known-1")
    await post(client, receiver, suno("known-1", "text"))
    await post(client, receiver, suno("known-1"))
    assert store_warnings(caplog) == []

    await post(client, receiver, suno("stray-1", "text"))
    await post(client, receiver, suno("stray-1"))  # another phase of the same task: no repeat
    await post(client, receiver, suno("stray-1"))  # a duplicate: no repeat
    (warning,) = store_warnings(caplog)
    assert "stray-1" in warning and "memory://store" in warning
    # Stored all the same: the flows may yet look here (or the journal may be written late).
    assert memory_store.exists("inbox/stray-1/complete.json")


async def test_callback_racing_its_journal_write_is_not_a_mismatch(
    memory_store: AssetStore,
) -> None:
    # The submit claims, the gateway answers, the callback lands, then `created` is saved.
    index = JournalIndex(memory_store)
    entry = claim(memory_store, None)
    assert not index.knows("raced-1")
    assert index.in_flight == 1  # so the receiver looks again before warning
    created(memory_store, entry, "raced-1")
    assert index.knows("raced-1")  # the claim's key is read again, not skipped as seen


async def test_unknown_task_beside_a_live_claim_still_warns(
    client: httpx.AsyncClient,
    receiver: FastAPI,
    memory_store: AssetStore,
    caplog: pytest.LogCaptureFixture,
) -> None:
    claim(memory_store, None)  # a submit in flight, whose task never turns out to be this one
    await post(client, receiver, suno("stray-2"))
    (warning,) = store_warnings(caplog)
    assert "stray-2" in warning


async def test_known_task_costs_no_store_read(memory_store: AssetStore) -> None:
    created(memory_store, claim(memory_store, "known-2"), "known-2")
    index = JournalIndex(memory_store)
    assert index.knows("known-2")
    memory_store.remove(next(iter(memory_store.list(journal.JOURNAL_PREFIX))))
    assert index.knows("known-2")  # answered from the index: the journal was not read again


async def test_unknown_task_on_s3_names_the_bucket_not_the_keys(
    s3_store: AssetStore, caplog: pytest.LogCaptureFixture
) -> None:
    store = s3_store.model_copy(
        update={"storage_options": SecretDict({"key": "testing", "secret": SECRET})}
    )
    created(store, claim(store, "known-3"), "known-3")
    app = create_callback_app(store, token=TOKEN, emit_events=False, journal_recheck=0)
    async with make_client(app) as c:
        await post(c, app, suno("known-3"))
        assert store_warnings(caplog) == []
        await post(c, app, suno("stray-3"))
    (warning,) = store_warnings(caplog)
    assert "stray-3" in warning and "s3://media/prefix" in warning
    assert SECRET not in caplog.text


@pytest.mark.slow  # waits out the receiver's 5 s recheck
async def test_receiver_looks_again_while_a_submit_is_in_flight(
    memory_store: AssetStore, caplog: pytest.LogCaptureFixture
) -> None:
    entry = claim(memory_store, None)
    app = create_callback_app(memory_store, token=TOKEN, emit_events=False, journal_recheck=5)
    index = app.state.receiver.journal
    async with make_client(app) as c:
        assert (await c.post(URL, json=suno("raced-2"))).status_code == 200
        for _ in range(1000):  # wait (at most 10 s) for the receiver's first look ...
            if index.in_flight:  # ... which found the id unknown, with one submit in flight
                break
            await asyncio.sleep(0.01)
        assert index.in_flight == 1
        created(memory_store, entry, "raced-2")  # ... which then records this very task id
        await app.state.receiver.drain()
    assert store_warnings(caplog) == []
