"""Emulator fixtures: the in-process app with a real client, and a threaded server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest

from anyint import AnyIntClient, PollSchedule, RetryPolicy
from emulator.app import EmulatorApp, create_app
from emulator.backend import TaskFamily, Timing
from emulator.server import IN_PROCESS_BASE_URL, EmulatorTransport, ThreadedEmulatorServer

EMULATOR_KEY = "sk-emulator-test"
AUTH = {"Authorization": f"Bearer {EMULATOR_KEY}"}
#: Polls without waiting. The deadline only guards against a hang: tasks advance per poll or by
#: the emulator's clock, and a loaded machine may need seconds to render their media.
NOW = PollSchedule(initial=0.0, factor=1.0, max_interval=0.0, deadline=60.0)


def one_stage_per_poll(family: TaskFamily) -> Callable[[EmulatorApp], None]:
    """An autouse fixture for a test module: ``family``'s tasks advance one stage per poll.

    Assign it in the module (``_paced = one_stage_per_poll("kling")``); it sets what
    ``POST /_emulator/timing`` with ``after_polls: 1`` sets.
    """

    @pytest.fixture(autouse=True)
    def paced(app: EmulatorApp) -> None:
        app.backend.timing[family] = Timing(after_seconds=None, after_polls=1)

    return paced


async def _no_sleep(delay: float) -> None:
    return None


@pytest.fixture
def app() -> EmulatorApp:
    """A fresh emulated gateway (fast timing)."""
    return create_app()


@pytest.fixture
async def client(app: EmulatorApp) -> AsyncIterator[AnyIntClient]:
    """The real AnyInt client talking to the in-process emulator (retry delays skipped)."""
    c = AnyIntClient(
        api_key=EMULATOR_KEY,
        base_url=IN_PROCESS_BASE_URL,
        transport=EmulatorTransport(app),
        retry=RetryPolicy(sleep=_no_sleep),
    )
    yield c
    await c.aclose()


@pytest.fixture
async def raw(app: EmulatorApp) -> AsyncIterator[httpx.AsyncClient]:
    """A plain httpx client on the in-process emulator, for control-plane and raw calls."""
    async with httpx.AsyncClient(
        transport=EmulatorTransport(app), base_url=IN_PROCESS_BASE_URL
    ) as c:
        yield c


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[ThreadedEmulatorServer]:
    """One threaded emulator for the session; tests reset it through the control plane."""
    with ThreadedEmulatorServer() as server:
        yield server


@pytest.fixture
def server(emulator_server: ThreadedEmulatorServer) -> ThreadedEmulatorServer:
    """The threaded emulator, reset to a fresh state."""
    httpx.post(f"{emulator_server.base_url}/_emulator/reset", json={}).raise_for_status()
    return emulator_server
