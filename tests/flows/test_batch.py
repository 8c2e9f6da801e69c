"""The ``batch`` flow against the emulator: a list, a JSONL file and a CSV file of prompts, each
→ one stored image; a resume pays only for what was not stored; bad input is refused before any
paid call, naming the line."""

from __future__ import annotations

import hashlib
import io
from datetime import datetime
from typing import Any

import httpx
import pytest
from PIL import Image
from prefect import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    ArtifactFilterKey,
    FlowFilter,
    FlowFilterName,
    TaskRunFilter,
    TaskRunFilterFlowRunId,
)
from prefect.client.schemas.sorting import FlowRunSort

from flows.batch import BatchResult, batch
from tests.conftest import EmulatedGateway, paid_calls, resume_flow_run
from tests.flows.conftest import Refusal

GEMINI_POST = "POST /gemini/v1beta/models/*:generateContent"


def _check_stored(gateway: EmulatedGateway, result: BatchResult) -> None:
    """One image per item, each in the manifest with the sha256 of the stored bytes."""
    manifest = gateway.store.read_json(result.manifest_key)
    assert manifest["flow"] == "batch"
    by_key = {entry["key"]: entry for entry in manifest["assets"]}
    assert [item.index for item in result.items] == list(range(len(result.items)))
    for item in result.items:
        (image,) = item.images
        data = gateway.read(image.key)
        assert hashlib.sha256(data).hexdigest() == by_key[image.key]["sha256"] == image.sha256
        with Image.open(io.BytesIO(data)) as picture:
            assert picture.format == "PNG"
    keys = [i.images[0].key for i in result.items]
    assert len(set(keys)) == len(keys) == len(by_key)  # one asset each, none shared


async def test_a_list_makes_one_image_each_with_a_summary(
    gateway: EmulatedGateway, control: httpx.AsyncClient
) -> None:
    prompts = ["a red kite", "a blue boat", "a red kite"]  # the same prompt twice: two images
    result = await batch(prompts=prompts, max_parallel=2)

    assert [i.prompt for i in result.items] == prompts and result.reused == 0
    _check_stored(gateway, result)
    assert len(await paid_calls(control)) == 3
    flow_run_id = result.manifest_key.split("/")[1]
    async with get_client() as client:
        (summary,) = await client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=["batch-summary"]),
                flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]),
            )
        )
    assert "a blue boat" in str(summary.data) and "at most 2 at once" in str(summary.data)


async def test_the_default_run_takes_no_parameters(gateway: EmulatedGateway) -> None:
    result = await batch()
    assert len(result.items) == 2 and result.route == "gemini"
    _check_stored(gateway, result)


async def test_max_parallel_bounds_the_items_in_flight(gateway: EmulatedGateway) -> None:
    result = await batch(prompts=[f"tile {i}" for i in range(5)], max_parallel=2)
    async with get_client() as client:
        (fan_out,) = await client.read_flow_runs(  # this run's fan-out: the latest one
            flow_filter=FlowFilter(name=FlowFilterName(any_=["batch-fan-out"])),
            sort=FlowRunSort.START_TIME_DESC,
            limit=1,
        )
        runs = await client.read_task_runs(
            task_run_filter=TaskRunFilter(flow_run_id=TaskRunFilterFlowRunId(any_=[fan_out.id]))
        )
    spans = [(r.start_time, r.end_time) for r in runs if r.name.startswith("batch item")]
    assert len(spans) == len(result.items) == 5

    def overlap(at: datetime) -> int:
        return sum(1 for start, end in spans if start and end and start <= at < end)

    assert max(overlap(start) for start, _ in spans if start) <= 2


async def test_a_jsonl_file_with_item_fields(gateway: EmulatedGateway) -> None:
    lines = [
        '{"prompt": "a tall poster", "id": "poster", "size": "928*1664", "seed": 7}',
        "",  # blank lines are skipped
        '{"prompt": "a square tile"}',
    ]
    gateway.store.put_bytes("inputs/batch.jsonl", "\n".join(lines).encode(), "application/jsonl")
    result = await batch(prompts_file="inputs/batch.jsonl", route="dashscope", size="1328*1328")

    poster, tile = result.items
    assert (poster.id, tile.id) == ("poster", None)
    assert poster.images[0].request is not None and tile.images[0].request is not None
    assert poster.images[0].request["parameters"] == {"size": "928*1664", "seed": 7}
    assert tile.images[0].request["parameters"] == {"size": "1328*1328"}
    with Image.open(io.BytesIO(gateway.read(poster.images[0].key))) as picture:
        assert picture.size == (928, 1664)
    _check_stored(gateway, result)


