"""The same tasks on Dask worker *processes* that share nothing with the flow's process: no
ambient state, no in-process transport, no memory store. All they get is the run's
:class:`~tasks.RunConfig` value, and they find the gateway (a socket), the key (their own
environment) and the store (a local folder) from it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prefect import flow, task
from prefect_dask.task_runners import DaskTaskRunner

from emulator.server import ThreadedEmulatorServer
from flows import start_run
from tasks import AssetRecord, RunConfig, fetch, submit, wait

BODY: dict[str, Any] = {
    "model": "wan2.6-t2v",
    "input": {"prompt": "a kite over a harbour"},
    "parameters": {"size": "320*180", "duration": 1},
}


@task
async def video_step(run: RunConfig, body: dict[str, Any]) -> tuple[int, list[AssetRecord]]:
    submitted = await submit(run, "dashscope.video-synthesis", body)
    finished = await wait(run, submitted)
    return os.getpid(), await fetch(run, finished, request=body, model=body["model"])


@flow(
    task_runner=DaskTaskRunner(
        cluster_kwargs={"n_workers": 2, "processes": True, "dashboard_address": None}
    )
)
async def on_dask_processes() -> list[tuple[int, list[AssetRecord]]]:
    run = await start_run({"deadline_seconds": 60, "poll_interval": 0.05})
    bodies = [{**BODY, "input": {"prompt": f"kite {i}"}} for i in range(2)]
    futures = [video_step.submit(run, body) for body in bodies]
    return [f.result() for f in futures]


@pytest.fixture
def socket_gateway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The emulator on a socket, a local folder store and a key, all through the environment
    (which the Dask worker processes inherit when the flow starts them)."""
    with ThreadedEmulatorServer() as server:
        monkeypatch.setenv("ANYINT_BASE_URL", server.base_url)
        monkeypatch.setenv("ANYINT_API_KEY", "sk-dask-test")
        monkeypatch.setenv("ANYINT_STORE", str(tmp_path / "store"))
        yield server.base_url


@pytest.mark.slow
@pytest.mark.process
async def test_tasks_run_unchanged_on_dask_worker_processes(
    socket_gateway: str, tmp_path: Path
) -> None:
    results = await on_dask_processes()
    pids = {pid for pid, _ in results}
    assert os.getpid() not in pids  # every step ran in a worker process
    for _, (record,) in results:
        stored = tmp_path / "store" / record.key
        assert stored.is_file() and stored.stat().st_size == record.bytes
    async with httpx.AsyncClient(base_url=socket_gateway) as control:
        calls = (await control.get("/_emulator/calls")).json()["calls"]
    assert sum(1 for c in calls if c["created_task_id"]) == 2
