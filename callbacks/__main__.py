"""``python -m callbacks [--host 127.0.0.1] [--port 8788] [--store URL] [--max-body BYTES]``.

The token comes from ``ANYINT_CALLBACK_TOKEN`` (never a command-line flag: argv is visible to
every user of the machine in ``ps``). uvicorn's access log stays on, with the token masked.

A client that stalls cannot hold a socket for long (:mod:`callbacks.limits`):

- ``--header-timeout SECONDS`` (default 5): the request line and headers must arrive within it,
  else the connection is closed.
- ``--body-timeout SECONDS`` (default 10): the whole body must arrive within it once the headers
  are in, else the answer is 408 and the connection is closed.
- ``--max-connections N`` (default 100): past N open connections, the one waiting longest on its
  client is shed (a new one is refused only when all N are busy answering).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from blocks.store import AssetStore

from .app import DEFAULT_MAX_BODY, create_callback_app, install_token_filter
from .limits import (
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_HEADER_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS,
    ConnectionLimits,
    guarded_protocol,
)


def _positive(kind: type[float] | type[int]) -> Callable[[str], float]:
    """An argparse ``type`` that refuses zero, negatives and NaN, naming the fix."""

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text!r}")
        return value

    return parse


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
    parser.add_argument(
        "--header-timeout",
        type=_positive(float),
        default=DEFAULT_HEADER_TIMEOUT,
        help="seconds for the request line and headers, else the connection is closed "
        f"(default {DEFAULT_HEADER_TIMEOUT:g})",
    )
    parser.add_argument(
        "--body-timeout",
        type=_positive(float),
        default=DEFAULT_BODY_TIMEOUT,
        help="seconds for the whole body after the headers, else 408 and close "
        f"(default {DEFAULT_BODY_TIMEOUT:g})",
    )
    parser.add_argument(
        "--max-connections",
        type=_positive(int),
        default=DEFAULT_MAX_CONNECTIONS,
        help="open connections at most; past it the longest-waiting one is shed "
        f"(default {DEFAULT_MAX_CONNECTIONS})",
    )
    args = parser.parse_args(argv)
    limits = ConnectionLimits(args.header_timeout, args.body_timeout, args.max_connections)
    app = create_callback_app(AssetStore(base_url=args.store), max_body=args.max_body)
    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        lifespan="off",
        # uvicorn's h11 protocol plus read deadlines and a connection cap (callbacks.limits).
        http=guarded_protocol(limits),
        ws="none",  # no websocket route: an Upgrade header must not switch protocols
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
