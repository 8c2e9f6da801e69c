"""Copy task outputs into the asset store and record them in the run's manifest.

An asset is "ready" only once its task succeeded **and** a complete, checksummed copy sits in the
store. Assets are keyed by gateway task (``assets/<family>/<task_id>/<name>``) with a sidecar
record, so a re-run finds them instead of downloading again. Each flow run's
``runs/<flow_run_id>/manifest.json`` is rebuilt from one part file per asset, which keeps
concurrent fetches from overwriting each other.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from pydantic import BaseModel

from anyint import APIStatusError
from anyint._utils import redact, storable
from blocks import AssetStore

from . import routes
from ._gateway import current_gateway
from ._policy import RETRY_OPTIONS
from .wait import FinishedTask, OutputRef, outputs_of

__all__ = ["AssetRecord", "fetch", "record_assets", "run_prefix"]


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
    usage: dict[str, Any] | None = None
    created_at: datetime


def clean_request(body: dict[str, Any] | None) -> dict[str, Any] | None:
    """A request as it may be stored (see :func:`anyint._utils.storable`)."""
    if body is None:
        return None
    stored: dict[str, Any] = storable(body)
    return stored


def run_prefix() -> str:
    """``runs/<flow_run_id>`` for the current flow run (``runs/local`` outside one)."""
    return f"runs/{flow_run.get_id() or 'local'}"


def record_assets(store: AssetStore, records: list[AssetRecord]) -> str:
    """Add ``records`` to this flow run's manifest and return the manifest's key."""
    prefix = run_prefix()
    for record in records:
        part = hashlib.sha256(record.key.encode()).hexdigest()[:16]
        store.put_json(f"{prefix}/manifest.d/{part}.json", record.model_dump(mode="json"))
    parts = [store.read_json(k) for k in store.list(f"{prefix}/manifest.d")]
    parts.sort(key=lambda p: (p["created_at"], p["key"]))
    manifest = {
        "flow": flow_run.get_flow_name(),
        "flow_run_id": flow_run.get_id(),
        "parameters": _safe_parameters(),
        "assets": parts,
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


async def _store_output(
    store: AssetStore, client: Any, finished: FinishedTask, output: OutputRef, key: str
) -> tuple[str, int, str, str]:
    if output.content is not None:
        stored = store.put_bytes(key, output.content, "text/plain")
    else:
        assert output.url is not None
        stored = await store.download(client, output.url, key, kind=output.kind)  # type: ignore[arg-type]
    return stored.uri, stored.bytes, stored.sha256, stored.content_type


@task(
    name="fetch",
    task_run_name="fetch {finished.route} {finished.task_id}",
    cache_policy=NO_CACHE,
    **RETRY_OPTIONS,
)
async def fetch(
    finished: FinishedTask,
    request: dict[str, Any] | None = None,
    model: str | None = None,
) -> list[AssetRecord]:
    """Stream every output of ``finished`` into the asset store and add it to the manifest.

    An output already stored by an earlier run is reused. An expired URL (403/404) is refreshed
    once by querying the task again.

    Args:
        finished: What :func:`tasks.wait.wait` returned.
        request: The request body, recorded in the manifest without secrets or callback URL.
        model: Model id, recorded in the manifest.
    """
    spec = routes.route(finished.route)
    gateway = current_gateway()
    store = gateway.store
    logger = get_run_logger()
    records: list[AssetRecord] = []
    async with gateway.client() as client:
        for output in finished.outputs:
            key = f"assets/{spec.family}/{finished.task_id}/{output.name}"
            sidecar = f"{key}.json"
            if store.exists(sidecar) and store.exists(key):
                records.append(AssetRecord.model_validate(store.read_json(sidecar)))
                continue
            try:
                uri, size, sha, ctype = await _store_output(store, client, finished, output, key)
            except APIStatusError as exc:
                if exc.status_code not in (403, 404) or output.url is None:
                    raise
                logger.info(
                    "URL of %s expired; querying task %s again", output.name, finished.task_id
                )
                fresh = outputs_of(spec, await spec.query(client, finished.task_id), client)
                output = next(o for o in fresh if o.name == output.name)
                uri, size, sha, ctype = await _store_output(store, client, finished, output, key)
            record = AssetRecord(
                kind=output.asset_kind,
                route=finished.route,
                model=model,
                request=clean_request(request),
                task_id=finished.task_id,
                audio_id=output.audio_id,
                source_url=output.url,
                uri=uri,
                key=key,
                bytes=size,
                sha256=sha,
                content_type=ctype,
                created_at=datetime.now(UTC),
            )
            store.put_json(sidecar, record.model_dump(mode="json"))
            records.append(record)
    record_assets(store, records)
    logger.info("stored %d asset(s) of task %s", len(records), finished.task_id)
    return records
