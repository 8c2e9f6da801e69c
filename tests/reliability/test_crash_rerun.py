"""Crash and resume: the ``music-video`` flow's process is SIGKILLed after each stage, then the
same flow run is resumed (``anyint-flows run music-video --resume FLOW_RUN_ID``).

The emulator runs as a real server in the test process (it outlives the kill and keeps its call
log); the flow runs in a subprocess (:mod:`tests.reliability._subprocess_flow`) against the
session's Prefect server, with a local-folder store and a Prefect home that the killed run and
the resume share. The killed run's id is read from durable facts (the submit journal names the
flow run that claimed each step) and checked against the Prefect API.

The stage is read from durable facts only (the submit journal in the store, the emulator's call
log and task states), never from sleeps. The process is frozen (SIGSTOP) while the facts are
checked, so the kill lands exactly in the state that was checked: in particular with no submit
between its journal entry and the gateway's answer, the ambiguous window that
:func:`test_kill_in_the_ambiguous_window_ends_in_doubt_not_a_second_create` hits on purpose.

The journal alone hands every earlier task back to the resume ("reusing gateway task ...").
A download cut by the kill may leave a hidden ``.partial-`` file behind (nothing runs after
SIGKILL); the resume's write of the same key sweeps it, so none is left once the resume is done,
and every manifest entry is a stored file with its sha256.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from prefect import get_client
from prefect.settings import PREFECT_API_URL

from blocks import AssetStore
from blocks.store import PARTIAL_MARK
from emulator.app import create_app
from emulator.server import ThreadedEmulatorServer
from tasks.resolve import adopt

from ._support import MUSIC_CREATE_PATHS, MUSIC_KINDS, MUSIC_ROUTES, gateway_config, raw_keys

#: Every test here runs the flow in processes of its own.
pytestmark = pytest.mark.process

REPO = Path(__file__).resolve().parents[2]
#: Seconds per Suno task stage: a song takes 3 of them, every other task 1. Slow enough that
#: each stage stays observable for a few polls of ours, fast enough for ~10 s per case.
STAGE_SECONDS = 0.3
#: Flow parameters of both runs: fast polling, everything on (lyrics, stems, WAV, cover, video).
PARAMS: dict[str, Any] = {"poll_interval": 0.05, "deadline_seconds": 600.0}
API_KEY = "sk-crash-test"
#: How often the durable facts are read while waiting for a stage.
LOOK_EVERY = 0.01
#: Hang guards on waiting for a stage or a run: the waits end as soon as the fact is there, so
#: these only bound a broken run. Generous, because on a loaded machine the child's start (Prefect's
#: import) and the emulator's media rendering take many times their quiet ~3 s (seen: > 30 s with
#: eight busy processes on two cores).
STAGE_TIMEOUT = 300.0
RUN_TIMEOUT = 300.0

# Each create path of the pipeline (MUSIC_CREATE_PATHS) must be called exactly once over both runs.
STEP_OF_ROUTE = {route: step for step, route in MUSIC_ROUTES.items()}
FOLLOW_UPS = ("suno.vocal-removal", "suno.wav-generate", "suno.generate-cover")


@dataclass
class Facts:
    """What the store and the emulator durably say about the pipeline right now.

    Attributes:
        journals: Submit journal state of the newest attempt (``sending``/``created``/``done``
            ...) per route.
        digests: The journal digest per route.
        flow_runs: The flow runs that claimed the journal's attempts.
        task_ids: Gateway task id per route, once created.
        statuses: Emulator status per gateway task id.
        calls: The emulator's call log.
        partial: Temporary files of downloads in flight under ``assets/``.
    """

    journals: dict[str, str] = field(default_factory=dict)
    digests: dict[str, str] = field(default_factory=dict)
    flow_runs: set[str] = field(default_factory=set)
    task_ids: dict[str, str] = field(default_factory=dict)
    statuses: dict[str, str] = field(default_factory=dict)
    calls: list[dict[str, Any]] = field(default_factory=list)
    partial: list[str] = field(default_factory=list)

    def status(self, route: str) -> str | None:
        """Emulator status of the task created for ``route``."""
        task_id = self.task_ids.get(route)
        return self.statuses.get(task_id) if task_id else None


def read_facts(store_dir: Path, control: httpx.Client) -> Facts:
    """Read the submit journal (files in the store) and the emulator's call log and tasks."""
    facts = Facts()
    for folder in sorted((store_dir / "submits").glob("*")):
        attempts = sorted(p for p in folder.glob("*.json") if PARTIAL_MARK not in p.name)
        if not attempts:
            continue
        record = json.loads(attempts[-1].read_text())  # written by rename: never half a file
        facts.journals[record["route"]] = record["state"]
        facts.digests[record["route"]] = record["digest"]
        if record.get("flow_run_id"):
            facts.flow_runs.add(record["flow_run_id"])
        if record.get("task_id"):
            facts.task_ids[record["route"]] = record["task_id"]
    facts.statuses = {t["id"]: t["status"] for t in control.get("/_emulator/tasks").json()["tasks"]}
    facts.calls = control.get("/_emulator/calls").json()["calls"]
    facts.partial = sorted(
        str(p.relative_to(store_dir)) for p in (store_dir / "assets").rglob(f"*{PARTIAL_MARK}*")
    )
    return facts


