"""``describe-images`` end to end against the emulator."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from prefect import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.client.schemas.sorting import ArtifactSort

from emulator.media import describe_image
from flows.describe_images import SAMPLE_IMAGE, describe_images
from tests._media import data_url, png_bytes
from tests.conftest import EmulatedGateway
from tests.flows.conftest import Refusal

#: The emulator writes sizes with a real multiplication sign ("64\u00d748 pixels").
TIMES = "\u00d7"


def test_sample_image_is_a_small_orange_png() -> None:
    facts = describe_image(base64.b64decode(SAMPLE_IMAGE.partition(",")[2]))
    assert (facts.format, facts.width, facts.height, facts.color_name) == ("PNG", 64, 48, "orange")


async def test_runs_with_no_parameters(gateway: EmulatedGateway) -> None:
    result = await describe_images()
    assert f"64{TIMES}48" in result.answer and "orange" in result.answer
    assert (result.model, result.route, result.images) == ("claude-sonnet-4-6", "anthropic", 1)
    async with get_client() as client:
        (artifact,) = await client.read_artifacts(  # the newest: this run's
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["describe-images"])),
            sort=ArtifactSort.CREATED_DESC,
            limit=1,
        )
    assert result.answer in str(artifact.data) and "inline image" in str(artifact.data)


@pytest.mark.parametrize("route", ["anthropic", "gemini"])
async def test_answer_names_colour_and_size(
    gateway: EmulatedGateway, route: str, input_dir: Path
) -> None:
    (input_dir / "green.png").write_bytes(png_bytes((20, 160, 60), (40, 30)))
    images = [data_url(png_bytes((220, 20, 20), (72, 24))), "green.png"]
    result = await describe_images(images=images, question="What do you see?", route=route)
    # The gemini route swaps in its own default model when the caller left the default.
    assert result.model == ("gemini-2.0-flash" if route == "gemini" else "claude-sonnet-4-6")
    first, second = result.answer.split("Image 2:")
    assert f"72{TIMES}24" in first and "red" in first
    assert f"40{TIMES}30" in second and "green" in second
    assert result.usage


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model": "no-such-model"}, "parameter 'model'.*no-such-model"),
        ({"model": "qwen-image-plus"}, "parameter 'model'.*qwen-image-plus"),
        ({"images": ["../outside.png"]}, r"images\[0\].*outside the allowed folder"),
        ({"images": ["ftp://example.com/a.png"]}, r"images\[0\].*ftp"),
        ({"images": []}, "parameter 'images'"),
        ({"question": "?" * 4001}, "parameter 'question'"),
        ({"route": "openai"}, "parameter 'route'"),
        ({"stream": "sometimes"}, "parameter 'stream'"),
    ],
)
async def test_bad_parameters_fail_before_any_paid_call(
    refused: Refusal, kwargs: dict[str, Any], message: str
) -> None:
    await refused(describe_images, kwargs, message)
