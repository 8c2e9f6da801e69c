"""One deadline per run: a task that never ends stops the run at its deadline, retries included.

The emulator keeps every DashScope task running for an hour. With ``deadline_seconds=1`` the run
must fail with :class:`tasks.RunDeadlineError` within the deadline plus one (maximum) poll
interval plus Prefect's own overhead: no Prefect retry of the wait may open a fresh window (the
wait task runs once), and the message names the task still running and the command that resumes
the run. Resumed once the task can finish, the same flow run waits on the same task and pays
nothing again. Only upper bounds are asserted: how fast this machine is must not matter.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from anyint_cli.run import FlowRunFailed, execute
from tasks import RunDeadlineError
from tests.conftest import EmulatedGateway

from ._matrix import STEPS
from ._steps import POLL_INTERVAL, task_step
from ._support import calls, created_ids, failure_of, flow_run_id, resume, task_runs_of

DEADLINE = 1.0
#: Prefect's own overhead around a flow run (creating it, its task runs, its final state).
OVERHEAD = 5.0
#: The default first poll interval of a flow without a ``poll_interval`` parameter.
DEFAULT_POLL = 5.0
VIDEO = next(s for s in STEPS if s.name == "dashscope-video")
FOREVER = {"family": "dashscope", "after_seconds": 3600}
SOON = {"family": "dashscope", "after_seconds": 0.02}


def _bound(poll: float) -> float:
    """Deadline + the longest poll interval (6x the first) + Prefect's overhead."""
    return DEADLINE + 6 * poll + OVERHEAD


async def _wait_runs(run_id: str) -> list[Any]:
    """The task runs of flow run ``run_id`` that wait: ``wait`` (the reliability steps), or
    ``wait-and-fetch`` (the product flows)."""
    return [
        r for r in await task_runs_of(run_id) if r.name.split()[0] in ("wait", "wait-and-fetch")
    ]


async def _check_deadline_error(
    error: BaseException, run_id: str, control: httpx.AsyncClient, resume_of: str
) -> str:
    """The error is the run's deadline, naming the running task and the resume command; the
    wait ran once (no retry); the task is still running on the gateway. Returns its id."""
    assert isinstance(error, RunDeadlineError), repr(error)
    (task_id,) = created_ids(await calls(control))
    message = str(error)
    assert task_id in message and f"--resume {run_id}" in message, message
    assert error.resume == f"anyint-flows run {resume_of} --resume {run_id}"
    waits = await _wait_runs(run_id)
    assert [(w.run_count, w.state_type.value) for w in waits] == [(1, "FAILED")], waits
    tasks = (await control.get("/_emulator/tasks")).json()["tasks"]
    assert [(t["id"], t["status"] in ("PENDING", "RUNNING")) for t in tasks] == [(task_id, True)]
    return task_id


async def test_a_task_that_never_ends_stops_the_run_at_its_deadline(
    gateway: EmulatedGateway, control: httpx.AsyncClient
) -> None:
    (await control.post("/_emulator/timing", json=FOREVER)).raise_for_status()
    assert VIDEO.route is not None
    start = time.monotonic()
    # quick=False: a Prefect retry (which must not happen) would wait 30 s first.
    state = await task_step(
        VIDEO.route, VIDEO.body, quick=False, deadline_seconds=DEADLINE, return_state=True
    )
    elapsed = time.monotonic() - start
    assert elapsed < _bound(POLL_INTERVAL), f"the run took {elapsed:.1f} s"
    run_id = flow_run_id(state)
    error = await failure_of(state)
    task_id = await _check_deadline_error(error, run_id, control, "reliability-task-step")

    # The task can finish now: the resume waits on the same task and creates nothing.
    (await control.post("/_emulator/timing", json=SOON)).raise_for_status()
    state = await resume(task_step, run_id)
    assert state.is_completed(), state.message
    result = await state.aresult()
    assert result["submitted"].reused and result["finished"].task_id == task_id
    assert created_ids(await calls(control)) == [task_id]


async def test_generate_video_stops_at_its_deadline_and_resumes(
    gateway: EmulatedGateway, control: httpx.AsyncClient
) -> None:
    """The product flow through the CLI's runner: its error carries the resume command, and
    ``--resume`` finishes the same task."""
    (await control.post("/_emulator/timing", json=FOREVER)).raise_for_status()
    params = {"route": "dashscope", "duration": 1, "deadline_seconds": DEADLINE}
    start = time.monotonic()
    with pytest.raises(FlowRunFailed) as info:
        await execute("generate-video", params)
    elapsed = time.monotonic() - start
    assert elapsed < _bound(DEFAULT_POLL), f"the run took {elapsed:.1f} s"
    failed = info.value
    assert failed.flow_run_id is not None and failed.resumable
    assert (
        failed.resume_command() == f"anyint-flows run generate-video --resume {failed.flow_run_id}"
    )
    task_id = await _check_deadline_error(
        failed.cause, failed.flow_run_id, control, "generate-video"
    )

    (await control.post("/_emulator/timing", json=SOON)).raise_for_status()
    result = await execute("generate-video", {}, resume=failed.flow_run_id)
    assert result.reused and result.task_id == task_id
    assert created_ids(await calls(control)) == [task_id]
    assert result.manifest_key == f"runs/{failed.flow_run_id}/manifest.json"