def _created(facts: Facts, route: str) -> bool:
    return facts.journals.get(route) in ("created", "done")


def _no_follow_up_yet(facts: Facts) -> bool:
    return not any(route in facts.journals for route in FOLLOW_UPS)


#: Stage name → the facts that say the pipeline is exactly there (and not yet further on).
STAGES: dict[str, Callable[[Facts], bool]] = {
    "lyrics submitted": lambda f: (
        _created(f, "suno.generate-lyrics") and "suno.generate" not in f.journals
    ),
    "song submitted": lambda f: (
        _created(f, "suno.generate") and f.status("suno.generate") not in (None, "SUCCESS")
    ),
    "song done": lambda f: f.status("suno.generate") == "SUCCESS" and _no_follow_up_yet(f),
    "stems submitted": lambda f: (
        _created(f, "suno.vocal-removal") and "suno.mp4-generate" not in f.journals
    ),
    "video submitted": lambda f: (
        _created(f, "suno.mp4-generate") and f.status("suno.mp4-generate") == "PENDING"
    ),
}
#: Killed while a download is being written (with slow asset URLs, see :class:`SlowAssets`).
MID_DOWNLOAD: Callable[[Facts], bool] = lambda f: bool(f.partial)  # noqa: E731


# -- fixtures and process helpers -----------------------------------------------------------------


class SlowAssets:
    """ASGI wrapper that serves the emulator's asset URLs like a slow CDN: the body in small
    chunks with a pause between them, so a download stays in flight (its ``.partial-`` file in
    the store) long enough to be caught. Every other request passes through unchanged."""

    CHUNK = 16 * 1024
    PAUSE = 0.01

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/_assets/"):
            await self.app(scope, receive, send)
            return

        async def trickle(message: Any) -> None:
            if message["type"] != "http.response.body" or message.get("more_body"):
                await send(message)
                return
            body = message.get("body", b"")
            for at in range(0, max(len(body), 1), self.CHUNK):
                last = at + self.CHUNK >= len(body)
                await send(
                    {
                        "type": "http.response.body",
                        "body": body[at : at + self.CHUNK],
                        "more_body": not last,
                    }
                )
                if not last:
                    await asyncio.sleep(self.PAUSE)

        await self.app(scope, receive, trickle)


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[ThreadedEmulatorServer]:
    """The emulator on a real socket, Suno slowed to :data:`STAGE_SECONDS` per stage (and its
    asset URLs slowed down too, with ``@pytest.mark.parametrize("server", ["slow-assets"],
    indirect=True)``)."""
    app = create_app()
    if getattr(request, "param", None) == "slow-assets":
        app = SlowAssets(app)
    with ThreadedEmulatorServer(app) as running:
        response = httpx.post(
            f"{running.base_url}/_emulator/timing",
            json={"family": "suno", "after_seconds": STAGE_SECONDS},
        )
        response.raise_for_status()
        yield running


