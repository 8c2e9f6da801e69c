"""Crash and re-run: the ``music-video`` flow's process is SIGKILLed after each stage, then re-run.

The emulator runs as a real server in the test process (it outlives the kill and keeps its call
log); the flow runs in a subprocess (:mod:`tests.reliability._subprocess_flow`) against the
session's Prefect server, with a local-folder store and a Prefect home (result storage: the submit
cache) that the killed run and the re-run share.

The stage is read from durable facts only (the submit journal in the store, the emulator's call
log and task states), never from sleeps. The process is frozen (SIGSTOP) while the facts are
checked, so the kill lands exactly in the state that was checked: in particular with no submit
between its journal entry and the gateway's answer, the ambiguous window that
:func:`test_kill_in_the_ambiguous_window_ends_in_doubt_not_a_second_create` hits on purpose.

Both layers of the submit guard show up in the re-runs: submits whose Prefect result was persisted
before the kill come back ``Cached``; the later ones (killed before Prefect persisted the result)
are handed back by the journal ("reusing gateway task ..."). A download cut by the kill may leave
a hidden ``.partial-`` file behind (nothing runs after SIGKILL); it is never a final key and never
in a manifest, which is what is checked.
"""

from __future__ import annotations

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

import httpx
import pytest
from prefect.settings import PREFECT_API_URL

from blocks.store import PARTIAL_MARK
from emulator.server import ThreadedEmulatorServer

REPO = Path(__file__).resolve().parents[2]
#: Seconds per Suno task stage: a song takes 3 of them, every other task 1. Slow enough that
#: each stage stays observable for a few polls of ours, fast enough for ~10 s per case.
STAGE_SECONDS = 0.3
#: Flow parameters of both runs: fast polling, everything on (lyrics, stems, WAV, cover, video).
PARAMS: dict[str, Any] = {"poll_interval": 0.05, "deadline_seconds": 60.0}
#: How often the durable facts are read while waiting for a stage.
LOOK_EVERY = 0.01
#: Bound on waiting for a stage or a run (process start with Prefect's import is ~3 s of it).
STAGE_TIMEOUT = 30.0
RUN_TIMEOUT = 60.0

#: Create path per pipeline step; each must be called exactly once over both runs.
CREATE_PATHS = {
    "lyrics": "/suno/generate-lyrics",
    "song": "/suno/generate",
    "stems": "/suno/vocal-removal",
    "wav": "/suno/wav-generate",
    "cover_art": "/suno/generate-cover",
    "music_video": "/suno/mp4-generate",
}
ROUTE_OF_STEP = {
    "lyrics": "suno.generate-lyrics",
    "song": "suno.generate",
    "stems": "suno.vocal-removal",
    "wav": "suno.wav-generate",
    "cover_art": "suno.generate-cover",
    "music_video": "suno.mp4-generate",
}
STEP_OF_ROUTE = {route: step for step, route in ROUTE_OF_STEP.items()}
FOLLOW_UPS = ("suno.vocal-removal", "suno.wav-generate", "suno.generate-cover")
#: Manifest kinds the finished pipeline stores (audio = both song tracks, image = their art).
KINDS = {"lyrics", "audio", "image", "stem", "wav", "cover_art", "music_video"}


@dataclass
class Facts:
    """What the store and the emulator durably say about the pipeline right now.

    Attributes:
        journals: Submit journal state (``sending``/``created``/``failed``) per route.
        task_ids: Gateway task id per route, once created.
        statuses: Emulator status per gateway task id.
        calls: The emulator's call log.
    """

    journals: dict[str, str] = field(default_factory=dict)
    task_ids: dict[str, str] = field(default_factory=dict)
    statuses: dict[str, str] = field(default_factory=dict)
    calls: list[dict[str, Any]] = field(default_factory=list)

    def status(self, route: str) -> str | None:
        """Emulator status of the task created for ``route``."""
        task_id = self.task_ids.get(route)
        return self.statuses.get(task_id) if task_id else None


def read_facts(store_dir: Path, control: httpx.Client) -> Facts:
    """Read the submit journal (files in the store) and the emulator's call log and tasks."""
    facts = Facts()
    for path in sorted((store_dir / "submits").glob("*.json")):
        if PARTIAL_MARK in path.name:
            continue
        record = json.loads(path.read_text())  # written by rename: never half a file
        facts.journals[record["route"]] = record["state"]
        if record.get("task_id"):
            facts.task_ids[record["route"]] = record["task_id"]
    facts.statuses = {t["id"]: t["status"] for t in control.get("/_emulator/tasks").json()["tasks"]}
    facts.calls = control.get("/_emulator/calls").json()["calls"]
    return facts


