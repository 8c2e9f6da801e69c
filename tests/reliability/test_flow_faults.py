"""Flow-level rows of the fault matrix: each product flow under faults on its own steps.

The task-level matrix (``test_fault_matrix.py``) covers every route and fault; here each flow gets
a mix of transient faults it must ride out, and permanent ones it must fail fast on with the
gateway task id in the message. In every row: no gateway route got a second create, and the
store holds no temporary file and only assets matching their records. A row that ends in doubt
is then resolved (``adopt`` the task the call log shows, or ``forget`` the step) and the same
flow run is resumed: it completes with exactly one create per route over both executions.
"""

from __future__ import annotations

import importlib
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
import pytest

from anyint import PermissionDeniedError, TaskFailedError
from emulator.app import EmulatorApp
from tasks import SubmitInDoubtError, TaskLostError
from tasks.resolve import adopt, forget
from tests.conftest import EmulatedGateway

from ._support import (
    ADOPT_HINT,
    MUSIC_CREATE_PATHS,
    assert_store_consistent,
    calls,
    failure_of,
    flow_run_id,
    inject,
    matching,
    only_doubt,
    resume,
    task_runs_of,
    wire_receiver,
)

# Flows build their clients from the ANYINT_* environment, so they retry on the client's real
# schedule (0.5-1 s): rows keep transient faults few.
_FAST_MUSIC = {"poll_interval": 0.05}


async def retried_tasks(run_id: str) -> list[str]:
    """Names of the task runs of flow run ``run_id`` that ran more than once."""
    return [run.name for run in await task_runs_of(run_id) if run.run_count > 1]


@dataclass(frozen=True)
class FlowCase:
    """One flow run under faults.

    Attributes:
        id: Row id.
        flow: Module (and function) name under ``flows``.
        params: Flow parameters.
        faults: ``(match, fault spec)`` pairs queued before the run.
        creates: Gateway tasks the run must create in all (each route at most once).
        error: Exception the run must end with; None when it must recover.
        match: Regex the error message must contain.
        failed_route: Create path whose task id the error message must name.
        receiver: Deliver callbacks to a receiver on the flow's store.
        ttl: Asset URL lifetime to set on the emulator.
        slow: Takes around 5 s (the client's real retry backoff, a whole pipeline).
        resolve: The run ends in doubt on ``doubt_call``: ``adopt`` the task the gateway made
            there, or ``forget`` the step; then the same flow run is resumed.
        doubt_call: ``"METHOD /path"`` of the create in doubt.
    """

    id: str
    flow: str
    params: dict[str, Any]
    faults: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    creates: int = 0
    error: type[Exception] | None = None
    match: str = ""
    failed_route: str | None = None
    receiver: bool = False
    ttl: float | None = None
    slow: bool = False
    resolve: Literal["adopt", "forget"] | None = None
    doubt_call: str | None = None


_MUSIC_CREATES = 6  # lyrics, song, stems, WAV, cover art, music video
#: The music-video step each create path belongs to.
_MUSIC_STEPS = {path: step for step, path in MUSIC_CREATE_PATHS.items()}


def _music(
    case_id: str,
    faults: list[tuple[str, dict[str, Any]]],
    params: dict[str, Any] = _FAST_MUSIC,
    **options: Any,
) -> FlowCase:
    """A ``music_video`` row; unless ``options`` say otherwise, each of its steps creates once."""
    options = {"creates": _MUSIC_CREATES, **options}
    return FlowCase(case_id, "music_video", params, faults, **options)


def _in_doubt(call: str, resolve: Literal["adopt", "forget"]) -> dict[str, Any]:
    """The options of a row that ends in doubt on the create ``call``, then is resolved."""
    return dict(error=SubmitInDoubtError, match=ADOPT_HINT, resolve=resolve, doubt_call=call)


