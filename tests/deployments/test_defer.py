"""Deferred runs free their worker while the gateway works, and nothing is lost or paid twice.

Real pieces only, as a deployment runs them: ``prefect server start`` on a free port (its
automations service resumes runs), ``anyint-flows setup`` (blocks, work pool, the resume
automation), ``prefect deploy`` of ``deployments/prefect.yaml`` (``generate-video/on-demand``
with ``defer: true``, and the ``resume-deferred`` poll fallback, whose every-minute schedule is
paused so the test says when it polls), one ``prefect worker start --limit 1``, the emulator
(``python -m emulator``: Kling tasks take two stages of :data:`STAGE_SECONDS`) and the callback
receiver (``python -m callbacks``, which emits the events), each in a process of its own.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from prefect import get_client
from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterId,
    FlowRunFilter,
    FlowRunFilterId,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.settings import PREFECT_API_URL, temporary_settings

from tests.deployments.test_readme_deploy import ROOT, background, free_port, stop

pytestmark = [pytest.mark.slow, pytest.mark.process]

VIDEO = "generate-video/on-demand"
POLLER = "resume-deferred/every-minute"
#: Seconds per Kling stage (a task takes two): longer than a look (1 s), short for a test.
STAGE_SECONDS = 4.0
#: Seconds per stage while a worker is killed: longer than the test (it ends the tasks itself).
HELD_STAGE_SECONDS = 3600.0
#: Bound on each test's runs: they took 1-4 min on 2 cores shared with a load average of 12.
RUN_DEADLINE = 480.0
BIN = Path(sys.executable).parent


@dataclass
class Stack:
    """The servers of the module and how to reach them."""

    env: dict[str, str]
    api_url: str
    gateway: str
    store: Path
    logs: Path


def _wait_http(url: str, log: Path, deadline: float) -> None:
    while True:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-2000:]
            raise AssertionError(f"{url} never answered:\n{tail}")
        time.sleep(0.25)


def _run(command: list[str], env: dict[str, str], timeout: float) -> None:
    done = subprocess.run(
        command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout
    )
    out = (done.stdout + done.stderr).decode(errors="replace")
    assert done.returncode == 0, f"{command[:3]} failed:\n{out[-3000:]}"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("defer")
    api_port, gateway_port, receiver_port = free_port(), free_port(), free_port()
    api_url = f"http://127.0.0.1:{api_port}/api"
    gateway = f"http://127.0.0.1:{gateway_port}"
    store = tmp / "store"
    token = secrets.token_urlsafe(24)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("ANYINT_", "PREFECT_"))},
        "PREFECT_HOME": str(tmp / "prefect-home"),
        "PREFECT_API_URL": api_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        "PREFECT_LOGGING_LEVEL": "INFO",
        "COLUMNS": "400",
        "ANYINT_BASE_URL": gateway,
        "ANYINT_API_KEY": "any-key-works-with-the-emulator",
        "ANYINT_STORE": str(store),
        "ANYINT_CALLBACK_URL": f"http://127.0.0.1:{receiver_port}",
        "ANYINT_CALLBACK_TOKEN": token,
    }
    logs = tmp / "logs"
    logs.mkdir()
    deadline = time.monotonic() + 120
    server = [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port"]
    emulator = [sys.executable, "-m", "emulator", "--port", str(gateway_port), "--timing", "fast"]
    receiver = [sys.executable, "-m", "callbacks", "--port", str(receiver_port)]
    with (
        background([*server, str(api_port)], env, logs / "server.log") as server_log,
        background(emulator, env, logs / "emulator.log") as emulator_log,
        background([*receiver, "--store", str(store)], env, logs / "receiver.log") as rlog,
    ):
        _wait_http(f"{api_url}/health", server_log, deadline)
        _wait_http(f"{gateway}/_emulator/tasks", emulator_log, deadline)
        _wait_http(f"http://127.0.0.1:{receiver_port}/healthz", rlog, deadline)
        httpx.post(
            f"{gateway}/_emulator/timing", json={"family": "kling", "after_seconds": STAGE_SECONDS}
        ).raise_for_status()
        _run([str(BIN / "anyint-flows"), "setup"], env, timeout=120)
        deploy = ["--prefect-file", "deployments/prefect.yaml", "--name", VIDEO, "--name", POLLER]
        _run([str(BIN / "prefect"), "--no-prompt", "deploy", *deploy], env, timeout=180)
        with temporary_settings({PREFECT_API_URL: api_url}):
            asyncio.run(_pause_poller_schedule())
        yield Stack(env=env, api_url=api_url, gateway=gateway, store=store, logs=logs)


async def _pause_poller_schedule() -> None:
    """The test triggers the poll fallback itself (its schedule is every minute)."""
    async with get_client() as client:
        poller = await client.read_deployment_by_name(POLLER)
        await client.pause_deployment(poller.id)
        scheduled = await client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[poller.id])),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]))
            ),
        )
        for run in scheduled:
            await client.delete_flow_run(run.id)


class Worker:
    """``prefect worker start --limit 1`` in its own process group."""

    def __init__(self, stack: Stack, name: str) -> None:
        command = [str(BIN / "prefect"), "worker", "start", "--pool", "anyint-process"]
        command += ["--type", "process", "--limit", "1", "--name", name]
        self.log = stack.logs / f"{name}.log"
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                command, cwd=ROOT, env=stack.env, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip

    def kill(self) -> None:
        """SIGKILL the worker and every flow run process it started."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        stop(self.proc)