@pytest.fixture
def live_control(server: ThreadedEmulatorServer) -> Iterator[httpx.Client]:
    """A client on the emulator's control plane."""
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        yield client


@dataclass
class FlowProcess:
    """How to start the flow in a subprocess; every execution shares the store and Prefect home."""

    env: dict[str, str]
    workdir: Path
    runs: int = 0

    def start(self, resume: str | None = None) -> tuple[subprocess.Popen[bytes], Path, Path]:
        """Start a new run, or resume the flow run ``resume``; returns the process, where its
        result goes, and its output log."""
        self.runs += 1
        result = self.workdir / f"result-{self.runs}.json"
        log = self.workdir / f"output-{self.runs}.log"
        params = json.dumps({} if resume else PARAMS)  # a resume runs with the run's own
        with log.open("wb") as out:  # a file, not a pipe: a chatty run never blocks on it
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.reliability._subprocess_flow",
                    params,
                    str(result),
                    *([resume] if resume else []),
                ],
                cwd=REPO,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return process, result, log


@pytest.fixture
def flow_process(
    server: ThreadedEmulatorServer, tmp_path: Path, prefect_harness: None
) -> FlowProcess:
    """The environment a deployment's process would get, pointed at this test's emulator and
    the session's Prefect server."""
    store_dir = tmp_path / "store"
    prefect_home = tmp_path / "prefect-home"
    store_dir.mkdir()
    prefect_home.mkdir()
    env = {
        **os.environ,
        "ANYINT_BASE_URL": server.base_url,
        "ANYINT_API_KEY": API_KEY,
        "ANYINT_STORE": str(store_dir),
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
        "PREFECT_HOME": str(prefect_home),
    }
    return FlowProcess(env=env, workdir=tmp_path)


def kill_at(
    process: subprocess.Popen[bytes],
    log: Path,
    reached: Callable[[Facts], bool],
    store_dir: Path,
    control: httpx.Client,
) -> Facts:
    """SIGKILL ``process`` once the facts say ``reached``, with no submit left in doubt.

    The process is frozen (SIGSTOP) while the facts are checked again, so what was checked is
    exactly the state it dies in. A submit caught between its journal entry and the gateway's
    answer is let run on (SIGCONT) and looked at again: that window is another test's subject.

    Returns:
        The facts at the moment of the kill.
    """
    deadline = time.monotonic() + STAGE_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"the flow ended before the stage (rc {process.returncode}):\n"
                f"{log.read_text()[-3000:]}"
            )
        if reached(read_facts(store_dir, control)):
            os.kill(process.pid, signal.SIGSTOP)
            facts = read_facts(store_dir, control)
            if reached(facts) and "sending" not in facts.journals.values():
                os.kill(process.pid, signal.SIGKILL)
                assert process.wait(timeout=10) == -signal.SIGKILL
                return facts
            os.kill(process.pid, signal.SIGCONT)
        time.sleep(LOOK_EVERY)
    process.kill()
    process.wait()
    pytest.fail(f"stage never reached within {STAGE_TIMEOUT} s:\n{log.read_text()[-3000:]}")


