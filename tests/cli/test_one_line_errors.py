"""Errors of ``anyint-flows run`` are one line each: a bad parameter is refused before any flow
run exists (exit 2), a failure during a run names the fix and the flow run, and Prefect's engine
logs no traceback on the console unless ``--debug``.

The CLI's own lines go to the ``CliRunner``'s stderr; Prefect's console handler writes to the
stream it was configured with, so :func:`prefect_console` points it at a buffer as well.
"""

from __future__ import annotations

import inspect
import io
import json
import logging
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from prefect import get_client
from prefect.logging.handlers import PrefectConsoleHandler
from prefect.settings import PREFECT_API_URL
from rich.console import Console

from anyint_cli import _output
from anyint_cli._state import options
from anyint_cli.run import load_flow, report
from emulator.app import EmulatorApp
from tasks import AssetRecord
from tests.cli.test_cli import invoke
from tests.conftest import EmulatedGateway

#: Two flows of different shapes (one image call; a video task), with parameters that run.
FLOWS = {
    "generate-image": {"route": "dashscope"},
    "generate-video": {"prompt": "a red kite over the sea", "duration": 2},
}
#: A bad value per flow, and the rule its error states.
BAD_VALUES = {
    "generate-image": (
        "route",
        "nowhere",
        "Input should be 'gemini', 'dashscope', 'kling' or 'kling-omni'",
    ),
    "generate-video": (
        "duration",
        "long",
        "Input should be a valid integer, unable to parse string as an integer",
    ),
}
FLOW_RUN_LINE = re.compile(r"^(?P<line>.+) \(flow run (?P<id>[0-9a-f-]{36})\)$")
#: The most lines the CLI itself prints for a failed run: the error and the resume command.
MAX_ERROR_LINES = 2
#: ``anyint-flows`` in a fresh interpreter (the console script, without depending on PATH).
CLI = "from anyint_cli import main; main()"


