"""Sync-route tasks against the emulator: understanding, Gemini and DashScope images."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import pytest
from PIL import Image
from prefect import flow

from flows import start_run
from tasks.generation import dashscope_image, gemini_image
from tasks.images import load_image
from tasks.understanding import describe_images
from tests._media import data_url, png_bytes
from tests.conftest import EmulatedGateway, created_task_ids, resume_flow_run


@pytest.mark.parametrize("route", ["anthropic", "gemini"])
async def test_describe_inline_image(gateway: EmulatedGateway, route: str) -> None:
    image = data_url(png_bytes((220, 20, 20)))
    model = "claude-sonnet-4-6" if route == "anthropic" else "gemini-2.0-flash"

    @flow
    async def describe() -> str:
        run = await start_run({})
        return (await describe_images(run, [image], "What is this?", model, route)).answer

    answer = await describe()
    assert "40" in answer and "30" in answer and "red" in answer.lower()


def test_local_paths_stay_inside_the_allowed_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANYINT_INPUT_DIR", str(tmp_path))
    (tmp_path / "ok.png").write_bytes(png_bytes((0, 0, 255)))
    (tmp_path / "notes.txt").write_text("hello")
    assert load_image("ok.png").media_type == "image/png"
    for bad, message in [
        ("../etc/passwd", "outside"),
        ("/etc/hosts", "outside"),
        ("missing.png", "no such file"),
        ("notes.txt", "not a PNG"),
        ("ftp://x/y.png", "not supported"),
        ("data:image/png,raw", "base64"),
    ]:
        with pytest.raises(ValueError, match=message):
            load_image(bad)


async def test_gemini_image_streamed_and_stored(gateway: EmulatedGateway) -> None:
    @flow
    async def make() -> list:
        run = await start_run({})
        return await gemini_image(
            run, "a lighthouse", "gemini-3.1-flash-image-preview", stream=True
        )

    (record,) = await make()
    image = Image.open(io.BytesIO(gateway.read(record.key)))
    assert image.format == "PNG" and record.kind == "image" and record.bytes > 0


async def test_dashscope_image_at_requested_size(
    gateway: EmulatedGateway, control: httpx.AsyncClient
) -> None:
    @flow
    async def make() -> list:
        run = await start_run({})
        return await dashscope_image(run, "a poster", "qwen-image-plus", size="328*200")

    (record,) = await make()
    assert Image.open(io.BytesIO(gateway.read(record.key))).size == (328, 200)
    assert record.source_url and record.request and record.request["model"] == "qwen-image-plus"
    assert await created_task_ids(control) == []  # a sync route creates no task


@flow
async def poster(fail: bool = False) -> list:
    run = await start_run({})
    records = await dashscope_image(run, "a poster", "qwen-image-plus", size="328*200")
    if fail:
        raise RuntimeError("a later step failed")
    return records


def _generations(log: list[dict]) -> int:
    return sum(1 for c in log if c["path"].endswith("/multimodal-generation/generation"))


async def test_a_sync_step_is_paid_once_per_intent(
    gateway: EmulatedGateway, control: httpx.AsyncClient
) -> None:
    state = await poster(fail=True, return_state=True)
    assert state.is_failed()
    log = (await control.get("/_emulator/calls")).json()["calls"]
    assert _generations(log) == 1
    # Resuming the flow run finds the stored image (sha256 checked): not paid again.
    resumed = await resume_flow_run(poster, state.state_details.flow_run_id)
    assert resumed.is_failed()
    log = (await control.get("/_emulator/calls")).json()["calls"]
    assert _generations(log) == 1
    # A new flow run is new work, stored under a new key: the first image stays as it was.
    (first,) = [r for r in gateway.store.list("assets") if r.endswith(".png")]
    (fresh,) = await poster()
    log = (await control.get("/_emulator/calls")).json()["calls"]
    assert _generations(log) == 2 and fresh.key != first
    assert gateway.store.exists(first)
