"""Secrets: the API key and the callback token reach the gateway and nowhere else.

Each test runs the real thing with fresh canaries (a key and a callback token made for this
run only, so nothing another test did can interfere), then searches everything a user, an
operator or an attacker with read access could see: captured stdout/stderr, log records, the
Prefect database (every text and blob column: logs, parameters, artifacts, states, events),
Prefect's home folder (result storage, where persisted results and failures are pickled), the
asset store (assets, manifests, journals, the callback inbox) and artifacts and run parameters
read back through the Prefect client. The canary must be found in none of them, while the token
must be found where it belongs: in the callback URL the gateway received.
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from prefect import flow
from prefect.settings import PREFECT_HOME

from anyint_cli.embedded import embedded_gateway
from blocks import AssetStore
from emulator.app import EmulatorApp
from emulator.server import IN_PROCESS_BASE_URL
from flows import start_run
from tasks import FinishedTask, RunConfig, fetch, submit, wait
from tasks.generation import gemini_image
from tests.conftest import in_process_client

from ._scan import (
    canaries,
    database,
    everywhere,
    flush_prefect,
    fresh_base_url,
    scan_api,
    scan_database,
    scan_files,
)
from ._support import RECEIVER_URL, inject, wire_receiver

#: Every flow with parameters covering each route it offers (defaults first).
FLOW_RUNS: list[tuple[str, dict[str, Any]]] = [
    ("describe_images", {}),
    ("describe_images", {"route": "gemini"}),
    ("generate_image", {"route": "gemini", "stream": True}),
    ("generate_image", {"route": "dashscope"}),
    ("generate_video", {"route": "kling", "duration": 1}),
    ("music_video", {"poll_interval": 0.05}),
    # A dashscope image and video, and a song.
    ("content_brief", {"poll_interval": 0.05, "video_seconds": 1, "video_size": "320*180"}),
]


#: How the test flows run: quick polls, a short deadline.
_RUN = {"deadline_seconds": 30, "poll_interval": 0.02}


# -- the flows, with failures ---------------------------------------------------------------------


@flow(name="reliability-secrets-failures")
async def failing_steps() -> list[str]:
    """Steps that fail on the gateway: failed (persisted) task states must not carry the key."""
    errors = []
    run = await start_run(_RUN)
    body = {"taskId": "no-such-task", "audioId": "no-such-audio"}
    for attempt in (
        lambda: submit.with_options(retries=0)(run, "suno.wav-generate", body),
        lambda: gemini_image.with_options(retries=0)(run, "x", "no-such-model"),
    ):
        try:
            await attempt()
        except Exception as exc:
            errors.append(type(exc).__name__)
    return errors


async def _song(prompt: str) -> tuple[RunConfig, dict[str, Any], FinishedTask]:
    """In the current flow run: submit a simple-mode song and wait for it (with callbacks on,
    when configured). Returns the run, the request body and the finished task."""
    body = {"customMode": False, "instrumental": False, "model": "V5", "prompt": prompt}
    run = await start_run(_RUN)
    submitted = await submit(run, "suno.generate", body)
    return run, body, await wait(run, submitted)


@flow(name="reliability-secrets-suno")
async def suno_song() -> int:
    """A song with callbacks on: the token goes out in callBackUrl, the callbacks come back."""
    run, body, finished = await _song("a secret song")
    return len(await fetch(run, finished, request=body, model="V5"))


def _errors(request: httpx.Request) -> list[Exception]:
    from anyint import (
        AmbiguousSubmitError,
        APIConnectionError,
        BadRequestError,
        DownloadError,
        TaskFailedError,
        TaskTimeoutError,
    )
    from tasks import RunDeadlineError, SubmitInDoubtError, TaskLostError, TaskOutputMissingError

    return [
        BadRequestError("bad", status_code=400, request=request),
        APIConnectionError("gone", request=request, sent=True),
        AmbiguousSubmitError(
            method="POST", path="/p", request_digest="d", cause="c", request=request
        ),
        DownloadError("cut", url="https://cdn.example/a.mp3", retryable=True),
        TaskFailedError(task_id="t1", status="FAILED", error_message="boom"),
        TaskTimeoutError(task_id="t2", status="RUNNING", waited=3.0),
        SubmitInDoubtError("suno.generate", "0" * 64, "earlier", "APITimeoutError: read"),
        RunDeadlineError(
            TaskTimeoutError(task_id="t3", status="RUNNING", waited=1.0),
            route="dashscope.video-synthesis",
            budget=1.0,
            resume="anyint-flows run generate-video --resume last",
        ),
        TaskLostError(task_id="t4", route="suno.generate", digest="1" * 64),
        TaskOutputMissingError(
            task_id="t5", status="SUCCESS", route="suno.generate", missing="an audio URL"
        ),
    ]


def test_errors_pickle_without_secrets() -> None:
    """Prefect persists a failed task's exception by pickling it (and Dask ships it between
    processes): it must unpickle as itself, without the request's key and callback token."""
    import cloudpickle

    key, token = canaries()
    request = httpx.Request(
        "POST",
        f"{IN_PROCESS_BASE_URL}/suno/generate",
        headers={"Authorization": f"Bearer {key}"},
        json={"callBackUrl": f"{RECEIVER_URL}/callbacks/{token}/suno"},
    )
    for error in _errors(request):
        error.add_note("while waiting")
        data = cloudpickle.dumps(error)
        assert key.encode() not in data and token.encode() not in data, type(error).__name__
        copy = cloudpickle.loads(data)
        assert type(copy) is type(error) and str(copy) == str(error)
        assert copy.retryable == error.retryable and copy.__notes__ == ["while waiting"]
        assert {k: v for k, v in vars(copy).items() if k != "request"} == {
            k: v for k, v in vars(error).items() if k != "request"
        }


