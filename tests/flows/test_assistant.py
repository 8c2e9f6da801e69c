"""``assistant`` end to end against the emulator: user tools and built-in media tools on both
routes, a tool that raises, the step cap, images in the prompt, streaming, and bad input."""

from __future__ import annotations

from typing import Any, Literal

import httpx
import pytest
from prefect import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.client.schemas.sorting import ArtifactSort

from flows.assistant import assistant
from tests._media import data_url, png_bytes
from tests.conftest import EmulatedGateway, paid_calls
from tests.flows.conftest import Refusal
from tests.tasks import sample_tools

TOOLS = "tests.tasks.sample_tools"
Route = Literal["gemini", "anthropic"]
ROUTES: list[Route] = ["gemini", "anthropic"]


@pytest.fixture(autouse=True)
def _fresh_calls() -> None:
    sample_tools.CALLS.clear()


async def latest_artifact(key: str) -> str:
    """The newest artifact under ``key`` (this test's run made it last)."""
    async with get_client() as client:
        (artifact,) = await client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
            sort=ArtifactSort.CREATED_DESC,
            limit=1,
        )
    return str(artifact.data)


def transcript(gateway: EmulatedGateway, key: str) -> dict[str, Any]:
    document: dict[str, Any] = gateway.store.read_json(key)
    return document


async def test_no_parameters_plans_and_makes_an_image(
    gateway: EmulatedGateway, control: httpx.AsyncClient
) -> None:
    result = await assistant()
    assert (result.route, result.model, result.stop_reason, result.steps) == (
        "gemini",
        "gemini-2.0-flash",
        "answered",
        2,
    )
    (call,) = result.tool_calls
    assert call.name == "generate_image" and call.ok
    assert call.arguments["prompt"].startswith("an art deco poster")  # from prompt="..."
    # The generate-image flow ran as a subflow and stored its PNG; this run lists it too.
    kinds = [a.kind for a in result.assets]
    assert kinds == ["transcript", "image"]
    image = result.assets[1]
    assert gateway.read(image.key).startswith(b"\x89PNG")
    manifest = gateway.store.read_json(result.manifest_key)
    assert manifest["flow"] == "assistant"
    assert {a["key"] for a in manifest["assets"]} == {a.key for a in result.assets}
    assert gateway.store.read_json(call.result["manifest_key"])["flow"] == "generate-image"
    assert "generate_image reported" in result.answer
    # Two model turns and one image: nothing else was paid for.
    paths = [c["path"] for c in await paid_calls(control)]
    assert sum(":generateContent" in p for p in paths) == 3  # 2 turns + the image itself
    summary = await latest_artifact("assistant")
    assert "`generate_image`" in summary and "## Answer" in summary


async def test_a_shared_key_pays_for_a_built_in_tools_media_once(
    gateway: EmulatedGateway, control: httpx.AsyncClient
) -> None:
    first = await assistant(route="anthropic", idempotency_key="poster")
    second = await assistant(route="anthropic", idempotency_key="poster")
    images = [c for c in await paid_calls(control) if ":generateContent" in c["path"]]
    assert len(images) == 1  # the second run's generate-image subflow handed back the first PNG
    assert second.tool_calls[0].result["reused"] is True
    assert first.assets[1].sha256 == second.assets[1].sha256
    assert first.transcript_key != second.transcript_key  # each run keeps its own transcript


@pytest.mark.parametrize("route", ROUTES)
async def test_a_user_tool_by_import_path(gateway: EmulatedGateway, route: Route) -> None:
    result = await assistant(
        prompt="What is the weather in Oslo? Ask get_weather with unit=fahrenheit days=3.",
        tools=[f"{TOOLS}:get_weather"],
        route=route,
    )
    assert sample_tools.CALLS == [
        ("get_weather", {"city": "Oslo", "unit": "fahrenheit", "days": 3})
    ]
    assert result.stop_reason == "answered" and result.steps == 2
    assert "57" in result.answer and "fahrenheit" in result.answer
    (record,) = result.tool_calls
    assert record.ok and record.result == {"city": "Oslo", "temperature": 57, "unit": "fahrenheit"}
    history = transcript(gateway, result.transcript_key)["history"]
    assert len(history) == 4  # prompt, call, result, answer
    assert "57" in str(history[2])  # the result went back to the model


