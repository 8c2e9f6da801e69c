"""The callback receiver as deployed: ``python -m callbacks`` in its own process, on a local
folder store, attacked over real sockets.

Every hostile request gets its documented status (never a 500), the inbox holds exactly one
record per (task, phase), the token never shows up in a response or the process output, and the
process is still up and healthy at the end. Then the emulator delivers real callbacks of every
family to it over the network.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from anyint_cli.embedded import embedded_gateway
from blocks import AssetStore
from callbacks import read_inbox
from emulator.app import EmulatorApp
from tests.conftest import CANARY_KEY, created_task_ids, in_process_client

from ._matrix import STEPS
from ._steps import fill, make_parent, task_step
from ._support import CALLBACK_TOKEN, gateway_config

#: Every test here talks to the receiver running as a process of its own.
pytestmark = pytest.mark.process

MAX_BODY = 64 * 1024
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Receiver:
    """A running receiver process."""

    process: subprocess.Popen[bytes]
    url: str
    store: AssetStore
    out: Path
    err: Path

    def inbox_files(self) -> list[str]:
        """Every file under ``inbox/`` (temporary ones included)."""
        folder = Path(self.store.path("inbox"))
        return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@pytest.fixture(scope="module")
def receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Receiver]:
    """``python -m callbacks`` on a free port and a fresh folder store."""
    folder = tmp_path_factory.mktemp("receiver")
    store = AssetStore(base_url=str(folder / "store"))
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANYINT_", "PREFECT_API"))}
    env |= {"ANYINT_CALLBACK_TOKEN": CALLBACK_TOKEN, "PYTHONPATH": str(ROOT)}
    out, err = folder / "stdout.txt", folder / "stderr.txt"
    args = [sys.executable, "-m", "callbacks", "--port", str(port), "--store", store.root_url]
    with out.open("wb") as o, err.open("wb") as e:
        process = subprocess.Popen(
            [*args, "--max-body", str(MAX_BODY)], env=env, stdout=o, stderr=e, cwd=folder
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, err.read_text()
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "receiver did not start"
            time.sleep(0.1)
        yield Receiver(process, url, store, out, err)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
async def client(receiver: Receiver) -> AsyncIterator[httpx.AsyncClient]:
    """A client on the receiver; every response is checked not to echo the token."""

    async def no_token(response: httpx.Response) -> None:
        await response.aread()
        assert CALLBACK_TOKEN not in response.text
        assert all(CALLBACK_TOKEN not in v for v in response.headers.values())

    limits = httpx.Limits(max_connections=50)
    async with httpx.AsyncClient(
        base_url=receiver.url, event_hooks={"response": [no_token]}, limits=limits, timeout=30
    ) as c:
        yield c


GOOD = f"/callbacks/{CALLBACK_TOKEN}"


def _suno(task_id: str, phase: str = "complete") -> dict[str, Any]:
    return {"callbackType": phase, "task_id": task_id, "data": []}


def _deep(levels: int) -> bytes:
    return b'{"a":' * levels + b"1" + b"}" * levels


# (name, method, path, content, headers, status): one row per hostile request.
HOSTILE: list[tuple[str, str, str, bytes, dict[str, str], int]] = [
    ("no-token", "POST", "/callbacks//suno", b"{}", {}, 404),
    ("no-token-segment", "POST", "/callbacks/suno", b"{}", {}, 404),
    ("wrong-token", "POST", "/callbacks/wrong-token-0123456789/suno", b"{}", {}, 404),
    ("token-prefix", "POST", f"/callbacks/{CALLBACK_TOKEN[:-1]}/suno", b"{}", {}, 404),
    ("token-suffix", "POST", f"/callbacks/{CALLBACK_TOKEN}x/suno", b"{}", {}, 404),
    ("token-in-query", "POST", f"/callbacks/suno?token={CALLBACK_TOKEN}", b"{}", {}, 404),
    ("trailing-slash", "POST", f"{GOOD}/suno/", b"{}", {}, 404),
    ("unknown-family", "POST", f"{GOOD}/midjourney", b"{}", {}, 404),
    ("get", "GET", f"{GOOD}/suno", b"", {}, 405),
    ("over-limit", "POST", f"{GOOD}/suno", b"x" * (MAX_BODY + 1), {}, 413),
    ("not-json", "POST", f"{GOOD}/suno", b"{bad", {}, 400),
    ("truncated-json", "POST", f"{GOOD}/suno", json.dumps(_suno("t1"))[:-5].encode(), {}, 400),
    ("nan", "POST", f"{GOOD}/kling", b'{"task_id": "k", "task_status": NaN}', {}, 400),
    ("bad-utf8", "POST", f"{GOOD}/suno", b'{"task_id": "\xff\xfe"}', {}, 400),
    ("too-deep", "POST", f"{GOOD}/suno", _deep(200), {}, 400),
    ("empty-object", "POST", f"{GOOD}/suno", b"{}", {}, 422),
    ("array", "POST", f"{GOOD}/kling", b"[1, 2, 3]", {}, 422),
    ("string", "POST", f"{GOOD}/dashscope", b'"complete"', {}, 422),
    ("no-status", "POST", f"{GOOD}/kling", b'{"task_id": "k1"}', {}, 422),
    ("no-task-id", "POST", f"{GOOD}/videos", b'{"status": "completed"}', {}, 422),
    (
        "odd-status",
        "POST",
        f"{GOOD}/kling",
        b'{"task_id": "k2", "task_status": "W\\u00e9ird!"}',
        {},
        422,
    ),
]


async def test_hostile_requests(client: httpx.AsyncClient, receiver: Receiver) -> None:
    before = receiver.inbox_files()
    wrong = []
    for name, method, path, content, headers, status in HOSTILE:
        try:
            r = await client.request(method, path, content=content, headers=headers)
        except httpx.TransportError as exc:  # the server may close after a refused body
            wrong.append((name, f"no answer: {exc!r}"))
            continue
        if r.status_code != status:
            wrong.append((name, f"{r.status_code} {r.text[:100]}"))
    assert wrong == []
    assert receiver.inbox_files() == before  # nothing hostile reached the inbox
    assert (await client.get("/healthz")).status_code == 200


async def test_path_like_task_ids_are_data_kept_inside_the_store(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    """Task ids are the gateway's data: one that looks like a path is stored under an encoded
    key inside the inbox, never followed out of the store."""
    before = set(receiver.inbox_files())
    bodies = [
        ("suno", json.dumps(_suno("../../etc")).encode()),
        ("kling", b'{"task_id": "a/b", "task_status": "succeed"}'),
    ]
    for family, content in bodies:
        r = await client.post(f"{GOOD}/{family}", content=content)
        assert r.status_code == 200, r.text
    added = set(receiver.inbox_files()) - before
    assert len(added) == 2 and all(name.startswith("_b32_") for name in added), added
    root = Path(receiver.store.path("inbox")).parent
    assert not (root.parent / "etc").exists() and not (root / "etc").exists()


async def test_replay_100_times(client: httpx.AsyncClient, receiver: Receiver) -> None:
    body = {**_suno("replay-1"), "data": [{"id": "a1", "audio_url": "https://cdn.example/a.mp3"}]}
    answers = [await client.post(f"{GOOD}/suno", json=body) for _ in range(100)]
    assert [a.status_code for a in answers] == [200] * 100
    assert [a.json()["duplicate"] for a in answers] == [False] + [True] * 99
    assert [f for f in receiver.inbox_files() if f.startswith("replay-1/")] == [
        "replay-1/complete.json"
    ]
    assert read_inbox(receiver.store, "replay-1")["complete"]["body"] == body


async def test_200_concurrent(client: httpx.AsyncClient, receiver: Receiver) -> None:
    # 40 tasks x (text, first, complete), plus 80 repeats, all at once and shuffled.
    bodies = [_suno(f"conc-{n}", p) for n in range(40) for p in ("text", "first", "complete")]
    bodies += bodies[::3] + bodies[1::3]
    assert len(bodies) == 200
    bodies = bodies[::2] + bodies[1::2]
    answers = await asyncio.gather(*(client.post(f"{GOOD}/suno", json=b) for b in bodies))
    assert {a.status_code for a in answers} == {200}
    assert sum(not a.json()["duplicate"] for a in answers) == 120
    files = [f for f in receiver.inbox_files() if f.startswith("conc-")]
    assert len(files) == 120 and not [f for f in files if ".partial-" in f]
    assert read_inbox(receiver.store, "conc-7").keys() == {"text", "first", "complete"}


async def test_emulator_callbacks_of_every_route_reach_the_process(
    receiver: Receiver, emulator: EmulatorApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The gateway posts to the receiver over TCP; waits read the receiver's (folder) store.
    monkeypatch.setenv("ANYINT_CALLBACK_URL", receiver.url)
    monkeypatch.setenv("ANYINT_CALLBACK_TOKEN", CALLBACK_TOKEN)
    base_url = f"http://emulator-{uuid.uuid4().hex[:12]}.anyint.local"
    steps = [s for s in STEPS if s.callbacks]
    with embedded_gateway(emulator, receiver.store.root_url, api_key=CANARY_KEY, base_url=base_url):
        parent = await make_parent(gateway_config(base_url, receiver.store))
        for step in steps:
            assert step.route is not None
            await task_step(step.route, fill(step.body, parent))
    await emulator.backend.callbacks.drain()
    deliveries = emulator.backend.callbacks.log
    assert deliveries and {d.status for d in deliveries} == {200}, deliveries
    async with in_process_client(emulator) as control:
        task_ids = (await created_task_ids(control))[1:]  # the parent song used a placeholder
    assert len(task_ids) == len(steps)
    for task_id in task_ids:
        assert "complete" in read_inbox(receiver.store, task_id), task_id


def test_process_stayed_up_and_quiet(receiver: Receiver) -> None:
    """Runs last in this module: after all of the above, the receiver is alive and healthy, and
    its output holds no traceback and no token."""
    assert receiver.process.poll() is None
    assert httpx.get(f"{receiver.url}/healthz", timeout=5).status_code == 200
    output = receiver.out.read_text() + receiver.err.read_text()
    assert "Traceback" not in output and " 500 " not in output
    assert CALLBACK_TOKEN not in output
    assert "/callbacks/***/suno" in output  # the access log ran, masked
