"""The emulator keeps the usage its answers report: per call (``GET /_emulator/calls``) for the
sync routes that report one, per task (``GET /_emulator/tasks``) for DashScope video, and none
where the contract documents none (count_tokens, Kling, Suno tasks)."""

from __future__ import annotations

import json
from typing import Any

import httpx

from .conftest import AUTH, EMULATOR_KEY, one_stage_per_poll

_paced = one_stage_per_poll("dashscope")

ANTHROPIC = {"x-api-key": EMULATOR_KEY, "anthropic-version": "2023-06-01"}
MESSAGE = {
    "model": "claude-sonnet-4-6",
    "max_tokens": 200,
    "messages": [{"role": "user", "content": "Name three colours."}],
}


async def logged(raw: httpx.AsyncClient) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = (await raw.get("/_emulator/calls")).json()["calls"]
    return calls


async def test_sync_answers_log_the_usage_they_report(raw: httpx.AsyncClient) -> None:
    answers = [
        (await raw.post("/anthropic/v1/messages", json=MESSAGE, headers=ANTHROPIC)).json()["usage"],
        (
            await raw.post(
                "/gemini/v1beta/models/gemini-2.0-flash:generateContent",
                json={"contents": [{"role": "user", "parts": [{"text": "Hello"}]}]},
                headers=AUTH,
            )
        ).json()["usageMetadata"],
        (
            await raw.post(
                "/dashscope/v1/services/aigc/multimodal-generation/generation",
                json={
                    "model": "qwen-image-plus",
                    "input": {"messages": [{"role": "user", "content": [{"text": "a cat"}]}]},
                    "parameters": {"size": "928*1664"},
                },
                headers=AUTH,
            )
        ).json()["usage"],
        {
            "creditsConsumed": (
                await raw.post("/suno/style-generate", json={"content": "Pop"}, headers=AUTH)
            ).json()["data"]["creditsConsumed"]
        },
    ]
    counted = await raw.post(
        "/anthropic/v1/messages/count_tokens",
        json={k: v for k, v in MESSAGE.items() if k != "max_tokens"},
        headers=ANTHROPIC,
    )
    counted.raise_for_status()
    calls = await logged(raw)
    assert [c["usage"] for c in calls] == [*answers, None]  # a count is not usage
    assert answers[2] == {"width": 928, "height": 1664, "image_count": 1}
    # Deterministic: the same request reports the same usage again.
    again = await raw.post("/anthropic/v1/messages", json=MESSAGE, headers=ANTHROPIC)
    assert again.json()["usage"] == answers[0] == (await logged(raw))[-1]["usage"]


async def test_a_stream_logs_the_counts_it_ends_with(raw: httpx.AsyncClient) -> None:
    body = {**MESSAGE, "stream": True}
    response = await raw.post("/anthropic/v1/messages", json=body, headers=ANTHROPIC)
    events = [
        json.loads(line.removeprefix("data: "))
        for line in response.text.splitlines()
        if line.startswith("data: ")
    ]
    start = next(e for e in events if e["type"] == "message_start")["message"]["usage"]
    delta = next(e for e in events if e["type"] == "message_delta")["usage"]
    usage = (await logged(raw))[-1]["usage"]
    assert (usage["input_tokens"], usage["output_tokens"]) == (
        start["input_tokens"],
        delta["output_tokens"],
    )


async def test_a_video_task_keeps_the_usage_its_query_reports(raw: httpx.AsyncClient) -> None:
    created = await raw.post(
        "/dashscope/v1/services/aigc/video-generation/video-synthesis",
        json={"model": "wan2.6-t2v", "input": {"prompt": "waves"}, "parameters": {"duration": 5}},
        headers=AUTH,
    )
    task_id = created.json()["output"]["task_id"]
    answer: dict[str, Any] = {}
    for _ in range(10):  # one stage per poll: PENDING, RUNNING, SUCCEEDED
        answer = (await raw.get(f"/dashscope/v1/tasks/{task_id}", headers=AUTH)).json()
        if answer["output"]["task_status"] == "SUCCEEDED":
            break
    assert answer["usage"]["video_count"] == 1 and answer["usage"]["duration"] == 5
    (task,) = (await raw.get("/_emulator/tasks")).json()["tasks"]
    assert task["usage"] == answer["usage"]
    assert all(c["usage"] is None for c in await logged(raw))  # reported by the task, once
