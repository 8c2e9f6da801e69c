"""The benchmarks' throwaway PostgreSQL: starts, answers, and leaves nothing behind; a missing
install is a clear error naming the fix. Skipped where PostgreSQL is not installed."""

from __future__ import annotations

from pathlib import Path

import psutil  # type: ignore[import-untyped]
import pytest

from benchmarks._postgres import INSTALL_HINT, PostgresServer, PostgresUnavailable, find_bindir

needs_postgres = pytest.mark.skipif(find_bindir() is None, reason=INSTALL_HINT)


@needs_postgres
@pytest.mark.process  # a postgres server child
async def test_server_answers_then_leaves_nothing_behind() -> None:
    import asyncpg  # type: ignore[import-untyped]

    with PostgresServer(timeout=60) as pg:
        root, pid = pg.root, pg.pid
        assert root is not None and root.is_dir() and pid is not None
        assert pg.url.startswith("postgresql+asyncpg://") and f":{pg.port}/" in pg.url
        conn = await asyncpg.connect(pg.url.replace("+asyncpg", ""), timeout=30)
        try:
            assert await conn.fetchval("SELECT current_database()") == "anyint"
            await conn.execute("CREATE TABLE t (n int)")
        finally:
            await conn.close()
    assert not root.exists()
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    pg.stop()  # idempotent


def test_missing_binaries_name_the_fix() -> None:
    server = PostgresServer(bindir=Path("/nonexistent"))
    server.bindir = None  # as on a machine without the package
    with pytest.raises(PostgresUnavailable, match="make postgres"):
        server.start()
    assert server.root is None


def test_broken_binaries_fail_clearly_and_clean_up(tmp_path: Path) -> None:
    server = PostgresServer(bindir=tmp_path, timeout=10)  # no initdb there
    with pytest.raises(PostgresUnavailable, match="did not start"):
        server.start()
    assert server.root is None and server.process is None