@flow(name="reliability-secrets-use-finished")
async def use_finished(finished: FinishedTask) -> int:
    """A subflow taking a finished task as its parameter (stored by Prefect as given)."""
    return len(finished.outputs)


@flow(name="reliability-secrets-hand-on")
async def wait_and_hand_on() -> int:
    """Wait for a song, then hand the finished task on to a subflow."""
    _, _, finished = await _song("handed on")
    return await use_finished(finished)


async def test_a_finished_task_carries_no_token(
    emulator: EmulatorApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The final query of a Suno task echoes the request (``param``), callback URL included;
    what ``wait`` returns must not carry the token on, into parameters or results."""
    key, token = canaries()
    monkeypatch.setenv("ANYINT_CALLBACK_URL", "https://hooks.reliability.invalid")  # never called
    monkeypatch.setenv("ANYINT_CALLBACK_TOKEN", token)
    store = str(tmp_path / "store")
    with embedded_gateway(emulator, store, api_key=key, base_url=fresh_base_url()):
        assert await wait_and_hand_on() == 4
    await flush_prefect()
    (task,) = emulator.backend.tasks.values()
    assert token in (task.callback_url or "")  # the gateway got it, and echoes it in `param`
    home = Path(PREFECT_HOME.value())
    for secret in (key, token):
        found = scan_database(secret) + scan_files(
            home, secret, skip=frozenset({database().parent})
        )
        assert found == [], "\n".join(found[:20])


@pytest.mark.slow
async def test_flows_leak_no_key_and_no_token(
    emulator: EmulatorApp,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    key, token = canaries()
    store = AssetStore(base_url=str(tmp_path / "store"))
    monkeypatch.setenv("ANYINT_INPUT_DIR", str(tmp_path))
    # Callbacks on, with this run's own token: the emulator delivers them to a receiver on the
    # same store the waits read.
    wire_receiver(emulator, store, monkeypatch.setenv, token=token)
    run_ids: set[str] = set()
    with embedded_gateway(emulator, store.root_url, api_key=key, base_url=fresh_base_url()):
        for name, params in FLOW_RUNS:
            state = await getattr(importlib.import_module(f"flows.{name}"), name)(
                **params, return_state=True
            )
            assert state.is_completed(), f"{name}({params}): {state.message}"
            run_ids.add(str(state.state_details.flow_run_id))
        state = await suno_song(return_state=True)
        run_ids.add(str(state.state_details.flow_run_id))
        async with in_process_client(emulator) as control:
            await inject(control, "POST /suno/wav-generate", fault="status", status=400)
            state = await failing_steps(return_state=True)
        run_ids.add(str(state.state_details.flow_run_id))
    await emulator.backend.callbacks.drain()
    await flush_prefect()

    # The token went where it must: in the callback URL the gateway was given, and callbacks
    # came back through it.
    urls = [t.callback_url or "" for t in emulator.backend.tasks.values()]
    assert any(token in u for u in urls), urls
    assert store.list("inbox"), "no callback reached the receiver"

    out, err = capfd.readouterr()
    text = out + err + caplog.text
    for secret in (key, token):
        found = everywhere(secret, text=text, store_root=tmp_path / "store")
        found += await scan_api(secret, run_ids)
        assert found == [], "\n".join(found[:20])


def _demo_key() -> str:
    import anyint_cli

    source = inspect.getsource(anyint_cli)
    match = re.search(r'api_key="([^"]+)"', source)
    return match.group(1) if match else os.environ.get("ANYINT_API_KEY", "")


@pytest.mark.slow
def test_demo_leaks_no_key_and_no_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    from typer.testing import CliRunner

    from anyint_cli import app

    key, token = canaries()
    monkeypatch.setenv("ANYINT_API_KEY", key)  # in case the demo reads the environment
    # Callback URLs carry the token to the embedded gateway (an .invalid host is never called).
    monkeypatch.setenv("ANYINT_CALLBACK_URL", "https://hooks.demo.invalid")
    monkeypatch.setenv("ANYINT_CALLBACK_TOKEN", token)
    store = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--store", str(store)])
    assert result.exit_code == 0, result.output
    assert list(store.glob("runs/*/manifest.json")), "the demo stored nothing"
    out, err = capfd.readouterr()
    for secret in {key, token, _demo_key()} - {""}:
        found = everywhere(secret, text=result.output + out + err, store_root=store)
        assert found == [], "\n".join(found[:20])
