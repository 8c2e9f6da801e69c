"""submit → wait → fetch against the emulator under a real Prefect server: the run model.

A flow run is one intent (a retry or resume of it reuses everything), a new flow run is new
work, an ``idempotency_key`` shares work, and doubt is never resolved by re-sending.
"""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar

import httpx
import pytest
from prefect import flow, get_client

from anyint import TaskFailedError
from emulator.media import probe
from flows import start_run
from tasks import (
    AssetRecord,
    SubmitInDoubtError,
    TaskLostError,
    TaskOutputMissingError,
    fetch,
    journal,
    submit,
    wait,
)
from tasks.resolve import adopt, forget
from tests.conftest import EmulatedGateway, call_log, created_task_ids, resume_flow_run

E = TypeVar("E", bound=Exception)

ROUTE = "dashscope.video-synthesis"
CREATE = "POST /dashscope/v1/services/aigc/video-generation/*"
BODY: dict[str, Any] = {
    "model": "wan2.6-t2v",
    "input": {"prompt": "a red kite over the sea"},
    "parameters": {"size": "320*180", "duration": 2},
}


@flow
async def video_flow(
    body: dict[str, Any], idempotency_key: str | None = None, fail_after_submit: bool = False
) -> list[AssetRecord]:
    run = await start_run(
        {
            "body": body,
            "idempotency_key": idempotency_key,
            "deadline_seconds": 30,
            "poll_interval": 0.01,
        }
    )
    submitted = await submit(run, ROUTE, body)
    if fail_after_submit:
        raise RuntimeError("the worker died after the submit")
    finished = await wait(run, submitted)
    return await fetch(run, finished, request=body, model=body["model"])


async def _fails_under(
    control: httpx.AsyncClient, fault: str, error: type[E], match: str | None = None, **extra: Any
) -> tuple[Any, E]:
    """Run ``video_flow`` with ``fault`` on its create, which must make it fail with ``error``
    (its message matching ``match``); return the final state and the error."""
    await control.post("/_emulator/faults", json={"match": CREATE, "fault": fault, **extra})
    state = await video_flow(BODY, return_state=True)
    with pytest.raises(error, match=match) as info:
        await state.aresult()
    return state, info.value


async def _resume(state: Any) -> Any:
    """Execute the flow run of ``state`` again; return its final state."""
    return await resume_flow_run(video_flow, state.state_details.flow_run_id)


async def _failed_run(**params: Any) -> Any:
    """Run ``video_flow`` expecting it to fail; return the failed flow run's id."""
    state = await video_flow(**params, return_state=True)
    assert state.is_failed()
    return state.state_details.flow_run_id


async def test_full_cycle_and_a_new_run_is_new_work(
    gateway: EmulatedGateway, control: httpx.AsyncClient
) -> None:
    (asset,) = await video_flow(BODY)
    assert len(await created_task_ids(control)) == 1
    data = gateway.read(asset.key)
    facts = probe(data)
    assert facts.video is not None and (facts.video.width, facts.video.height) == (320, 180)
    assert asset.bytes == len(data) and asset.kind == "video" and asset.task_id
    (manifest_key,) = [k for k in gateway.store.list("runs") if k.endswith("/manifest.json")]
    manifest = gateway.store.read_json(manifest_key)
    assert manifest["flow"] == "video-flow" and manifest["parameters"]["body"] == BODY
    assert manifest["intent"] == f"run:{manifest['flow_run_id']}"
    (entry,) = manifest["assets"]
    assert (entry["sha256"], entry["uri"], entry["route"]) == (asset.sha256, asset.uri, ROUTE)
    assert entry["request"] == BODY and entry["content_type"] == "video/mp4"
    # Same parameters, new flow run: a new video, and the first one is left as it was.
    (second,) = await video_flow(BODY)
    created = await created_task_ids(control)
    assert len(created) == 2 and second.task_id == created[1] != asset.task_id
    assert gateway.store.sha256(asset.key) == asset.sha256


async def test_same_key_shares_the_task_across_runs(
    gateway: EmulatedGateway, control: httpx.AsyncClient
) -> None:
    (first,) = await video_flow(BODY, idempotency_key="launch-video")
    (second,) = await video_flow(BODY, idempotency_key="launch-video")
    assert len(await created_task_ids(control)) == 1
    assert (second.task_id, second.sha256) == (first.task_id, first.sha256)


async def test_same_key_started_together_creates_once(
    gateway: EmulatedGateway, control: httpx.AsyncClient
) -> None:
    # The create answers slowly, so the second run meets the first one's claim in flight.
    await control.post("/_emulator/faults", json={"match": CREATE, "fault": "delay", "seconds": 1})
    results = await asyncio.gather(*(video_flow(BODY, idempotency_key="k") for _ in range(3)))
    assert len(await created_task_ids(control)) == 1
    assert len({r[0].task_id for r in results}) == 1


async def test_a_key_names_one_intent(gateway: EmulatedGateway) -> None:
    await video_flow(BODY, idempotency_key="one-intent")
    other = {**BODY, "input": {"prompt": "something else"}}
    with pytest.raises(ValueError, match="parameter 'idempotency_key'"):
        await video_flow(other, idempotency_key="one-intent")


