"""Usage totals of real flow runs equal what the emulator says it reported, family by family.

The expected sums are read from the emulator's own records (``GET /_emulator/calls``: the usage
each sync answer reported; ``GET /_emulator/tasks``: the usage each task's answers reported) and
added up here, never by :mod:`tasks.usage`. The result, the manifest and the summary artifact
must all show the same totals; a price table turns them into a cost marked as estimated.
"""

from __future__ import annotations

import json
from typing import Any, Literal

import httpx
import pytest
from prefect.client.orchestration import get_client

from flows.assistant import assistant
from flows.describe_images import describe_images
from flows.generate_image import generate_image
from flows.generate_video import generate_video
from flows.music_video import music_video
from tasks.usage import UsageSummary
from tests.conftest import EmulatedGateway, call_log

#: Reported fields that are not amounts (sizes, a resolution, a balance): never summed.
NOT_AMOUNTS = {"width", "height", "SR", "creditsRemaining"}

#: The test's own table: made-up prices, any numbers do.
PRICES = {
    "currency": "EUR",
    "prices": {
        "anthropic": {"input_tokens": 0.5, "output_tokens": 2},
        "gemini": {"promptTokenCount": 0.25, "candidatesTokenCount": 1},
        "dashscope": {"image_count": 3, "duration": 0.5, "video_count": 1},
        "suno": {"creditsConsumed": 10},
    },
}


def _family(path: str) -> str:
    return path.strip("/").split("/", 1)[0]


def _add(into: dict[str, dict[str, float]], family: str, usage: dict[str, Any]) -> None:
    units = into.setdefault(family, {})
    for name, value in usage.items():
        if name not in NOT_AMOUNTS and isinstance(value, int | float):
            units[name] = units.get(name, 0) + value


async def emulator_reported(control: httpx.AsyncClient) -> dict[str, dict[str, float]]:
    """Family → unit → sum of what the emulator's answers reported (calls once, tasks once)."""
    totals: dict[str, dict[str, float]] = {}
    for call in await call_log(control):
        if call["usage"] is not None:
            _add(totals, _family(call["path"]), call["usage"])
    for task in (await control.get("/_emulator/tasks")).json()["tasks"]:
        if task["usage"] is not None:
            _add(totals, task["family"], task["usage"])
    return totals


async def latest_markdown(key: str) -> str:
    async with get_client() as client:
        artifact = await client.read_latest_artifacts()
        found = [a for a in artifact if a.key == key]
    assert found, f"no artifact {key}"
    return str(found[0].data)


def check_shown(gateway: EmulatedGateway, result: UsageSummary, manifest_key: str) -> None:
    """The manifest carries the result's totals and estimate, and every entry a usage object."""
    manifest = gateway.store.read_json(manifest_key)
    assert manifest["usage_totals"] == result.usage_totals
    cost = result.estimated_cost.model_dump(mode="json") if result.estimated_cost else None
    assert manifest["estimated_cost"] == cost
    assert manifest["assets"] and all(isinstance(a["usage"], dict) for a in manifest["assets"])


def with_prices(gateway: EmulatedGateway, key: str = "prices/table.json") -> str:
    gateway.store.put_json(key, PRICES)
    return key


def expected_cost(totals: dict[str, dict[str, float]]) -> float:
    prices: dict[str, dict[str, float]] = PRICES["prices"]  # type: ignore[assignment]
    return sum(
        amount * prices.get(family, {}).get(unit, 0)
        for family, units in totals.items()
        for unit, amount in units.items()
    )


@pytest.mark.parametrize("route", ["gemini", "dashscope"])
async def test_generate_image_on_a_sync_route(
    gateway: EmulatedGateway,
    control: httpx.AsyncClient,
    route: Literal["gemini", "dashscope"],
) -> None:
    table = with_prices(gateway)
    result = await generate_image(route=route, price_table=table)
    reported = await emulator_reported(control)
    assert set(reported) == {route} and reported[route]  # the emulator did report usage
    assert result.usage_totals == reported
    assert all(image.usage for image in result.images)
    check_shown(gateway, result, result.manifest_key)
    cost = result.estimated_cost
    assert cost is not None and cost.estimated and cost.currency == "EUR"
    assert cost.total == pytest.approx(expected_cost(reported))
    summary = await latest_markdown("generate-image")
    assert "## Usage" in summary and "(estimated)" in summary
    for unit, amount in reported[route].items():
        assert f"{unit} {amount:g}" in summary


