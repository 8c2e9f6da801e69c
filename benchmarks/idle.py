"""Idle waits: one process's CPU while K = 1,000 waits sit idle with callbacks on.

"A wait" here is the waiting layer of the Prefect ``wait`` task (:mod:`tasks.wait`), as it runs
under each task run: an ``anyint.wait_for_task`` loop woken through the inbox (its poll fallback
at its 30 s cap, as for a wait some minutes old, and answered in process: this measures waiting,
not gateway HTTP). 1,000 Prefect task runs at once do not start on this 2-core machine in a
benchmark's time (each is API round trips and state events), so the layer under them is measured.
Two ways of watching the inbox, each in a fresh child process, on a local folder that already
holds K earlier records (an inbox with history):

- ``shared``: :mod:`blocks.inbox_watch`, one watcher for every wait of the process (today);
- ``per-wait``: each wait checks the inbox every 50 ms on a worker thread (before issue 16).

The CPU figure is ``process_time`` delta ÷ wall delta over a window once all waits are registered
and idle, in % of one core. Then the child writes K callback records from another thread (as a
receiver in another process would: no in-process notify) and checks that every wait woke on its
own record only: two polls each (the first, and the woken one that finds its task done).
``python -m benchmarks.idle child --mode M --k K --window S`` is the child's entry point.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Any

from ._shared import ROOT, Report, child_env

__all__ = ["measure", "run"]

#: Goal: idle CPU with 1,000 waits, in % of one core.
GOAL_PCT = 10.0
_OLD_INTERVAL = 0.05  # the per-wait inbox check of tasks/wait.py before issue 16


@dataclass(frozen=True)
class _Snapshot:
    task_id: str
    status: str
    error_code: str | None = None
    error_message: str | None = None

    @property
    def is_terminal(self) -> bool:
        return self.status == "SUCCESS"

    @property
    def is_success(self) -> bool:
        return self.status == "SUCCESS"


class _Waits:
    """K waits on one store, each counting its polls; ``done`` holds ids whose task ended."""

    def __init__(self, store: Any, k: int, mode: str) -> None:
        self.store, self.k, self.mode = store, k, mode
        self.done: set[str] = set()
        self.polls: dict[str, int] = {}
        self.registered = 0
        self.ended: dict[str, float] = {}
        self.all_polled = asyncio.Event()  # every wait registered and past its first poll

    async def one(self, task_id: str) -> None:
        from anyint import PollSchedule, wait_for_task
        from blocks.inbox_watch import watching

        async def poll() -> _Snapshot:
            self.polls[task_id] = self.polls.get(task_id, 0) + 1
            if len(self.polls) == self.k and self.registered == self.k:
                self.all_polled.set()
            return _Snapshot(task_id, "SUCCESS" if task_id in self.done else "RUNNING")

        schedule = PollSchedule(initial=30.0, max_interval=30.0, deadline=3600.0)
        if self.mode == "shared":
            async with watching(self.store, task_id) as wake:
                self.registered += 1
                await wait_for_task(poll, task_id=task_id, schedule=schedule, wake=wake)
        else:
            wake = asyncio.Event()
            watcher = asyncio.create_task(_old_watch_inbox(self.store, task_id, wake))
            self.registered += 1
            try:
                await wait_for_task(poll, task_id=task_id, schedule=schedule, wake=wake)
            finally:
                watcher.cancel()
        self.ended[task_id] = time.perf_counter()


async def _old_watch_inbox(store: Any, task_id: str, wake: asyncio.Event) -> None:
    """``tasks.wait._watch_inbox`` as it was: one inbox check per wait every 50 ms."""
    from blocks.inbox import terminal_record

    while not wake.is_set():
        if await asyncio.to_thread(terminal_record, store, task_id) is not None:
            wake.set()
            return
        await asyncio.sleep(_OLD_INTERVAL)


def _write_all(store: Any, waits: _Waits, ids: list[str], written: dict[str, float]) -> None:
    from blocks.inbox import write_record

    for task_id in ids:
        waits.done.add(task_id)  # the gateway says done before the callback is sent
        written[task_id] = time.perf_counter()
        write_record(store, task_id, "suno", "complete", {"task_id": task_id})


async def _child(mode: str, k: int, window: float, settle: float) -> dict[str, Any]:
    from blocks import AssetStore
    from blocks.inbox import write_record

    with tempfile.TemporaryDirectory() as folder:
        store = AssetStore(base_url=folder)
        for n in range(k):  # history: records of tasks nobody waits on any more
            write_record(store, f"old-{n}", "suno", "complete", {})
        waits = _Waits(store, k, mode)
        ids = [f"idle-{n:04d}" for n in range(k)]
        tasks = [asyncio.create_task(waits.one(t)) for t in ids]
        await asyncio.wait_for(waits.all_polled.wait(), timeout=300)
        await asyncio.sleep(settle)  # the watcher's first turn checks each new id once
        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.sleep(window)
        cpu_pct = 100 * (time.process_time() - cpu) / (time.perf_counter() - wall)
        written: dict[str, float] = {}
        if mode != "shared":  # the reference: its idle cost is the point, not its wake-ups
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            return {"mode": mode, "k": k, "window": window, "cpu_pct": cpu_pct}
        writer = threading.Thread(target=_write_all, args=(store, waits, ids, written))
        start = time.perf_counter()
        writer.start()
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=120)
        writer.join()
        lags = [waits.ended[t] - written[t] for t in ids]
    return {
        "mode": mode,
        "k": k,
        "window": window,
        "cpu_pct": cpu_pct,
        "wake_seconds": time.perf_counter() - start,
        "wake_lag_median_s": statistics.median(lags),
        "wake_lag_max_s": max(lags),
        "each_woke_once_on_its_own": all(waits.polls[t] == 2 for t in ids) and min(lags) >= 0,
    }


def measure(mode: str, k: int, window: float, settle: float = 1.0) -> dict[str, Any]:
    """Run one child process and return what it measured."""
    args = ["--mode", mode, "--k", str(k), "--window", str(window), "--settle", str(settle)]
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.idle", "child", *args],
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    ).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


async def run(quick: bool = False) -> Report:
    """K = 1,000 idle waits for 5 s (quick: K = 50 for 0.5 s), shared watcher vs per-wait."""
    k, window = (50, 0.5) if quick else (1000, 5.0)
    settle = 0.3 if quick else 1.0
    shared = await asyncio.to_thread(measure, "shared", k, window, settle)
    old = await asyncio.to_thread(measure, "per-wait", k, min(window, 2.0), settle)
    report = Report(
        name="idle",
        title=f"5. Idle waits: CPU of one process while {k} waits sit idle (callbacks on)",
        columns=["inbox watching", "CPU (% of one core)", "÷ shared"],
    )
    ratio = old["cpu_pct"] / max(shared["cpu_pct"], 1e-3)
    report.rows = [
        ["one watcher per store (blocks.inbox_watch)", f"{shared['cpu_pct']:.2f} %", "1.00x"],
        ["per wait, every 50 ms (before)", f"{old['cpu_pct']:.1f} %", f"{ratio:.0f}x"],
    ]
    key = "idle_wait_cpu_pct_k1000"
    report.keys = {
        key: round(shared["cpu_pct"], 2),
        "idle_wait_cpu_pct_per_wait_polling": round(old["cpu_pct"], 1),
        "idle_wait_k": k,
        "idle_wake_all_own": shared["each_woke_once_on_its_own"],
        "idle_wake_lag_median_s": round(shared["wake_lag_median_s"], 4),
        "idle_wake_lag_max_s": round(shared["wake_lag_max_s"], 3),
    }
    report.goals = [
        (f"idle CPU with {k} waits ≤ {GOAL_PCT:.0f} % of one core", shared["cpu_pct"] <= GOAL_PCT),
        (f"{k} callbacks each woke exactly their own wait", shared["each_woke_once_on_its_own"]),
    ]
    report.notes = [
        "A wait is the waiting layer under the Prefect `wait` task (watcher + wait_for_task, poll "
        "fallback at its 30 s cap, answered in process); 1,000 concurrent Prefect task runs do "
        "not start on this machine in a benchmark's time.",
        f"Local folder store holding {k} earlier records; each variant in a fresh child process; "
        f"window {window:g} s (per-wait: {min(window, 2.0):g} s).",
        f"Then {k} records written from another thread: all woken in "
        f"{shared['wake_seconds']:.2f} s, lag median {shared['wake_lag_median_s'] * 1000:.0f} ms, "
        f"max {shared['wake_lag_max_s'] * 1000:.0f} ms.",
    ]
    if quick:
        report.notes.append(f"--quick: K = {k}, not 1,000; the key keeps its name.")
    return report


def _main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.idle")
    sub = parser.add_subparsers(dest="command", required=True)
    child = sub.add_parser("child", help="measure one variant (prints one JSON line)")
    child.add_argument("--mode", choices=["shared", "per-wait"], required=True)
    child.add_argument("--k", type=int, required=True)
    child.add_argument("--window", type=float, required=True)
    child.add_argument("--settle", type=float, default=1.0)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(_child(args.mode, args.k, args.window, args.settle))))


if __name__ == "__main__":
    _main()
