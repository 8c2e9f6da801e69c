"""The shared inbox watcher: one per store, wakes exactly the waits whose record landed, stops idle.

Records are written by :func:`blocks.inbox.write_record`, from another thread or process, as the
callback receiver does. Every wait is bounded by a real condition (a ``threading.Event``), never
a sleep.
"""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import fsspec
import pytest
from fsspec.implementations.memory import MemoryFileSystem

from blocks import AssetStore
from blocks.inbox import write_record
from blocks.inbox_watch import THREAD_NAME, active_watchers, notify, register, watching

LIMIT = 10.0  # seconds any single wake-up may take on a loaded machine


def _threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == THREAD_NAME]


def _until(condition: Callable[[], bool], limit: float = LIMIT) -> bool:
    """Whether ``condition`` holds within ``limit`` seconds (checked on a short cadence)."""
    end = time.monotonic() + limit
    while not condition():
        if time.monotonic() > end:
            return False
        threading.Event().wait(0.01)  # a bounded wait on a real condition, not a sync sleep
    return True


@pytest.fixture(autouse=True)
def _no_watcher_left() -> Iterator[None]:
    yield
    assert _until(lambda: active_watchers() == 0 and not _threads()), "a watcher outlived its waits"


@pytest.fixture(params=["file", "memory", "s3"])
def store(request: pytest.FixtureRequest) -> AssetStore:
    return request.getfixturevalue(f"{request.param}_store")  # type: ignore[no-any-return]


