"""The README's deployment section, typed as written, ends in completed flow runs.

The five commands are read from README.md itself, so the test and the README cannot drift. They
run from the repository root in shells of their own, as a user runs them: the server and the
worker in the background, ``anyint-flows setup`` and ``prefect deploy`` in a terminal (a pseudo-
terminal here), where any prompt would wait for an answer and time the test out. The only
changes: the server listens on a free port (``PREFECT_SERVER_API_PORT``, and the exported URL
names it), ``PREFECT_HOME`` is a temporary folder, the gateway is ``python -m emulator`` on a free
port (``ANYINT_*`` for setup and the worker) and the worker polls every second. No
``ANYINT_PROJECT_DIR`` or other variable: the deployments must find their code by themselves.
Then every deployment of ``deployments/prefect.yaml`` is run once with its own parameters.
"""

from __future__ import annotations

import asyncio
import functools
import http.server
import os
import pty
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from uuid import UUID

import httpx
import pytest
from prefect import get_client
from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.objects import FlowRun
from prefect.settings import PREFECT_API_URL, temporary_settings

from tests.deployments.test_prefect_yaml import deployment_ids
from tests.deployments.test_workers import _poll

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
#: Bound on the whole test: server start, setup, deploy, and every run on one worker.
DEADLINE = 600.0
#: How the five commands start, in order (the rest of each line is the README's).
EXPECTED = [
    ".venv/bin/prefect server start",
    "export PREFECT_API_URL=http://127.0.0.1:4200/api",
    ".venv/bin/anyint-flows setup",
    ".venv/bin/prefect deploy --all --prefect-file deployments/prefect.yaml",
    ".venv/bin/prefect worker start --pool anyint-process",
]