def _created(facts: Facts, route: str) -> bool:
    return facts.journals.get(route) == "created"


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


# -- fixtures and process helpers -----------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[ThreadedEmulatorServer]:
    """The emulator on a real socket, Suno slowed to :data:`STAGE_SECONDS` per stage."""
    with ThreadedEmulatorServer() as running:
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
    """How to start the flow in a subprocess; both runs share the store and the Prefect home."""

    env: dict[str, str]
    workdir: Path
    runs: int = 0

    def start(self) -> tuple[subprocess.Popen[bytes], Path, Path]:
        """Start one run; returns the process, where its result goes, and its output log."""
        self.runs += 1
        result = self.workdir / f"result-{self.runs}.json"
        log = self.workdir / f"output-{self.runs}.log"
        with log.open("wb") as out:  # a file, not a pipe: a chatty run never blocks on it
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.reliability._subprocess_flow",
                    json.dumps(PARAMS),
                    str(result),
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
        "ANYINT_API_KEY": "sk-crash-test",
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
    out: dict[str, list[str | None]] = {path: [] for path in CREATE_PATHS.values()}
    for call in calls:
        if call["method"] == "POST" and call["path"] in out:
            out[call["path"]].append(call["created_task_id"])
    return out


# -- the tests ------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("stage", list(STAGES))
def test_killed_after_a_stage_the_rerun_completes_without_paying_twice(
    stage: str, flow_process: FlowProcess, live_control: httpx.Client
) -> None:
    store_dir = Path(flow_process.env["ANYINT_STORE"])
    process, _, log = flow_process.start()
    at_kill = kill_at(process, log, STAGES[stage], store_dir, live_control)
    assert STAGES[stage](at_kill)

    rerun, result_path, rerun_log = flow_process.start()
    assert finish(rerun, rerun_log) == 0, rerun_log.read_text()[-5000:]
    result = json.loads(result_path.read_text())

    # One create per logical step, over both runs; the re-run owns exactly those tasks.
    calls = live_control.get("/_emulator/calls").json()["calls"]
    made = creates(calls)
    assert {path: len(ids) for path, ids in made.items()} == dict.fromkeys(made, 1), made
    assert result["task_ids"] == {step: made[path][0] for step, path in CREATE_PATHS.items()}
    # Whatever the killed run had submitted, the re-run reused rather than paid for.
    submitted_before = {STEP_OF_ROUTE[r] for r, s in at_kill.journals.items() if s == "created"}
    assert submitted_before <= set(result["reused_steps"]), (submitted_before, result)

    # The re-run's manifest lists every asset once, each matching the stored bytes.
    manifest = json.loads((store_dir / result["manifest_key"]).read_text())
    keys = [entry["key"] for entry in manifest["assets"]]
    assert len(keys) == len(set(keys)), keys
    assert {entry["kind"] for entry in manifest["assets"]} == KINDS
    returned = {r["key"] for records in result["assets"].values() for r in records}
    assert set(keys) == returned
    for entry in manifest["assets"]:
        data = (store_dir / entry["key"]).read_bytes()
        assert len(data) == entry["bytes"], entry["key"]
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], entry["key"]
        assert entry["task_id"] in result["task_ids"].values()


@pytest.mark.slow
def test_kill_in_the_ambiguous_window_ends_in_doubt_not_a_second_create(
    flow_process: FlowProcess, live_control: httpx.Client
) -> None:
    """Killed after the gateway created the song task and answered, before the journal write."""
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
    assert read_facts(store_dir, live_control).journals["suno.generate"] == "sending"

    rerun, result_path, rerun_log = flow_process.start()
    assert finish(rerun, rerun_log) != 0
    output = rerun_log.read_text()
    assert "SubmitInDoubtError" in output and "force_new=True" in output
    assert not result_path.exists()
    made = creates(live_control.get("/_emulator/calls").json()["calls"])
    assert len(made["/suno/generate"]) == 1  # never a second create
    assert len(made["/suno/generate-lyrics"]) == 1
    assert read_facts(store_dir, live_control).journals["suno.generate"] == "sending"
