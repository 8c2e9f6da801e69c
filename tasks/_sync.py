"""Shared pieces of the tasks that call sync routes and store what comes back."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from anyint import AnyIntClient, MediaKind
from anyint._utils import canonical_json
from blocks import StoredAsset

from ._gateway import current_gateway
from .assets import AssetRecord, clean_request, record_assets

__all__ = ["request_key", "store_bytes", "store_url"]


def request_key(family: str, body: dict[str, Any]) -> str:
    """``assets/<family>/<digest>``: where a sync request's outputs go (same request, same key)."""
    digest = hashlib.sha256(canonical_json(body).encode()).hexdigest()[:20]
    return f"assets/{family}/{digest}"


def _recorded(
    route: str,
    model: str,
    body: dict[str, Any],
    kind: str,
    usage: dict[str, Any] | None,
    stored: list[tuple[StoredAsset, str | None]],
) -> list[AssetRecord]:
    """Manifest entries for ``(stored asset, source URL)`` pairs, added to the run's manifest."""
    records = [
        AssetRecord(
            kind=kind,
            route=route,
            model=model,
            request=clean_request(body),
            source_url=url,
            uri=asset.uri,
            key=asset.key,
            bytes=asset.bytes,
            sha256=asset.sha256,
            content_type=asset.content_type,
            usage=usage,
            created_at=datetime.now(UTC),
        )
        for asset, url in stored
    ]
    record_assets(current_gateway().store, records)
    return records


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
    stored: list[tuple[StoredAsset, str | None]] = [
        (store.put_bytes(f"{prefix}/{name}", data, ctype), None) for name, data, ctype in items
    ]
    return _recorded(route, model, body, kind, usage, stored)


async def store_url(
    client: AnyIntClient,
    route: str,
    model: str,
    body: dict[str, Any],
    items: list[tuple[str, str]],
    kind: MediaKind,
    usage: dict[str, Any] | None = None,
) -> list[AssetRecord]:
    """Download outputs ``(name, url)`` into the store and add them to the manifest."""
    store = current_gateway().store
    prefix = request_key(route.split(".")[0], body)
    stored: list[tuple[StoredAsset, str | None]] = [
        (await store.download(client, url, f"{prefix}/{name}", kind=kind), url)
        for name, url in items
    ]
    return _recorded(route, model, body, kind, usage, stored)
