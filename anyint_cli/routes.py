"""``anyint-flows routes [--json]``: every gateway route, the Prefect task that wraps it and the
flows that use it (from :mod:`anyint_cli.catalogue`)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from .catalogue import NEEDS, ROUTES, GatewayRoute, flows_using

__all__ = ["route_rows", "routes"]


def route_rows() -> list[dict[str, Any]]:
    """The ``--json`` form: one object per route, with exactly the documented keys."""
    return [
        {
            "method": r.method,
            "path": r.path,
            "family": r.family,
            "mode": r.mode,
            "task": r.task,
            "flows": flows_using(r),
        }
        for r in ROUTES
    ]


def _start_with(rows: list[GatewayRoute]) -> str:
    """What to start with for a need: its flows, else its tasks, else that nothing wraps it."""
    flows = sorted({f for r in rows for f in flows_using(r)})
    if flows:
        return ", ".join(f"flow {f}" for f in flows)
    tasks = sorted({r.task for r in rows if r.task and r.mode != "query"})
    return ", ".join(f"task {t}" for t in tasks) or "not wrapped: call the gateway directly"


def routes(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a JSON list (method, path, family, mode, ...).")
    ] = False,
) -> None:
    """List every gateway route with the Prefect task that wraps it and the flows that use it."""
    if as_json:
        typer.echo(json.dumps(route_rows(), indent=2))
        return
    console = Console(soft_wrap=True)
    choose = Table(title="How to choose", show_lines=False)
    choose.add_column("Need")
    choose.add_column("Start with")
    for need, label in NEEDS.items():
        choose.add_row(label, _start_with([r for r in ROUTES if r.serves(need)]))
    console.print(choose)
    for need, label in NEEDS.items():
        table = Table(title=label, title_justify="left")
        for column in ("Method", "Path", "Mode", "Task", "Flows"):
            table.add_column(column)
        for r in (r for r in ROUTES if r.serves(need)):
            table.add_row(r.method, r.path, r.mode, r.task or "-", ", ".join(flows_using(r)) or "-")
        console.print(table)
