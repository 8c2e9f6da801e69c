"""Emulator fixtures: the in-process app with a real client, and a threaded server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from anyint import AnyIntClient, RetryPolicy
from emulator.app import EmulatorApp, create_app
from emulator.server import IN_PROCESS_BASE_URL, EmulatorTransport, ThreadedEmulatorServer

EMULATOR_KEY = "sk-emulator-test"


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
