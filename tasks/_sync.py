"""Shared pieces of the tasks that call sync routes and store what comes back."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from anyint import AnyIntClient
from anyint._utils import canonical_json

from ._gateway import current_gateway
from .assets import AssetRecord, clean_request, record_assets

__all__ = ["request_key", "store_bytes", "store_url"]


def request_key(family: str, body: dict[str, Any]) -> str:
    """``assets/<family>/<digest>``: where a sync request's outputs go (same request, same key)."""
    digest = hashlib.sha256(canonical_json(body).encode()).hexdigest()[:20]
    return f"assets/{family}/{digest}"


def _record(
    route: str,
    model: str,
    body: dict[str, Any],
    kind: str,
    key: str,
    uri: str,
    size: int,
    sha: str,
    ctype: str,
    source_url: str | None,
    usage: dict[str, Any] | None,
) -> AssetRecord:
    return AssetRecord(
        kind=kind,
        route=route,
        model=model,
        request=clean_request(body),
        source_url=source_url,
        uri=uri,
        key=key,
        bytes=size,
        sha256=sha,
        content_type=ctype,
        usage=usage,
        created_at=datetime.now(UTC),
    )


def store_bytes(
    route: str,
    model: str,
    body: dict[str, Any],
    items: list[tuple[str, bytes, str]],
    kind: str,
    usage: dict[str, Any] | None = None,
) -> list[AssetRecord]:
    """Store inline outputs ``(name, data, content_type)`` and add them to the manifest."""
    store = current_gateway().store
    prefix = request_key(route.split(".")[0], body)
    records = []
    for name, data, ctype in items:
        stored = store.put_bytes(f"{prefix}/{name}", data, ctype)
        records.append(
            _record(
                route,
                model,
                body,
                kind,
                stored.key,
                stored.uri,
                stored.bytes,
                stored.sha256,
                ctype,
                None,
                usage,
            )
        )
    record_assets(store, records)
    return records


async def store_url(
    client: AnyIntClient,
    route: str,
    model: str,
    body: dict[str, Any],
    items: list[tuple[str, str]],
    kind: str,
    usage: dict[str, Any] | None = None,
) -> list[AssetRecord]:
    """Download outputs ``(name, url)`` into the store and add them to the manifest."""
    store = current_gateway().store
    prefix = request_key(route.split(".")[0], body)
    records = []
    for name, url in items:
        stored = await store.download(client, url, f"{prefix}/{name}", kind=kind)  # type: ignore[arg-type]
        records.append(
            _record(
                route,
                model,
                body,
                kind,
                stored.key,
                stored.uri,
                stored.bytes,
                stored.sha256,
                stored.content_type,
                url,
                usage,
            )
        )
    record_assets(store, records)
    return records
