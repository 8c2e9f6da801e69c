"""The benchmarks' quick path runs and produces every key: a correctness check, never a timing one.

Called in process (the session's Prefect harness) rather than as ``python -m benchmarks --quick``
in a subprocess, which would start a second Prefect server. No assertion here looks at a time,
a ratio's size or a goal: on a shared machine those are the benchmark's report, not a test.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from benchmarks import REQUIRED_KEYS, Report, run_all
from benchmarks.__main__ import _parse, _record

#: None in --quick: the defer benchmark needs a server, a deploy and a worker (it says so).
SKIPPED_IN_QUICK = {"defer_ratio_n10"}
NUMBERS = {k for k in REQUIRED_KEYS if k != "duplicate_creates"} - SKIPPED_IN_QUICK


@pytest.fixture(scope="module")
async def quick(prefect_harness: None) -> tuple[list[Report], dict[str, object]]:
    # The quick path with a 20 MiB download instead of 200 MiB: S3 through moto dominates.
    # Concurrency on the session's (SQLite) server: no PostgreSQL needed, as on a fresh clone
    # (tests/benchmarks/test_postgres.py covers the PostgreSQL lifecycle where it is installed).
    options: dict[str, dict[str, object]] = {
        "streaming": {"size_mb": 20},
        "concurrency": {"database": "sqlite"},
    }
    return await run_all(quick=True, options=options)


@pytest.mark.slow  # the quick path: about two minutes
@pytest.mark.process  # emulator, receiver and download children
def test_every_key_present_with_a_sane_value(quick: tuple[list[Report], dict[str, object]]) -> None:
    _, keys = quick
    assert keys["quick"] is True
    for key in NUMBERS:
        value = keys[key]
        assert isinstance(value, int | float) and not isinstance(value, bool), key
        assert math.isfinite(value) and value >= 0, (key, value)
    assert keys["duplicate_creates"] == 0  # a correctness fact, not a timing
    assert all(k in keys and keys[k] is None for k in SKIPPED_IN_QUICK)
    assert keys["concurrency_creates_ok"] is True
    assert (keys["concurrency_database"], keys["concurrency_media"]) == ("sqlite", "lean")
    per_pipeline = keys["concurrency_emulator_cpu_s_per_pipeline"]
    assert isinstance(per_pipeline, dict) and set(per_pipeline) == {"full", "lean"}
    json.dumps(keys)  # what --json writes


@pytest.mark.slow  # the quick path: about two minutes
@pytest.mark.process  # emulator, receiver and download children
def test_reports_render(quick: tuple[list[Report], dict[str, object]]) -> None:
    reports, _ = quick
    names = ["wait", "overhead", "concurrency", "streaming", "idle", "defer"]
    assert [r.name for r in reports] == names
    for report in reports:
        assert report.rows and (report.goals or report.name == "defer")  # defer: skipped
        assert all(len(row) == len(report.columns) for row in report.rows)
        assert report.markdown().startswith("### ")


@pytest.mark.slow  # the quick path: about two minutes
@pytest.mark.process  # emulator, receiver and download children
def test_record_writes_results(
    quick: tuple[list[Report], dict[str, object]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import benchmarks.__main__ as main

    target = tmp_path / "RESULTS.md"
    monkeypatch.setattr(main, "RESULTS", target)
    reports, keys = quick
    _record(reports, keys, 1.0, ["--quick", "--record"])
    text = target.read_text()
    assert "Machine:" in text and "wait_lag_ratio_max" in text


def test_cli_arguments() -> None:
    args = _parse(["--quick", "--json", "out.json", "--record", "--only", "wait,overhead"])
    assert (args.quick, args.json, args.record, args.only) == (
        True,
        "out.json",
        True,
        ["wait", "overhead"],
    )
    with pytest.raises(SystemExit):
        _parse(["--only", "nope"])
