"""Helpers shared by the reliability tests: quick client retries, resuming a flow run, bounded
waits on real conditions, and call-log and store checks."""

from __future__ import annotations

import asyncio
import fnmatch
import hashlib
import posixpath
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from uuid import UUID

import httpx
import pytest
from prefect import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.objects import State, TaskRun
from prefect.flow_engine import run_flow_async

from anyint import AnyIntClient, RetryPolicy
from blocks import AnyIntCredentials, AssetStore
from blocks.store import PARTIAL_MARK
from callbacks import create_callback_app
from emulator.app import EmulatorApp
from tasks import GatewayConfig, SubmitInDoubtError
from tasks.journal import JournalEntry
from tasks.resolve import list_entries

T = TypeVar("T")

#: A recognisable callback token (the secret path segment of callback URLs).
CALLBACK_TOKEN = "cbtok-canary-5d1e8b7f2a9c4e06"
#: Where the in-process callback receiver pretends to live.
RECEIVER_URL = "http://receiver.reliability.test"
#: What every doubt message must tell the user to do (and never to simply re-send).
ADOPT_HINT = r"anyint-flows tasks adopt [0-9a-f]{64} TASK_ID"
FORGET_HINT = r"anyint-flows tasks forget [0-9a-f]{64}"

#: The music-video pipeline: each step, and the route its task is created on.
MUSIC_ROUTES = {
    "lyrics": "suno.generate-lyrics",
    "song": "suno.generate",
    "stems": "suno.vocal-removal",
    "wav": "suno.wav-generate",
    "cover_art": "suno.generate-cover",
    "music_video": "suno.mp4-generate",
}
#: The create path of each step (route ``suno.x`` is ``POST /suno/x``).
MUSIC_CREATE_PATHS = {step: "/" + route.replace(".", "/") for step, route in MUSIC_ROUTES.items()}
#: Manifest kinds of one finished pipeline (audio = both song tracks, image = their art).
MUSIC_KINDS = frozenset({"lyrics", "audio", "image", "stem", "wav", "cover_art", "music_video"})


def fast_retries(monkeypatch: pytest.MonkeyPatch, *, read_timeout: float | None = None) -> None:
    """Make every gateway client of this process retry transient failures after 10-50 ms
    instead of 0.5-8 s (and, when given, time out reads after ``read_timeout`` seconds).

    Only the backoff (and the read timeout) change: which failures are retried, how often, and
    the honouring of ``Retry-After`` stay exactly as in production. Tasks build their clients
    from :class:`AnyIntCredentials` in the process they run in, so this is the one seam.
    """
    original = AnyIntCredentials.get_client

    def quick(self: AnyIntCredentials, transport: httpx.AsyncBaseTransport | None = None) -> Any:
        if read_timeout is not None:
            self = self.model_copy(update={"timeout_seconds": read_timeout})
        client: AnyIntClient = original(self, transport=transport)
        client.retry = RetryPolicy(
            max_retries=client.retry.max_retries, initial_delay=0.01, max_delay=0.05
        )
        return client

    monkeypatch.setattr(AnyIntCredentials, "get_client", quick)


def wire_receiver(
    emulator: EmulatorApp, store: AssetStore, setenv: Any, token: str = CALLBACK_TOKEN
) -> Any:
    """Start a callback receiver on ``store`` and make the emulator deliver to it in process.

    Args:
        emulator: The emulated gateway.
        store: The store the receiver writes its inbox to (the tasks' store).
        setenv: ``monkeypatch.setenv``: submits then put
            ``{RECEIVER_URL}/callbacks/{token}/<family>`` into callback URLs.
        token: The receiver's token (a canary of its own in the secrets tests).

    Returns:
        The receiver's FastAPI app.
    """
    app = create_callback_app(store, token=token, emit_events=False)
    emulator.backend.callbacks.transport = httpx.ASGITransport(app=app)
    setenv("ANYINT_CALLBACK_URL", RECEIVER_URL)
    setenv("ANYINT_CALLBACK_TOKEN", token)
    return app


# -- flow runs ------------------------------------------------------------------------------------


def flow_run_id(state: State[Any]) -> str:
    """The id of the flow run a ``return_state=True`` call ended in."""
    run_id = state.state_details.flow_run_id
    assert run_id is not None, state
    return str(run_id)


async def resume(flow: Any, run_id: str) -> State[Any]:
    """Execute the flow run ``run_id`` again (the same flow run, its own parameters), as
    ``anyint-flows run FLOW --resume ID`` does; returns its final state."""
    async with get_client() as client:
        flow_run = await client.read_flow_run(run_id)  # type: ignore[arg-type]
    return await run_flow_async(  # type: ignore[no-any-return]
        flow, flow_run=flow_run, parameters=flow_run.parameters, return_type="state"
    )


async def failure_of(state: State[Any]) -> BaseException:
    """The exception a failed flow run ended with."""
    assert state.is_failed(), f"expected a failed run, got {state.type}: {state.message}"
    error = await state.aresult(raise_on_failure=False)
    assert isinstance(error, BaseException), error
    return error


