"""A gateway whose errors echo the request back leaks nothing, on every family.

The emulator's ``echo`` fault answers with an error whose message repeats the request's headers
(``Authorization: Bearer <key>`` or ``x-api-key``) and body (the callback URL with its token).
Each lead step of the fault matrix gets such an answer on its paid call (400: refused; 500: a
create in doubt, a sync call retried) and, for task routes, on its status query (401: the wait
fails). Then every place the canaries search (``_scan``) must hold neither the key nor the
token, while the errors keep the gateway's text with the secrets replaced by ``***``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from prefect.client.schemas.objects import State

from anyint_cli.embedded import embedded_gateway
from blocks import AssetStore
from emulator.app import EmulatorApp
from tests.conftest import in_process_client

from ._matrix import STEPS, Step
from ._scan import canaries, everywhere, flush_prefect, fresh_base_url, scan_api
from ._steps import sync_step, task_step
from ._support import flow_run_id, inject, wire_receiver

#: The steps that stand for their family (no parent song needed).
LEADS = [s for s in STEPS if s.lead and not s.parent]
#: (target, status) of each echo: the paid call refused or in doubt, the status query refused.
ECHOES = [("call", 400), ("call", 500), ("query", 401)]


def _runs() -> list[tuple[Step, str, int]]:
    return [
        (step, target, status)
        for step in LEADS
        for target, status in ECHOES
        if target == "call" or step.is_task
    ]


async def _run(step: Step) -> State[Any]:
    if step.is_task:
        assert step.route is not None
        return await task_step(step.route, dict(step.body), return_state=True)  # type: ignore[no-any-return]
    return await sync_step(step.name, return_state=True)  # type: ignore[no-any-return]


def _echoed(state: State[Any]) -> bool:
    """The run failed with the gateway's echo, secrets masked."""
    message = state.message or ""
    return state.is_failed() and "rejected" in message and "***" in message


async def test_an_echoing_gateway_leaks_no_key_and_no_token(
    emulator: EmulatorApp,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    key, token = canaries()
    store = AssetStore(base_url=str(tmp_path / "store"))
    monkeypatch.setenv("ANYINT_INPUT_DIR", str(tmp_path))
    # Callbacks on: every create body carries the token in its callback URL, and the echo
    # repeats it.
    wire_receiver(emulator, store, monkeypatch.setenv, token=token)
    run_ids: set[str] = set()
    failed: dict[str, State[Any]] = {}
    with embedded_gateway(emulator, store.root_url, api_key=key, base_url=fresh_base_url()):
        async with in_process_client(emulator) as control:
            for step, target, status in _runs():
                match = getattr(step, target)
                await inject(control, match, fault="echo", status=status)
                state = await _run(step)
                run_ids.add(flow_run_id(state))
                if state.is_failed():
                    failed[f"{step.name} {target} {status}"] = state
    await emulator.backend.callbacks.drain()
    await flush_prefect()

    # Every refusal (400 on the call, 401 on the query) failed its run with the echo, masked.
    refused = [f"{s.name} {t} {c}" for s, t, c in _runs() if c != 500]
    assert sorted(refused) == sorted(n for n in failed if not n.endswith(" 500")), failed
    assert all(_echoed(state) for state in failed.values()), {
        n: s.message for n, s in failed.items() if not _echoed(s)
    }
    out, err = capfd.readouterr()
    text = out + err + caplog.text
    assert "rejected POST" in text, "the echo never reached the logs: the scan proves nothing"
    for secret in (key, token):
        found = everywhere(secret, text=text, store_root=tmp_path / "store")
        found += await scan_api(secret, run_ids)
        assert found == [], "\n".join(found[:20])
