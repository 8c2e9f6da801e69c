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

The emulator runs in lean media mode (``--media lean``: each kind of file rendered once and
reused, ids and URLs still unique per task), so its cost per pipeline is small next to the
orchestrator's; a side table measures that cost in both modes. The Prefect server runs on
PostgreSQL when its server binaries are installed (``make postgres``): a throwaway cluster
(:mod:`benchmarks._postgres`) and ``prefect server start`` on it, as a production server runs;
SQLite refuses concurrent flow-run creation (503 while 50 runs start at once). Without
PostgreSQL it falls back to the harness's SQLite server and says so
(``concurrency_database``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import os
import secrets
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import psutil  # type: ignore[import-untyped]

from . import _postgres
from ._media_cost import emulator_cpu_per_pipeline
from ._shared import ChildServer, Report, RssSampler, child_env, free_port, mb, temp_env

__all__ = ["measure", "run"]

#: Gateway tasks per pipeline: lyrics, song, stems, WAV, cover art, music video.
STEPS = 6
#: Goals at K = 50.
GOAL_RATIO, GOAL_RSS_MB = 1.3, 600.0
#: ``database`` choices: PostgreSQL when installed (else SQLite), or one of them.
DATABASES = ("auto", "postgresql", "sqlite")


def _critical_stages() -> int:
    from emulator.music.rules import MUSIC_STAGES, SINGLE_STAGES

    single = len(SINGLE_STAGES) - 1
    # lyrics → song → max(stems, wav, cover art) → music video
    return single + (len(MUSIC_STAGES) - 1) + single + single


#: CPU-time columns, in table order (``database``: PostgreSQL's processes, when it runs).
_CPU_COLUMNS = ("orchestrator", "prefect server", "database", "emulator", "receiver")


def _cpu_seconds(
    emulator: ChildServer, receiver: ChildServer, database: int | None
) -> dict[str, float]:
    """CPU seconds used so far by this process, the emulator, the receiver, PostgreSQL (its
    postmaster and backends) and the rest of our children (the Prefect servers)."""

    def used(process: psutil.Process) -> float:
        times = process.cpu_times()
        return float(times.user + times.system)

    me = psutil.Process()
    named = {"emulator": emulator.pid, "receiver": receiver.pid}
    out = {"orchestrator": used(me), "prefect server": 0.0, "database": 0.0}
    for name, pid in named.items():
        out[name] = used(psutil.Process(pid)) if pid else 0.0
    postgres: set[int] = set()
    if database is not None:
        with contextlib.suppress(psutil.Error):
            root = psutil.Process(database)
            # Backends come and go (one per connection): those the postmaster has reaped count
            # in its children's times, the live ones in their own.
            times = root.cpu_times()
            out["database"] = used(root) + times.children_user + times.children_system
            postgres = {database}
            for backend in root.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    out["database"] += used(backend)
                    postgres.add(backend.pid)
    for child in me.children(recursive=True):
        if child.pid in named.values() or child.pid in postgres:
            continue
        with contextlib.suppress(psutil.Error):
            out["prefect server"] += used(child)
    return out


@contextlib.asynccontextmanager
async def _prefect_api(
    database: str,
) -> AsyncIterator[tuple[str, int | None, str, Callable[[], str]]]:
    """The Prefect API the pipelines use, per ``database``.

    Yields the database used, its process id (None for SQLite), a note for the report and a
    function that returns the tail of the server's and database's logs (for failures).

    ``postgresql``: a throwaway PostgreSQL cluster and ``prefect server start`` on it, made
    this process's API for the block. ``sqlite``: the API already configured (the harness's).
    ``auto``: PostgreSQL when its binaries are installed, else SQLite.
    """
    if database not in DATABASES:
        raise ValueError(f"database must be one of {list(DATABASES)}, got {database!r}")
    if database == "sqlite":
        yield "sqlite", None, "SQLite (the harness's server), as asked.", str
        return
    with _postgres.started_or_why_not() as (pg, why_not):
        if pg is None:
            assert why_not is not None  # no cluster always comes with its reason
            if database == "postgresql":
                raise why_not
            reason = str(why_not).splitlines()[0]
            note = f"SQLite (the harness's server): PostgreSQL not used: {reason}."
            yield "sqlite", None, note, str
            return
        async with _postgres_api(pg) as api:
            yield api


@contextlib.asynccontextmanager
async def _postgres_api(
    pg: _postgres.PostgresServer,
) -> AsyncIterator[tuple[str, int | None, str, Callable[[], str]]]:
    """``prefect server start`` on ``pg``, made this process's API (see :func:`_prefect_api`)."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    note = "PostgreSQL (a throwaway local cluster, durability off)."
    with tempfile.TemporaryDirectory(prefix="anyint-bench-prefect-") as home:
        server = _postgres.prefect_server(pg.url, Path(home))
        api = server.ready_url.removesuffix("/health")
        # Prefect's event worker lives on its own thread and binds the API it finds when it
        # starts: one left over from an earlier benchmark would send this server's events to
        # the harness (which knows none of these runs: thousands of failed events, and the
        # harness's CPU taken from the pipelines). Stop it, and set the environment as well as
        # the settings context so the next one, on whichever thread, binds this server.
        await _drain_prefect_workers()
        with server, temporary_settings({PREFECT_API_URL: api}), temp_env(PREFECT_API_URL=api):
            try:
                yield "postgresql", pg.pid, note, lambda: server.output() + pg.output()
            finally:
                # Logs and events still queued for this server go out while it runs: once it is
                # gone, their workers would retry it until this process exits.
                await _drain_prefect_workers()


async def _drain_prefect_workers() -> None:
    """Flush (and stop) Prefect's log and event workers, as ``prefect_test_harness`` does."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    with contextlib.suppress(RuntimeError):  # never started
        drained = APILogWorker.instance().drain()
        if inspect.isawaitable(drained):
            await drained
    drained_all = EventsWorker.drain_all()
    if inspect.isawaitable(drained_all):
        await drained_all


async def measure(
    ks: list[int], stage_seconds: float, *, media: str = "lean", database: str = "auto"
) -> dict[str, Any]:
    """Run K pipelines at once for each K; wall time, peak RSS and create calls per K.

    Args:
        ks: The K values, in order.
        stage_seconds: Time per Suno stage.
        media: The emulator's media mode (``lean`` or ``full``).
        database: ``auto``, ``postgresql`` or ``sqlite`` (see :func:`_prefect_api`); SQLite
            needs a Prefect API configured (the benchmark's harness or the test session's).
    """
    token = secrets.token_urlsafe(24)
    workdir = tempfile.TemporaryDirectory(prefix="anyint-bench-concurrency-")
    store_url = f"{workdir.name}/store"
    gateway_port, receiver_port = free_port(), free_port()
    gateway_url = f"http://127.0.0.1:{gateway_port}"
    receiver_url = f"http://127.0.0.1:{receiver_port}"
    emulator = ChildServer(
        ["-m", "emulator", "--port", str(gateway_port), "--timing", "fast", "--media", media],
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
    out: dict[str, Any] = {
        "stage_seconds": stage_seconds,
        "critical_path_s": critical,
        "media": media,
        "k": {},
    }
    try:
        async with _prefect_api(database) as (name, db_pid, note, logs):
            out["database"], out["database_note"] = name, note
            with workdir, emulator, receiver:
                # Configured as a user (or a worker) configures the flows: ANYINT_* variables.
                # The emulator has no account caps: the Prefect limits are set wide enough for
                # every task at once (the defaults, 50 Suno tasks in flight, would queue the
                # 3 x 50 parallel follow-ups); taking and releasing the slots is still measured.
                wide = max(ks) * STEPS
                with temp_env(
                    ANYINT_LIMITS=f"anyint-suno={wide},anyint-create={wide}/{wide}",
                    ANYINT_BASE_URL=gateway_url,
                    ANYINT_API_KEY="sk-bench-concurrency",
                    ANYINT_STORE=store_url,
                    ANYINT_CALLBACK_URL=receiver_url,
                    ANYINT_CALLBACK_TOKEN=token,
                ):
                    async with httpx.AsyncClient(base_url=gateway_url, timeout=30) as control:
                        await control.post(
                            "/_emulator/timing",
                            json={"family": "suno", "after_seconds": stage_seconds},
                        )
                        for k in ks:
                            cpu = functools.partial(_cpu_seconds, emulator, receiver, db_pid)
                            out["k"][k] = await _run_k(k, critical, control, cpu)
            if any(r["failed"] for r in out["k"].values()):
                # What the server said about it (a 500's cause is only in its log).
                errors = [line for line in logs().splitlines() if "Error" in line]
                out["server_errors"] = sorted(set(errors))[:10]
    finally:
        emulator.stop()
        receiver.stop()
    return out


async def _run_k(
    k: int,
    critical: float,
    control: httpx.AsyncClient,
    cpu_seconds: Callable[[], dict[str, float]],
) -> dict[str, Any]:
    """K music-video pipelines at once: wall time, RSS, CPU and the create calls they made."""
    from prefect.context import AsyncClientContext

    from flows.music_video import music_video

    async def creates() -> list[dict[str, Any]]:
        calls = (await control.get("/_emulator/calls")).json()["calls"]
        return [c for c in calls if c["created_task_id"]]

    nonce = uuid.uuid4().hex[:6]
    before = len(await creates())
    runs = [
        music_video(
            prompt=f"Song {i + 1} of {k} ({nonce}): a summer road trip",
            title=f"Road trip {k}-{i + 1}",
            deadline_seconds=600,
        )
        for i in range(k)
    ]
    cpu_before = cpu_seconds()
    with RssSampler() as rss:
        start = time.perf_counter()
        # One Prefect client for the K runs, as each run has one in its own process on a
        # worker: without it Prefect 3.8 builds a client per flow run here, loading the CA
        # bundle on this one event loop each time (~17 ms while the other runs stand still).
        async with AsyncClientContext.get_or_create():
            # A failed pipeline is a result to report, not a reason to cancel the others.
            outcomes = await asyncio.gather(*runs, return_exceptions=True)
        wall = time.perf_counter() - start
    cpu = {name: after - cpu_before[name] for name, after in cpu_seconds().items()}
    results = [r for r in outcomes if not isinstance(r, BaseException)]
    failures = [r for r in outcomes if isinstance(r, BaseException)]
    made = (await creates())[before:]
    kept = {t for r in results for t in r.task_ids.values()}
    steps = max((len(r.task_ids) for r in results), default=STEPS)
    return {
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
        "duplicate_creates": len(made) - len({(c["path"], c["body_sha256"]) for c in made}),
        "unkept_creates": len({c["created_task_id"] for c in made} - kept),
        "cpu_s": cpu,
    }


async def run(quick: bool = False, *, database: str | None = None, media: str = "lean") -> Report:
    """K = 1, 10, 50 with 15 s per Suno stage (quick: K = 1, 5 with 0.2 s stages).

    15 s per stage makes a 45 s song and a 90 s critical path: shorter than the real gateway's
    (songs take minutes there), so the ratio errs on the pessimistic side.

    Args:
        quick: Small sizes, for a smoke run.
        database: ``auto`` (PostgreSQL when installed, else SQLite), ``postgresql`` or
            ``sqlite``; None reads ``ANYINT_BENCH_DATABASE`` (default ``auto``).
        media: The emulator's media mode during the K runs (``lean``, or ``full`` to compare).
    """
    database = database or os.environ.get("ANYINT_BENCH_DATABASE") or "auto"
    ks = [1, 5] if quick else [1, 10, 50]
    m = await measure(ks, stage_seconds=0.2 if quick else 15.0, media=media, database=database)
    # The emulator's own cost per pipeline in both media modes (two children side by side:
    # CPU seconds per process do not depend on what else runs).
    per_pipeline = dict(
        zip(
            ("full", "lean"),
            await asyncio.gather(
                *(emulator_cpu_per_pipeline(mode, 1 if quick else 3) for mode in ("full", "lean"))
            ),
            strict=True,
        )
    )
    report = _table(m)
    top_k = ks[-1]
    top = m["k"][top_k]
    _keys_and_goals(report, m, top_k)
    report.keys["concurrency_database"] = m["database"]
    report.keys["concurrency_media"] = m["media"]
    report.keys["concurrency_emulator_cpu_s_per_pipeline"] = {
        mode: round(v, 3) for mode, v in per_pipeline.items()
    }
    report.extra.append(
        (
            "Emulator CPU per music-video pipeline, by media mode (after a warm-up pipeline)",
            ["media", "emulator CPU-s per pipeline", "÷ full"],
            [
                [mode, f"{v:.3f}", f"{v / (per_pipeline['full'] or 1):.2f}x"]
                for mode, v in per_pipeline.items()
            ],
        )
    )
    report.notes = _notes(m, top_k, top)
    # After the fixed notes (which used to overwrite these): why each failed pipeline failed.
    for k, r in m["k"].items():
        report.notes += [f"K = {k}: {r['failed']} failed: {e}" for e in r["errors"]]
    report.notes += [f"Server log: {line[:300]}" for line in m.get("server_errors", [])]
    if quick:
        report.notes.append(f"Quick mode: the *_k50 keys hold the K = {top_k} figures.")
    return report


def _table(m: dict[str, Any]) -> Report:
    """The main table: one row per K."""
    base = next(iter(m["k"].values()))["wall_s"]
    report = Report(
        name="concurrency",
        title=f"3. Concurrency: K music-video pipelines at once ({m['stage_seconds']:g} s per "
        f"Suno stage, critical path {m['critical_path_s']:g} s; Prefect on {m['database']}, "
        f"{m['media']} emulator media)",
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
    return report


def _keys_and_goals(report: Report, m: dict[str, Any], top_k: int) -> None:
    top = m["k"][top_k]
    duplicates = sum(r["duplicate_creates"] for r in m["k"].values())
    failed = sum(r["failed"] for r in m["k"].values())
    creates_ok = all(
        r["creates"] == r["expected_creates"] and not r["failed"] for r in m["k"].values()
    )
    cores = psutil.cpu_count() or 1
    report.keys = {
        "concurrency_ratio_k50": round(top["ratio"], 3),
        "concurrency_peak_rss_mb_k50": top["peak_rss_mb"],
        "concurrency_k_max": top_k,
        "concurrency_ratio_k1": round(next(iter(m["k"].values()))["ratio"], 3),
        "concurrency_failed": failed,
        "concurrency_creates_ok": creates_ok,
        "concurrency_cpu_s_k50": {p: round(v, 1) for p, v in top["cpu_s"].items()},
        "concurrency_cpu_busy_k50": round(sum(top["cpu_s"].values()) / (cores * top["wall_s"]), 3),
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


def _notes(m: dict[str, Any], top_k: int, top: dict[str, Any]) -> list[str]:
    cores = psutil.cpu_count() or 1
    busy = sum(top["cpu_s"].values()) / (cores * top["wall_s"])
    per_core = {p: top["cpu_s"][p] / top["wall_s"] for p in _CPU_COLUMNS}
    return [
        "Peak RSS is this (orchestrating) process's: emulator, callback receiver, Prefect "
        "server and database run in their own processes. Callbacks are on, as recommended; "
        "polls are the fallback.",
        f"Database: {m['database_note']} Emulator media: {m['media']} "
        f"({top['cpu_s']['emulator'] / top_k:.2f} emulator CPU-s per pipeline at K = {top_k}).",
        f"At K = {top_k} the {cores} cores were {busy:.0%} busy on average (CPU seconds ÷ cores "
        "x wall); each process has one event loop: "
        + ", ".join(f"{p} {share:.0%}" for p, share in per_core.items())
        + " of a core. The pipelines move in lockstep, so at each of the 4 stage boundaries "
        f"{top_k} tasks' work queues in each process at once.",
    ]