def in_doubt(store: AssetStore) -> list[JournalEntry]:
    """The journal's steps in doubt (the newest attempt of each)."""
    return list_entries(store, "in_doubt")


def only_doubt(store: AssetStore, error: BaseException) -> JournalEntry:
    """The one step in doubt, which must be the one ``error`` names."""
    assert isinstance(error, SubmitInDoubtError), repr(error)
    entries = in_doubt(store)
    assert [e.digest for e in entries] == [error.digest], entries
    return entries[0]


def gateway_config(base_url: str, store: AssetStore) -> GatewayConfig:
    """The :class:`GatewayConfig` of flows that talk to ``base_url`` and store into ``store``."""
    return GatewayConfig(base_url=base_url, store_url=store.root_url)


async def until(
    condition: Callable[[], Awaitable[T | None] | T | None],
    *,
    within: float = 10.0,
    every: float = 0.02,
    what: str = "the condition",
) -> T:
    """Poll ``condition`` until it returns something truthy (and return it), at most ``within``
    seconds: a bounded wait on a real fact, never a sleep standing in for one."""
    deadline = time.monotonic() + within
    while True:
        value = condition()
        if isinstance(value, Awaitable):
            value = await value
        if value:
            return value  # type: ignore[return-value]
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {within} s")
        await asyncio.sleep(every)


async def task_runs_of(run_id: str) -> list[TaskRun]:
    """The task runs of the flow run ``run_id``, as the server has them."""
    async with get_client() as client:
        return await client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[UUID(run_id)]))
        )


# -- the emulator's call log ----------------------------------------------------------------------


async def calls(control: httpx.AsyncClient) -> list[dict[str, Any]]:
    """Every gateway request the emulator received (asset downloads are not logged)."""
    return (await control.get("/_emulator/calls")).json()["calls"]  # type: ignore[no-any-return]


def matching(log: list[dict[str, Any]], match: str) -> list[dict[str, Any]]:
    """Calls matching ``"METHOD /path-glob"`` (the fault syntax)."""
    method, _, path = match.partition(" ")
    return [c for c in log if c["method"] == method and fnmatch.fnmatchcase(c["path"], path)]


def processed(log: list[dict[str, Any]], match: str) -> int:
    """How many matching calls the gateway carried out (answered 2xx, or did the work and then
    lost the answer): what a sync route would bill."""
    return sum(
        1
        for c in matching(log, match)
        if 200 <= c["status"] < 300 or c["fault"] in ("drop_after", "truncate", "status_after")
    )


def created_ids(log: list[dict[str, Any]], match: str | None = None) -> list[str]:
    """Ids of the tasks the gateway created (in order), optionally only by matching calls."""
    chosen = log if match is None else matching(log, match)
    return [c["created_task_id"] for c in chosen if c["created_task_id"]]


async def inject(control: httpx.AsyncClient, match: str, **fault: Any) -> None:
    """Queue one emulator fault (see ``emulator/control.py``)."""
    response = await control.post("/_emulator/faults", json={"match": match, **fault})
    assert response.status_code == 200, response.text


# -- the asset store ------------------------------------------------------------------------------


def raw_keys(store: AssetStore) -> list[str]:
    """Every file in the store, temporary ones included (``store.list`` hides those)."""
    fs, root = store._fs()
    fs.invalidate_cache(root)
    if not fs.exists(root):
        return []
    return sorted(posixpath.relpath(p, root) for p in fs.find(root))


def read_bytes(store: AssetStore, key: str) -> bytes:
    """The content of ``key``."""
    with store.open(key) as handle:
        data: bytes = handle.read()
    return data


def assert_store_consistent(store: AssetStore) -> list[dict[str, Any]]:
    """No temporary file anywhere, and every recorded asset matches its record.

    Checks each asset sidecar (``<key>.json`` beside an asset), each run manifest entry and each
    output a ``done`` journal entry lists: the stored bytes have the recorded size and sha256.

    Returns:
        Every manifest and sidecar entry found (for further checks).
    """
    keys = raw_keys(store)
    partial = [k for k in keys if PARTIAL_MARK in k]
    assert not partial, f"temporary files left in the store: {partial}"
    entries: list[dict[str, Any]] = []
    for key in keys:
        if key.startswith("runs/") and key.endswith("/manifest.json"):
            entries += store.read_json(key)["assets"]
        elif key.startswith("assets/") and key.endswith(".json") and key[:-5] in keys:
            entries.append(store.read_json(key))
    for entry in entries:
        data = read_bytes(store, entry["key"])
        assert (len(data), hashlib.sha256(data).hexdigest()) == (entry["bytes"], entry["sha256"]), (
            f"{entry['key']} does not match its record"
        )
    for step in list_entries(store, "done"):
        for output in step.outputs:
            assert store.sha256(output.key) == output.sha256, f"{output.key} != its journal entry"
    return entries