CASES: list[FlowCase] = [
    _music(
        "music-video-transient",
        [
            ("POST /suno/generate-lyrics", {"fault": "status", "status": 503}),
            ("POST /suno/generate", {"fault": "status", "status": 429, "retry_after": 0.1}),
            ("GET /suno/query/task", {"fault": "drop_after"}),
            ("POST /suno/vocal-removal", {"fault": "status", "status": 430}),
            ("GET /suno/query/vocal-removal", {"fault": "truncate"}),
            ("POST /suno/wav-generate", {"fault": "status", "status": 455}),
            ("POST /suno/mp4-generate", {"fault": "status", "status": 503}),
            ("GET /suno/query/mp4", {"fault": "status", "status": 500}),
        ],
        slow=True,
    ),
    _music(
        "music-video-callbacks",
        [
            ("POST /suno/generate", {"fault": "callback_duplicate"}),
            ("POST /suno/wav-generate", {"fault": "callback_drop"}),
            ("POST /suno/mp4-generate", {"fault": "callback_delay", "seconds": 0.3}),
        ],
        {"poll_interval": 0.5},  # slow polls: the callbacks do the waking
        receiver=True,
    ),
    _music(
        "music-video-mp4-failed",
        [("POST /suno/mp4-generate", {"fault": "task_failed"})],
        error=TaskFailedError,
        match="GENERATE_MP4_FAILED",
        failed_route="/suno/mp4-generate",
    ),
    _music(
        "music-video-stems-in-doubt",
        [("POST /suno/vocal-removal", {"fault": "drop_after"})],
        creates=_MUSIC_CREATES - 1,  # no music video after a step in doubt
        **_in_doubt("POST /suno/vocal-removal", "adopt"),
    ),
    _music(
        "music-video-mp4-500-in-doubt",
        # A 500 answering a create proves nothing: the task may exist. Here it does not.
        [("POST /suno/mp4-generate", {"fault": "status", "status": 500})],
        creates=_MUSIC_CREATES - 1,
        **_in_doubt("POST /suno/mp4-generate", "forget"),
    ),
    FlowCase(
        "video-dashscope-status-after-502",
        "generate_video",
        {"duration": 1},
        [
            (
                "POST /dashscope/v1/services/aigc/video-generation/video-synthesis",
                {"fault": "status_after", "status": 502},
            )
        ],
        creates=1,
        **_in_doubt("POST /dashscope/v1/services/aigc/video-generation/video-synthesis", "adopt"),
    ),
    FlowCase(
        "video-kling-transient",
        "generate_video",
        {"route": "kling", "duration": 1},
        [
            ("POST /transtreams/kling/v1/videos/text2video", {"fault": "status", "status": 503}),
            ("GET /transtreams/kling/v1/videos/text2video/*", {"fault": "drop_before"}),
            ("POST /transtreams/kling/v1/videos/text2video", {"fault": "callback_duplicate"}),
        ],
        creates=1,
        receiver=True,
    ),
    FlowCase(
        "video-dashscope-unknown",
        "generate_video",
        {"duration": 1},
        [("POST /dashscope/v1/services/aigc/*", {"fault": "task_unknown"})],
        creates=1,
        # DashScope answers UNKNOWN for a task it does not know: lost, never re-created.
        error=TaskLostError,
        match="no longer knows task .*anyint-flows tasks forget",
        failed_route="/dashscope/v1/services/aigc/video-generation/video-synthesis",
    ),
    FlowCase(
        "image-gemini-stream-transient",
        "generate_image",
        {"route": "gemini", "stream": True},
        [("POST /gemini/*", {"fault": "status", "status": 429, "retry_after": 0.1, "times": 2})],
    ),
    FlowCase(
        "image-dashscope-url-expired",
        "generate_image",
        {"route": "dashscope"},
        error=PermissionDeniedError,
        match="expired",
        ttl=1e-6,
    ),
    FlowCase(
        "describe-transient",
        "describe_images",
        {},
        [
            ("GET /*/v1/models", {"fault": "status", "status": 503}),
            ("POST /anthropic/v1/messages", {"fault": "status", "status": 429, "retry_after": 0.1}),
        ],
    ),
    FlowCase(
        "content-brief-transient",
        "content_brief",
        {
            "poll_interval": 0.05,
            "image_route": "gemini",
            "video_seconds": 1,
            "video_size": "320*180",
        },
        [
            ("POST /gemini/*", {"fault": "status", "status": 503}),
            ("GET /dashscope/v1/tasks/*", {"fault": "truncate"}),
            ("POST /suno/generate", {"fault": "status", "status": 430}),
        ],
        creates=3,  # the video, the lyrics and the song
        slow=True,
    ),
]