async def test_journal_alone_resumes_a_flow_run(
    gateway: EmulatedGateway, control: httpx.AsyncClient
) -> None:
    # No Prefect cache is involved: the resumed flow run finds the task in the journal alone.
    flow_run_id = await _failed_run(body=BODY, fail_after_submit=True)
    assert len(await created_task_ids(control)) == 1
    state = await resume_flow_run(
        video_flow.with_options(name="video-flow"), flow_run_id
    )  # the same flow run, executed again: the body now runs past the submit
    assert state.is_failed()  # fail_after_submit is still set: it fails at the same place
    assert len(await created_task_ids(control)) == 1


async def test_resume_of_a_done_step_needs_no_gateway_call(
    gateway: EmulatedGateway, control: httpx.AsyncClient
) -> None:
    state = await video_flow(BODY, return_state=True)
    (asset,) = await state.aresult()
    await control.post("/_emulator/reset", json={})  # the gateway forgets every task
    resumed = await _resume(state)
    (again,) = await resumed.aresult()
    assert (again.task_id, again.sha256) == (asset.task_id, asset.sha256)
    assert await call_log(control) == []  # not a create, not a query, not a download


async def test_a_lost_task_without_stored_outputs_names_the_way_out(
    gateway: EmulatedGateway, control: httpx.AsyncClient
) -> None:
    flow_run_id = await _failed_run(body=BODY, fail_after_submit=True)
    await control.post("/_emulator/reset", json={})  # the gateway forgets the task
    async with get_client() as client:  # the resumed run gets past the submit this time
        stored = await client.read_flow_run(flow_run_id)
        parameters = {**stored.parameters, "fail_after_submit": False}
        await client.update_flow_run(flow_run_id, parameters=parameters)
    lost = await resume_flow_run(video_flow, flow_run_id)
    with pytest.raises(TaskLostError, match="anyint-flows tasks forget"):
        await lost.aresult()
    assert await created_task_ids(control) == []  # the resume never paid again by itself


async def test_ambiguous_create_is_never_resent_until_resolved(
    gateway: EmulatedGateway, control: httpx.AsyncClient
) -> None:
    state, doubt = await _fails_under(
        control, "drop_after", SubmitInDoubtError, match="anyint-flows tasks adopt"
    )
    digest = doubt.digest
    assert len(await created_task_ids(control)) == 1  # created once, answer lost
    resumed = await _resume(state)
    with pytest.raises(SubmitInDoubtError):
        await resumed.aresult()  # a resume refuses to pay again
    (task_id,) = await created_task_ids(control)
    entry = await adopt(gateway.config, digest[:16], task_id)
    assert (entry.state, entry.task_id, entry.adopted) == ("created", task_id, True)
    resumed = await _resume(state)
    (asset,) = await resumed.aresult()
    assert asset.task_id == task_id and await created_task_ids(control) == [task_id]


async def test_forget_submits_afresh_exactly_once(
    gateway: EmulatedGateway, control: httpx.AsyncClient
) -> None:
    state, doubt = await _fails_under(control, "status_after", SubmitInDoubtError, status=502)
    assert len(await created_task_ids(control)) == 1  # the gateway did the work
    forgotten = forget(gateway.store, doubt.digest)
    assert forgotten.state == "forgotten"
    resumed = await _resume(state)
    await resumed.aresult()
    assert len(await created_task_ids(control)) == 2


async def test_adopt_of_an_unknown_task_records_nothing(
    gateway: EmulatedGateway, control: httpx.AsyncClient
) -> None:
    _, doubt = await _fails_under(control, "drop_after", SubmitInDoubtError)
    before = journal.find(gateway.store, doubt.digest)
    with pytest.raises(ValueError, match="does not know"):
        await adopt(gateway.config, doubt.digest, "no-such-task")
    assert journal.find(gateway.store, doubt.digest) == before
    with pytest.raises(LookupError, match="no journal entry"):
        forget(gateway.store, "0123456789abcdef")


async def test_failed_task_is_resubmitted_once_on_resume(
    gateway: EmulatedGateway, control: httpx.AsyncClient
) -> None:
    state, failure = await _fails_under(control, "task_failed", TaskFailedError)
    first = await created_task_ids(control)
    assert failure.task_id == first[0]
    # The resume must not hand back the failed task: it submits again, exactly once.
    resumed = await _resume(state)
    (asset,) = await resumed.aresult()
    created = await created_task_ids(control)
    assert len(created) == 2 and asset.task_id == created[1]
    # And resuming again reuses the successful one.
    await _resume(state)
    assert len(await created_task_ids(control)) == 2


async def test_success_without_output_is_a_failure_naming_the_task(
    gateway: EmulatedGateway, control: httpx.AsyncClient
) -> None:
    _, missing = await _fails_under(
        control, "task_no_output", TaskOutputMissingError, match="video_url"
    )
    (task_id,) = await created_task_ids(control)
    assert missing.task_id == task_id and task_id in str(missing)
    assert gateway.store.list("assets") == []
    entry = journal.find(gateway.store, journal.entries(gateway.store)[0].digest)
    assert entry.state == "failed"
