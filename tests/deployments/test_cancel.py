"""Cancelling a deployment run abandons its gateway task, frees its slot, and a resume adopts it.

Real pieces only: the session's Prefect server, ``prefect deploy`` of the music-video deployment,
one ``prefect worker start`` process worker (Prefect runs the ``on_cancellation`` hook there,
after stopping the run's process), and the emulated gateway on a real socket, whose Suno task
does not end until the test lets it.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prefect import get_client
from prefect.exceptions import ObjectNotFound
from prefect.states import Cancelling

from emulator.server import ThreadedEmulatorServer
from flows.music_video import music_video
from tests.conftest import resume_flow_run
from tests.deployments.test_workers import POOL, ROOT, _env, _poll, ready_pool

DEPLOYMENT = "music-video/on-demand"
#: One Suno task, waited on in the run's own process (no defer: the run stays up to cancel).
PARAMETERS: dict[str, Any] = {
    "prompt": "a song that is cancelled halfway",
    "lyrics": False,
    "stems": None,
    "wav": False,
    "cover_art": False,
    "music_video": False,
    "defer": False,
    "poll_interval": 0.05,
}
#: Bounds: deploy, run and cancel (about 60 s on 2 busy cores), then the resume.
DEADLINE = 180.0
RESUME_TIMEOUT = 60.0


@pytest.fixture
def emulator_url() -> Iterator[str]:
    with ThreadedEmulatorServer() as server:
        yield server.base_url


async def _emulator(url: str, method: str, path: str, **kwargs: Any) -> Any:
    async with httpx.AsyncClient(base_url=url) as client:
        response = await client.request(method, path, **kwargs)
        response.raise_for_status()
        return response.json()


def _journal(store: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(store.glob("submits/*/*.json"))]


async def _active_slots(name: str) -> int:
    """Slots of ``name`` held now; 0 while it does not exist (the first create makes it)."""
    async with get_client() as client:
        try:
            return (await client.read_global_concurrency_limit_by_name(name)).active_slots
        except ObjectNotFound:
            return 0


@pytest.mark.slow
@pytest.mark.process
async def test_cancel_abandons_the_task_and_a_resume_adopts_it(
    prefect_harness: None, emulator_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deadline = time.monotonic() + DEADLINE
    store = tmp_path / "store"
    env = _env(emulator_url, store)
    # The Suno task stays in flight until the test shortens its stages.
    await _emulator(
        emulator_url, "POST", "/_emulator/timing", json={"family": "suno", "after_seconds": 3600}
    )
    async with get_client() as client:
        await ready_pool(client)
        log = tmp_path / "worker.log"
        with log.open("wb") as out:
            worker = await asyncio.create_subprocess_exec(
                *[sys.executable, "-m", "prefect", "worker", "start", "--pool", POOL],
                *["--type", "process", "--limit", "1", "--name", "cancel-worker"],
                cwd=tmp_path,
                env=env,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
            )
        try:
            deploy = await asyncio.create_subprocess_exec(
                *[sys.executable, "-m", "prefect", "--no-prompt", "deploy"],
                *["--prefect-file", "deployments/prefect.yaml", "--name", DEPLOYMENT],
                cwd=ROOT,
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            out_, _ = await asyncio.wait_for(deploy.communicate(), deadline - time.monotonic())
            assert deploy.returncode == 0, out_.decode()[-3000:]
            deployment = await client.read_deployment_by_name(DEPLOYMENT)
            before = await _active_slots("anyint-suno")  # leases other tests still hold
            run = await client.create_flow_run_from_deployment(deployment.id, parameters=PARAMETERS)

            async def waiting_on_its_task() -> bool:
                entries = _journal(store)
                return bool(entries) and entries[-1]["state"] == "created"

            await _poll("the run to create its Suno task", waiting_on_its_task, deadline)
            assert await _active_slots("anyint-suno") == before + 1
            # What the UI's Cancel button and `prefect flow-run cancel` do.
            await client.set_flow_run_state(run.id, Cancelling(), force=True)

            async def cancelled() -> bool:
                state = (await client.read_flow_run(run.id)).state
                return state is not None and state.is_cancelled()

            await _poll("the run to be cancelled", cancelled, deadline)
            artifacts = [
                a
                for a in await client.read_artifacts()
                if a.flow_run_id == run.id and a.key == "music-video-cancelled"
            ]
        finally:
            worker.terminate()
            try:
                await asyncio.wait_for(worker.wait(), timeout=15)
            except TimeoutError:
                worker.kill()
                await worker.wait()

    excerpt = log.read_text(errors="replace")[-3000:]
    (entry,) = _journal(store)
    assert entry["state"] == "abandoned", excerpt
    assert "cancelled" in entry["error"]
    (artifact,) = artifacts
    assert "may still complete and bill" in str(artifact.data)
    assert entry["task_id"] in str(artifact.data)
    assert await _active_slots("anyint-suno") == before  # the hook released the slot
    assert not list(store.glob(f"runs/{run.id}/leases/*"))

    # A resume of the cancelled run adopts the task: it waits on it and pays nothing again.
    await _emulator(
        emulator_url, "POST", "/_emulator/timing", json={"family": "suno", "after_seconds": 0.01}
    )
    for name in ("ANYINT_BASE_URL", "ANYINT_API_KEY", "ANYINT_STORE"):
        monkeypatch.setenv(name, env[name])
    state = await asyncio.wait_for(resume_flow_run(music_video, run.id), RESUME_TIMEOUT)
    assert state.is_completed(), state
    calls = (await _emulator(emulator_url, "GET", "/_emulator/calls"))["calls"]
    assert [c["created_task_id"] for c in calls if c["created_task_id"]] == [entry["task_id"]]
    result = await state.result()
    assert result.task_ids["song"] == entry["task_id"]
    assert await _active_slots("anyint-suno") == before