async def test_a_csv_file_with_a_prompt_column(gateway: EmulatedGateway) -> None:
    text = 'id,prompt,size\nwide,"a beach, at noon",16:9\nplain,a pebble,\n'
    gateway.store.put_bytes("inputs/batch.csv", text.encode("utf-8-sig"), "text/csv")
    result = await batch(prompts_file="inputs/batch.csv")

    wide, plain = result.items
    assert (wide.id, wide.prompt, plain.prompt) == ("wide", "a beach, at noon", "a pebble")
    with Image.open(io.BytesIO(gateway.read(wide.images[0].key))) as picture:
        assert picture.size[0] > picture.size[1]  # 16:9 for this item only
    _check_stored(gateway, result)


async def test_a_resume_pays_only_for_the_failed_item(
    gateway: EmulatedGateway, control: httpx.AsyncClient
) -> None:
    # One of the three image calls is refused (400: not retried), so the run fails.
    fault = {"match": GEMINI_POST, "fault": "status", "status": 400}
    (await control.post("/_emulator/faults", json=fault)).raise_for_status()
    prompts = ["a moth", "a lamp", "a window"]
    state = await batch(prompts=prompts, return_state=True)
    assert state.is_failed() and "1 of 3 batch items failed" in str(state.message)
    assert len(await paid_calls(control)) == 3

    resumed = await resume_flow_run(batch, state.state_details.flow_run_id)
    result: BatchResult = await resumed.aresult()
    assert len(await paid_calls(control)) == 4  # only the failed item was made again
    assert result.reused == 2 and [i.prompt for i in result.items] == prompts
    _check_stored(gateway, result)

    again: BatchResult = await (
        await resume_flow_run(batch, state.state_details.flow_run_id)
    ).aresult()
    assert len(await paid_calls(control)) == 4 and again.reused == 3
    assert [i.images for i in again.items] == [i.images for i in result.items]


BAD_FILES: list[tuple[str, str, dict[str, Any], str]] = [
    ("a.jsonl", '{"prompt": "ok"}\n{"prompt": "x",,}\n', {}, r"a\.jsonl line 2, column 16: not"),
    ("b.jsonl", '{"prompt": "ok"}\n["x"]\n', {}, r"b\.jsonl line 2: expected an object"),
    ("c.jsonl", '{"promt": "typo"}\n', {}, r"c\.jsonl line 1: .*field 'promt': unknown field"),
    ("d.jsonl", '{"prompt": "ok", "seed": 1}\n', {}, r"d\.jsonl line 1: parameter 'seed'"),
    ("e.jsonl", "\n\n", {}, r"e\.jsonl: no prompts"),
    ("f.csv", "title,size\nx,1:1\n", {}, r"f\.csv line 1: the header has no 'prompt' column"),
    ("g.csv", "prompt,seed\nok,1\nok,minus\n", {"route": "dashscope"}, r"g\.csv line 3: colu"),
    ("h.csv", "prompt\nok\nok,extra\n", {}, r"h\.csv line 3: more cells"),
    ("i.csv", 'prompt\n"never closed\n', {}, r"i\.csv line 2: not CSV"),
    ("j.csv", "prompt\n   \n", {}, r"j\.csv line 2: column 'prompt': must not be blank"),
]


@pytest.mark.parametrize(("name", "text", "extra", "pattern"), BAD_FILES)
async def test_a_bad_file_is_refused_naming_its_line(
    gateway: EmulatedGateway,
    refused: Refusal,
    name: str,
    text: str,
    extra: dict[str, Any],
    pattern: str,
) -> None:
    gateway.store.put_bytes(f"inputs/{name}", text.encode(), "text/plain")
    await refused(batch, {"prompts_file": f"inputs/{name}", **extra}, pattern)


@pytest.mark.parametrize(
    ("parameters", "pattern"),
    [
        ({"prompts": []}, r"parameter 'prompts': no prompts"),
        ({"prompts": ["ok", " "]}, r"parameter 'prompts' item 1: .*must not be blank"),
        ({"prompts": ["ok"], "prompts_file": "x.csv"}, r"'prompts' and 'prompts_file'"),
        ({"prompts_file": "missing.jsonl"}, r"prompts_file': missing\.jsonl is not in the store"),
        ({"prompts_file": "prompts.txt"}, r"parameter 'prompts_file'"),
        ({"prompts": ["ok"], "max_parallel": 0}, r"parameter 'max_parallel'"),
        ({"prompts": ["ok"], "route": "gemini", "size": "7:3"}, r"parameter 'size'"),
    ],
)
async def test_bad_parameters_are_refused_before_any_call(
    gateway: EmulatedGateway, refused: Refusal, parameters: dict[str, Any], pattern: str
) -> None:
    await refused(batch, parameters, pattern)
