"""``anyint-flows emulator`` and ``anyint-flows callbacks``: the two local servers."""

from __future__ import annotations

from typing import Annotated

import typer

__all__ = ["callbacks", "emulator"]


def emulator(
    host: str = "127.0.0.1",
    port: int = 8765,
    timing: Annotated[str, typer.Option(help="fast or realistic.")] = "realistic",
) -> None:
    """Start the local AnyInt gateway emulator."""
    from emulator.__main__ import main as emulator_main

    emulator_main(["--host", host, "--port", str(port), "--timing", timing])


def callbacks(
    host: str = "127.0.0.1",
    port: int = 8788,
    store: Annotated[
        str | None,
        typer.Option(
            help="Store URL the flows write to (default: ANYINT_STORE, else ./output, as the "
            "flows resolve it); wait tasks only see callbacks stored there."
        ),
    ] = None,
) -> None:
    """Start the callback receiver (needs ANYINT_CALLBACK_TOKEN)."""
    from callbacks.__main__ import main as callbacks_main

    callbacks_main(["--host", host, "--port", str(port), *(["--store", store] if store else [])])