def finish(process: subprocess.Popen[bytes], log: Path) -> int:
    """Wait (bounded) for a run to end; its exit code."""
    try:
        return process.wait(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        pytest.fail(f"the run did not end within {RUN_TIMEOUT} s:\n{log.read_text()[-3000:]}")


def creates(calls: list[dict[str, Any]]) -> dict[str, list[str | None]]:
    """Create calls per create path: the task id each made (None when it made none)."""
    out: dict[str, list[str | None]] = {path: [] for path in MUSIC_CREATE_PATHS.values()}
    for call in calls:
        if call["method"] == "POST" and call["path"] in out:
            out[call["path"]].append(call["created_task_id"])
    return out


def killed_run(facts: Facts) -> str:
    """The flow run the killed process executed: the one the journal names, which the Prefect
    API knows as a ``music-video`` run that never finished."""
    (run_id,) = facts.flow_runs

    async def read() -> tuple[str, bool]:
        async with get_client() as client:
            flow_run = await client.read_flow_run(run_id)  # type: ignore[arg-type]
            flow = await client.read_flow(flow_run.flow_id)
        return flow.name, bool(flow_run.state and flow_run.state.is_final())

    name, final = anyio.run(read)
    assert (name, final) == ("music-video", False), (run_id, name, final)
    return run_id


def assert_resumed_store(store_dir: Path, result: dict[str, Any]) -> None:
    """After the resume: no temporary file anywhere in the store, and the run's manifest lists
    every asset once, each a stored file with its size and sha256."""
    store = AssetStore(base_url=str(store_dir))
    partial = [k for k in raw_keys(store) if PARTIAL_MARK in k]
    assert partial == [], f"temporary files left after the resume: {partial}"
    manifest = json.loads((store_dir / result["manifest_key"]).read_text())
    keys = [entry["key"] for entry in manifest["assets"]]
    assert len(keys) == len(set(keys)), keys
    assert {entry["kind"] for entry in manifest["assets"]} == MUSIC_KINDS
    returned = {r["key"] for records in result["assets"].values() for r in records}
    assert set(keys) == returned
    for entry in manifest["assets"]:
        data = (store_dir / entry["key"]).read_bytes()
        assert len(data) == entry["bytes"], entry["key"]
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], entry["key"]
        assert entry["task_id"] in result["task_ids"].values()


def resume_to_the_end(
    flow_process: FlowProcess, run_id: str, control: httpx.Client
) -> tuple[dict[str, Any], dict[str, list[str | None]]]:
    """Resume ``run_id`` in a new process until it completes; its result and the creates."""
    process, result_path, log = flow_process.start(resume=run_id)
    assert finish(process, log) == 0, log.read_text()[-5000:]
    result = json.loads(result_path.read_text())
    made = creates(control.get("/_emulator/calls").json()["calls"])
    return result, made


# -- the tests ------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("stage", list(STAGES))
def test_killed_after_a_stage_the_resume_completes_without_paying_twice(
    stage: str, flow_process: FlowProcess, live_control: httpx.Client
) -> None:
    store_dir = Path(flow_process.env["ANYINT_STORE"])
    process, _, log = flow_process.start()
    at_kill = kill_at(process, log, STAGES[stage], store_dir, live_control)
    assert STAGES[stage](at_kill)
    run_id = killed_run(at_kill)

    result, made = resume_to_the_end(flow_process, run_id, live_control)

    # One create per logical step, over both executions; the resume owns exactly those tasks.
    assert {path: len(ids) for path, ids in made.items()} == dict.fromkeys(made, 1), made
    assert result["task_ids"] == {step: made[path][0] for step, path in MUSIC_CREATE_PATHS.items()}
    # Whatever the killed execution had submitted, the resume reused rather than paid for.
    submitted_before = {STEP_OF_ROUTE[r] for r, s in at_kill.journals.items() if s == "created"}
    submitted_before |= {STEP_OF_ROUTE[r] for r, s in at_kill.journals.items() if s == "done"}
    assert submitted_before <= set(result["reused_steps"]), (submitted_before, result)
    assert result["manifest_key"] == f"runs/{run_id}/manifest.json"  # the same flow run
    assert_resumed_store(store_dir, result)


@pytest.mark.slow
@pytest.mark.parametrize("server", ["slow-assets"], indirect=True)
def test_killed_mid_download_the_resume_leaves_no_partial_file(
    flow_process: FlowProcess, live_control: httpx.Client
) -> None:
    """Killed while an asset is being written: the dead writer's ``.partial-`` file is swept by
    the resume's write of the same key, and nothing half-written is ever a stored asset."""
    store_dir = Path(flow_process.env["ANYINT_STORE"])
    process, _, log = flow_process.start()
    at_kill = kill_at(process, log, MID_DOWNLOAD, store_dir, live_control)
    assert at_kill.partial, at_kill
    run_id = killed_run(at_kill)

    result, made = resume_to_the_end(flow_process, run_id, live_control)
    assert {path: len(ids) for path, ids in made.items()} == dict.fromkeys(made, 1), made
    assert_resumed_store(store_dir, result)
    for partial in at_kill.partial:
        final = partial.partition(PARTIAL_MARK)[0]
        assert (store_dir / final).is_file(), f"{final} was never stored"