@pytest.fixture
def prefect_console(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """What Prefect's console log prints during the test (its handler keeps its own stream)."""
    buffer = io.StringIO()
    handlers = [h for h in logging.getLogger().handlers if isinstance(h, PrefectConsoleHandler)]
    assert handlers, "Prefect's console handler is not configured"
    for handler in handlers:
        monkeypatch.setattr(handler.console, "file", buffer)
    yield buffer


def run_flow(flow: str, params: dict[str, Any], *options: str) -> Any:
    return invoke(*options, "run", flow, "--params", json.dumps(params))


def count_flow_runs() -> int:
    with get_client(sync_client=True) as client:
        return client.count_flow_runs()


def error_lines(stderr: str) -> list[str]:
    lines = stderr.strip().splitlines()
    assert 1 <= len(lines) <= MAX_ERROR_LINES, lines
    return lines


def failed_run(stderr: str, flow: str) -> tuple[str, str]:
    """The error line without its flow run id, and the id; checks the resume line."""
    error, resume = error_lines(stderr)
    match = FLOW_RUN_LINE.match(error)
    assert match, error
    assert resume == f"resume with: anyint-flows run {flow} --resume {match['id']}"
    return match["line"], match["id"]


def assert_no_traceback(*outputs: str) -> None:
    for output in outputs:
        assert "Traceback" not in output
        assert "Still processing items" not in output


@pytest.fixture
def unreachable(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A gateway URL that refuses connections: a bound port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        monkeypatch.setenv("ANYINT_BASE_URL", url)
        monkeypatch.setenv("ANYINT_API_KEY", "sk-unreachable")
        monkeypatch.setenv("ANYINT_STORE", "memory://one-line-errors")
        yield url


# -- a bad parameter: refused before any flow run ------------------------------------------------


@pytest.mark.parametrize("flow", sorted(BAD_VALUES))
def test_a_bad_parameter_is_one_line_and_creates_no_flow_run(
    flow: str, gateway: EmulatedGateway, prefect_console: io.StringIO
) -> None:
    field, value, rule = BAD_VALUES[flow]
    before = count_flow_runs()
    result = run_flow(flow, {**FLOWS[flow], field: value})
    assert result.exit_code == 2, result.output
    takes = ", ".join(inspect.signature(load_flow(flow).fn).parameters)
    assert error_lines(result.stderr) == [
        f"error: parameter {field!r}: {rule}; fix --params ({flow} takes: {takes})"
    ]
    assert count_flow_runs() == before
    assert prefect_console.getvalue() == ""


@pytest.mark.parametrize("flow", sorted(FLOWS))
def test_an_unknown_parameter_is_one_line_naming_it(flow: str) -> None:
    before = count_flow_runs()
    result = run_flow(flow, {"no_such_parameter": 1})
    assert result.exit_code == 2, result.output
    (line,) = error_lines(result.stderr)
    assert line.startswith("error: parameter 'no_such_parameter': Extra inputs are not permitted")
    assert count_flow_runs() == before


def test_a_control_character_in_a_text_parameter_is_one_line_naming_the_field() -> None:
    before = count_flow_runs()
    result = run_flow("generate-image", {"route": "dashscope", "prompt": "a red\u0000 kite"})
    assert result.exit_code == 2, result.output
    (line,) = error_lines(result.stderr)
    assert line.startswith(
        "error: parameter 'prompt': has a control character, U+0000 (NUL), at position 6 of 11; "
        "remove it (text may hold tabs, newlines and CRLF line breaks, no other control "
        "characters); fix --params"
    ), line
    assert count_flow_runs() == before


# -- failures during a run: one line naming the fix, no traceback --------------------------------


@pytest.mark.parametrize("flow", sorted(FLOWS))
def test_a_wrong_api_key_is_one_line_naming_the_fix(
    flow: str, gateway: EmulatedGateway, emulator: EmulatorApp, prefect_console: io.StringIO
) -> None:
    emulator.backend.valid_keys = {"sk-the-right-key"}
    result = run_flow(flow, FLOWS[flow])
    assert result.exit_code == 1, result.output
    line, _ = failed_run(result.stderr, flow)
    assert line == (
        "error: AuthenticationError: Invalid or missing API key; check ANYINT_API_KEY "
        "(or the key saved in credentials_block)"
    )
    logged = prefect_console.getvalue()
    assert_no_traceback(result.output, logged)
    # The engine's own error lines stay: only their tracebacks are gone.
    assert "Encountered exception during execution: AuthenticationError" in logged


@pytest.mark.parametrize("flow", sorted(FLOWS))
def test_an_unreachable_gateway_is_one_line_naming_the_fix(
    flow: str, unreachable: str, prefect_console: io.StringIO
) -> None:
    result = run_flow(flow, FLOWS[flow])
    assert result.exit_code == 1, result.output
    line, _ = failed_run(result.stderr, flow)
    assert line.startswith("error: APIConnectionError: ")
    assert line.endswith("; check ANYINT_BASE_URL and that the gateway is reachable from here")
    assert_no_traceback(result.output, prefect_console.getvalue())


def test_debug_shows_the_traceback(
    gateway: EmulatedGateway,
    emulator: EmulatorApp,
    prefect_console: io.StringIO,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(options, "debug", False)  # the option is process state: undo it after
    emulator.backend.valid_keys = {"sk-the-right-key"}
    result = run_flow("generate-image", FLOWS["generate-image"], "--debug")
    assert result.exit_code != 0
    assert type(result.exception).__name__ == "AuthenticationError"
    assert "Traceback (most recent call last)" in prefect_console.getvalue()


def test_a_slow_temporary_server_is_one_line_naming_the_setting(
    capsys: pytest.CaptureFixture[str],
) -> None:
    async def times_out() -> None:
        raise RuntimeError(
            "Timed out while attempting to connect to ephemeral Prefect API server. "
            "Ephemeral server process exited with code 1. stdout: starting\nstill starting"
        )

    with pytest.raises(typer.Exit) as exit_info:
        report(times_out)
    assert exit_info.value.exit_code == 1
    (line,) = error_lines(capsys.readouterr().err)
    assert line.startswith("error: the temporary Prefect server did not start within ")
    assert "run again with PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS=600" in line


# -- a real process: everything it prints ---------------------------------------------------------


@pytest.mark.process
@pytest.mark.slow
def test_a_cli_process_prints_no_traceback_and_no_events_warning(unreachable: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_SERVER_ANALYTICS_ENABLED"}
    env.update(PREFECT_API_URL=str(PREFECT_API_URL.value()), COLUMNS="400")
    params = json.dumps(FLOWS["generate-image"])
    process = subprocess.run(
        [sys.executable, "-c", CLI, "run", "generate-image", "--params", params],
        env=env,
        cwd=Path(__file__).parents[2],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert process.returncode == 1, process.stderr
    assert_no_traceback(process.stdout, process.stderr)
    errors = [line for line in process.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "check ANYINT_BASE_URL" in errors[0], process.stderr
    # The engine still logs its error lines (without tracebacks).
    assert "Encountered exception during execution: APIConnectionError" in process.stderr


def test_the_cli_switches_the_temporary_servers_analytics_off() -> None:
    code = "import os, anyint_cli; print(os.environ['PREFECT_SERVER_ANALYTICS_ENABLED'])"
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_SERVER_ANALYTICS_ENABLED"}
    process = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert process.stdout.strip() == "false", process.stderr


# -- the stored-asset table keeps keys whole ------------------------------------------------------


@pytest.mark.parametrize("width", [60, 200])
def test_store_keys_are_never_cut_or_folded(width: int, monkeypatch: pytest.MonkeyPatch) -> None:
    key = "assets/dashscope/7f3a9c2e-41d0-b8a6-1234-567890abcdef/image-1.png"
    record = AssetRecord.model_construct(kind="image", key=key, bytes=123456, sha256="ab" * 32)
    out = io.StringIO()
    monkeypatch.setattr(_output, "console", Console(file=out, width=width))
    _output.show({"images": [record]})
    printed = out.getvalue()
    assert "Stored assets" in printed
    assert any(key in line for line in printed.splitlines()), printed
