"""``python -m emulator [--host H] [--port P] [--timing fast|realistic] [--seed N]
[--media full|lean] [--no-control]``.

Without ``--seed`` the emulator is unseeded: its ids never repeat across instances.
"""

from __future__ import annotations

import argparse
import logging

import uvicorn

from .app import create_app
from .lean import MEDIA_MODES


def main(argv: list[str] | None = None) -> None:
    """Run the emulator in the foreground and print its base URL."""
    parser = argparse.ArgumentParser(prog="python -m emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)  # off 8787: Dask's dashboard port
    parser.add_argument("--timing", choices=["fast", "realistic"], default="realistic")
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        help="deterministic ids and media for this seed (default: unseeded, ids never repeat)",
    )
    parser.add_argument(
        "--media",
        choices=list(MEDIA_MODES),
        default="full",
        help="lean: render each kind of file once and reuse it (load tests; ids stay unique)",
    )
    parser.add_argument("--no-control", action="store_true", help="disable /_emulator/*")
    args = parser.parse_args(argv)
    # httpx logs every request URL at INFO, and callback URLs carry the receiver's secret token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    app = create_app(
        control=not args.no_control, timing=args.timing, seed=args.seed, media=args.media
    )
    print(f"AnyInt emulator listening on http://{args.host}:{args.port}", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", lifespan="off")


if __name__ == "__main__":
    main()
