"""``anyint-flows setup`` creates, updates or keeps the ``anyint-*`` concurrency limits.

The limits have fixed names on the session's server, so each test puts them back to their
defaults when it ends.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from prefect import get_client
from prefect.exceptions import ObjectNotFound
from typer.testing import CliRunner, Result

from anyint_cli import app
from tasks.limits import DEFAULTS


def setup(*extra: str, limits: str | None = None) -> Result:
    env = {"COLUMNS": "400", "ANYINT_API_KEY": "k", "ANYINT_LIMITS": limits}
    return CliRunner().invoke(app, ["setup", "--pool", "limits-pool", *extra], env=env)


def limit_lines(result: Result) -> dict[str, str]:
    """``{"anyint-suno": "created (limit 3)", ...}`` from setup's report."""
    assert result.exit_code == 0, result.output
    found = {}
    for line in result.stdout.splitlines():
        match = re.match(r"(\w[\w ]*?)\s{2,}concurrency limit '([\w-]+)' \((.*)\)$", line)
        if match:
            found[match[2]] = f"{match[1]} ({match[3]})"
    return found


def server_limit(name: str) -> tuple[int, float] | None:
    with get_client(sync_client=True) as client:
        try:
            limit = client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            return None
    return limit.limit, limit.slot_decay_per_second


@pytest.fixture
def fresh_suno() -> Iterator[None]:
    """No ``anyint-suno`` limit before the test, the defaults after it."""
    with get_client(sync_client=True) as client:
        try:
            client.delete_global_concurrency_limit_by_name("anyint-suno")
        except ObjectNotFound:
            pass
    yield
    assert setup().exit_code == 0


def test_setup_creates_keeps_updates_and_plans(fresh_suno: None) -> None:
    first = limit_lines(setup(limits="anyint-suno=3, anyint-create=20/4"))
    assert first["anyint-suno"] == "created (limit 3)"
    assert first["anyint-create"].endswith("(limit 20, decay 4/s)")
    assert set(first) == set(DEFAULTS)  # every limit is in the plan
    assert server_limit("anyint-suno") == (3, 0.0)
    assert server_limit("anyint-create") == (20, 4.0)

    again = limit_lines(setup(limits="anyint-suno=3,anyint-create=20/4"))
    assert set(again.values()) == {v for v in again.values() if v.startswith("unchanged")}

    planned = limit_lines(setup("--dry-run", limits="anyint-suno=4,anyint-create=20/4"))
    assert planned["anyint-suno"] == "would update (limit 4)"
    assert server_limit("anyint-suno") == (3, 0.0)  # a dry run writes nothing

    assert limit_lines(setup(limits="anyint-suno=4"))["anyint-suno"] == "updated (limit 4)"
    assert server_limit("anyint-suno") == (4, 0.0)
    assert server_limit("anyint-create") == (50, 10.0)  # back to its default


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ("anyint-sonu=2", "unknown limit 'anyint-sonu'"),
        ("anyint-suno=two", "anyint-suno takes a whole number >= 1"),
        ("anyint-suno=0", "anyint-suno takes a whole number >= 1"),
        ("anyint-create=5", "anyint-create takes LIMIT/DECAY_PER_SECOND"),
        ("anyint-create=5/0", "a rate limit needs a decay above 0"),
    ],
)
def test_a_bad_limit_is_one_line_naming_anyint_limits(value: str, named: str) -> None:
    result = setup("--dry-run", limits=value)
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ANYINT_LIMITS: ") and named in line, line
