"""Concurrency: K ``music-video`` pipelines at once on a small machine.

The gateway is the emulator in its own process (``python -m emulator``) with a fixed time per
Suno stage, and callbacks go to the receiver in another process (``python -m callbacks``), as a
deployment would run them; so this process's memory and CPU are the orchestration's alone (the
Prefect server is a third process). Each pipeline is lyrics → song → stems, WAV and cover art in
parallel → music video, every step submit → wait → fetch into a local-folder ``AssetStore``.

A pipeline's critical path is the gateway's own time along that chain (lyrics 1 stage, song 3,
the follow-ups 1, the video 1: 6 stages); wall time ÷ critical path says how much waiting,
orchestration and contention add. Create calls come from the emulator's call log and must equal
K x steps: a create no pipeline kept is a duplicate (paid twice).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import tempfile
import time
import uuid
from typing import Any

import httpx
import psutil  # type: ignore[import-untyped]

from ._shared import ChildServer, Report, RssSampler, child_env, free_port, mb, temp_env

__all__ = ["measure", "run"]

#: Gateway tasks per pipeline: lyrics, song, stems, WAV, cover art, music video.
STEPS = 6
#: Goals at K = 50.
GOAL_RATIO, GOAL_RSS_MB = 1.3, 600.0


def _critical_stages() -> int:
    from emulator.music.rules import MUSIC_STAGES, SINGLE_STAGES

    single = len(SINGLE_STAGES) - 1
    # lyrics → song → max(stems, wav, cover art) → music video
    return single + (len(MUSIC_STAGES) - 1) + single + single


#: CPU-time columns, in table order.
_CPU_COLUMNS = ("orchestrator", "prefect server", "emulator", "receiver")


def _cpu_seconds(emulator: ChildServer, receiver: ChildServer) -> dict[str, float]:
    """CPU seconds used so far by this process, the emulator, the receiver and the rest of our
    children (the Prefect server)."""

    def used(process: psutil.Process) -> float:
        times = process.cpu_times()
        return float(times.user + times.system)

    me = psutil.Process()
    named = {"emulator": emulator.pid, "receiver": receiver.pid}
    out = {"orchestrator": used(me), "prefect server": 0.0}
    for name, pid in named.items():
        out[name] = used(psutil.Process(pid)) if pid else 0.0
    for child in me.children(recursive=True):
        if child.pid not in named.values():
            with contextlib.suppress(psutil.Error):
                out["prefect server"] += used(child)
    return out


async def measure(ks: list[int], stage_seconds: float) -> dict[str, Any]:
    """Run K pipelines at once for each K; wall time, peak RSS and create calls per K.

    Needs a Prefect API (the benchmark's harness or the test session's).
    """
    from flows.music_video import music_video

    token = secrets.token_urlsafe(24)
    workdir = tempfile.TemporaryDirectory(prefix="anyint-bench-concurrency-")
    store_url = f"{workdir.name}/store"
    gateway_port, receiver_port = free_port(), free_port()
    gateway_url = f"http://127.0.0.1:{gateway_port}"
    receiver_url = f"http://127.0.0.1:{receiver_port}"
    emulator = ChildServer(
        ["-m", "emulator", "--port", str(gateway_port), "--timing", "fast"],
        f"{gateway_url}/_emulator/profiles",
    )
    receiver = ChildServer(
        [
            "-m",
            "callbacks",
            "--port",
            str(receiver_port),
            "--store",
            store_url,
            "--log-level=warning",
        ],
        f"{receiver_url}/healthz",
        env=child_env(ANYINT_CALLBACK_TOKEN=token),
    )
    critical = _critical_stages() * stage_seconds
    nonce = uuid.uuid4().hex[:6]
    out: dict[str, Any] = {"stage_seconds": stage_seconds, "critical_path_s": critical, "k": {}}
    try:
        with workdir, emulator, receiver:
            async with httpx.AsyncClient(base_url=gateway_url, timeout=30) as control:
                await control.post(
                    "/_emulator/timing", json={"family": "suno", "after_seconds": stage_seconds}
                )

                async def creates() -> list[dict[str, Any]]:
                    calls = (await control.get("/_emulator/calls")).json()["calls"]
                    return [c for c in calls if c["created_task_id"]]

                # Configured as a user (or a worker) configures the flows: ANYINT_* variables.
                with temp_env(
                    ANYINT_BASE_URL=gateway_url,
                    ANYINT_API_KEY="sk-bench-concurrency",
                    ANYINT_STORE=store_url,
                    ANYINT_CALLBACK_URL=receiver_url,
                    ANYINT_CALLBACK_TOKEN=token,
                ):
                    for k in ks:
                        before = len(await creates())
                        runs = [
                            music_video(
                                prompt=f"Song {i + 1} of {k} ({nonce}): a summer road trip",
                                title=f"Road trip {k}-{i + 1}",
                                deadline_seconds=600,
                            )
                            for i in range(k)
                        ]
                        cpu_before = _cpu_seconds(emulator, receiver)
                        with RssSampler() as rss:
                            start = time.perf_counter()
                            # A failed pipeline is a result to report, not a reason to
                            # cancel the others.
                            outcomes = await asyncio.gather(*runs, return_exceptions=True)
                            wall = time.perf_counter() - start
                        cpu = {
                            name: after - cpu_before[name]
                            for name, after in _cpu_seconds(emulator, receiver).items()
                        }
                        results = [r for r in outcomes if not isinstance(r, BaseException)]
                        failures = [r for r in outcomes if isinstance(r, BaseException)]
                        made = (await creates())[before:]
                        kept = {t for r in results for t in r.task_ids.values()}
                        steps = max((len(r.task_ids) for r in results), default=STEPS)
                        out["k"][k] = {
                            "wall_s": wall,
                            "ratio": wall / critical,
                            "peak_rss_mb": mb(rss.peak),
                            "rss_growth_mb": mb(rss.growth),
                            "creates": len(made),
                            "steps": steps,
                            "expected_creates": k * steps,
                            "failed": len(failures),
                            "errors": sorted({f"{type(e).__name__}: {e}"[:200] for e in failures}),
                            # The same create (path and body) sent twice is paid twice.
                            "duplicate_creates": len(made)
                            - len({(c["path"], c["body_sha256"]) for c in made}),
                            "unkept_creates": len({c["created_task_id"] for c in made} - kept),
                            "cpu_s": cpu,
                        }
    finally:
        emulator.stop()
        receiver.stop()
    return out


async def run(quick: bool = False) -> Report:
    """K = 1, 10, 50 with 15 s per Suno stage (quick: K = 1, 5 with 0.2 s stages).

    15 s per stage makes a 45 s song and a 90 s critical path: shorter than the real gateway's
    (songs take minutes there), so the ratio errs on the pessimistic side.
    """
    ks = [1, 5] if quick else [1, 10, 50]
    m = await measure(ks, stage_seconds=0.2 if quick else 15.0)
    base = m["k"][ks[0]]["wall_s"]
    report = Report(
        name="concurrency",
        title=f"3. Concurrency: K music-video pipelines at once ({m['stage_seconds']:g} s per "
        f"Suno stage, critical path {m['critical_path_s']:g} s)",
        columns=[
            "K",
            "wall",
            "÷ critical path",
            "÷ K=1 wall",
            "peak RSS",
            "creates (expected)",
            "duplicates",
            "failed",
            "CPU s: " + " / ".join(_CPU_COLUMNS),
        ],
    )
    for k, r in m["k"].items():
        report.rows.append(
            [
                str(k),
                f"{r['wall_s']:.1f} s",
                f"{r['ratio']:.2f}x",
                f"{r['wall_s'] / base:.2f}x",
                f"{r['peak_rss_mb']:.0f} MB",
                f"{r['creates']} ({r['expected_creates']})",
                str(r["duplicate_creates"]),
                str(r["failed"]),
                " / ".join(f"{r['cpu_s'][p]:.0f}" for p in _CPU_COLUMNS),
            ]
        )
    top_k = ks[-1]
    top = m["k"][top_k]
    duplicates = sum(r["duplicate_creates"] for r in m["k"].values())
    failed = sum(r["failed"] for r in m["k"].values())
    creates_ok = all(
        r["creates"] == r["expected_creates"] and not r["failed"] for r in m["k"].values()
    )
    report.keys = {
        "concurrency_ratio_k50": round(top["ratio"], 3),
        "concurrency_peak_rss_mb_k50": top["peak_rss_mb"],
        "concurrency_k_max": top_k,
        "concurrency_ratio_k1": round(m["k"][ks[0]]["ratio"], 3),
        "concurrency_failed": failed,
        "concurrency_creates_ok": creates_ok,
        "concurrency_cpu_s_k50": {p: round(v, 1) for p, v in top["cpu_s"].items()},
        "duplicate_creates": duplicates,
    }
    report.goals = [
        (
            f"wall ÷ critical path <= {GOAL_RATIO:g}x at K = {top_k} ({top['ratio']:.2f}x)",
            top["ratio"] <= GOAL_RATIO,
        ),
        (
            f"peak RSS <= {GOAL_RSS_MB:g} MB at K = {top_k} ({top['peak_rss_mb']:.0f} MB)",
            top["peak_rss_mb"] <= GOAL_RSS_MB,
        ),
        (
            f"create calls = K x steps, no duplicates ({duplicates}), every pipeline finished "
            f"({failed} failed)",
            creates_ok and not duplicates,
        ),
    ]
    cores = psutil.cpu_count() or 1
    busy = sum(top["cpu_s"].values()) / (cores * top["wall_s"])
    per_core = {p: top["cpu_s"][p] / top["wall_s"] for p in _CPU_COLUMNS}
    report.keys["concurrency_cpu_busy_k50"] = round(busy, 3)
    report.notes = [
        "Peak RSS is this (orchestrating) process's: emulator, callback receiver and Prefect "
        "server run in their own processes. Callbacks are on, as recommended; polls are the "
        "fallback.",
        f"At K = {top_k} the {cores} cores were {busy:.0%} busy on average (CPU seconds ÷ cores "
        "x wall); each process has one event loop: "
        + ", ".join(f"{p} {share:.0%}" for p, share in per_core.items())
        + " of a core. The pipelines move in lockstep, so at each of the 4 stage boundaries "
        f"{top_k} tasks' work queues in one process at once, the emulator's media synthesis "
        f"({top['cpu_s']['emulator'] / top_k:.1f} CPU-s per pipeline) above all.",
    ]
    # After the fixed notes (which used to overwrite these): why each failed pipeline failed.
    for k, r in m["k"].items():
        report.notes += [f"K = {k}: {r['failed']} failed: {e}" for e in r["errors"]]
    if quick:
        report.notes.append(f"Quick mode: the *_k50 keys hold the K = {top_k} figures.")
    return report
