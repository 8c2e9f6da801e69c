"""Where a secret could be seen: every place the secrets canaries search.

Everything a user, an operator or an attacker with read access could see: captured output and
log records, the Prefect database (every text and blob column: logs, parameters, artifacts,
states, events), Prefect's home folder (result storage, where persisted results and failures are
pickled), the asset store (assets, manifests, journals, the callback inbox), and artifacts and
run parameters read back through the Prefect client.
"""

from __future__ import annotations

import base64
import json
import re
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prefect.client.orchestration import get_client
from prefect.events.worker import EventsWorker
from prefect.logging.handlers import APILogHandler
from prefect.settings import PREFECT_HOME, PREFECT_SERVER_DATABASE_CONNECTION_URL


def canaries() -> tuple[str, str]:
    run = uuid.uuid4().hex
    return f"sk-canary-{run[:20]}", f"cbtok-canary-{run[12:32]}"


def fresh_base_url() -> str:
    """A fresh in-process gateway URL (journal identities of two tests never meet)."""
    return f"http://emulator-{uuid.uuid4().hex[:12]}.anyint.local"


def needles(secret: str) -> list[str]:
    # The whole secret, and its tail: a "masked" form that keeps the end still leaks it.
    return [secret, secret[-12:]]


def hits(text: str, secret: str) -> list[str]:
    found = []
    for needle in needles(secret):
        for m in re.finditer(re.escape(needle), text):
            found.append(text[max(0, m.start() - 80) : m.end() + 40])
    return found


def files(root: Path) -> Iterator[Path]:
    if root.exists():
        yield from (p for p in root.rglob("*") if p.is_file())


def file_text(path: Path) -> str:
    """The file as text, plus the decoded payload of a Prefect result record (a JSON document
    whose ``result`` is base64: pickled values and exceptions hide in there)."""
    data = path.read_bytes()
    text = data.decode("latin-1")
    try:
        record = json.loads(data)
        payload = base64.b64decode(record["result"])
    except (ValueError, TypeError, KeyError):
        return text
    return f"{text}\n{payload.decode('latin-1')}"


def scan_files(root: Path, secret: str, skip: frozenset[Path] = frozenset()) -> list[str]:
    found = []
    for path in files(root):
        if path in skip or any(parent in skip for parent in path.parents):
            continue
        found += [f"{path}: {h}" for h in hits(file_text(path), secret)]
    return found


def database() -> Path:
    url = PREFECT_SERVER_DATABASE_CONNECTION_URL.value()
    assert url and url.startswith("sqlite"), f"expected the harness's SQLite database, got {url}"
    return Path(url.split("///", 1)[1])


def scan_database(secret: str) -> list[str]:
    found = []
    with sqlite3.connect(f"file:{database()}?mode=ro", uri=True) as db:
        tables = [r[0] for r in db.execute("select name from sqlite_master where type='table'")]
        for table in tables:
            for row in db.execute(f'select * from "{table}"'):
                for value in row:
                    if isinstance(value, bytes):
                        value = value.decode("latin-1")
                    if isinstance(value, str):
                        found += [f"{table}: {h}" for h in hits(value, secret)]
    return found


async def flush_prefect() -> None:
    await APILogHandler.aflush()
    await EventsWorker.drain_all()  # type: ignore[misc]


async def scan_api(secret: str, flow_run_ids: set[str]) -> list[str]:
    """Artifacts and run parameters as the Prefect client hands them out."""
    found = []
    async with get_client() as client:
        for artifact in await client.read_artifacts():
            text = f"{artifact.key} {artifact.description} {artifact.data}"
            found += [f"artifact {artifact.key}: {h}" for h in hits(text, secret)]
        # Filtered by id on the server: an unfiltered read is one page (the session's database
        # holds more runs than that by now).
        runs = await client.read_flow_runs(
            flow_run_filter=flow_filter(*flow_run_ids)  # type: ignore[arg-type]
        )
        assert runs, "no flow runs found: the scan would prove nothing"
        for run in runs:
            found += [f"parameters of {run.name}: {h}" for h in hits(str(run.parameters), secret)]
            for task_run in await client.read_task_runs(
                flow_run_filter=flow_filter(run.id)  # type: ignore[arg-type]
            ):
                text = f"{task_run.name} {task_run.task_inputs} {task_run.state}"
                found += [f"task run {task_run.name}: {h}" for h in hits(text, secret)]
    return found


def flow_filter(*run_ids: Any) -> Any:
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    return FlowRunFilter(id=FlowRunFilterId(any_=[uuid.UUID(str(r)) for r in run_ids]))


def everywhere(secret: str, *, text: str, store_root: Path) -> list[str]:
    home = Path(PREFECT_HOME.value())
    found = [f"output: {h}" for h in hits(text, secret)]
    found += scan_database(secret)
    found += scan_files(home, secret, skip=frozenset({database().parent}))
    found += scan_files(store_root, secret)
    return found
