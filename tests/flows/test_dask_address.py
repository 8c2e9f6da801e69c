"""``dask_address``: the fan-out flows on an existing Dask cluster, reached by address.

The cluster is real: a ``dask scheduler`` and two ``dask worker`` processes on loopback, started
once for this module. They share nothing with the test's process: the gateway is the emulator
on a socket, the store a folder both see, the key the workers' own ``ANYINT_API_KEY``; all the
tasks get is the run's configuration as a value. An address that does not answer fails the run
before any gateway call, naming ``dask_address``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from prefect import get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterParentFlowRunId,
    LogFilter,
    LogFilterFlowRunId,
)

from emulator.app import create_app
from emulator.server import ThreadedEmulatorServer
from flows._dask import check_dask_address
from flows.batch import batch
from flows.content_brief import content_brief
from tests.flows.conftest import Refusal

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk-dask-address-test"
#: Start-up bound of the scheduler and of each worker (imports on a busy 2-core machine).
START_SECONDS = 90.0


@dataclass(frozen=True)
class DaskCluster:
    """A running scheduler and its worker processes.

    Attributes:
        address: The scheduler's ``tcp://127.0.0.1:port``.
        worker_pids: The pids of the worker processes (no nanny: they run the tasks).
    """

    address: str
    worker_pids: frozenset[int]


def _answers(address: str) -> bool:
    host, port = address.removeprefix("tcp://").rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=1):
            return True
    except OSError:
        return False


def _scheduler_address(process: subprocess.Popen[bytes], file: Path, log: Path) -> str:
    """The scheduler's address once it answers (bounded; a dead scheduler fails at once)."""
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dask scheduler exited: {log.read_text()[-2000:]}")
        if file.is_file() and file.stat().st_size:
            address: str = json.loads(file.read_text())["address"]
            if _answers(address):
                return address
        time.sleep(0.1)  # polling a real condition, bounded by the deadline
    raise RuntimeError(f"dask scheduler did not answer in {START_SECONDS:g} s")


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    """Stop the processes this module started, each by its own handle."""
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskCluster]:
    """``dask scheduler`` + two ``dask worker`` processes on loopback, cwd the project."""
    from distributed import Client

    folder = tmp_path_factory.mktemp("dask")
    dask = shutil.which("dask") or str(Path(sys.executable).with_name("dask"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANYINT_", "AWS_"))}
    env |= {"ANYINT_API_KEY": KEY, "PYTHONPATH": str(ROOT)}
    processes: list[subprocess.Popen[bytes]] = []

    def start(name: str, *args: str) -> subprocess.Popen[bytes]:
        with (folder / f"{name}.log").open("wb") as log:  # the child keeps its own handle
            process = subprocess.Popen(
                [dask, *args], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        processes.append(process)
        return process

    try:
        file = folder / "scheduler.json"
        scheduler = start(
            "scheduler", "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
            "--scheduler-file", str(file), "--idle-timeout", "600",
        )  # fmt: skip
        address = _scheduler_address(scheduler, file, folder / "scheduler.log")
        # Should this process die without its teardown, the scheduler ends once idle and the
        # workers once it is gone.
        options = ["--host", "127.0.0.1", "--nthreads", "4", "--no-nanny", "--no-dashboard"]
        options += ["--death-timeout", "60"]
        workers = [start(f"worker-{i}", "worker", address, *options) for i in range(2)]
        with Client(address, timeout=START_SECONDS) as client:  # type: ignore[no-untyped-call]
            client.wait_for_workers(2, timeout=START_SECONDS)
        yield DaskCluster(address, frozenset(w.pid for w in workers))
    finally:
        _stop(processes)


@pytest.fixture
def socket_gateway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The emulator on a socket (fast timing), a folder store and the key, for this process
    (the workers have their own key and get the URLs with each task)."""
    with ThreadedEmulatorServer(create_app(timing="fast")) as server:
        monkeypatch.setenv("ANYINT_BASE_URL", server.base_url)
        monkeypatch.setenv("ANYINT_API_KEY", KEY)
        monkeypatch.setenv("ANYINT_STORE", str(tmp_path / "store"))
        yield server.base_url


async def _calls(base_url: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=base_url) as control:
        calls: list[dict[str, Any]] = (await control.get("/_emulator/calls")).json()["calls"]
    return calls


def _check_manifest(store: Path, manifest_key: str, keys: set[str]) -> None:
    """Every key is in the manifest, with the sha256 of the bytes in the folder."""
    manifest = json.loads((store / manifest_key).read_text())
    by_key = {entry["key"]: entry for entry in manifest["assets"]}
    assert keys and keys <= set(by_key)
    for key in keys:
        assert hashlib.sha256((store / key).read_bytes()).hexdigest() == by_key[key]["sha256"]


async def _branch_pids(flow_run_id: str, count: int) -> set[int]:
    """Pids the content-brief branches logged (``... branch of run <id> on host:pid``); the
    workers ship their logs in batches, so this waits, bounded, until all ``count`` arrive."""
    pattern = re.compile(rf"branch of run {flow_run_id} on .+:(\d+)$")
    deadline = time.monotonic() + 30
    found: list[int] = []
    async with get_client() as client:
        (fan_out,) = await client.read_flow_runs(  # the subflow whose tasks the branches are
            flow_run_filter=FlowRunFilter(
                parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[UUID(flow_run_id)])
            )
        )
        while time.monotonic() < deadline:
            logs = await client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[fan_out.id]))
            )
            found = [int(m.group(1)) for log in logs if (m := pattern.search(log.message))]
            if len(found) >= count:
                break
            await asyncio.sleep(0.2)  # polling a real condition, bounded by the deadline
    assert len(found) == count, found
    return set(found)


@pytest.mark.slow
@pytest.mark.process
async def test_content_brief_runs_its_branches_on_the_cluster(
    dask_cluster: DaskCluster, socket_gateway: str, tmp_path: Path
) -> None:
    result = await content_brief(
        image_size="256*256",
        video_size="320*180",
        video_seconds=1,
        poll_interval=0.05,
        dask_address=dask_cluster.address,
    )

    flow_run_id = result.manifest_key.split("/")[1]
    pids = await _branch_pids(flow_run_id, 3)
    assert os.getpid() not in pids and pids <= dask_cluster.worker_pids
    records = [*result.image, *result.video, *result.song]
    _check_manifest(tmp_path / "store", result.manifest_key, {r.key for r in records})
    created = [c["created_task_id"] for c in await _calls(socket_gateway) if c["created_task_id"]]
    assert sorted(created) == sorted(result.task_ids.values())  # each step paid once


@pytest.mark.slow
@pytest.mark.process
async def test_batch_runs_its_items_on_the_cluster(
    dask_cluster: DaskCluster, socket_gateway: str, tmp_path: Path
) -> None:
    prompts = [f"a paper boat, number {i}" for i in range(6)]
    result = await batch(prompts=prompts, max_parallel=4, dask_address=dask_cluster.address)

    pids = {int(item.ran_on.rsplit(":", 1)[1]) for item in result.items}
    assert os.getpid() not in pids and pids <= dask_cluster.worker_pids
    keys = {image.key for item in result.items for image in item.images}
    assert len(keys) == len(prompts)
    _check_manifest(tmp_path / "store", result.manifest_key, keys)
    posts = [c for c in await _calls(socket_gateway) if c["method"] == "POST"]
    assert len(posts) == len(prompts)


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.mark.parametrize("flow_name", ["content-brief", "batch"])
async def test_an_address_that_does_not_answer_fails_before_any_call(
    flow_name: str, refused: Refusal
) -> None:
    flow = content_brief if flow_name == "content-brief" else batch
    address = f"tcp://127.0.0.1:{_closed_port()}"
    started = time.monotonic()
    await refused(flow, {"dask_address": address}, rf"parameter 'dask_address'.*{address}")
    assert time.monotonic() - started < 30  # bounded: not Dask's own retries


async def test_a_listener_that_never_answers_fails_within_the_bound() -> None:
    with socket.socket() as silent:  # accepts connections (the backlog), never speaks Dask
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        address = f"tcp://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        with pytest.raises(ValueError, match=r"parameter 'dask_address'.*within 0\.5 s"):
            await check_dask_address(address, wait_seconds=0.5)
    assert time.monotonic() - started < 15  # the bound, plus importing distributed


def test_a_malformed_address_is_refused_by_the_schema() -> None:
    from flows._params import validate_parameters

    with pytest.raises(ValueError, match="parameter 'dask_address'"):
        validate_parameters(batch.fn, {"dask_address": "http://scheduler/"})
