"""Defer: N ``generate-video`` pipelines on one worker slot, with ``defer``, vs one pipeline.

As a deployment runs them: ``prefect server start`` (its automations resume runs), ``anyint-flows
setup``, ``prefect deploy`` of ``deployments/prefect.yaml`` (``generate-video/on-demand`` has
``defer: true``), one ``prefect worker start --limit 1``, the emulator (Kling tasks of two stages
of ``stage_seconds``) and the callback receiver, each in a process of its own. A pipeline is
submit → wait → fetch of one Kling video; with ``defer`` its run suspends while the task runs, so
the one slot serves the others meanwhile and the callback's automation resumes it.

``defer_ratio_n10`` = wall time of N = 10 pipelines started at once ÷ one pipeline's wall time
(both deferred). Without defer it would be about N: the slot would sit in each wait in turn. Each
flow run execution is a fresh process (tens of seconds of CPU for N on 2 cores), so the ratio
depends on how long tasks run: real Kling videos take minutes; 2 x 60 s here. The ``--quick`` path
skips this benchmark (server, deploy and worker alone take a minute): its key is then None.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import httpx

from . import _postgres
from ._shared import ROOT, Report, child_env, free_port

__all__ = ["measure", "run"]

GOAL_RATIO = 1.5
VIDEO = "generate-video/on-demand"
POLLER = "resume-deferred/every-minute"
BIN = Path(sys.executable).parent


class _Child:
    """A command in its own process group (stopping it stops what it started)."""

    def __init__(self, command: list[str], env: dict[str, str], log: IO[bytes]) -> None:
        self.proc = subprocess.Popen(
            command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def _ready(url: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(url, timeout=2.0)
            return
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} never answered") from None
            time.sleep(0.25)


def _check_call(command: list[str], env: dict[str, str], timeout: float) -> None:
    done = subprocess.run(
        command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout
    )
    if done.returncode != 0:
        out = (done.stdout + done.stderr).decode(errors="replace")[-3000:]
        raise RuntimeError(f"{' '.join(command[:3])} failed:\n{out}")


@contextlib.contextmanager
def _database() -> Iterator[tuple[dict[str, str], str]]:
    """The Prefect server's database: a throwaway PostgreSQL when installed, as a server that
    runs deployments at scale has (SQLite's writes queue behind the automations and the
    scheduler: a run's submit was seen taking 6 s instead of 0.4 s), else SQLite; the server's
    extra environment and a note for the report."""
    with _postgres.started_or_why_not() as (pg, why_not):
        if pg is None:
            yield {}, f"SQLite (PostgreSQL not used: {str(why_not).splitlines()[0]})"
        else:
            yield {"PREFECT_API_DATABASE_CONNECTION_URL": pg.url}, "PostgreSQL"


@contextlib.contextmanager
def _stack(workdir: str, stage_seconds: float) -> Iterator[tuple[dict[str, str], str]]:
    """Server, emulator, receiver, setup, deploy and one ``--limit 1`` worker; their env and the
    server database's note."""
    api_port, gateway_port, receiver_port = free_port(), free_port(), free_port()
    api_url = f"http://127.0.0.1:{api_port}/api"
    gateway = f"http://127.0.0.1:{gateway_port}"
    env = {k: v for k, v in child_env().items() if not k.startswith(("PREFECT_", "ANYINT_"))}
    env.update(
        PREFECT_HOME=f"{workdir}/prefect-home",
        PREFECT_API_URL=api_url,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_WORKER_QUERY_SECONDS="1",
        ANYINT_BASE_URL=gateway,
        ANYINT_API_KEY="sk-bench-defer",
        ANYINT_STORE=f"{workdir}/store",
        ANYINT_CALLBACK_URL=f"http://127.0.0.1:{receiver_port}",
        ANYINT_CALLBACK_TOKEN=secrets.token_urlsafe(24),
    )
    children: list[_Child] = []
    with open(f"{workdir}/children.log", "wb") as log, _database() as (database, note):
        try:
            server = [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1"]
            children.append(_Child([*server, "--port", str(api_port)], env | database, log))
            emulator = [sys.executable, "-m", "emulator", "--timing", "fast"]
            children.append(_Child([*emulator, "--port", str(gateway_port)], env, log))
            receiver = [sys.executable, "-m", "callbacks", "--port", str(receiver_port)]
            children.append(_Child([*receiver, "--store", env["ANYINT_STORE"]], env, log))
            _ready(f"{api_url}/health")
            _ready(f"{gateway}/_emulator/tasks")
            _ready(f"http://127.0.0.1:{receiver_port}/healthz")
            timing = {"family": "kling", "after_seconds": stage_seconds}
            httpx.post(f"{gateway}/_emulator/timing", json=timing).raise_for_status()
            _check_call([str(BIN / "anyint-flows"), "setup"], env, timeout=180)
            deploy = [str(BIN / "prefect"), "--no-prompt", "deploy", "--prefect-file"]
            deploy += ["deployments/prefect.yaml", "--name", VIDEO, "--name", POLLER]
            _check_call(deploy, env, timeout=300)
            worker = [str(BIN / "prefect"), "worker", "start", "--pool", "anyint-process"]
            children.append(_Child([*worker, "--type", "process", "--limit", "1"], env, log))
            yield env, note
        finally:
            for child in reversed(children):
                child.stop()


async def _pipelines(api_url: str, n: int, tag: str, budget: float) -> dict[str, Any]:
    """Start ``n`` deferred pipelines at once; their wall time and what their runs did."""
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.client.schemas.objects import StateType
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: api_url}):
        async with get_client() as client:
            deployment = await client.read_deployment_by_name(VIDEO)
            start = time.perf_counter()
            ids = [
                (
                    await client.create_flow_run_from_deployment(
                        deployment.id,
                        parameters={"prompt": f"{tag} {i}", "route": "kling"},
                    )
                ).id
                for i in range(n)
            ]
            flow_filter = FlowRunFilter(id=FlowRunFilterId(any_=ids))
            while True:
                runs = await client.read_flow_runs(flow_run_filter=flow_filter)
                if all(r.state and r.state.is_final() for r in runs):
                    break
                if time.perf_counter() - start > budget:
                    raise RuntimeError(f"{n} pipelines not done after {budget:.0f} s")
                await asyncio.sleep(0.5)
            wall = time.perf_counter() - start
            # Each time a run enters Running is one execution (one process): a resume from a
            # suspension is one more, though Prefect's run_count does not count it.
            executions = 0
            for r in runs:
                states = await client.read_flow_run_states(r.id)
                executions += sum(1 for s in states if s.type == StateType.RUNNING)
    return {
        "wall_s": wall,
        "completed": sum(1 for r in runs if r.state and r.state.is_completed()),
        "executions": executions,
    }