@pytest.mark.parametrize("route", ROUTES)
async def test_a_tool_that_raises_goes_back_to_the_model(
    gateway: EmulatedGateway, route: Route
) -> None:
    result = await assistant(
        prompt="Please call explode with reason=kaput.",
        tools=[f"{TOOLS}:get_weather", f"{TOOLS}:explode"],
        route=route,
    )
    assert sample_tools.CALLS == [("explode", {"reason": "kaput"})]
    (record,) = result.tool_calls
    assert not record.ok and record.error and "RuntimeError" in record.error
    assert "kaput" in record.error and record.result == {"error": record.error}
    # The loop went on: the model got the error as the tool's result and answered.
    assert result.stop_reason == "answered" and result.steps == 2 and "kaput" in result.answer
    sent = transcript(gateway, result.transcript_key)["history"][2]
    assert "kaput" in str(sent)
    if route == "anthropic":
        assert sent["content"][0]["is_error"] is True
    assert "**error:**" in await latest_artifact("assistant")


async def test_a_chain_of_tools_and_the_step_cap(gateway: EmulatedGateway) -> None:
    prompt = 'First get_weather for Oslo, then count_words with text="one two three".'
    tools = [f"{TOOLS}:get_weather", f"{TOOLS}:count_words"]
    done = await assistant(prompt=prompt, tools=tools, route="anthropic", max_steps=3)
    assert [name for name, _ in sample_tools.CALLS] == ["get_weather", "count_words"]
    assert sample_tools.CALLS[1] == ("count_words", {"text": "one two three"})
    assert done.stop_reason == "answered" and done.steps == 3

    sample_tools.CALLS.clear()
    capped = await assistant(prompt=prompt, tools=tools, route="gemini", max_steps=2)
    # The second turn asked for count_words: at the cap, it is not run.
    assert [name for name, _ in sample_tools.CALLS] == ["get_weather"]
    assert capped.stop_reason == "max_steps" and capped.steps == 2
    assert "max_steps=2" in capped.answer and "count_words" in capped.answer
    assert "Stopped at the step cap" in await latest_artifact("assistant")


async def test_images_in_the_prompt_and_streaming(gateway: EmulatedGateway) -> None:
    image = data_url(png_bytes((220, 20, 20), (40, 30)))
    result = await assistant(
        prompt="What colour is this image?", tools=[], images=[image], stream=True
    )
    assert result.stop_reason == "answered" and not result.tool_calls
    assert "red" in result.answer.lower()
    assert result.answer in await latest_artifact("assistant-stream")
    # The transcript records which image was sent, not its bytes.
    stored = str(transcript(gateway, result.transcript_key)["history"][0])
    assert "base64 chars, sha256" in stored and image.partition(",")[2][:40] not in stored


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tools": ["get_weather"]}, r"parameter 'tools\[0\]': .*not an import path"),
        ({"tools": [f"{TOOLS}:nope"]}, r"parameter 'tools\[0\]': .*does not resolve"),
        (
            {"tools": ["builtin:generate_image", f"{TOOLS}:star_args"]},
            r"parameter 'tools\[1\]': .*\*values cannot be declared",
        ),
        ({"tools": [f"{TOOLS}:opaque"]}, r"parameter 'tools\[0\]': .*cannot be declared"),
        (
            {"tools": ["builtin:generate_image", "builtin:generate_image"]},
            r"parameter 'tools\[1\]': .*names must differ",
        ),
        ({"route": "openai"}, "parameter 'route'"),
        ({"max_steps": 0}, "parameter 'max_steps'"),
        ({"max_steps": 51}, "parameter 'max_steps'"),
        ({"prompt": "   "}, "parameter 'prompt': must not be blank"),
        ({"images": ["../outside.png"]}, r"images\[0\]: .*outside"),
        ({"model": "no-such-model"}, "parameter 'model'.*no-such-model"),
    ],
)
async def test_bad_input_is_refused_before_any_paid_call(
    refused: Refusal, kwargs: dict[str, Any], message: str
) -> None:
    await refused(assistant, kwargs, message)