@pytest.mark.slow
def test_kill_in_the_ambiguous_window_ends_in_doubt_not_a_second_create(
    flow_process: FlowProcess, live_control: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed after the gateway created the song task and answered, before the journal write:
    the resume stops in doubt without sending; adopting the task from the call log lets the
    next resume finish with exactly one song create."""
    store_dir = Path(flow_process.env["ANYINT_STORE"])
    # The gateway sits on the song create for a while before carrying it out.
    response = live_control.post(
        "/_emulator/faults", json={"match": "POST /suno/generate", "fault": "delay", "seconds": 1.0}
    )
    response.raise_for_status()

    def in_flight(facts: Facts) -> bool:
        return facts.journals.get("suno.generate") == "sending" and any(
            c["path"] == "/suno/generate" and c["fault"] == "delay" for c in facts.calls
        )

    def answered(facts: Facts) -> bool:
        return any(
            c["path"] == "/suno/generate" and c["status"] == 200 and c["created_task_id"]
            for c in facts.calls
        )

    process, _, log = flow_process.start()
    deadline = time.monotonic() + STAGE_TIMEOUT
    while not in_flight(read_facts(store_dir, live_control)):
        assert process.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, "the song create never reached the gateway"
        time.sleep(LOOK_EVERY)
    # Frozen with the request sent; once the gateway has created the task and answered (the
    # answer waits in the frozen process's socket), the kill lands before the journal write.
    os.kill(process.pid, signal.SIGSTOP)
    while not answered(read_facts(store_dir, live_control)):
        assert time.monotonic() < deadline, "the delayed create never completed"
        time.sleep(LOOK_EVERY)
    os.kill(process.pid, signal.SIGKILL)
    assert process.wait(timeout=10) == -signal.SIGKILL
    at_kill = read_facts(store_dir, live_control)
    assert at_kill.journals["suno.generate"] == "sending"
    run_id = killed_run(at_kill)

    # The resume finds the claim its own flow run left while sending: doubt, nothing sent.
    rerun, result_path, rerun_log = flow_process.start(resume=run_id)
    assert finish(rerun, rerun_log) != 0
    output = rerun_log.read_text()
    assert "SubmitInDoubtError" in output and "anyint-flows tasks adopt" in output, output[-3000:]
    assert f"--resume {run_id}" in output, output[-3000:]
    assert not result_path.exists()
    made = creates(live_control.get("/_emulator/calls").json()["calls"])
    assert len(made["/suno/generate"]) == 1  # never a second create
    assert len(made["/suno/generate-lyrics"]) == 1
    facts = read_facts(store_dir, live_control)
    assert facts.journals["suno.generate"] == "in_doubt"
    digest = facts.digests["suno.generate"]
    assert digest in output

    # The user looks on the gateway (here: its call log) and adopts the task found there.
    (task_id,) = made["/suno/generate"]
    assert task_id is not None
    monkeypatch.setenv("ANYINT_API_KEY", API_KEY)
    config = gateway_config(
        flow_process.env["ANYINT_BASE_URL"], AssetStore(base_url=str(store_dir))
    )
    anyio.run(adopt, config, digest, task_id)

    result, made = resume_to_the_end(flow_process, run_id, live_control)
    assert {path: len(ids) for path, ids in made.items()} == dict.fromkeys(made, 1), made
    assert result["task_ids"]["song"] == task_id
    assert {"lyrics", "song"} <= set(result["reused_steps"]), result["reused_steps"]
    assert_resumed_store(store_dir, result)
