"""``python -m callbacks [--host 127.0.0.1] [--port 8788] [--store URL] [--max-body BYTES]``.

The token comes from ``ANYINT_CALLBACK_TOKEN`` (never a command-line flag: argv is visible to
every user of the machine in ``ps``). uvicorn's access log stays on, with the token masked.
"""

from __future__ import annotations

import argparse

import uvicorn
from fastapi import FastAPI

from blocks.store import AssetStore

from .app import DEFAULT_MAX_BODY, create_callback_app, install_token_filter


def build_server(argv: list[str] | None = None) -> uvicorn.Server:
    """Parse ``argv`` and build (without starting) the uvicorn server for the receiver.

    Raises:
        ValueError: No or malformed ``ANYINT_CALLBACK_TOKEN``.
    """
    parser = argparse.ArgumentParser(prog="python -m callbacks", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8788)
    parser.add_argument(
        "--store",
        default=None,
        help="fsspec URL of the flows' store (default: ANYINT_STORE, else ./output, as the flows)",
    )
    parser.add_argument("--max-body", type=int, default=DEFAULT_MAX_BODY)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    app = create_callback_app(AssetStore(base_url=args.store), max_body=args.max_body)
    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        lifespan="off",
        # A callback must be answered within 15 s; nothing here should take long, so a hung
        # client gets dropped instead of holding a worker.
        timeout_keep_alive=5,
    )
    # uvicorn.Config has just (re)configured logging: put the mask on after it, to be sure.
    install_token_filter()
    return uvicorn.Server(config)


def main(argv: list[str] | None = None) -> None:
    """Run the receiver in the foreground."""
    try:
        server = build_server(argv)
    except ValueError as exc:
        raise SystemExit(f"python -m callbacks: {exc}") from None
    app = server.config.app
    store_url = app.state.receiver.store_url if isinstance(app, FastAPI) else "?"
    print(
        f"AnyInt callback receiver on http://{server.config.host}:{server.config.port}, "
        f"writing to {store_url}"
    )
    server.run()


if __name__ == "__main__":
    main()
