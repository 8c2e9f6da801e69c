"""What the CLI prints: one console each for results and errors, and the stored-asset table."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel
from rich.console import Console
from rich.measure import Measurement
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
        _print_assets(assets)
    manifest = data.get("manifest_key") if isinstance(data, dict) else None
    if manifest:
        console.print(f"manifest: [bold]{manifest}[/bold]")
    if not assets:
        console.print_json(json.dumps(data, default=str))


def _print_assets(assets: list[Any]) -> None:
    """A table when it fits the console; else one unbroken line per asset.

    A store key is copied to fetch the file, so it is never cut or folded mid-word: a table
    cell narrower than the key would do one or the other.
    """
    rows = [(r.kind, r.key, str(r.bytes), r.sha256[:12]) for r in assets]
    table = Table(title="Stored assets")
    for column in ("kind", "key in the store", "bytes", "sha256"):
        table.add_column(column, no_wrap=True)
    for row in rows:
        table.add_row(*row)
    unbounded = console.options.update_width(10**6)
    if Measurement.get(console, unbounded, table).maximum <= console.width:
        console.print(table)
        return
    console.print("[bold]Stored assets[/bold] (kind, bytes, sha256, key in the store)")
    for kind, key, size, digest in rows:
        console.print(f"{kind}  {size}  {digest}  {key}", soft_wrap=True, highlight=False)


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
