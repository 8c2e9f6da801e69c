"""Shared fixtures: a clean environment for every test, and an isolated Prefect home.

Prefect settings are read when Prefect is first imported, so the isolated home is set here, at
conftest import, before any test module imports Prefect.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

# One throwaway Prefect home per test session: its database, result storage (the submit cache)
# and profiles never mix with a developer's ~/.prefect or with an earlier session. Removed at
# exit (after the harness has stopped), so repeated runs leave nothing behind in the temp folder.
os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="anyint-prefect-home-")
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO")

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fsspec.implementations.memory import MemoryFileSystem
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

from anyint_cli.embedded import embedded_gateway
from blocks import AssetStore
from emulator.app import EmulatorApp, create_app
from emulator.server import IN_PROCESS_BASE_URL, EmulatorTransport
from tasks import GatewayConfig

atexit.register(shutil.rmtree, os.environ["PREFECT_HOME"], ignore_errors=True)


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Drop ANYINT_* and AWS_* variables so no test sees the developer's configuration."""
    for name in list(os.environ):
        if name.startswith(("ANYINT_", "AWS_")):
            monkeypatch.delenv(name)
    yield


#: A recognisable fake key: the secrets tests look for it everywhere it must not be.
CANARY_KEY = "sk-canary-7f3a9c2e41d0b8a6"


#: Test folders whose every test runs against the session's Prefect server; elsewhere a test opts
#: in with ``@pytest.mark.prefect`` (or by using the ``gateway`` fixture).
PREFECT_FOLDERS = frozenset({"tasks", "flows", "reliability", "cli"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test of :data:`PREFECT_FOLDERS` ``prefect``: the one opt-in to the harness."""
    tests_root = os.path.dirname(__file__)
    for item in items:
        folder = os.path.relpath(str(item.path), tests_root).split(os.sep)[0]
        if folder in PREFECT_FOLDERS:
            item.add_marker(pytest.mark.prefect)


@pytest.fixture(autouse=True)
def _prefect_opt_in(request: pytest.FixtureRequest) -> None:
    """Start (once) the session's Prefect server for tests marked ``prefect``."""
    if request.node.get_closest_marker("prefect") is not None:
        request.getfixturevalue("prefect_harness")


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One Prefect server (temporary SQLite) for the whole session."""
    # Imported here: it loads Prefect's whole server (~4 s), which the inner loop never starts.
    from prefect.testing.utilities import prefect_test_harness

    # The flow heartbeat thread costs ~1 s per flow run; tests don't need it.
    with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):  # type: ignore[dict-item]
        with prefect_test_harness(server_startup_timeout=90):
            yield


@pytest.fixture
def emulator() -> EmulatorApp:
    """A fresh in-process emulated gateway."""
    return create_app()


@dataclass(frozen=True)
class EmulatedGateway:
    """What a test's flows talk to: the emulator (in process) and a fresh memory store.

    Attributes:
        base_url: The emulator's in-process base URL (unique per test).
        store: The store the flows write to.
    """

    base_url: str
    store: AssetStore

    @property
    def config(self) -> GatewayConfig:
        """The :class:`~tasks.GatewayConfig` a flow run of this test resolves to."""
        return GatewayConfig(base_url=self.base_url, store_url=self.store.root_url)

    def read(self, key: str) -> bytes:
        """The bytes the flows stored under ``key``."""
        with self.store.open(key) as handle:
            data: bytes = handle.read()
        return data


@pytest.fixture
def gateway(emulator: EmulatorApp, prefect_harness: None) -> Iterator[EmulatedGateway]:
    """Flows in this test talk to ``emulator`` and store into a fresh memory store, configured
    through ``ANYINT_*`` exactly as a user configures them."""
    store_url = f"memory://test-{uuid.uuid4().hex[:12]}"
    base_url = f"http://emulator-{uuid.uuid4().hex[:12]}.anyint.local"
    with embedded_gateway(emulator, store_url, api_key=CANARY_KEY, base_url=base_url):
        yield EmulatedGateway(base_url=base_url, store=AssetStore(base_url=store_url))
    MemoryFileSystem.store.clear()


@pytest.fixture
def input_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh folder the flows may read local images from (``ANYINT_INPUT_DIR``, as a user sets
    it); its parent stands for everywhere outside it."""
    monkeypatch.setenv("ANYINT_INPUT_DIR", str(tmp_path))
    return tmp_path


def in_process_client(emulator: EmulatorApp) -> httpx.AsyncClient:
    """A plain httpx client on ``emulator`` in process: its control plane and raw routes."""
    return httpx.AsyncClient(transport=EmulatorTransport(emulator), base_url=IN_PROCESS_BASE_URL)


@pytest.fixture
async def control(emulator: EmulatorApp) -> AsyncIterator[httpx.AsyncClient]:
    """The emulator's control plane (``/_emulator/...``)."""
    async with in_process_client(emulator) as client:
        yield client


async def call_log(control: httpx.AsyncClient) -> list[dict[str, Any]]:
    """Every call the emulator received, oldest first."""
    calls: list[dict[str, Any]] = (await control.get("/_emulator/calls")).json()["calls"]
    return calls


async def created_task_ids(control: httpx.AsyncClient) -> list[str]:
    """Ids of every task the emulator created, from its call log."""
    return [c["created_task_id"] for c in await call_log(control) if c["created_task_id"]]


async def paid_calls(control: httpx.AsyncClient) -> list[dict[str, Any]]:
    """Every gateway call except reads (the Models API catalogue check is a free GET)."""
    return [c for c in await call_log(control) if c["method"] != "GET"]


async def resume_flow_run(flow: Any, flow_run_id: Any) -> Any:
    """Execute an existing flow run again (a resume, as ``--resume`` or a worker restart does),
    and return its final state."""
    from prefect import get_client
    from prefect.flow_engine import run_flow_async

    async with get_client() as client:
        flow_run = await client.read_flow_run(flow_run_id)
    return await run_flow_async(
        flow, flow_run=flow_run, parameters=flow_run.parameters, return_type="state"
    )
