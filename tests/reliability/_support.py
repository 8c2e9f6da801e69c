"""Helpers shared by the reliability tests: a quick-retry gateway, call-log and store checks."""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import io
import posixpath
from dataclasses import dataclass
from typing import Any

import httpx
from PIL import Image

from anyint import AnyIntClient, RetryPolicy
from blocks import AssetStore
from blocks.store import PARTIAL_MARK
from callbacks import create_callback_app
from emulator.app import EmulatorApp
from tasks import Gateway

#: A recognisable callback token (the secret path segment of callback URLs).
CALLBACK_TOKEN = "cbtok-canary-5d1e8b7f2a9c4e06"
#: Where the in-process callback receiver pretends to live.
RECEIVER_URL = "http://receiver.reliability.test"


@dataclass(frozen=True)
class FastRetryGateway(Gateway):
    """A gateway whose clients retry transient failures after 10-50 ms instead of 0.5-8 s.

    Only the backoff is shortened: which failures are retried, how often, and the honouring of
    ``Retry-After`` stay exactly as in production.
    """

    def client(self) -> AnyIntClient:
        client = super().client()
        client.retry = RetryPolicy(
            max_retries=client.retry.max_retries, initial_delay=0.01, max_delay=0.05
        )
        return client


def png_bytes(
    color: tuple[int, int, int] = (220, 20, 20), size: tuple[int, int] = (40, 30)
) -> bytes:
    """A small real PNG."""
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def data_url(data: bytes, media_type: str = "image/png") -> str:
    """``data:<type>;base64,...`` of ``data``."""
    return f"data:{media_type};base64,{base64.b64encode(data).decode()}"


def wire_receiver(emulator: EmulatorApp, store: AssetStore, setenv: Any) -> Any:
    """Start a callback receiver on ``store`` and make the emulator deliver to it in process.

    Args:
        emulator: The emulated gateway.
        store: The store the receiver writes its inbox to (the tasks' store).
        setenv: ``monkeypatch.setenv``: submits then put
            ``{RECEIVER_URL}/callbacks/{CALLBACK_TOKEN}/<family>`` into callback URLs.

    Returns:
        The receiver's FastAPI app.
    """
    app = create_callback_app(store, token=CALLBACK_TOKEN, emit_events=False)
    emulator.backend.callbacks.transport = httpx.ASGITransport(app=app)
    setenv("ANYINT_CALLBACK_URL", RECEIVER_URL)
    setenv("ANYINT_CALLBACK_TOKEN", CALLBACK_TOKEN)
    return app


# -- the emulator's call log ----------------------------------------------------------------------


async def calls(control: httpx.AsyncClient) -> list[dict[str, Any]]:
    """Every gateway request the emulator received (asset downloads are not logged)."""
    return (await control.get("/_emulator/calls")).json()["calls"]  # type: ignore[no-any-return]


def matching(log: list[dict[str, Any]], match: str) -> list[dict[str, Any]]:
    """Calls matching ``"METHOD /path-glob"`` (the fault syntax)."""
    method, _, path = match.partition(" ")
    return [c for c in log if c["method"] == method and fnmatch.fnmatchcase(c["path"], path)]


def processed(log: list[dict[str, Any]], match: str) -> int:
    """How many matching calls the gateway carried out (answered 2xx, or did the work and then
    lost the answer): what a sync route would bill."""
    return sum(
        1
        for c in matching(log, match)
        if 200 <= c["status"] < 300 or c["fault"] in ("drop_after", "truncate")
    )


async def inject(control: httpx.AsyncClient, match: str, **fault: Any) -> None:
    """Queue one emulator fault (see ``emulator/control.py``)."""
    response = await control.post("/_emulator/faults", json={"match": match, **fault})
    assert response.status_code == 200, response.text


# -- the asset store ------------------------------------------------------------------------------


def raw_keys(store: AssetStore) -> list[str]:
    """Every file in the store, temporary ones included (``store.list`` hides those)."""
    fs, root = store._fs()
    if not fs.exists(root):
        return []
    return sorted(posixpath.relpath(p, root) for p in fs.find(root))


def read_bytes(store: AssetStore, key: str) -> bytes:
    """The content of ``key``."""
    with store.open(key) as handle:
        data: bytes = handle.read()
    return data


def assert_store_consistent(store: AssetStore) -> list[dict[str, Any]]:
    """No temporary file anywhere, and every recorded asset matches its record.

    Checks each asset sidecar (``<key>.json`` beside an asset) and each run manifest entry: the
    stored bytes have the recorded size and sha256.

    Returns:
        Every manifest entry found (for further checks).
    """
    keys = raw_keys(store)
    partial = [k for k in keys if PARTIAL_MARK in k]
    assert not partial, f"temporary files left in the store: {partial}"
    entries: list[dict[str, Any]] = []
    for key in keys:
        if key.startswith("runs/") and key.endswith("/manifest.json"):
            entries += store.read_json(key)["assets"]
        elif key.startswith("assets/") and key.endswith(".json") and key[:-5] in keys:
            entries.append(store.read_json(key))
    for entry in entries:
        data = read_bytes(store, entry["key"])
        assert (len(data), hashlib.sha256(data).hexdigest()) == (entry["bytes"], entry["sha256"]), (
            f"{entry['key']} does not match its record"
        )
    return entries