def readme_commands() -> list[str]:
    """The command lines of the first ``bash`` block under "Deployments and scale-out"."""
    section = README.read_text().split("## Deployments and scale-out", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert block, "README: no bash block under 'Deployments and scale-out'"
    lines = (re.sub(r"\s+#.*$", "", line).strip() for line in block.group(1).splitlines())
    return [line for line in lines if line]


def test_the_readme_gives_exactly_the_five_commands() -> None:
    assert readme_commands() == EXPECTED


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a process and everything it started (its own process group)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@contextmanager
def background(command: list[str], env: dict[str, str], log: Path) -> Iterator[Path]:
    """Run ``command`` from the repository root in its own process group; stop it after."""
    with log.open("wb") as out:  # the child keeps its own copy of the handle
        proc = subprocess.Popen(
            command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        yield log
    finally:
        stop(proc)


def in_terminal(line: str, env: dict[str, str], timeout: float) -> tuple[int, str]:
    """Run a shell line in a pseudo-terminal, as typed at a prompt; its exit code and output.

    Raises:
        AssertionError: Still running after ``timeout`` (waiting for an answer to a prompt?).
    """
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        ["bash", "-c", line], cwd=ROOT, env=env, stdin=follower, stdout=follower,
        stderr=follower, start_new_session=True,
    )  # fmt: skip
    os.close(follower)
    out = bytearray()

    def drain() -> None:  # a full terminal buffer would block the command
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the last process holding the terminal is gone
                return
            if not chunk:
                return
            out.extend(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop(proc)
        output = out.decode(errors="replace")[-3000:]
        raise AssertionError(f"{line!r} did not finish:\n{output}") from None
    finally:
        reader.join(timeout=10)
        os.close(leader)
    return code, out.decode(errors="replace")


def tail(log: Path) -> str:
    return log.read_text(errors="replace")[-4000:]


async def wait_for(url: str, log: Path, deadline: float) -> None:
    """Wait until ``url`` answers 200; fail with the end of the server's log after ``deadline``."""

    async def answers() -> bool:
        try:
            async with httpx.AsyncClient(timeout=5) as http:
                return (await http.get(url)).status_code == 200
        except httpx.TransportError:
            return False

    try:
        await _poll(url, answers, deadline)
    except AssertionError as exc:
        raise AssertionError(f"{exc}:\n{tail(log)}") from None


@pytest.mark.slow
@pytest.mark.process
async def test_the_readme_deployment_section_runs_verbatim(tmp_path: Path) -> None:
    deadline = time.monotonic() + DEADLINE
    store = tmp_path / "store"
    server_cmd, export, setup, deploy, worker_cmd = readme_commands()
    api_port, gateway_port = free_port(), free_port()
    exported = export.replace("127.0.0.1:4200", f"127.0.0.1:{api_port}")
    api_url = exported.partition("=")[2]
    gateway = f"http://127.0.0.1:{gateway_port}"
    env = {
        k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "ANYINT_PROJECT_DIR")
    }
    env.update(PREFECT_HOME=str(tmp_path / "prefect-home"), PREFECT_SERVER_API_PORT=str(api_port))
    anyint = {"ANYINT_BASE_URL": gateway, "ANYINT_API_KEY": "anything", "ANYINT_STORE": str(store)}
    emulator = [sys.executable, "-m", "emulator", "--port", str(gateway_port), "--timing", "fast"]

    with (
        background(emulator, env, tmp_path / "emulator.log") as emulator_log,
        background(["bash", "-c", f"exec {server_cmd}"], env, tmp_path / "server.log") as log,
    ):
        await wait_for(f"{api_url}/health", log, deadline)
        await wait_for(f"{gateway}/_emulator/tasks", emulator_log, deadline)

        code, out = await asyncio.to_thread(
            in_terminal,
            f"set -e; {exported}; {setup}; {deploy}",
            {**env, **anyint},
            deadline - time.monotonic(),
        )
        assert code == 0, out[-4000:]
        worker_env = {**env, **anyint, "PREFECT_WORKER_QUERY_SECONDS": "1"}  # poll faster
        worker = ["bash", "-c", f"{exported}; exec {worker_cmd}"]
        with (
            background(worker, worker_env, tmp_path / "worker.log") as worker_log,
            temporary_settings({PREFECT_API_URL: api_url}),
            served_audio(tmp_path / "inputs") as audio,
        ):
            remix = {"music-remix/on-demand": {"audio": audio}}
            final = await run_every_deployment(deadline, remix)
            logs = tail(worker_log)
            # Each run wrote to the store setup saved (a flow with assets leaves its manifest
            # there; a subflow leaves its own).
            manifests = {p.parent.name for p in store.glob("runs/*/manifest.json")}
            roots = await root_runs(manifests)

    states = {name: run.state.name if run.state else None for name, run in final.items()}
    assert set(states.values()) == {"Completed"}, (states, logs)
    assert roots <= {str(run.id) for run in final.values()} and manifests, (manifests, roots)


@contextmanager
def served_audio(folder: Path) -> Iterator[str]:
    """A real WAV at a loopback URL: the input a music-remix deployment run is given. On a real
    gateway a local store has no URL the gateway could fetch (the flow says so); a public URL,
    as a user passes one, is the way in."""
    import numpy as np

    from emulator.media import wav

    folder.mkdir()
    tone = 0.3 * np.sin(2 * np.pi * 330 * np.arange(4 * 8000) / 8000)
    (folder / "take.wav").write_bytes(wav(tone.astype(np.float32), 8000))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/take.wav"
    finally:
        server.shutdown()
        server.server_close()


#: Runs in flight at once: SQLite behind ``prefect server start`` answers 503 ("database is
#: locked") when ten flow-run processes write at once on two cores, and a run crashes on it.
BATCH = 4


async def run_every_deployment(
    deadline: float, overrides: dict[str, dict[str, object]]
) -> dict[str, FlowRun]:
    """Run each deployment of prefect.yaml once (with ``overrides`` of its parameters), ``BATCH``
    at a time; their flow runs once all are final."""
    names = deployment_ids()
    final: dict[str, FlowRun] = {}
    async with get_client() as client:
        for first in range(0, len(names), BATCH):
            started = {}
            for name in names[first : first + BATCH]:
                deployment = await client.read_deployment_by_name(name)
                parameters = {**deployment.parameters, **overrides.get(name, {})}
                run = await client.create_flow_run_from_deployment(
                    deployment.id, parameters=parameters
                )
                started[name] = run.id
            by_id = await finished(client, list(started.values()), deadline)
            final.update({name: by_id[run_id] for name, run_id in started.items()})
    return final


async def finished(client: PrefectClient, ids: list[UUID], deadline: float) -> dict[UUID, FlowRun]:
    """The flow runs ``ids`` once every one of them is final."""
    runs: list[FlowRun] = []

    async def all_final() -> bool:
        nonlocal runs
        runs = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids))
        )
        return len(runs) == len(ids) and all(r.state and r.state.is_final() for r in runs)

    await _poll("every flow run to finish", all_final, deadline)
    return {r.id: r for r in runs}


async def root_runs(run_ids: set[str]) -> set[str]:
    """The top-level flow run of each of ``run_ids`` (a subflow, such as a tool the assistant
    flow called, stores its own manifest under its own id)."""
    roots = set()
    async with get_client() as client:
        for run_id in run_ids:
            run = await client.read_flow_run(UUID(run_id))
            while run.parent_task_run_id is not None:
                parent = await client.read_task_run(run.parent_task_run_id)
                assert parent.flow_run_id is not None
                run = await client.read_flow_run(parent.flow_run_id)
            roots.add(str(run.id))
    return roots
