"""``anyint-flows tasks``: the submit journal, and the two ways out of doubt."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from ._output import console, err

if TYPE_CHECKING:
    from blocks import AssetStore

__all__ = ["app"]

app = typer.Typer(
    help=(
        "The submit journal: every gateway step, its state and task id. A step in doubt is "
        "resolved with `adopt` (a task you found on the gateway) or `forget` (submit afresh)."
    ),
    invoke_without_command=True,
    no_args_is_help=False,
)

StoreOption = Annotated[
    str | None, typer.Option("--store", help="Asset store URL (default: ANYINT_STORE or ./output).")
]


def _store(url: str | None) -> AssetStore:
    from blocks import AssetStore

    return AssetStore(base_url=url) if url else AssetStore()


@app.callback()
def list_journal(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
    store: StoreOption = None,
    state: Annotated[
        str | None,
        typer.Option(help="Only entries in this state (in_doubt, created, failed, done ...)."),
    ] = None,
) -> None:
    """List the journal (newest attempt of every step)."""
    if ctx.invoked_subcommand is not None:
        return
    from tasks.resolve import list_entries

    rows = [e.summary() for e in list_entries(_store(store), state)]
    if as_json:
        print(json.dumps(rows, indent=2, default=str))
        return
    table = Table(title=f"Submit journal ({len(rows)} steps)")
    for column in ("digest", "route", "state", "task id", "flow run", "key", "sent"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            row["digest"][:16],
            row["route"],
            row["state"],
            row["task_id"] or "-",
            (row["flow_run_id"] or "-")[:8],
            row["idempotency_key"] or "-",
            (row["sent_at"] or "-")[:19],
        )
    console.print(table)


@app.command()
def adopt(
    digest: Annotated[str, typer.Argument(help="The step's digest (16+ characters).")],
    task_id: Annotated[str, typer.Argument(help="The task you found on the gateway.")],
    store: StoreOption = None,
    credentials_block: Annotated[
        str | None, typer.Option(help="AnyIntCredentials block (else ANYINT_* env).")
    ] = None,
) -> None:
    """Record TASK_ID as the step's task: the next run or resume waits on it, paying nothing."""
    from tasks import GatewayConfig
    from tasks.resolve import adopt as adopt_task

    async def go() -> None:
        gateway = await GatewayConfig.resolve(credentials_block)
        if store:
            gateway = gateway.model_copy(update={"store_url": store})
        entry = await adopt_task(gateway, digest, task_id)
        console.print(f"step {entry.digest[:16]} ({entry.route}) now waits on task {task_id}")

    _guard(go)


@app.command()
def forget(
    digest: Annotated[str, typer.Argument(help="The step's digest (16+ characters).")],
    store: StoreOption = None,
) -> None:
    """Clear the step, so its next run or resume submits afresh (and pays again)."""
    from tasks.resolve import forget as forget_entry

    async def go() -> None:
        entry = forget_entry(_store(store), digest)
        console.print(f"step {entry.digest[:16]} ({entry.route}) forgotten: the next run submits")

    _guard(go)


def _guard(go: Callable[[], Coroutine[Any, Any, None]]) -> None:
    try:
        asyncio.run(go())
    except (LookupError, ValueError) as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None