async def test_generate_video_dashscope_task_and_kling_reporting_nothing(
    gateway: EmulatedGateway, control: httpx.AsyncClient, fast_music: httpx.AsyncClient
) -> None:
    video = await generate_video(route="dashscope", poll_interval=0.05)
    reported = await emulator_reported(control)
    assert reported["dashscope"]["video_count"] == 1
    assert video.usage_totals == reported and video.estimated_cost is None
    check_shown(gateway, video, video.manifest_key)
    assert video.videos[0].usage["SR"]  # on the asset: everything the task reported

    kling = await generate_video(route="kling", poll_interval=0.05)
    assert kling.usage_totals == {"kling": {}}  # §10.4: Kling reports no usage
    assert all(v.usage == {} for v in kling.videos)
    check_shown(gateway, kling, kling.manifest_key)


async def test_music_video_counts_style_credits_once(
    gateway: EmulatedGateway, control: httpx.AsyncClient, fast_music: httpx.AsyncClient
) -> None:
    result = await music_video(
        style_assist=True,
        lyrics=False,
        stems=None,
        wav=False,
        cover_art=False,
        music_video=False,
        poll_interval=0.05,
        price_table=with_prices(gateway),
    )
    reported = await emulator_reported(control)
    assert reported == {"suno": {"creditsConsumed": pytest.approx(0.4)}}
    assert result.usage_totals == reported
    check_shown(gateway, result, result.manifest_key)
    assert result.estimated_cost is not None
    assert result.estimated_cost.total == pytest.approx(expected_cost(reported))


@pytest.mark.parametrize("route", ["anthropic", "gemini"])
async def test_describe_images(
    gateway: EmulatedGateway,
    control: httpx.AsyncClient,
    route: Literal["anthropic", "gemini"],
) -> None:
    result = await describe_images(route=route)
    reported = await emulator_reported(control)
    assert set(reported) == {route} and reported[route]
    assert result.usage_totals == reported
    summary = await latest_markdown("describe-images")
    assert "## Usage" in summary


async def test_assistant_counts_its_turns_and_its_tools_subflow(
    gateway: EmulatedGateway, control: httpx.AsyncClient
) -> None:
    result = await assistant(route="anthropic", price_table=with_prices(gateway))
    reported = await emulator_reported(control)
    # Two Anthropic turns and the generate-image subflow's Gemini image.
    assert set(reported) == {"anthropic", "gemini"}
    assert result.usage_totals == reported
    check_shown(gateway, result, result.manifest_key)
    assert result.estimated_cost is not None
    assert result.estimated_cost.total == pytest.approx(expected_cost(reported))


@pytest.mark.parametrize(
    ("content", "named"),
    [
        (b"{not json", r"prices/bad\.json: the file is not JSON"),
        (
            json.dumps({"currency": "EUR", "prices": {"anthropic": {"tokens": 1}}}).encode(),
            r"prices/bad\.json: prices\.anthropic\.tokens is not a unit anthropic reports",
        ),
        (
            json.dumps({"currency": "EUR", "prices": {"kling": {"units": 1}}}).encode(),
            r"prices/bad\.json: prices\.kling\.units is not a unit kling reports \(none",
        ),
        (json.dumps({"prices": {}}).encode(), r"prices/bad\.json: currency must be"),
    ],
)
async def test_a_bad_price_table_fails_before_any_call(
    gateway: EmulatedGateway, control: httpx.AsyncClient, content: bytes, named: str
) -> None:
    gateway.store.put_bytes("prices/bad.json", content, "application/json")
    with pytest.raises(ValueError, match=rf"parameter 'price_table': {named}.*Fix the table"):
        await generate_image(price_table="prices/bad.json")
    assert await call_log(control) == []  # not even the free model check


async def test_a_missing_price_table_is_named(
    gateway: EmulatedGateway, control: httpx.AsyncClient
) -> None:
    with pytest.raises(ValueError, match=r"prices/none\.json: the file is not in the store"):
        await generate_video(route="dashscope", price_table="prices/none.json")
    assert await call_log(control) == []
