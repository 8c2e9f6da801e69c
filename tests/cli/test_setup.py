"""``anyint-flows setup`` against the session's Prefect server: twice in a row, a dry run, and the
one-line errors.

Every test names its own pool and blocks, so it never meets another test's (the server is shared
by the session).
"""

from __future__ import annotations

import re
import socket
import sys
import uuid
from pathlib import Path

import pytest
from click.testing import Result
from prefect import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.client.schemas.filters import WorkPoolFilter, WorkPoolFilterName
from prefect.settings import PREFECT_API_URL, temporary_settings
from typer.testing import CliRunner

from anyint_cli import app
from blocks import AnyIntCredentials, AssetStore
from tests.conftest import CANARY_KEY


@pytest.fixture
def names() -> tuple[str, str]:
    """A pool and a block name of this test only.

    The CLI runs its own event loop, so these tests are synchronous and use Prefect's sync API.
    """
    suffix = uuid.uuid4().hex[:10]
    return f"pool-{suffix}", f"blocks-{suffix}"


def setup(names: tuple[str, str], *extra: str, **env: str | None) -> Result:
    pool, block = names
    args = ["setup", "--pool", pool, "--block-name", block, *extra]
    # Wide enough that rich never wraps a line: the tests read whole lines.
    return CliRunner().invoke(app, args, env={"COLUMNS": "400", **env})


def report(result: Result) -> dict[str, str]:
    """Setup's report, object by object: ``{"work pool 'p'": "created", ...}``."""
    assert result.exit_code == 0, result.output
    done = {}
    for line in result.stdout.splitlines()[1:]:  # after the "Prefect server: URL" line
        verb, what = re.split(r"\s{2,}", line, maxsplit=1)
        done[what.split(" (")[0]] = verb
    return done


def ours(result: Result, names: tuple[str, str]) -> dict[str, str]:
    """The report on this test's blocks and pool (the block types are the whole session's)."""
    pool, block = names
    done = report(result)
    types = {k: v for k, v in done.items() if k.startswith("block type ")}
    assert len(types) == 2 and set(types.values()) <= {"created", "unchanged"}, done
    return {
        "credentials": done.pop(f"AnyIntCredentials block {block!r}"),
        "store": done.pop(f"AssetStore block {block!r}"),
        "pool": done.pop(f"work pool {pool!r}"),
    }


def failure(names: tuple[str, str]) -> str:
    """The error line of a setup that cannot go on: exit 2, one line, no traceback."""
    result = setup(names, ANYINT_API_KEY="k")
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: "), line
    return line


def pools_named(name: str) -> list[str]:
    with get_client(sync_client=True) as client:
        pools = client.read_work_pools(
            work_pool_filter=WorkPoolFilter(name=WorkPoolFilterName(any_=[name]))
        )
    return [p.type for p in pools]


def key_and_store(block: str) -> tuple[str, str | None]:
    """The saved key and store URL of ``block``."""
    key = AnyIntCredentials.load(block).resolved_api_key().get_secret_value()
    return key, AssetStore.load(block).base_url


CREATED = {"credentials": "created", "store": "created", "pool": "created"}
UNCHANGED = {"credentials": "unchanged", "store": "unchanged", "pool": "unchanged"}


def test_setup_twice_creates_then_changes_nothing(names: tuple[str, str], tmp_path: Path) -> None:
    pool, block = names
    env = {
        "ANYINT_API_KEY": CANARY_KEY,
        "ANYINT_BASE_URL": "http://gateway.test",
        "ANYINT_STORE": str(tmp_path / "store"),
    }
    first = setup(names, **env)
    assert ours(first, names) == CREATED, first.stdout
    assert CANARY_KEY not in first.output  # the key is never echoed

    second = setup(names, **env)
    assert ours(second, names) == UNCHANGED, second.stdout
    assert set(report(second).values()) == {"unchanged"}  # the block types too

    assert pools_named(pool) == ["process"]  # one pool, not two
    # Runs start Prefect's engine on this Python directly (one process, not a supervisor + one).
    with get_client(sync_client=True) as client:
        variables = client.read_work_pool(pool).base_job_template["variables"]["properties"]
    assert variables["command"]["default"] == f"{sys.executable} -m prefect.engine"
    # Absolute: a worker started in any folder writes to the same store.
    assert key_and_store(block) == (CANARY_KEY, (tmp_path / "store").as_uri())
    assert AnyIntCredentials.load(block).base_url == "http://gateway.test"


def test_a_changed_environment_updates_the_blocks(names: tuple[str, str], tmp_path: Path) -> None:
    block = names[1]
    report(setup(names, ANYINT_API_KEY="first", ANYINT_STORE=str(tmp_path / "a")))
    moved = setup(names, ANYINT_API_KEY="second", ANYINT_STORE=str(tmp_path / "b"))
    assert ours(moved, names) == {**UNCHANGED, "credentials": "updated", "store": "updated"}
    assert key_and_store(block) == ("second", (tmp_path / "b").as_uri())

    # Unset: the saved key and store stay as they are, and the output says why.
    kept = setup(names)
    assert ours(kept, names) == UNCHANGED, kept.stdout
    assert "ANYINT_API_KEY is not set" in kept.stdout
    assert key_and_store(block) == ("second", (tmp_path / "b").as_uri())


def test_dry_run_changes_nothing(names: tuple[str, str], tmp_path: Path) -> None:
    pool, block = names
    env = {"ANYINT_API_KEY": CANARY_KEY, "ANYINT_STORE": str(tmp_path / "store")}
    plan = setup(names, "--dry-run", **env)
    assert ours(plan, names) == dict.fromkeys(CREATED, "would create"), plan.stdout
    assert "dry run" in plan.stdout.splitlines()[0]
    assert pools_named(pool) == []
    for kind in (AnyIntCredentials, AssetStore):
        with pytest.raises(ValueError):
            kind.load(block)

    report(setup(names, **env))
    replan = setup(names, "--dry-run", ANYINT_API_KEY="another", ANYINT_STORE=str(tmp_path / "x"))
    expected = {**UNCHANGED, "credentials": "would update", "store": "would update"}
    assert ours(replan, names) == expected, replan.stdout
    assert key_and_store(block) == (CANARY_KEY, (tmp_path / "store").as_uri())


def test_a_pool_of_another_type_is_one_line(names: tuple[str, str]) -> None:
    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name=names[0], type="docker"))
    assert "--pool" in failure(names)
    assert pools_named(names[0]) == ["docker"]


def test_without_prefect_api_url_setup_says_what_to_do(names: tuple[str, str]) -> None:
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        line = failure(names)
    assert "PREFECT_API_URL is not set" in line and "prefect server start" in line


def test_no_server_at_prefect_api_url_is_one_line(names: tuple[str, str]) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/api"
    with temporary_settings({PREFECT_API_URL: url}):
        assert f"no Prefect server answers at {url}" in failure(names)
