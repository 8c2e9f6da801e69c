"""Benchmarks: our orchestration measured against the emulator and what a user would otherwise do.

``python -m benchmarks [--quick] [--json PATH] [--record]`` runs, side by side in one process run:

1. :mod:`benchmarks.wait_efficiency`: poll schedules on a virtual clock, and the callback path.
2. :mod:`benchmarks.overhead`: N sync calls through Prefect tasks vs the bare client.
3. :mod:`benchmarks.concurrency`: K music-video pipelines at once.
4. :mod:`benchmarks.streaming`: a large asset into the ``AssetStore`` vs plain httpx.
5. :mod:`benchmarks.idle`: CPU of 1,000 idle waits, one shared inbox watcher vs per-wait polls.
6. :mod:`benchmarks.defer`: 10 deferred pipelines on one worker slot vs one (skipped in --quick).

Each prints ratios (absolute times on a shared 2-core machine are noise). Each module has an async
``run(quick: bool) -> Report``; :func:`run_all` runs the chosen ones and collects their JSON keys.
This package imports Prefect lazily, so ``__main__`` can isolate ``PREFECT_HOME`` first.
"""

from __future__ import annotations

from typing import Any

from ._shared import Report

__all__ = ["BENCHMARKS", "REQUIRED_KEYS", "Report", "run_all"]

#: Benchmark names in run order, and their modules.
BENCHMARKS = {
    "wait": "benchmarks.wait_efficiency",
    "overhead": "benchmarks.overhead",
    "concurrency": "benchmarks.concurrency",
    "streaming": "benchmarks.streaming",
    "idle": "benchmarks.idle",
    "defer": "benchmarks.defer",
}

#: Keys the ``--json`` object always has (the issue's list).
REQUIRED_KEYS = (
    "wait_lag_ratio_max",
    "wait_polls_vs_dashscope_max",
    "wait_polls_vs_bound_max",
    "callback_lag_s",
    "overhead_ms_per_call",
    "concurrency_ratio_k50",
    "concurrency_peak_rss_mb_k50",
    "duplicate_creates",
    "stream_throughput_ratio",
    "stream_peak_rss_growth_mb",
    "idle_wait_cpu_pct_k1000",
    "defer_ratio_n10",  # None in --quick (skipped: a server, a deploy and a worker)
)


async def run_all(
    quick: bool = False,
    only: list[str] | None = None,
    *,
    echo: bool = False,
    options: dict[str, dict[str, Any]] | None = None,
    keep_going: bool = False,
) -> tuple[list[Report], dict[str, Any]]:
    """Run the benchmarks (all, or ``only`` those named) and merge their keys.

    Needs a Prefect API for ``wait``, ``overhead`` and ``concurrency``.

    Args:
        quick: Small sizes, for a smoke run.
        only: Names from :data:`BENCHMARKS`; all when None.
        echo: Print each report as soon as it is done.
        options: Extra keyword arguments per benchmark name, e.g.
            ``{"streaming": {"size_mb": 20}}`` (the test suite's smoke run keeps it short).
        keep_going: Print a failing benchmark's traceback and go on with the next (its keys are
            then missing) instead of raising.

    Returns:
        The reports and one flat dict of every key.
    """
    import importlib
    import time
    import traceback

    reports: list[Report] = []
    keys: dict[str, Any] = {"quick": quick, "bench_seconds": {}}
    for name, module_name in BENCHMARKS.items():
        if only and name not in only:
            continue
        module = importlib.import_module(module_name)
        start = time.perf_counter()
        try:
            report: Report = await module.run(quick=quick, **(options or {}).get(name, {}))
        except Exception:
            if not keep_going:
                raise
            traceback.print_exc()
            continue
        finally:
            keys["bench_seconds"][name] = round(time.perf_counter() - start, 1)
        if echo:
            report.print_rich()
        reports.append(report)
        keys.update(report.keys)
    return reports, keys
