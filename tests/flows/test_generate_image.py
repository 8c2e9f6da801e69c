"""``generate-image`` end to end against the emulator: stored PNGs, manifest, re-runs."""

from __future__ import annotations

import hashlib
import io
from typing import Any

import httpx
import pytest
from PIL import Image

from flows.generate_image import gemini_aspect_ratio, generate_image
from tasks import AssetRecord
from tests.conftest import EmulatedGateway, paid_calls
from tests.flows.conftest import Refusal


def stored_png(gateway: EmulatedGateway, record: AssetRecord) -> Image.Image:
    """The stored file, after checking it against its manifest entry."""
    data = gateway.read(record.key)
    assert hashlib.sha256(data).hexdigest() == record.sha256 and len(data) == record.bytes
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    return image


async def test_no_parameters_then_a_shared_key_pays_nothing(
    gateway: EmulatedGateway, control: httpx.AsyncClient
) -> None:
    first = await generate_image(idempotency_key="lighthouse")
    assert (first.route, first.model, first.reused) == (
        "gemini",
        "gemini-3.1-flash-image-preview",
        False,
    )
    (record,) = first.images
    stored_png(gateway, record)
    assert len(await paid_calls(control)) == 1
    manifest = gateway.store.read_json(first.manifest_key)
    assert manifest["flow"] == "generate-image"
    assert [a["sha256"] for a in manifest["assets"]] == [record.sha256]

    second = await generate_image(idempotency_key="lighthouse")
    assert len(await paid_calls(control)) == 1  # served from the first run's stored images
    assert second.reused and [r.sha256 for r in second.images] == [record.sha256]
    assert second.manifest_key != first.manifest_key  # each run still gets its own manifest
    assert gateway.store.read_json(second.manifest_key)["assets"][0]["key"] == record.key

    # Same request, streamed: still nothing to pay.
    third = await generate_image(stream=True, idempotency_key="lighthouse")
    assert len(await paid_calls(control)) == 1 and third.reused

    fresh = await generate_image()  # no key: a new flow run is a new image under a new key
    assert len(await paid_calls(control)) == 2 and not fresh.reused
    assert fresh.images[0].key != record.key and gateway.store.exists(record.key)


async def test_a_shared_key_regenerates_when_the_store_lost_the_files(
    gateway: EmulatedGateway, control: httpx.AsyncClient
) -> None:
    params: dict[str, Any] = {
        "prompt": "a lost kite",
        "route": "dashscope",
        "size": "1328*1328",
        "idempotency_key": "kite",
    }
    first = await generate_image(**params)
    gateway.store.remove(first.images[0].key)
    second = await generate_image(**params)
    assert len(await paid_calls(control)) == 2 and not second.reused
    assert stored_png(gateway, second.images[0]).size == (1328, 1328)


async def test_dashscope_png_at_the_requested_size(gateway: EmulatedGateway) -> None:
    result = await generate_image(prompt="a tall poster", route="dashscope", size="928*1664")
    (record,) = result.images
    assert stored_png(gateway, record).size == (928, 1664)
    assert result.model == "qwen-image-plus" and record.source_url
    assert record.request and record.request["parameters"] == {"size": "928*1664"}


async def test_gemini_streamed_at_the_requested_aspect_ratio(gateway: EmulatedGateway) -> None:
    result = await generate_image(prompt="a wide beach", size="16:9", stream=True)
    (record,) = result.images
    width, height = stored_png(gateway, record).size
    assert abs(width / height - 16 / 9) < 0.01
    assert record.request
    assert record.request["generationConfig"]["imageConfig"] == {"aspectRatio": "16:9"}


def test_gemini_sizes_are_aspect_ratios_it_offers() -> None:
    assert gemini_aspect_ratio("3:4") == "3:4"
    with pytest.raises(ValueError, match=r"parameter 'size'.*1920\*1080; pass size='16:9'"):
        gemini_aspect_ratio("1920*1080")  # pixels Gemini cannot be given, not quietly 16:9
    with pytest.raises(ValueError, match=r"parameter 'size'.*10:7, not offered"):
        gemini_aspect_ratio("1000*700")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model": "no-such-model"}, "parameter 'model'.*no-such-model"),
        ({"model": "claude-sonnet-4-6"}, "parameter 'model'.*claude-sonnet-4-6"),
        ({"route": "dashscope", "model": "gemini-3.1-flash-image-preview"}, "parameter 'model'"),
        ({"prompt": "x" * 2001}, "parameter 'prompt'"),
        ({"prompt": "   "}, "parameter 'prompt'"),
        ({"size": "1000*700"}, "parameter 'size'.*10:7"),
        ({"route": "dashscope", "size": "500*500"}, "parameter 'size'.*qwen-image-plus"),
        ({"route": "dashscope", "size": "16:9"}, "parameter 'size'.*W\\*H"),
        ({"size": "big"}, "parameter 'size'"),
        ({"route": "dashscope", "stream": True}, "parameter 'stream'"),
        ({"route": "midjourney"}, "parameter 'route'"),
    ],
)
async def test_bad_parameters_fail_before_any_paid_call(
    refused: Refusal, kwargs: dict[str, Any], message: str
) -> None:
    await refused(generate_image, kwargs, message)
