"""``generate-image`` on the Kling task routes and with DashScope's reference images, ``n`` and
``seed``, end to end against the emulator; bad input refused before any paid call."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from flows.generate_image import generate_image
from tests._media import data_url, png_bytes
from tests.conftest import EmulatedGateway, created_task_ids, paid_calls
from tests.flows.conftest import Refusal
from tests.flows.test_generate_image import stored_png

RED = data_url(png_bytes((220, 20, 20), (320, 320)))


@pytest.fixture(autouse=True)
async def instant_tasks(control: httpx.AsyncClient) -> AsyncIterator[None]:
    """Kling tasks finish at the first poll, so no test waits for the poll backoff."""
    await control.post("/_emulator/timing", json={"family": "kling", "after_seconds": 0})
    yield


async def test_kling_task_route_stores_n_images(
    gateway: EmulatedGateway, control: httpx.AsyncClient
) -> None:
    result = await generate_image(prompt="two lanterns", route="kling", n=2, size="1:1")
    assert (result.route, result.model) == ("kling", "kling-v2-1")
    assert [c["path"] for c in await paid_calls(control)] == [
        "/transtreams/kling/v1/images/generations"
    ]
    assert await created_task_ids(control) == [result.task_id]
    assert [stored_png(gateway, r).size for r in result.images] == [(1024, 1024)] * 2
    assert {r.task_id for r in result.images} == {result.task_id}
    manifest = gateway.store.read_json(result.manifest_key)
    assert [a["sha256"] for a in manifest["assets"]] == [r.sha256 for r in result.images]
    assert manifest["assets"][0]["route"] == "kling.image"


async def test_kling_reference_image_from_a_local_file(
    gateway: EmulatedGateway, input_dir: Path
) -> None:
    (input_dir / "ref.png").write_bytes(png_bytes((20, 20, 220), (320, 320)))
    result = await generate_image(
        prompt="in this style", route="kling", images=["ref.png"], negative_prompt="text"
    )
    (record,) = result.images
    stored_png(gateway, record)
    assert record.request is not None
    assert record.request["image"].startswith("<inline image")  # raw base64, not in the manifest
    assert record.request["negative_prompt"] == "text"


async def test_kling_omni_route_with_a_reference(gateway: EmulatedGateway) -> None:
    result = await generate_image(prompt="wide", route="kling-omni", size="16:9", images=[RED])
    assert (result.route, result.model) == ("kling-omni", "kling-v3-omni")
    (record,) = result.images
    assert stored_png(gateway, record).size == (1024, 576)
    assert record.route == "kling.omni-image" and record.request is not None
    (ref,) = record.request["image_list"]
    assert ref["image_url"].startswith("<inline image")


async def test_a_shared_key_on_a_kling_route_pays_once(
    gateway: EmulatedGateway, control: httpx.AsyncClient
) -> None:
    params: dict[str, Any] = {"route": "kling-omni", "idempotency_key": "omni-image"}
    first = await generate_image(**params)
    second = await generate_image(**params)
    assert await created_task_ids(control) == [first.task_id]
    assert second.reused and not first.reused
    assert [r.sha256 for r in second.images] == [r.sha256 for r in first.images]


async def test_dashscope_reference_image_and_seed(
    gateway: EmulatedGateway, control: httpx.AsyncClient
) -> None:
    params: dict[str, Any] = {"prompt": "a poster", "route": "dashscope", "images": [RED]}
    first = await generate_image(**params, seed=7)
    again = await generate_image(**params, seed=7)  # a new run: paid again, same picture
    other = await generate_image(**params, seed=8)
    assert len(await paid_calls(control)) == 3
    assert first.images[0].sha256 == again.images[0].sha256 != other.images[0].sha256
    request = first.images[0].request
    assert request is not None and request["parameters"] == {"seed": 7}
    image_block, text_block = request["input"]["messages"][0]["content"]
    assert "image" in image_block and text_block == {"text": "a poster"}
    stored_png(gateway, first.images[0])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 2}, "parameter 'n'.*gemini"),
        ({"route": "dashscope", "n": 2}, "parameter 'n'.*qwen-image-plus"),
        ({"route": "kling", "n": 10}, "parameter 'n'"),
        ({"seed": 1}, "parameter 'seed'.*dashscope"),
        ({"route": "kling", "seed": 1}, "parameter 'seed'"),
        ({"route": "dashscope", "seed": -1}, "parameter 'seed'"),
        ({"negative_prompt": "blur"}, "parameter 'negative_prompt'.*gemini"),
        ({"images": [RED]}, "parameter 'images'.*gemini.*no reference"),
        ({"route": "kling", "images": [RED, RED]}, "parameter 'images'.*at most 1"),
        ({"route": "dashscope", "images": ["../x.png"]}, r"images\[0\].*outside"),
        ({"route": "kling-omni", "images": ["ftp://h/x.png"]}, r"images\[0\]: ftp"),
        ({"route": "kling", "size": "1920*1080"}, "parameter 'size'.*pass size='16:9'"),
        ({"route": "kling-omni", "size": "5:4"}, "parameter 'size'.*kling-omni"),
        ({"route": "kling", "model": "qwen-image-plus"}, "parameter 'model'.*qwen-image-plus"),
        ({"route": "kling", "model": "kling-v3"}, "parameter 'model'.*kling-v3"),
        ({"route": "kling-omni", "model": "kling-v2-1"}, "parameter 'model'.*route 'kling'"),
        ({"route": "kling", "model": "kling-v3-omni"}, "parameter 'model'.*'kling-omni'"),
        ({"route": "kling", "stream": True}, "parameter 'stream'"),
    ],
)
async def test_bad_route_options_fail_before_any_paid_call(
    refused: Refusal, kwargs: dict[str, Any], message: str
) -> None:
    await refused(generate_image, kwargs, message)
