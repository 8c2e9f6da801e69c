"""What the CLI prints: one console each for results and errors, and the stored-asset table."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

__all__ = ["console", "err", "show"]

console = Console()
# soft_wrap: an error line stays one line in a CI log or a file, whatever the width.
err = Console(stderr=True, soft_wrap=True)


def show(result: Any) -> None:
    """Print a flow's result: a table of its stored assets and the manifest, else its JSON."""
    from tasks import AssetRecord

    data = result.model_dump() if hasattr(result, "model_dump") else result
    assets = _find_assets(result, AssetRecord)
    if assets:
        table = Table(title="Stored assets")
        for column in ("kind", "key in the store", "bytes", "sha256"):
            table.add_column(column, overflow="fold")
        for record in assets:
            table.add_row(record.kind, record.key, str(record.bytes), record.sha256[:12])
        console.print(table)
    manifest = data.get("manifest_key") if isinstance(data, dict) else None
    if manifest:
        console.print(f"manifest: [bold]{manifest}[/bold]")
    if not assets:
        console.print_json(json.dumps(data, default=str))


def _find_assets(value: Any, kind: type[Any]) -> list[Any]:
    if isinstance(value, kind):
        return [value]
    if isinstance(value, BaseModel):
        value = {k: getattr(value, k) for k in type(value).model_fields}
    if isinstance(value, dict):
        return [a for v in value.values() for a in _find_assets(v, kind)]
    if isinstance(value, list | tuple):
        return [a for v in value for a in _find_assets(v, kind)]
    return []