async def measure(n: int, stage_seconds: float) -> dict[str, Any]:
    """One deferred pipeline, then ``n`` at once, on one worker slot; wall times and creates."""
    with tempfile.TemporaryDirectory(prefix="anyint-bench-defer-") as workdir:
        with _stack(workdir, stage_seconds) as (env, database):
            gateway, api_url = env["ANYINT_BASE_URL"], env["PREFECT_API_URL"]
            budget = 20 * stage_seconds + 60 * n
            nonce = secrets.token_hex(3)
            one = await _pipelines(api_url, 1, f"one ({nonce})", budget)
            many = await _pipelines(api_url, n, f"many ({nonce})", budget)
            async with httpx.AsyncClient(base_url=gateway) as control:
                calls = (await control.get("/_emulator/calls")).json()["calls"]
    return {
        "n": n,
        "stage_seconds": stage_seconds,
        "one": one,
        "many": many,
        "creates": sum(1 for c in calls if c["created_task_id"]),
        "database": database,
        "ratio": many["wall_s"] / one["wall_s"],
    }


async def run(quick: bool = False, n: int = 10, stage_seconds: float = 60.0) -> Report:
    """N = 10 deferred pipelines vs one, 2 x 60 s Kling tasks (quick: skipped)."""
    report = Report(
        name="defer",
        title=f"6. Defer: {n} generate-video pipelines on one worker slot (--limit 1), defer on",
        columns=["pipelines", "wall", "÷ one pipeline", "completed", "flow run executions"],
    )
    key = f"defer_ratio_n{n}"
    if quick:
        report.keys = {key: None, "defer_skipped": "quick"}
        report.rows = [["-", "skipped", "-", "-", "-"]]
        report.notes = [
            "Skipped in --quick: a Prefect server, `prefect deploy` and a process worker take "
            "about a minute before the first pipeline; tests/deployments/test_defer.py checks the "
            "behaviour (slot freed while waiting, poll fallback, worker restart)."
        ]
        return report
    m = await measure(n, stage_seconds)
    for label, r in (("1", m["one"]), (str(n), m["many"])):
        ratio = r["wall_s"] / m["one"]["wall_s"]
        report.rows.append(
            [
                label,
                f"{r['wall_s']:.1f} s",
                f"{ratio:.2f}x",
                str(r["completed"]),
                str(r["executions"]),
            ]
        )
    report.keys = {
        key: round(m["ratio"], 3),
        "defer_one_wall_s": round(m["one"]["wall_s"], 1),
        f"defer_n{n}_wall_s": round(m["many"]["wall_s"], 1),
        "defer_creates_ok": m["creates"] == n + 1,
        "defer_database": m["database"].split()[0],
    }
    report.goals = [
        (
            f"{n} deferred pipelines ≤ {GOAL_RATIO}x one pipeline's wall time",
            m["ratio"] <= GOAL_RATIO,
        ),
        (f"one create per pipeline ({m['creates']} for {n + 1})", m["creates"] == n + 1),
        (
            "every pipeline completed",
            m["one"]["completed"] == 1 and m["many"]["completed"] == n,
        ),
    ]
    report.notes = [
        f"Kling tasks of 2 x {stage_seconds:g} s (emulator); callbacks on, resumed by the "
        "automation `anyint-resume-on-callback`; each flow run execution is a new process.",
        f"Without defer the slot waits out each task in turn: about {n}x.",
        f"Prefect server database: {m['database']}. The pool's runs start Prefect's engine "
        "directly (`anyint-flows setup` sets the pool's `command`): one process per execution.",
    ]
    return report
