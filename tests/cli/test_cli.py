"""The anyint-flows CLI: runs flows on the embedded emulator, fails with one clear line, lists the
submit journal and resolves doubt (``tasks``), and resumes a failed run without paying again.

Every command runs in process through typer's ``CliRunner``; the ``gateway`` fixture wraps it in
:func:`anyint_cli.embedded.embedded_gateway`, so the flows and the ``tasks`` commands reach the
test's own in-process emulator through ``ANYINT_*`` exactly as a user's shell would configure them.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import typer
from click.testing import Result
from typer.testing import CliRunner

from anyint_cli import FLOWS, app
from anyint_cli.run import FlowRunFailed, load_flow, report
from emulator.app import EmulatorApp
from emulator.backend import Fault, Timing
from emulator.routes.dashscope import VIDEO_PATH
from tests.conftest import EmulatedGateway

runner = CliRunner()

#: A short generate-video run (the emulator makes a 2 s clip).
VIDEO = {"prompt": "a red kite over the sea", "duration": 2}
#: The keys ``anyint-flows tasks --json`` promises for every entry.
SUMMARY_KEYS = {
    "digest",
    "route",
    "state",
    "task_id",
    "flow_run_id",
    "idempotency_key",
    "sent_at",
    "request",
}
RESUME_LINE = re.compile(r"^resume with: anyint-flows run generate-video --resume ([0-9a-f-]{36})$")


@pytest.fixture
def instant_video(emulator: EmulatorApp) -> None:
    """DashScope tasks are done when first queried (generate-video re-polls only after 5 s)."""
    emulator.backend.timing["dashscope"] = Timing(after_seconds=0)


def invoke(*args: str) -> Result:
    # Wide enough that rich never wraps a line: the tests read whole lines.
    return runner.invoke(app, list(args), env={"COLUMNS": "400"})


def run_video(**params: Any) -> Result:
    return invoke("run", "generate-video", "--params", json.dumps({**VIDEO, **params}))


def journal_json(*args: str) -> list[dict[str, Any]]:
    result = invoke("tasks", "--json", *args)
    assert result.exit_code == 0, result.output
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


def creates(emulator: EmulatorApp) -> list[str]:
    """Task ids of every create call the emulator answered (its call log)."""
    return [c.created_task_id for c in emulator.backend.calls if c.created_task_id]


def in_doubt_run(emulator: EmulatorApp) -> Result:
    """A generate-video run whose create is processed but whose answer is lost."""
    emulator.backend.add_fault(Fault(method="POST", path=VIDEO_PATH, fault="drop_after"))
    result = run_video(prompt="a kite whose answer got lost")
    assert result.exit_code == 1, result.output
    assert "SubmitInDoubtError" in result.stderr
    return result


def journal_files(gateway: EmulatedGateway) -> dict[str, Any]:
    return {k: gateway.store.read_json(k) for k in gateway.store.list("submits")}


# -- run -----------------------------------------------------------------------------------------


def test_run_generate_image_on_the_embedded_emulator(tmp_path: Path) -> None:
    store = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "run",
            "generate-image",
            "--emulator",
            "--store",
            str(store),
            "--params",
            '{"route": "dashscope"}',
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Stored assets" in result.output and "manifest:" in result.output
    assert list(store.glob("assets/dashscope/*/image-1.png"))
    assert list(store.glob("runs/*/manifest.json"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "no-such-flow"], "unknown flow"),
        (["run", "generate-image", "--params", "{not json"], "not valid JSON"),
        (["run", "generate-image", "--params", "[1]"], "JSON object"),
        (
            ["run", "generate-image", "--emulator", "--params", '{"model": "no-such-model"}'],
            "no-such-model",
        ),
    ],
)
def test_bad_input_is_one_clear_line(args: list[str], message: str, tmp_path: Path) -> None:
    result = runner.invoke(app, [*args, "--store", str(tmp_path)] if "--emulator" in args else args)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_every_flow_is_importable() -> None:
    for name in FLOWS:
        assert callable(load_flow(name))


def test_a_failed_run_resumes_without_a_second_create(
    gateway: EmulatedGateway, emulator: EmulatorApp
) -> None:
    # The video never finishes within the run's deadline: the run fails after paying once.
    emulator.backend.timing["dashscope"] = Timing(after_seconds=None, after_polls=10**6)
    failed = run_video(deadline_seconds=0.5)
    assert failed.exit_code == 1, failed.output
    assert "RunDeadlineError" in failed.stderr
    last = failed.stderr.strip().splitlines()[-1]
    match = RESUME_LINE.match(last)
    assert match, f"last stderr line is {last!r}"
    flow_run_id = match.group(1)
    (task_id,) = creates(emulator)

    # The task finishes on the gateway; the resume waits on it and pays nothing again.
    emulator.backend.timing["dashscope"] = Timing(after_seconds=0)
    resumed = invoke("run", "generate-video", "--resume", flow_run_id)
    assert resumed.exit_code == 0, resumed.output
    assert creates(emulator) == [task_id]
    manifest = gateway.store.read_json(f"runs/{flow_run_id}/manifest.json")
    (asset,) = manifest["assets"]
    assert asset["task_id"] == task_id
    assert gateway.store.sha256(asset["key"]) == asset["sha256"]
    (entry,) = journal_json()
    assert (entry["state"], entry["task_id"], entry["flow_run_id"]) == (
        "done",
        task_id,
        flow_run_id,
    )


def test_the_resume_command_stays_one_line_on_a_narrow_stderr(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    flow_run_id = str(uuid.uuid4())

    async def fails() -> None:
        raise FlowRunFailed("generate-video", flow_run_id, RuntimeError("the gateway is down"))

    with pytest.raises(typer.Exit):
        report(fails)
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last == f"resume with: anyint-flows run generate-video --resume {flow_run_id}"


# -- tasks ---------------------------------------------------------------------------------------


@pytest.mark.usefixtures("instant_video")
def test_tasks_json_lists_every_step(gateway: EmulatedGateway, emulator: EmulatorApp) -> None:
    assert journal_json() == []
    done = run_video(idempotency_key="cli-json-1")
    assert done.exit_code == 0, done.output
    (task_id,) = creates(emulator)
    (manifest_key,) = [k for k in gateway.store.list("runs") if k.endswith("/manifest.json")]
    manifest = gateway.store.read_json(manifest_key)

    (entry,) = journal_json("--store", gateway.store.root_url)  # the option, not the env
    assert SUMMARY_KEYS <= entry.keys()
    assert entry["route"] == "dashscope.video-synthesis"
    assert entry["state"] == "done"
    assert entry["task_id"] == task_id
    assert entry["flow_run_id"] == manifest["flow_run_id"]
    assert entry["idempotency_key"] == "cli-json-1"
    assert re.fullmatch(r"[0-9a-f]{64}", entry["digest"])
    assert datetime.fromisoformat(entry["sent_at"]).tzinfo is not None
    assert entry["request"]["input"]["prompt"] == VIDEO["prompt"]
    assert gateway.store.exists(f"submits/{entry['digest']}/000000.json")


@pytest.mark.usefixtures("instant_video")
def test_tasks_state_filter(gateway: EmulatedGateway, emulator: EmulatorApp) -> None:
    assert run_video().exit_code == 0
    in_doubt_run(emulator)

    every = journal_json()
    assert sorted(e["state"] for e in every) == ["done", "in_doubt"]
    (doubt,) = journal_json("--state", "in_doubt")
    assert doubt == next(e for e in every if e["state"] == "in_doubt")
    assert doubt["task_id"] is None  # the answer was lost: no id recorded
    (done,) = journal_json("--state", "done")
    assert done["task_id"] == creates(emulator)[0]
    assert journal_json("--state", "failed") == []

    table = invoke("tasks", "--state", "in_doubt")
    assert table.exit_code == 0, table.output
    assert "(1 steps)" in table.stdout and doubt["digest"][:16] in table.stdout
    assert done["digest"][:16] not in table.stdout


def test_tasks_forget_of_an_unknown_digest_says_so(
    gateway: EmulatedGateway, emulator: EmulatorApp
) -> None:
    in_doubt_run(emulator)
    before = journal_files(gateway)
    unknown = invoke("tasks", "forget", "0123456789abcdef")
    assert unknown.exit_code != 0
    assert "no journal entry with digest 0123456789abcdef" in unknown.stderr
    assert journal_files(gateway) == before

    (doubt,) = journal_json()
    known = invoke("tasks", "forget", doubt["digest"][:16])
    assert known.exit_code == 0, known.output
    assert [e["state"] for e in journal_json()] == ["forgotten"]


def test_tasks_adopt_of_a_task_the_gateway_does_not_know_records_nothing(
    gateway: EmulatedGateway, emulator: EmulatorApp
) -> None:
    in_doubt_run(emulator)
    (doubt,) = journal_json()
    before = journal_files(gateway)
    adopted = invoke("tasks", "adopt", doubt["digest"][:16], "no-such-task")
    assert adopted.exit_code != 0
    assert "does not know" in adopted.stderr and "nothing was recorded" in adopted.stderr
    assert journal_files(gateway) == before

    # The task the gateway did create is adopted, and the step then waits on it.
    (task_id,) = creates(emulator)
    adopted = invoke("tasks", "adopt", doubt["digest"][:16], task_id)
    assert adopted.exit_code == 0, adopted.output
    (entry,) = journal_json()
    assert (entry["state"], entry["task_id"]) == ("created", task_id)
