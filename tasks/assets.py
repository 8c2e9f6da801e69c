"""Copy task outputs into the asset store and record them in the run's manifest.

An asset is "ready" only once its task succeeded **and** a complete, checksummed copy sits in the
store. Assets are keyed by gateway task (``assets/<family>/<task_id>/<name>``, the id made a safe
key segment by :func:`blocks.ids.id_segment`) with a sidecar record (which keeps the id itself),
so a resume finds them (sha256 checked) instead of downloading again. Each flow run's
``runs/<flow_run_id>/manifest.json`` is rebuilt from one part file per asset, which keeps
concurrent fetches from overwriting each other.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from datetime import UTC, datetime
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from pydantic import BaseModel, Field, field_validator

from anyint import APIStatusError, NotFoundError
from anyint.records import redact, storable
from blocks import AssetStore
from blocks.ids import id_segment

from . import journal, routes, usage
from ._policy import RETRY_OPTIONS
from .errors import TaskLostError, TaskOutputMissingError
from .routes import Output
from .run import RunConfig
from .wait import FinishedTask, outputs_of

__all__ = ["AssetRecord", "fetch", "mark_done", "record_assets", "run_prefix", "stored_record"]


class AssetRecord(BaseModel):
    """One manifest entry: a stored asset and where it came from."""

    kind: str
    route: str
    model: str | None = None
    request: dict[str, Any] | None = None
    task_id: str | None = None
    audio_id: str | None = None
    source_url: str | None = None
    uri: str
    key: str
    bytes: int
    sha256: str
    content_type: str
    #: What the gateway reported for the task or call that made it (``{}``: nothing; see
    #: :func:`tasks.usage.usage_of`). Records stored before usage was kept read as ``{}``.
    usage: dict[str, Any] = Field(default_factory=dict)
    #: What the output says beyond its bytes, e.g. the word timings of karaoke lyrics.
    metadata: dict[str, Any] | None = None
    created_at: datetime

    @field_validator("usage", mode="before")
    @classmethod
    def _usage_or_empty(cls, value: Any) -> Any:
        return {} if value is None else value


def clean_request(body: dict[str, Any] | None) -> dict[str, Any] | None:
    """A request as it may be stored (see :func:`anyint.records.storable`)."""
    if body is None:
        return None
    stored: dict[str, Any] = storable(body)
    return stored


def run_prefix(flow_run_id: str | None) -> str:
    """``runs/<flow_run_id>`` (``runs/local`` outside a flow run)."""
    return f"runs/{flow_run_id or 'local'}"


def record_assets(store: AssetStore, run: RunConfig, records: list[AssetRecord]) -> str:
    """Add ``records`` to the run's manifest and return the manifest's key.

    The manifest is rebuilt from one part file per asset, so concurrent steps never overwrite
    each other's entries, and a resume of the same flow run adds to the same manifest.

    Raises:
        StoreDocumentError: A manifest part cannot be parsed (named; nothing is overwritten).
    """
    prefix = run_prefix(run.flow_run_id)
    for record in records:
        part = hashlib.sha256(record.key.encode()).hexdigest()[:16]
        store.put_json(f"{prefix}/manifest.d/{part}.json", record.model_dump(mode="json"))
    parts = [store.read_json(k) for k in store.list(f"{prefix}/manifest.d")]
    parts.sort(key=lambda p: (p["created_at"], p["key"]))
    manifest = {
        "flow": run.flow_name,
        "flow_run_id": run.flow_run_id,
        "intent": run.intent,
        "idempotency_key": run.idempotency_key,
        "parameters": _safe_parameters(),
        "assets": parts,
        **usage.manifest_fields(store, run),
    }
    key = f"{prefix}/manifest.json"
    store.put_json(key, manifest)
    return key


def _safe_parameters() -> dict[str, Any]:
    try:
        params = dict(flow_run.get_parameters() or {})
    except Exception:  # outside a flow run there are none
        return {}
    return redact(params)  # type: ignore[no-any-return]


def stored_record(store: AssetStore, key: str) -> AssetRecord | None:
    """The record of an asset already stored at ``key`` whose content still matches its sha256.

    A file that is missing, or whose content no longer matches its sidecar, counts as not
    stored (it is fetched again).
    """
    sidecar = f"{key}.json"
    if not (store.exists(sidecar) and store.exists(key)):
        return None
    record = AssetRecord.model_validate(store.read_json(sidecar))
    return record if store.sha256(key) == record.sha256 else None


def mark_done(store: AssetStore, digest: str, records: list[AssetRecord], **extra: Any) -> None:
    """Record in the journal that a step's outputs are stored and verified."""
    entry = journal.latest(store, digest)
    if entry is None or entry.state not in journal.REUSE_STATES:
        return
    outputs = [journal.StoredOutput(key=r.key, sha256=r.sha256) for r in records]
    journal.save(store, entry.model_copy(update={"state": "done", "outputs": outputs, **extra}))


