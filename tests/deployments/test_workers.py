"""More process workers on one pool share its flow runs.

Real pieces only: the session's Prefect server, ``prefect deploy`` of ``deployments/prefect.yaml``
(one deployment of it), two ``prefect worker start`` subprocesses on the process pool, and the
emulated gateway on a real socket. Each flow run is a fresh Python process started by a worker.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import re
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from uuid import UUID

import pytest
from PIL import Image
from prefect import get_client
from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.objects import FlowRun
from prefect.exceptions import ObjectAlreadyExists
from prefect.settings import PREFECT_API_URL
from prefect.workers.process import ProcessWorker

from blocks import AnyIntCredentials, AssetStore
from emulator.server import ThreadedEmulatorServer

ROOT = Path(__file__).resolve().parents[2]
POOL = "anyint-process"  # the pool deployments/prefect.yaml names
DEPLOYMENT = "generate-image/on-demand"
WORKERS = ("worker-a", "worker-b")
RUNS = 4
#: Bound on the whole test; it took about 30 s on 2 cores (deploy ~10 s, 4 runs ~20 s).
DEADLINE = 120.0
# Whitespace-tolerant: the worker's console handler may wrap long lines.
_SUBMITTED = re.compile(r"Worker\s+'([\w-]+)'\s+submitting\s+flow\s+run\s+'([0-9a-f-]{36})'")


@pytest.fixture
def emulator_url() -> Iterator[str]:
    with ThreadedEmulatorServer() as server:
        yield server.base_url


def _env(emulator_url: str, store: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
        # Poll for runs every second rather than every 10 s.
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        "ANYINT_BASE_URL": emulator_url,
        "ANYINT_API_KEY": "any-key-works-with-the-emulator",
        "ANYINT_STORE": str(store),
        # Wide, plain log lines: without a terminal, rich would wrap at 80 columns. The
        # submissions this test reads are INFO lines, whatever the calling environment says.
        "COLUMNS": "400",
        "PREFECT_LOGGING_LEVEL": "INFO",
        "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "INFO",
    }


async def _poll(what: str, check: Callable[[], Awaitable[bool]], deadline: float) -> None:
    """Wait until ``check()`` is true, polling the API; fail after ``deadline``."""
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.25)


async def ready_pool(client: PrefectClient) -> None:
    """The process pool ``POOL`` and the blocks the YAML names ("anyint"; empty ones defer to
    the workers' ANYINT_* environment)."""
    try:
        await client.create_work_pool(
            WorkPoolCreate(
                name=POOL,
                type="process",
                base_job_template=ProcessWorker.get_default_base_job_template(),
            )
        )
    except ObjectAlreadyExists:
        pass
    await AnyIntCredentials().asave("anyint", overwrite=True)
    await AssetStore().asave("anyint", overwrite=True)


@pytest.mark.slow
@pytest.mark.process
async def test_two_process_workers_share_one_pool(
    prefect_harness: None, emulator_url: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    deadline = started + DEADLINE
    store = tmp_path / "store"
    env = _env(emulator_url, store)
    async with get_client() as client:
        await ready_pool(client)

        logs = {name: tmp_path / f"{name}.log" for name in WORKERS}
        workers = []
        for name in WORKERS:
            start = ["worker", "start", "--pool", POOL, "--type", "process", "--limit", "1"]
            with logs[name].open("wb") as log:  # the child keeps its own copy of the handle
                proc = await asyncio.create_subprocess_exec(
                    *[sys.executable, "-m", "prefect", *start, "--name", name],
                    cwd=tmp_path,
                    env=env,
                    stdout=log,
                    stderr=asyncio.subprocess.STDOUT,
                )
            workers.append(proc)
        try:
            deploy = await asyncio.create_subprocess_exec(
                *[sys.executable, "-m", "prefect", "--no-prompt", "deploy"],
                *["--prefect-file", "deployments/prefect.yaml", "--name", DEPLOYMENT],
                cwd=ROOT,
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            left = deadline - time.monotonic()
            out, _ = await asyncio.wait_for(deploy.communicate(), timeout=left)
            assert deploy.returncode == 0, out.decode()[-3000:]
            deployed = time.monotonic()

            async def both_workers_polling() -> bool:
                names = {w.name for w in await client.read_workers_for_work_pool(POOL)}
                return names >= set(WORKERS)

            # Runs are created only once both workers poll, so neither can take them all alone.
            await _poll("both workers to register", both_workers_polling, deadline)
            ready = time.monotonic()
            deployment = await client.read_deployment_by_name(DEPLOYMENT)
            # `prefect deploy` baked its own working directory (the root) into the pull step.
            assert deployment.pull_steps == [
                {"prefect.deployments.steps.set_working_directory": {"directory": str(ROOT)}}
            ]
            assert deployment.work_pool_name == POOL
            runs = [
                await client.create_flow_run_from_deployment(
                    deployment.id,
                    parameters={
                        "prompt": f"poster number {i}",
                        "route": "dashscope",
                        "size": "1328*1328",
                    },
                )
                for i in range(RUNS)
            ]
            ids = [r.id for r in runs]
            final: list[FlowRun] = []

            async def all_final() -> bool:
                nonlocal final
                final = await client.read_flow_runs(
                    flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids))
                )
                return len(final) == RUNS and all(r.state and r.state.is_final() for r in final)

            await _poll("all flow runs to finish", all_final, deadline)
            finished = time.monotonic()
        finally:
            for proc in workers:
                proc.terminate()
            for proc in workers:
                try:
                    await asyncio.wait_for(proc.wait(), timeout=15)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()

    states = {r.id: r.state.name if r.state else None for r in final}
    assert set(states.values()) == {"Completed"}, states
    taken: dict[UUID, str] = {}
    for name, log in logs.items():
        for worker, run_id in _SUBMITTED.findall(log.read_text(errors="replace")):
            assert worker == name
            taken[UUID(run_id)] = worker
    excerpt = {name: log.read_text(errors="replace")[-1500:] for name, log in logs.items()}
    # Every run was submitted by one of the two workers.
    assert set(taken) == set(ids), (taken, excerpt)
    assert set(taken.values()) == set(WORKERS), f"one worker took every run: {taken}"
    assert all(r.infrastructure_pid for r in final)  # each ran in its own process

    for run_id in ids:
        manifest = json.loads((store / "runs" / str(run_id) / "manifest.json").read_text())
        assert manifest["flow"] == "generate-image" and manifest["flow_run_id"] == str(run_id)
        (asset,) = manifest["assets"]
        data = (store / asset["key"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == asset["sha256"]
        assert Image.open(io.BytesIO(data)).size == (1328, 1328)

    print(  # measured, shown with -s
        f"deploy {deployed - started:.1f}s, workers ready {ready - started:.1f}s, "
        f"{RUNS} runs done {finished - ready:.1f}s later, total {finished - started:.1f}s; "
        f"runs per worker: {sorted(taken.values())}"
    )