def _creates(log: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(c["path"], c["created_task_id"]) for c in log if c["created_task_id"]]


def _param(case: FlowCase) -> Any:
    return pytest.param(case, id=case.id, marks=[pytest.mark.slow] if case.slow else [])


async def _resolve_and_resume(
    case: FlowCase,
    gateway: EmulatedGateway,
    control: httpx.AsyncClient,
    flow: Any,
    run_id: str,
    error: BaseException | None,
    first: list[tuple[str, str]],
) -> None:
    """Resolve the step in doubt and resume the same flow run: it completes, and over both
    executions every route was created exactly once (the step in doubt included)."""
    assert case.doubt_call is not None
    store = gateway.store
    entry = only_doubt(store, error)  # type: ignore[arg-type]
    doubted = matching(await calls(control), case.doubt_call)
    assert len(doubted) == 1, doubted  # sent once, never again
    if case.resolve == "adopt":
        (task_id,) = [c["created_task_id"] for c in doubted if c["created_task_id"]]
        await adopt(gateway.config, entry.digest, task_id)
    else:
        assert not any(c["created_task_id"] for c in doubted), doubted
        forget(store, entry.digest)
    state = await resume(flow, run_id)
    assert state.is_completed(), state.message
    result = await state.aresult()
    created = _creates(await calls(control))
    per_route = Counter(path for path, _ in created)
    assert all(n == 1 for n in per_route.values()), f"a route was created twice: {per_route}"
    expected = _MUSIC_CREATES if case.flow == "music_video" else case.creates
    assert len(created) == expected, created
    again = matching(await calls(control), case.doubt_call)
    assert len(again) == (1 if case.resolve == "adopt" else 2), again
    if case.flow == "music_video":
        assert set(result.task_ids.values()) == {t for _, t in created}
        # Everything the first execution paid for was reused, the adopted task included; the
        # rest was made once, now.
        paid = {_MUSIC_STEPS[path] for path, _ in first}
        doubt_step = _MUSIC_STEPS[case.doubt_call.partition(" ")[2]]
        paid |= {doubt_step} if case.resolve == "adopt" else set()
        assert set(result.reused_steps) == paid, (result.reused_steps, paid)
    else:
        assert result.reused and result.task_id == created[0][1]
    entries = assert_store_consistent(store)
    manifest = store.read_json(result.manifest_key)
    assert {e["key"] for e in manifest["assets"]} <= {e["key"] for e in entries}


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
async def test_flow_under_faults(
    case: FlowCase,
    gateway: EmulatedGateway,
    emulator: EmulatorApp,
    control: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = gateway.store
    if case.receiver:
        wire_receiver(emulator, store, monkeypatch.setenv)
    if case.ttl is not None:
        await control.post("/_emulator/settings", json={"asset_ttl": case.ttl})
    for match, spec in case.faults:
        await inject(control, match, **spec)
    flow = getattr(importlib.import_module(f"flows.{case.flow}"), case.flow)
    state = await flow(**case.params, return_state=True)
    error = None if state.is_completed() else await failure_of(state)
    await emulator.backend.callbacks.drain()
    log = await calls(control)
    created = _creates(log)

    if case.error is None:
        assert error is None, f"{case.flow} did not recover: {error!r}"
        assert await state.aresult() is not None
    else:
        assert isinstance(error, case.error), repr(error)
        assert re.search(case.match, str(error)), str(error)
        # Fails fast: no task run was retried (a permanent failure is never retried).
        assert await retried_tasks(flow_run_id(state)) == [], "a permanent failure was retried"
        if case.failed_route:
            (task_id,) = [t for path, t in created if path == case.failed_route]
            assert task_id in str(error), f"{task_id} missing from: {error}"
    per_route = Counter(path for path, _ in created)
    assert all(n == 1 for n in per_route.values()), f"a route was created twice: {per_route}"
    assert len(created) == case.creates, created
    assert not emulator.backend.faults, "a queued fault never fired: the row tested nothing"
    assert_store_consistent(store)
    if case.resolve is not None:
        await _resolve_and_resume(case, gateway, control, flow, flow_run_id(state), error, created)
