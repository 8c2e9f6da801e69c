"""``tasks.usage``: what each family's answers report, run totals counted once per source, price
tables checked and applied, and records and manifests from before usage was kept."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from anyint.types.anthropic import AnthropicMessage
from anyint.types.dashscope import DashScopeImageResponse, DashScopeTask
from anyint.types.gemini import GenerateContentResponse
from anyint.types.kling import KlingTask
from anyint.types.suno_responses import StyleResult
from blocks import AssetStore
from tasks import AssetRecord, GatewayConfig, RunConfig
from tasks.assets import record_assets, stored_record
from tasks.usage import (
    estimate,
    load_price_table,
    parse_price_table,
    record_usage,
    run_totals,
    usage_of,
)


@pytest.fixture
def store() -> AssetStore:
    return AssetStore(base_url=f"memory://usage-{uuid.uuid4().hex[:12]}")


@pytest.fixture
def run(store: AssetStore) -> RunConfig:
    now = time.time()
    gateway = GatewayConfig(base_url="http://gateway.invalid", store_url=store.root_url)
    return RunConfig(
        gateway=gateway,
        intent="run:test",
        flow_run_id=uuid.uuid4().hex,
        started_at=now,
        deadline_at=now + 60,
    )


def test_each_family_reports_by_the_gateways_own_names() -> None:
    message = AnthropicMessage.model_validate(
        {"content": [], "usage": {"input_tokens": 25, "output_tokens": 9, "x_new": 1}}
    )
    assert usage_of("anthropic.messages", message) == {
        "input_tokens": 25,
        "output_tokens": 9,
        "x_new": 1,  # a field the client does not model is kept
    }
    gemini = GenerateContentResponse.model_validate(
        {
            "candidates": [],
            "usageMetadata": {
                "promptTokenCount": 4,
                "candidatesTokenCount": 9,
                "totalTokenCount": 13,
                "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 4}],
            },
        }
    )
    assert usage_of("gemini", gemini) == {
        "promptTokenCount": 4,
        "candidatesTokenCount": 9,
        "totalTokenCount": 13,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 4}],
    }
    image = DashScopeImageResponse.model_validate(
        {"usage": {"width": 1328, "height": 1328, "image_count": 1}}
    )
    assert usage_of("dashscope", image) == {"width": 1328, "height": 1328, "image_count": 1}
    style = StyleResult.model_validate(
        {"result": "pop", "creditsConsumed": 0.4, "creditsRemaining": 99.6}
    )
    assert usage_of("suno.style-generate", style) == {
        "creditsConsumed": 0.4,
        "creditsRemaining": 99.6,
    }


def test_a_task_snapshot_as_stored_reads_the_same() -> None:
    """What ``FinishedTask.snapshot`` keeps (a JSON dump by field name) gives wire names back."""
    answer = {
        "output": {"task_id": "t1", "task_status": "SUCCEEDED", "video_url": "https://x/v.mp4"},
        "usage": {"duration": 5, "video_count": 1, "SR": 720},
    }
    snapshot = DashScopeTask.model_validate(answer).model_dump(mode="json")
    assert usage_of("dashscope.video-synthesis", snapshot) == {
        "duration": 5,
        "video_count": 1,
        "SR": 720,
    }
    kling = KlingTask.model_validate(
        {"data": {"task_id": "k1", "task_status": "succeed", "task_result": {"videos": []}}}
    )
    assert usage_of("kling.text2video", kling.model_dump(mode="json")) == {}  # §10.4: none
    assert usage_of("suno.generate", {"data": {"status": "SUCCESS"}}) == {}  # §11.6: none
    assert usage_of("dashscope", None) == {}


def test_totals_sum_amounts_once_per_source(store: AssetStore, run: RunConfig) -> None:
    record_usage(store, run, "call:a", "anthropic.messages", {"input_tokens": 3})
    record_usage(store, run, "call:a", "anthropic.messages", {"input_tokens": 3})  # found again
    record_usage(store, run, "call:b", "anthropic.messages", {"input_tokens": 4, "x": "y"})
    image = {"width": 1328, "height": 1328, "image_count": 2}
    record_usage(store, run, "call:c", "dashscope.multimodal-generation", image)
    record_usage(store, run, "task:k", "kling.text2video", {})
    assert run_totals(store, run) == {
        "anthropic": {"input_tokens": 7},
        "dashscope": {"image_count": 2},  # sizes are not amounts
        "kling": {},
    }


def test_estimate_is_marked_and_names_what_the_table_leaves_unpriced() -> None:
    table = parse_price_table(
        {"currency": "EUR", "prices": {"anthropic": {"input_tokens": 0.5}}}, "p.json"
    )
    totals: dict[str, dict[str, float]] = {
        "anthropic": {"input_tokens": 10, "output_tokens": 2},
        "suno": {},
    }
    cost = estimate(totals, table)
    assert (cost.estimated, cost.currency, cost.total, cost.table) == (True, "EUR", 5.0, "p.json")
    assert cost.by_family == {"anthropic": 5.0}
    assert cost.unpriced == {"anthropic": ["output_tokens"]}


@pytest.mark.parametrize(
    ("document", "named"),
    [
        ([], "the document must be a JSON object"),
        ({"currency": "EUR", "prices": {}, "rates": {}}, "rates is not a field"),
        ({"prices": {}}, "currency must be"),
        ({"currency": "EUR"}, "prices must be an object"),
        ({"currency": "EUR", "prices": {"openai": {}}}, "prices.openai is not a family"),
        ({"currency": "EUR", "prices": {"suno": 3}}, "prices.suno must be an object"),
        (
            {"currency": "EUR", "prices": {"suno": {"credits": 1}}},
            "prices.suno.credits is not a unit suno reports (creditsConsumed)",
        ),
        ({"currency": "EUR", "prices": {"suno": {"creditsConsumed": -1}}}, "must be a number"),
        ({"currency": "EUR", "prices": {"suno": {"creditsConsumed": True}}}, "must be a number"),
    ],
)
def test_a_bad_table_is_named_with_its_field(document: Any, named: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_price_table(document, "prices/t.json")
    message = str(caught.value)
    assert message.startswith("parameter 'price_table': prices/t.json: ")
    assert named in message and "Fix the table" in message


async def test_a_table_is_read_from_the_store(store: AssetStore) -> None:
    assert await load_price_table(store, None) is None
    store.put_json("p/ok.json", {"currency": "USD", "prices": {"gemini": {"totalTokenCount": 1}}})
    table = await load_price_table(store, "p/ok.json")
    assert table == {
        "currency": "USD",
        "prices": {"gemini": {"totalTokenCount": 1.0}},
        "source": "p/ok.json",
    }
    with pytest.raises(ValueError, match=r"\.\./x\.json: the key is not a store key"):
        await load_price_table(store, "../x.json")


def _old_record(key: str, data: bytes, store: AssetStore) -> dict[str, Any]:
    asset = store.put_bytes(key, data, "text/plain")
    return {
        "kind": "lyrics",
        "route": "suno.generate-lyrics",
        "uri": asset.uri,
        "key": key,
        "bytes": asset.bytes,
        "sha256": asset.sha256,
        "content_type": "text/plain",
        "created_at": datetime.now(UTC).isoformat(),
    }


def test_records_and_manifests_from_before_usage_still_load(
    store: AssetStore, run: RunConfig
) -> None:
    old = _old_record("assets/suno/t1/lyrics.txt", b"la la", store)
    assert AssetRecord.model_validate(old).usage == {}
    assert AssetRecord.model_validate({**old, "usage": None}).usage == {}  # stored as null
    store.put_json(f"{old['key']}.json", {**old, "usage": None})
    kept = stored_record(store, old["key"])
    assert kept is not None and kept.usage == {}
    # A manifest part written before usage was kept, rebuilt with the totals beside it.
    store.put_json(f"runs/{run.flow_run_id}/manifest.d/old.json", old)
    key = record_assets(store, run, [])
    manifest = store.read_json(key)
    assert [a["key"] for a in manifest["assets"]] == [old["key"]]
    assert manifest["usage_totals"] == {} and manifest["estimated_cost"] is None