class Fired:
    """Thread-safe record of which registrations fired, and how often."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: dict[str, int] = {}
        self.events: dict[str, threading.Event] = {}

    def callback(self, task_id: str) -> Callable[[], None]:
        self.events[task_id] = threading.Event()

        def fire() -> None:
            with self.lock:
                self.counts[task_id] = self.counts.get(task_id, 0) + 1
            self.events[task_id].set()

        return fire


def test_terminal_record_wakes_its_wait_and_others_sleep(store: AssetStore) -> None:
    fired = Fired()
    regs = [register(store, t, fired.callback(t)) for t in ("a", "b", "c")]
    write_record(store, "a", "suno", "text", {})  # not terminal: nobody wakes
    write_record(store, "b", "suno", "complete", {})
    assert fired.events["b"].wait(LIMIT)
    write_record(store, "c", "kling", "error", {})  # a failure ends the wait too
    assert fired.events["c"].wait(LIMIT)
    assert fired.counts == {"b": 1, "c": 1} and not regs[0].fired
    write_record(store, "a", "suno", "complete", {})  # a's folder existed: the later record too
    assert fired.events["a"].wait(LIMIT)
    assert fired.counts == {"a": 1, "b": 1, "c": 1}
    for reg in regs:
        reg.close()


def test_record_already_there_fires_at_once(store: AssetStore) -> None:
    write_record(store, "early", "videos", "complete", {})
    fired = Fired()
    reg = register(store, "early", fired.callback("early"))
    assert fired.events["early"].wait(LIMIT)
    reg.close()


def test_one_watcher_per_store_and_it_stops_when_idle(file_store: AssetStore) -> None:
    twin = AssetStore(base_url=file_store.base_url)  # another instance of the same store
    other = AssetStore(base_url=f"{file_store.base_url}-other")
    regs = [register(s, f"t{n}", lambda: None) for n, s in enumerate([file_store, twin] * 50)]
    assert active_watchers() == 1 and len(_threads()) == 1  # 100 waits, one thread
    extra = register(other, "x", lambda: None)
    assert active_watchers() == 2
    for reg in regs:
        reg.close()
    assert _until(lambda: active_watchers() == 1)
    extra.close()
    extra.close()  # idempotent
    assert _until(lambda: active_watchers() == 0 and not _threads())
    # ...and starts again for the next wait.
    fired = Fired()
    reg = register(twin, "again", fired.callback("again"))
    write_record(file_store, "again", "suno", "complete", {})
    assert fired.events["again"].wait(LIMIT)
    reg.close()


def test_waits_on_different_event_loops(file_store: AssetStore) -> None:
    """Prefect may run async task runs on different loops: each is woken on its own."""
    ready = threading.Barrier(4 + 1)
    results: dict[str, bool] = {}

    async def wait_one(task_id: str) -> None:
        async with watching(file_store, task_id) as wake:
            ready.wait(LIMIT)
            # No timeout here: a wake-up that does not reach this loop leaves it asleep.
            results[task_id] = await wake.wait()

    threads = [
        threading.Thread(target=asyncio.run, args=(wait_one(f"loop-{n}"),), daemon=True)
        for n in range(4)
    ]
    for thread in threads:
        thread.start()
    ready.wait(LIMIT)
    for n in range(4):
        write_record(file_store, f"loop-{n}", "dashscope", "complete", {})
    for thread in threads:
        thread.join(LIMIT)
    assert results == {f"loop-{n}": True for n in range(4)}


def test_a_record_written_by_another_process(file_store: AssetStore) -> None:
    fired = Fired()
    reg = register(file_store, "proc", fired.callback("proc"))
    code = (
        "from blocks import AssetStore; from blocks.inbox import write_record; "
        f"write_record(AssetStore(base_url={file_store.base_url!r}), 'proc', 'suno', "
        "'complete', {})"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    assert fired.events["proc"].wait(LIMIT)
    reg.close()


@pytest.mark.parametrize("kind", ["file", "memory"])
def test_200_callbacks_each_wake_exactly_their_own_wait(
    kind: str, request: pytest.FixtureRequest
) -> None:
    store: AssetStore = request.getfixturevalue(f"{kind}_store")
    fired = Fired()
    ids = [f"k{n:03d}" for n in range(250)]
    regs = {t: register(store, t, fired.callback(t)) for t in ids}
    landed = random.Random(16).sample(ids, 200)  # 50 never get a record
    writers = [
        threading.Thread(target=_complete_all, args=(store, part))
        for part in (landed[::2], landed[1::2])
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(LIMIT)
    assert all(fired.events[t].wait(LIMIT) for t in landed)
    # A later record proves the watcher had turns after all 200: still none of the 50 woke.
    sentinel = Fired()
    last = register(store, "sentinel", sentinel.callback("sentinel"))
    _complete(store, "sentinel")
    assert sentinel.events["sentinel"].wait(LIMIT)
    assert fired.counts == dict.fromkeys(sorted(landed), 1)
    for reg in [*regs.values(), last]:
        reg.close()


def _complete_all(store: AssetStore, task_ids: list[str]) -> None:
    for task_id in task_ids:
        _complete(store, task_id)


def _complete(store: AssetStore, task_id: str) -> None:
    write_record(store, task_id, "suno", "complete", {"task_id": task_id})
    notify(store, task_id)  # a no-op unless this process waits on it (it does, here)


class CountingFileSystem(MemoryFileSystem):  # type: ignore[misc]
    """A memory filesystem that counts the calls a watcher makes (an injected store backend)."""

    protocol = ("counting",)
    calls: dict[str, int] = {}  # one shared tally: fsspec caches instances

    def _count(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1

    def find(self, *args: Any, **kwargs: Any) -> Any:
        self._count("find")
        return super().find(*args, **kwargs)

    def exists(self, *args: Any, **kwargs: Any) -> bool:
        self._count("exists")
        return bool(super().exists(*args, **kwargs))

    def _open(self, *args: Any, **kwargs: Any) -> Any:
        self._count("open")
        return super()._open(*args, **kwargs)


@pytest.mark.parametrize("waits", [1, 300])
def test_idle_work_per_tick_does_not_grow_with_the_waits(waits: int) -> None:
    """While nothing lands, a tick is one listing (a ``find`` and its ``exists``), whatever K."""
    fsspec.register_implementation("counting", CountingFileSystem, clobber=True)
    store = AssetStore(base_url="counting://idle")
    write_record(store, "someone-else", "suno", "complete", {})  # an inbox with history
    regs = [register(store, f"w{n}", lambda: None) for n in range(waits)]
    calls = CountingFileSystem.calls
    calls.clear()
    # The first ticks check each new registration once (O(1) each); idle ticks come after.
    assert _until(lambda: calls.get("find", 0) >= 3)
    before = dict(calls)
    assert _until(lambda: calls.get("find", 0) >= before["find"] + 4)
    after = dict(calls)
    for reg in regs:
        reg.close()
    reads = sum(after.get(k, 0) - before.get(k, 0) for k in ("exists", "open"))
    ticks = after["find"] - before["find"]
    assert reads <= 2 * ticks, (before, after)  # one exists per listing (+1 caught mid-way)
