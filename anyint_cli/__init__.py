"""``anyint-flows``: run the product's flows, resolve doubt, start the emulator and the receiver.

Commands:
    demo       music video + image + video against the embedded emulator (no key, no internet)
    run        any flow, against ANYINT_BASE_URL/ANYINT_API_KEY or ``--emulator``; ``--resume``
    tasks      the submit journal: list, ``adopt`` a task found on the gateway, ``forget`` a step
    setup      ready a Prefect server for the deployments: blocks, work pool (idempotent)
    emulator   start the local gateway emulator
    callbacks  start the callback receiver
"""

from __future__ import annotations

import os

# Before Prefect is imported (it reads its settings once): the embedded temporary server of a
# CLI run may take far longer than Prefect's 20 s default to start on a busy small machine.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
# The temporary server would send telemetry, and log an ERROR for each failure when offline.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from typing import Annotated

import typer

from . import journal, routes, run, servers, setup
from ._state import options
from .run import FLOWS

__all__ = ["FLOWS", "app", "main"]

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
app.command()(run.demo)
app.command()(run.run)
app.add_typer(journal.app, name="tasks")
app.command()(setup.setup)
app.command("emulator")(servers.emulator)
app.command("callbacks")(servers.callbacks)
app.command("routes")(routes.routes)


@app.callback()
def _options(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
) -> None:
    options["debug"] = debug


def main() -> None:
    """Console entry point."""
    app()
