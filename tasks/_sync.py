"""Shared pieces of the tasks that call sync routes and store what comes back.

A sync step has no gateway task id, so its identity alone (:func:`tasks.journal.identity`: route,
request and the run's intent) keys its outputs (``assets/<family>/<digest>/<name>``) and its
journal entry. A retry or resume of the same flow run finds the stored outputs (sha256 checked)
and pays nothing; a new flow run is new work under a new key, so nothing earlier is overwritten.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from anyint import AnyIntClient, MediaKind
from anyint.records import storable
from blocks import AssetStore, StoredAsset

from . import journal, usage
from .assets import AssetRecord, clean_request, record_assets, stored_record
from .gateway import Connection
from .run import RunConfig

__all__ = ["SyncStep", "sync_step"]


@dataclass
class SyncStep:
    """One sync call of a flow run: where its outputs go, and whether they are there already.

    Attributes:
        run: The flow run's configuration.
        connection: Its gateway and store in this process.
        route: Route name (``dashscope.multimodal-generation``).
        model: Model id, recorded in the manifest.
        body: The request body (its identity, and recorded without secrets).
        digest: The step's identity.
        prefix: Store folder of its outputs.
    """

    run: RunConfig
    connection: Connection
    route: str
    model: str
    body: dict[str, Any]
    digest: str = field(init=False)
    prefix: str = field(init=False)

    def __post_init__(self) -> None:
        self.digest = journal.identity(
            self.run.gateway.base_url, self.run.intent, self.route, self.body
        )
        self.prefix = f"assets/{self.route.split('.')[0]}/{self.digest[:24]}"

    @property
    def store(self) -> AssetStore:
        """The store the outputs go to."""
        return self.connection.store

    def stored(self) -> list[AssetRecord] | None:
        """The outputs an earlier execution of this intent stored and verified, or None."""
        entry = journal.latest(self.store, self.digest)
        if entry is None or entry.state != "done" or not entry.outputs:
            return None
        records = [stored_record(self.store, o.key) for o in entry.outputs]
        if any(
            r is None or r.sha256 != o.sha256 for r, o in zip(records, entry.outputs, strict=True)
        ):
            return None  # something was lost or changed: call the route again
        kept = [r for r in records if r is not None]
        self._count(kept[0].usage if kept else {})
        record_assets(self.store, self.run, kept)
        return kept

    def _count(self, reported: dict[str, Any]) -> None:
        """Count this call's usage in the run's totals (once, however often it is found)."""
        usage.record_usage(self.store, self.run, f"call:{self.digest}", self.route, reported)

    def _record(
        self,
        kind: str,
        reported: dict[str, Any] | None,
        stored: list[tuple[StoredAsset, str | None]],
        **fields: Any,
    ) -> list[AssetRecord]:
        records = [
            AssetRecord(
                kind=kind,
                route=self.route,
                model=self.model,
                request=clean_request(self.body),
                source_url=url,
                uri=asset.uri,
                key=asset.key,
                bytes=asset.bytes,
                sha256=asset.sha256,
                content_type=asset.content_type,
                usage=reported or {},
                created_at=datetime.now(UTC),
                **fields,
            )
            for asset, url in stored
        ]
        for record in records:
            self.store.put_json(f"{record.key}.json", record.model_dump(mode="json"))
        self._count(reported or {})
        record_assets(self.store, self.run, records)
        self._mark_done(records)
        return records

    def _mark_done(self, records: list[AssetRecord]) -> None:
        latest = journal.latest(self.store, self.digest)
        entry = journal.JournalEntry(
            digest=self.digest,
            attempt=0 if latest is None else latest.attempt + 1,
            route=self.route,
            state="done",
            intent=self.run.intent,
            idempotency_key=self.run.idempotency_key,
            flow_run_id=self.run.flow_run_id,
            owner=self.run.owner,
            sent_at=journal.now_utc(),
            created_at=journal.now_utc(),
            request=storable(self.body),
            outputs=[journal.StoredOutput(key=r.key, sha256=r.sha256) for r in records],
        )
        journal.claim(self.store, entry)  # a concurrent run of the same key recorded it: fine

    def store_bytes(
        self,
        items: list[tuple[str, bytes, str]],
        kind: str,
        reported: dict[str, Any] | None = None,
        **fields: Any,
    ) -> list[AssetRecord]:
        """Store inline outputs ``(name, data, content_type)`` and add them to the manifest.

        ``reported`` is the call's usage (:func:`tasks.usage.usage_of`), ``fields`` further
        :class:`AssetRecord` fields of every output (``task_id``, ``audio_id``, ``metadata``).
        """
        stored: list[tuple[StoredAsset, str | None]] = [
            (self.store.put_bytes(f"{self.prefix}/{name}", data, ctype), None)
            for name, data, ctype in items
        ]
        return self._record(kind, reported, stored, **fields)

    async def store_urls(
        self,
        client: AnyIntClient,
        items: list[tuple[str, str]],
        kind: MediaKind,
        reported: dict[str, Any] | None = None,
    ) -> list[AssetRecord]:
        """Download outputs ``(name, url)`` into the store and add them to the manifest."""
        stored: list[tuple[StoredAsset, str | None]] = [
            (await self.store.download(client, url, f"{self.prefix}/{name}", kind=kind), url)
            for name, url in items
        ]
        return await asyncio.to_thread(self._record, kind, reported, stored)


async def sync_step(run: RunConfig, route: str, model: str, body: dict[str, Any]) -> SyncStep:
    """The :class:`SyncStep` of one sync call of ``run``."""
    return SyncStep(run, await run.gateway.connect(), route, model, body)
