"""Backend rules: task state machines by time and by polls, task faults, callbacks, asset expiry."""

from __future__ import annotations

import json

import httpx
import pytest

from emulator.backend import Backend, Fault, Task, Timing
from emulator.errors import EmulatorError

STAGES = ("PENDING", "RUNNING", "SUCCEEDED")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def make(backend: Backend, **kw: object) -> Task:
    args: dict[str, object] = dict(
        family="dashscope",
        kind="video",
        stages=STAGES,
        body={"p": 1},
        base_url="http://e",
        failure_status="FAILED",
        method="POST",
        path="/dashscope/v1/x",
    )
    args.update(kw)
    return backend.create_task(**args)  # type: ignore[arg-type]


async def test_time_paced_states() -> None:
    clock = Clock()
    backend = Backend(clock=clock)
    backend.timing["dashscope"] = Timing(after_seconds=1.0)
    task = make(backend)
    seen = []
    for t in (0.0, 0.5, 1.0, 1.9, 2.0, 50.0):
        clock.now = 100.0 + t
        seen.append(backend.status(task))
    assert seen == ["PENDING", "PENDING", "RUNNING", "RUNNING", "SUCCEEDED", "SUCCEEDED"]


async def test_poll_paced_states_and_failure_fault() -> None:
    backend = Backend()
    backend.timing["dashscope"] = Timing(after_seconds=None, after_polls=2)
    backend.add_fault(Fault(method="POST", path="/dashscope/*", fault="task_failed"))
    failing = make(backend)
    ok = make(backend)
    assert [backend.status(failing) for _ in range(5)] == [
        "PENDING",
        "RUNNING",
        "RUNNING",
        "FAILED",
        "FAILED",
    ]
    assert [backend.status(ok) for _ in range(4)] == ["PENDING", "RUNNING", "RUNNING", "SUCCEEDED"]
    assert backend.is_done(failing, "FAILED") and not backend.is_done(ok, "RUNNING")


async def test_zero_seconds_is_immediately_terminal() -> None:
    backend = Backend()
    backend.timing["dashscope"] = Timing(after_seconds=0)
    assert backend.status(make(backend)) == "SUCCEEDED"


def test_timing_needs_exactly_one_pace() -> None:
    with pytest.raises(EmulatorError):
        Timing(after_seconds=None, after_polls=None)
    with pytest.raises(EmulatorError):
        Timing(after_seconds=1, after_polls=1)


async def test_ids_are_deterministic_per_seed() -> None:
    a, b, c = Backend(seed=3), Backend(), Backend()
    b.reset(seed=3)
    c.reset(seed=7)
    assert [a.new_id() for _ in range(3)] == [b.new_id() for _ in range(3)]
    assert a.new_id() != c.new_id()


async def test_unseeded_ids_never_repeat_across_backends_or_resets() -> None:
    a, b = Backend(), Backend()
    first = [a.new_id() for _ in range(3)]
    assert not set(first) & {b.new_id() for _ in range(3)}
    a.reset()
    assert not set(first) & {a.new_id() for _ in range(3)}
    assert a.seed is None and b.seed is None


async def test_a_task_fault_with_times_shapes_that_many_tasks() -> None:
    backend = Backend()
    backend.timing["dashscope"] = Timing(after_seconds=0)
    backend.add_fault(Fault(method="POST", path="/dashscope/*", fault="task_failed", times=2))
    backend.add_fault(Fault(method="POST", path="/dashscope/*", fault="task_no_output"))
    first, second, third = make(backend), make(backend), make(backend)
    assert [t.failure for t in (first, second, third)] == ["FAILED", "FAILED", None]
    assert [t.no_output for t in (first, second, third)] == [True, False, False]
    assert backend.faults == []


async def test_callbacks_once_per_stage_and_skip_invalid_hosts() -> None:
    received: list[dict] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        received.append(json.loads(request.content))
        return httpx.Response(200)

    backend = Backend()
    backend.callbacks.transport = httpx.MockTransport(receiver)
    backend.timing["dashscope"] = Timing(after_seconds=None, after_polls=1)
    backend.callback_builders["dashscope"] = lambda task, status: [
        {"callbackType": status, "task_id": task.id}
    ]
    task = make(backend, callback_url="http://receiver.test/cb")
    silent = make(backend, callback_url="https://callbacks.invalid/anyint")
    for _ in range(4):
        backend.status(task)
        backend.status(silent)
    await backend.callbacks.drain()
    assert [r["callbackType"] for r in received] == ["RUNNING", "SUCCEEDED"]
    assert {d.task_id for d in backend.callbacks.log} == {task.id}


async def test_failing_receiver_is_retried_and_wrapped_shape() -> None:
    attempts: list[dict] = []

    def flaky(request: httpx.Request) -> httpx.Response:
        attempts.append(json.loads(request.content))
        return httpx.Response(503 if len(attempts) < 3 else 200)

    backend = Backend()
    backend.callbacks.transport = httpx.MockTransport(flaky)
    backend.timing["dashscope"] = Timing(after_seconds=None, after_polls=2)
    backend.callback_builders["dashscope"] = lambda task, status: (
        [{"callbackType": "complete", "task_id": task.id}] if status == "SUCCEEDED" else []
    )
    task = make(backend, callback_url="http://r.test/cb", callback_wrapped=True)
    for _ in range(4):
        backend.status(task)
    await backend.callbacks.drain()
    assert len(attempts) == 3
    assert attempts[-1] == {
        "code": 200,
        "msg": "All generated successfully.",
        "data": {"callbackType": "complete", "task_id": task.id},
    }


@pytest.mark.parametrize(("fault", "count"), [("callback_drop", 0), ("callback_duplicate", 2)])
async def test_callback_faults(fault: str, count: int) -> None:
    got: list[bytes] = []
    backend = Backend()
    backend.callbacks.transport = httpx.MockTransport(
        lambda r: got.append(r.content) or httpx.Response(200)
    )
    backend.timing["dashscope"] = Timing(after_seconds=None, after_polls=1)
    backend.callback_builders["dashscope"] = lambda task, status: (
        [{"callbackType": "complete", "task_id": task.id}] if status == "SUCCEEDED" else []
    )
    backend.add_fault(Fault(method="POST", path="/dashscope/*", fault=fault))
    task = make(backend, callback_url="http://r.test/cb")
    for _ in range(3):
        backend.status(task)
    await backend.callbacks.drain()
    assert len(got) == count


async def test_asset_urls_expire_and_are_reissued() -> None:
    clock = Clock()
    backend = Backend(clock=clock, asset_ttl=10)
    made: list[int] = []

    def make_bytes() -> bytes:
        made.append(1)
        return b"PNGDATA"

    url = backend.serve("http://e", "task1/cover", "c.png", "image/png", make_bytes)
    asset_id = url.split("/")[-2]
    assert backend.get_asset(asset_id).data == b"PNGDATA"
    assert backend.serve("http://e", "task1/cover", "c.png", "image/png", make_bytes) == url
    clock.now += 11
    with pytest.raises(EmulatorError) as info:
        backend.get_asset(asset_id)
    assert info.value.status == 403
    fresh = backend.serve("http://e", "task1/cover", "c.png", "image/png", make_bytes)
    assert fresh != url and backend.get_asset(fresh.split("/")[-2]).data == b"PNGDATA"
    assert len(made) == 1
