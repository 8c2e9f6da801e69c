"""Run flows against an in-process emulator: the demo, ``--emulator`` runs, tests, benchmarks.

The flows are configured exactly as a user configures them, through ``ANYINT_*`` variables: a
base URL that only this process can reach (its transport registered with
:func:`tasks.register_transport`), a placeholder key and a store. Nothing else is special.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager

from emulator.app import EmulatorApp
from emulator.server import IN_PROCESS_BASE_URL, EmulatorTransport
from tasks import register_transport, unregister_transport
from tasks.inputs import InputHost, register_input_host, unregister_input_host

__all__ = ["EMULATOR_KEY", "embedded_gateway"]

#: Any non-empty key works with the emulator.
EMULATOR_KEY = "sk-emulator-demo"


@contextmanager
def embedded_gateway(
    app: EmulatorApp,
    store: str,
    *,
    api_key: str = EMULATOR_KEY,
    base_url: str = IN_PROCESS_BASE_URL,
) -> Iterator[str]:
    """Point flows of this process at ``app`` and ``store`` for the duration of the block.

    Args:
        app: The emulator.
        store: Asset store URL.
        api_key: The key to send (any non-empty one works).
        base_url: The in-process base URL; tests pass a unique one per emulator, so journal
            identities of two emulators never meet.

    Yields:
        The emulator's in-process base URL.
    """
    register_transport(base_url, EmulatorTransport(app))
    # Input files (music-remix audio) are handed to the emulator, which serves them as its own
    # assets: a local store needs no web server when the gateway is this in-process emulator.
    register_input_host(base_url, _input_host(app, base_url))
    saved = {k: os.environ.get(k) for k in ("ANYINT_BASE_URL", "ANYINT_API_KEY", "ANYINT_STORE")}
    os.environ.update(ANYINT_BASE_URL=base_url, ANYINT_API_KEY=api_key, ANYINT_STORE=store)
    try:
        yield base_url
    finally:
        unregister_transport(base_url)
        unregister_input_host(base_url)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _input_host(app: EmulatorApp, base_url: str) -> InputHost:
    """Serve an input file as an emulator asset (one URL per content while it is valid)."""

    def host(data: bytes, content_type: str, name: str) -> tuple[str, float | None]:
        key = f"input:{hashlib.sha256(data).hexdigest()}"
        url = app.backend.serve(base_url, key, name, content_type, lambda: data)
        return url, app.backend.asset_ttl

    return host