@pytest.fixture
def client(stack: Stack) -> Iterator[None]:
    with temporary_settings({PREFECT_API_URL: stack.api_url}):
        yield


async def _until(what: str, check: Any, deadline: float, worker: Worker | None = None) -> Any:
    """Poll ``check()`` until it returns something truthy; fail after ``deadline``."""
    while not (value := await check()):
        if time.monotonic() > deadline:
            log = worker.log.read_text(errors="replace")[-3000:] if worker else ""
            raise AssertionError(f"timed out waiting for {what}\n{log}")
        await asyncio.sleep(0.5)
    return value


async def _runs(client: PrefectClient, ids: list[UUID]) -> list[FlowRun]:
    return await client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids)))


async def _start_videos(client: PrefectClient, n: int, tag: str) -> list[UUID]:
    deployment = await client.read_deployment_by_name(VIDEO)
    ids = []
    for i in range(n):
        run = await client.create_flow_run_from_deployment(
            deployment.id,
            parameters={"prompt": f"{tag} video {i}", "route": "kling", "poll_interval": 1.0},
        )
        ids.append(run.id)
    return ids


async def _all_final(client: PrefectClient, ids: list[UUID]) -> list[FlowRun] | None:
    runs = await _runs(client, ids)
    return runs if all(r.state and r.state.is_final() for r in runs) else None


async def _control(stack: Stack, method: str, path: str, **kwargs: Any) -> Any:
    """The emulator's control plane (``/_emulator/<path>``)."""
    async with httpx.AsyncClient(base_url=f"{stack.gateway}/_emulator", timeout=10) as http:
        response = await http.request(method, path, **kwargs)
        response.raise_for_status()
        return response.json()


async def _timing(stack: Stack, stage_seconds: float) -> None:
    timing = {"family": "kling", "after_seconds": stage_seconds}
    await _control(stack, "POST", "/timing", json=timing)


async def _creates(stack: Stack) -> list[dict[str, Any]]:
    calls = (await _control(stack, "GET", "/calls"))["calls"]
    return [c for c in calls if c["created_task_id"]]


