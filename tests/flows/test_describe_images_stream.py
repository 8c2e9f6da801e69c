"""``describe-images`` with ``stream``: the answer streams into the live artifact on either route,
is seen there part-way while it arrives (a loopback socket, the answer trickled), and a stream
cut part-way fails the flow with the typed error, its partial answer marked incomplete."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any, Literal
from uuid import UUID

import httpx
import pytest
from prefect import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    ArtifactFilterKey,
    FlowRunFilter,
    FlowRunFilterName,
)
from prefect.client.schemas.objects import Artifact
from prefect.client.schemas.sorting import ArtifactSort

from anyint import InternalServerError, ServiceUnavailableError
from emulator.server import ThreadedEmulatorServer
from flows.describe_images import describe_images
from tasks.understanding import LIVE_KEY
from tests.conftest import EmulatedGateway, paid_calls
from tests.tasks.test_streaming import WAIT_SECONDS, body, partial, socket_gateway, trickle

__all__ = ["socket_gateway"]  # the fixture, imported to be used here

Route = Literal["anthropic", "gemini"]


async def live_versions(flow_run_id: UUID | None) -> list[Artifact]:
    """The versions of the live artifact that one flow run published, oldest first."""
    assert flow_run_id is not None
    async with get_client() as client:
        newest_first = await client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=[LIVE_KEY]),
                flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]),
            ),
            sort=ArtifactSort.CREATED_DESC,
        )
    return newest_first[::-1]


@pytest.mark.parametrize("route", ["anthropic", "gemini"])
async def test_streamed_answer_is_the_answer(gateway: EmulatedGateway, route: Route) -> None:
    plain = await describe_images(route=route)
    state = await describe_images(route=route, stream=True, return_state=True)
    streamed = await state.aresult()
    assert streamed.answer == plain.answer and "orange" in streamed.answer
    final = (await live_versions(state.state_details.flow_run_id))[-1]
    assert body(final.data) == streamed.answer and not partial(final)


async def _flow_run_id(name: str) -> UUID:
    """The id of the flow run called ``name``, once it exists (bounded wait)."""
    deadline = time.monotonic() + WAIT_SECONDS
    async with get_client() as client:
        while True:
            runs = await client.read_flow_runs(
                flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[name]))
            )
            if runs:
                return runs[0].id
            assert time.monotonic() < deadline, f"no flow run {name} in time"
            await asyncio.sleep(0.05)


async def test_partial_answer_is_visible_while_it_streams(
    socket_gateway: ThreadedEmulatorServer, control: httpx.AsyncClient
) -> None:
    # The gemini route's events come 64 bytes every 0.1 s: the answer takes about 2 s.
    await trickle(control, "/gemini/v1beta/models/*:streamGenerateContent", 0.1)
    name = f"stream-{uuid.uuid4().hex[:12]}"
    named = describe_images.with_options(flow_run_name=name)
    running = asyncio.ensure_future(named(route="gemini", stream=True))
    try:
        flow_run_id = await _flow_run_id(name)
        deadline = time.monotonic() + WAIT_SECONDS
        while sum(map(partial, await live_versions(flow_run_id))) < 2:
            assert not running.done(), "the stream closed before two partial versions"
            assert time.monotonic() < deadline, "no two partial versions in time"
            await asyncio.sleep(0.05)
    finally:
        result = await running
    seen = await live_versions(flow_run_id)
    assert body(seen[-1].data) == result.answer
    assert all(result.answer.startswith(body(v.data)) for v in seen[:-1])


@pytest.mark.parametrize(
    ("route", "path", "error"),
    [
        ("anthropic", "/anthropic/v1/messages", InternalServerError),
        ("gemini", "/gemini/v1beta/models/*:streamGenerateContent", ServiceUnavailableError),
    ],
)
async def test_a_stream_cut_part_way_fails_the_flow(
    gateway: EmulatedGateway,
    control: httpx.AsyncClient,
    route: Route,
    path: str,
    error: type[Exception],
) -> None:
    fault: dict[str, Any] = {"match": f"POST {path}", "fault": "sse_error"}
    (await control.post("/_emulator/faults", json=fault)).raise_for_status()
    state = await describe_images(route=route, stream=True, return_state=True)
    assert state.is_failed()
    with pytest.raises(error, match="injected fault"):
        await state.aresult()
    assert len(await paid_calls(control)) == 1  # not retried: the partial answer was billed
    final = (await live_versions(state.state_details.flow_run_id))[-1]
    assert body(final.data) and f"*(incomplete: {error.__name__}:" in str(final.data)