async def _store_output(
    store: AssetStore, client: Any, output: Output, key: str, deadline: float
) -> tuple[str, int, str, str]:
    """Store one output; a download gets what is left until ``deadline`` (monotonic time)."""
    if output.content is not None:
        stored = store.put_bytes(key, output.content, "text/plain")
    else:
        assert output.url is not None
        left = max(deadline - time.monotonic(), 0.0)
        stored = await store.download(
            client, output.url, key, kind=output.kind, budget_seconds=left
        )
    return stored.uri, stored.bytes, stored.sha256, stored.content_type


async def _download(
    spec: routes.RouteSpec,
    store: AssetStore,
    client: Any,
    finished: FinishedTask,
    output: Output,
    key: str,
) -> tuple[Output, tuple[str, int, str, str]]:
    """Store one output; an expired URL (403/404) is refreshed once by querying the task.

    Both attempts share one download budget: the refreshed URL gets what the first left.
    """
    deadline = time.monotonic() + store.download_budget()
    try:
        return output, await _store_output(store, client, output, key, deadline)
    except APIStatusError as exc:
        if exc.status_code not in (403, 404) or output.url is None:
            raise
    get_run_logger().info(
        "URL of %s expired; querying task %s again", output.name, finished.task_id
    )
    try:
        snapshot = await spec.query(client, finished.task_id)
    except NotFoundError:
        raise TaskLostError(
            task_id=finished.task_id, route=finished.route, digest=finished.digest
        ) from None
    fresh = next(
        o for o in outputs_of(spec, snapshot, client, finished.task_id) if o.name == output.name
    )
    try:
        return fresh, await _store_output(store, client, fresh, key, deadline)
    except APIStatusError as exc:
        if exc.status_code != 404:
            raise
        raise TaskOutputMissingError(
            task_id=finished.task_id,
            status=finished.status,
            route=finished.route,
            missing=f"a downloadable {output.name} (its URL answers 404)",
        ) from None


@task(
    name="fetch",
    task_run_name="fetch {finished.route} {finished.task_id}",
    cache_policy=NO_CACHE,
    **RETRY_OPTIONS,
)
async def fetch(
    run: RunConfig,
    finished: FinishedTask,
    request: dict[str, Any] | None = None,
    model: str | None = None,
) -> list[AssetRecord]:
    """Stream every output of ``finished`` into the asset store and add it to the manifest.

    An output already stored (with matching sha256) is kept as it is; once every output is
    stored, the journal marks the step done, so a resume needs no gateway call.

    Args:
        run: The flow run's gateway, intent and deadline.
        finished: What :func:`tasks.wait.wait` returned.
        request: The request body, recorded in the manifest without secrets or callback URL.
        model: Model id, recorded in the manifest.
    """
    spec = routes.route(finished.route)
    connection = await run.gateway.connect()
    store = connection.store
    records: list[AssetRecord] = []
    reported = usage.usage_of(finished.route, finished.snapshot)
    async with connection.client() as client:
        for output in finished.outputs:
            key = f"assets/{spec.family}/{id_segment(finished.task_id)}/{output.name}"
            kept = await asyncio.to_thread(stored_record, store, key)
            if kept is not None:
                records.append(kept)
                continue
            used, (uri, size, sha, ctype) = await _download(
                spec, store, client, finished, output, key
            )
            record = AssetRecord(
                kind=used.asset_kind,
                route=finished.route,
                model=model,
                request=clean_request(request),
                task_id=finished.task_id,
                audio_id=used.audio_id,
                source_url=used.url,
                uri=uri,
                key=key,
                bytes=size,
                sha256=sha,
                content_type=ctype,
                usage=reported,
                created_at=datetime.now(UTC),
            )
            store.put_json(f"{key}.json", record.model_dump(mode="json"))
            records.append(record)
    # Keyed by the task: a retry or resume that finds it again counts it once.
    usage.record_usage(store, run, f"task:{finished.task_id}", finished.route, reported)
    record_assets(store, run, records)
    finished_dump = finished.model_dump(mode="json")
    await asyncio.to_thread(mark_done, store, finished.digest, records, finished=finished_dump)
    get_run_logger().info("stored %d asset(s) of task %s", len(records), finished.task_id)
    return records
