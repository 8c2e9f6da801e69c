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
    header_timeout: Annotated[
        float | None, typer.Option(help="Seconds for a request's headers (default 5).")
    ] = None,
    body_timeout: Annotated[
        float | None, typer.Option(help="Seconds for a body once its headers are in (default 10).")
    ] = None,
    max_connections: Annotated[
        int | None, typer.Option(help="Open connections at most (default 100).")
    ] = None,
) -> None:
    """Start the callback receiver (needs ANYINT_CALLBACK_TOKEN)."""
    from callbacks.__main__ import main as callbacks_main

    # Unset limits are left to `python -m callbacks`, whose defaults (callbacks.limits) rule.
    limits = {
        "--header-timeout": header_timeout,
        "--body-timeout": body_timeout,
        "--max-connections": max_connections,
    }
    flags = [part for flag, v in limits.items() if v is not None for part in (flag, str(v))]
    store_flag = ["--store", store] if store else []
    callbacks_main(["--host", host, "--port", str(port), *store_flag, *flags])
