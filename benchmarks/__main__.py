"""``python -m benchmarks [--quick] [--json PATH] [--record] [--only NAME,...]``.

Starts a throwaway Prefect server (``prefect_test_harness``, its own ``PREFECT_HOME``), runs the
benchmarks, prints a table per benchmark, and optionally writes the JSON keys (``--json``) and
``benchmarks/RESULTS.md`` with the machine description (``--record``).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

# Before any Prefect import, and only when run as a program (tests import this module and must
# not have their session's Prefect home or log levels changed under them): a private Prefect home
# (database, results) that never touches the user's ~/.prefect, no analytics, and Prefect's console
# logs kept to warnings (the flows still log at INFO to the API, as they would for a user).
if __name__ == "__main__":
    os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="anyint-bench-prefect-")
    atexit.register(shutil.rmtree, os.environ["PREFECT_HOME"], ignore_errors=True)
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_FLOW_RUNS_LEVEL", "WARNING")
    # 50 flow runs created in the same second make the SQLite-backed test server answer 503
    # (SQLITE_BUSY) for a while; the client's default 5 retries (about a minute) are not always
    # enough on 2 busy cores. A production server (PostgreSQL) would not need this; see RESULTS.md.
    os.environ.setdefault("PREFECT_CLIENT_MAX_RETRIES", "10")

import argparse
import asyncio
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import BENCHMARKS, REQUIRED_KEYS, Report, run_all
from ._shared import machine_description

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def _command(argv: list[str]) -> str:
    """The command line as worth repeating in RESULTS.md (a --json path is the recorder's)."""
    shown, skip = ["python -m benchmarks"], False
    for i, arg in enumerate(argv):
        if skip:
            skip = False
        elif arg in ("--quick", "--record") or arg.startswith("--only="):
            shown.append(arg)
        elif arg == "--only" and i + 1 < len(argv):
            shown += [arg, argv[i + 1]]
            skip = True
    return " ".join(shown)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("--json", metavar="PATH", help="write every key as one JSON object")
    parser.add_argument("--record", action="store_true", help=f"write {RESULTS.name}")
    parser.add_argument(
        "--only", metavar="NAMES", help=f"comma-separated subset of {','.join(BENCHMARKS)}"
    )
    args = parser.parse_args(argv)
    if args.only:
        args.only = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = set(args.only) - set(BENCHMARKS)
        if unknown:
            parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    return args


def _record(reports: list[Report], keys: dict[str, Any], seconds: float, argv: list[str]) -> None:
    machine = machine_description()
    versions = ", ".join(f"{k} {v}" for k, v in machine["versions"].items())
    lines = [
        "# Benchmark results",
        "",
        f"Recorded {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with "
        f"`{_command(argv)}` in {seconds:.0f} s"
        f"{' (quick mode: small sizes)' if keys.get('quick') else ''}.",
        "",
        f"Machine: {machine['cpu']}, {machine['cores']} logical cores, "
        f"{machine['memory_gb']} GiB RAM, {machine['os']}, Python {machine['python']} "
        f"({versions}). Shared machine (1-minute load average {_load(keys)}): read the ratios, "
        "not the absolute times.",
        "",
        "How to read and reproduce: see the docstrings of `benchmarks/*.py`; "
        "`make test` runs the quick path for correctness only.",
        "",
    ]
    lines += ["## Goals", "", "| benchmark | goal | |", "|---|---|---|"]
    lines += [
        f"| {r.name} | {goal.replace('|', '/')} | {'met' if met else '**missed**'} |"
        for r in reports
        for goal, met in r.goals
    ]
    lines += ["", "## Tables", ""]
    lines += [r.markdown() for r in reports]
    lines += ["## JSON keys", "", "```json", json.dumps(keys, indent=2, sort_keys=True), "```", ""]
    RESULTS.write_text("\n".join(lines))


def _load(keys: dict[str, Any]) -> str:
    load = keys.get("load_average_1m") or {}
    return f"{load.get('start', '?')} at the start, {load.get('end', '?')} at the end"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks; the exit status is 0 even when a goal is missed (they are reports)."""
    raw = sys.argv[1:] if argv is None else argv
    args = _parse(raw)

    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    start = time.perf_counter()
    load_start = os.getloadavg()[0]
    # The flow-run heartbeat thread adds ~1 s per flow run; none of this needs it.
    with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        with prefect_test_harness(server_startup_timeout=90):
            reports, keys = asyncio.run(run_all(args.quick, args.only, echo=True, keep_going=True))
    seconds = time.perf_counter() - start
    # Other work on the machine skews every figure: keep the 1-minute load average with them.
    keys["load_average_1m"] = {"start": round(load_start, 2), "end": round(os.getloadavg()[0], 2)}
    missing = [k for k in REQUIRED_KEYS if k not in keys]
    if args.json:
        Path(args.json).write_text(json.dumps(keys, indent=2, sort_keys=True) + "\n")
    if args.record and not (missing and not args.only):
        _record(reports, keys, seconds, raw)
        print(f"wrote {RESULTS}")
    print(json.dumps({k: keys[k] for k in REQUIRED_KEYS if k in keys}, indent=2))
    if missing and not args.only:
        print(f"missing keys (a benchmark failed, see above): {missing}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