def _check_stored(stack: Stack, runs: list[FlowRun]) -> set[str]:
    """Every run completed with its video stored; the gateway task ids its manifests name."""
    states = {r.id: r.state.name if r.state else None for r in runs}
    assert set(states.values()) == {"Completed"}, states
    tasks = set()
    for run in runs:
        manifest = json.loads((stack.store / "runs" / str(run.id) / "manifest.json").read_text())
        (asset,) = manifest["assets"]
        data = (stack.store / asset["key"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == asset["sha256"]
        tasks.add(asset["task_id"])
    return tasks


async def _history(client: PrefectClient, run_id: UUID) -> list[tuple[str, datetime]]:
    states = await client.read_flow_run_states(run_id)
    return [(s.name or s.type.value, s.timestamp) for s in states]


async def test_three_deferred_pipelines_share_one_worker_slot(stack: Stack, client: None) -> None:
    deadline = time.monotonic() + RUN_DEADLINE
    worker = Worker(stack, "defer-a")
    before = len(await _creates(stack))
    try:
        async with get_client() as prefect:
            ids = await _start_videos(prefect, 3, "overlap")
            runs = await _until("three videos", lambda: _all_final(prefect, ids), deadline, worker)
            histories = {i: await _history(prefect, i) for i in ids}
    finally:
        worker.stop()
    made = (await _creates(stack))[before:]
    assert len(made) == 3, made  # one create per pipeline: nothing paid twice across resumes
    assert _check_stored(stack, runs) == {c["created_task_id"] for c in made}
    for run_id, history in histories.items():
        names = [name for name, _ in history]
        assert "Suspended" in names, (run_id, names)
        # Each suspension resumed once, though its callback's event and the poller may both try.
        assert names.count("Resuming") == names.count("Suspended"), (run_id, names)
    # One slot, yet every pipeline started before any finished: each freed the slot while its
    # gateway task ran, so the three waited at the same time.
    first_running = [min(t for n, t in h if n == "Running") for h in histories.values()]
    completed = [max(t for n, t in h if n == "Completed") for h in histories.values()]
    assert max(first_running) < min(completed), histories


async def test_a_lost_callback_finishes_through_the_poll_fallback(
    stack: Stack, client: None
) -> None:
    deadline = time.monotonic() + RUN_DEADLINE
    faults = {"match": "POST /transtreams/kling/*", "fault": "callback_drop"}
    await _control(stack, "POST", "/faults", json=faults)
    worker = Worker(stack, "defer-b")
    before = len(await _creates(stack))
    try:
        async with get_client() as prefect:
            (run_id,) = await _start_videos(prefect, 1, "lost callback")

            async def suspended_and_ended() -> bool:
                (run,) = await _runs(prefect, [run_id])
                made = (await _creates(stack))[before:]
                if not (run.state and run.state.name == "Suspended" and made):
                    return False
                tasks = (await _control(stack, "GET", "/tasks"))["tasks"]
                task = next(t for t in tasks if t["id"] == made[0]["created_task_id"])
                return bool(task["status"] == "succeed")

            await _until("the task to end while the run is suspended", suspended_and_ended,
                         deadline, worker)  # fmt: skip
            task_id = (await _creates(stack))[before]["created_task_id"]
            assert not (stack.store / "inbox" / task_id).exists()  # the callback never came
            (run,) = await _runs(prefect, [run_id])
            assert run.state is not None and run.state.name == "Suspended"  # nothing else wakes it
            poller = await prefect.read_deployment_by_name(POLLER)
            await prefect.create_flow_run_from_deployment(poller.id)
            runs = await _until("the video", lambda: _all_final(prefect, [run_id]), deadline,
                                worker)  # fmt: skip
    finally:
        worker.stop()
    made = (await _creates(stack))[before:]
    assert len(made) == 1, made
    assert _check_stored(stack, runs) == {made[0]["created_task_id"]}


async def test_killing_the_worker_while_runs_are_suspended_loses_nothing(
    stack: Stack, client: None
) -> None:
    deadline = time.monotonic() + RUN_DEADLINE
    # The tasks run until the test ends them: both runs are asleep together, however slowly a
    # run's process starts. Their callbacks would come only then, so the poller resumes them.
    await _timing(stack, HELD_STAGE_SECONDS)
    first = Worker(stack, "defer-c")
    before = len(await _creates(stack))
    second: Worker | None = None
    try:
        async with get_client() as prefect:
            ids = await _start_videos(prefect, 2, "killed worker")

            async def both_suspended() -> bool:
                runs = await _runs(prefect, ids)
                return all(r.state and r.state.name == "Suspended" for r in runs)

            await _until("both runs to suspend", both_suspended, deadline, first)
            first.kill()  # no flow run process is alive: a suspended run has none
            await _timing(stack, 0.05)  # the tasks end now
            second = Worker(stack, "defer-d")
            poller = await prefect.read_deployment_by_name(POLLER)
            await prefect.create_flow_run_from_deployment(poller.id)
            runs = await _until("both videos", lambda: _all_final(prefect, ids), deadline, second)
            histories = [[name for name, _ in await _history(prefect, i)] for i in ids]
    finally:
        first.kill()
        if second is not None:
            second.stop()
        await _timing(stack, STAGE_SECONDS)
    made = (await _creates(stack))[before:]
    assert len(made) == 2, made  # the new worker's resumes paid nothing again
    assert _check_stored(stack, runs) == {c["created_task_id"] for c in made}
    # The poller and the callbacks its polls set off both resume: each run resumed once.
    for names in histories:
        assert names.count("Resuming") == names.count("Suspended") == 1, names
