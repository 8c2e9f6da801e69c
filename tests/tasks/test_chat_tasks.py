"""Chat-route tasks against the in-process emulator: Anthropic messages (sync, streamed, token
count), Gemini generateContent (sync, streamed), both model lists; a stream cut part-way."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from prefect import flow

from anyint import APIStatusError, InternalServerError, ServiceUnavailableError
from flows import start_run
from tasks.chat import (
    anthropic_count_tokens,
    anthropic_message,
    anthropic_stream,
    gemini_generate,
    gemini_stream,
    list_models,
)
from tests.conftest import EmulatedGateway, call_log, paid_calls
from tests.tasks.test_streaming import body, fresh_key, partial, versions

CLAUDE = "claude-sonnet-4-6"
GEMINI = "gemini-2.0-flash"
QUESTION = "Name three colours of a lighthouse at dusk."
MESSAGES = [{"role": "user", "content": QUESTION}]
CONTENTS = [{"role": "user", "parts": [{"text": QUESTION}]}]
SYSTEM = "You answer in one sentence."


@flow
async def call(name: str, **kwargs: Any) -> Any:
    """Run one chat task in a flow run (as the flows do)."""
    run = await start_run({})
    tasks: dict[str, Any] = {
        "message": anthropic_message,
        "stream": anthropic_stream,
        "count": anthropic_count_tokens,
        "generate": gemini_generate,
        "gemini-stream": gemini_stream,
        "models": list_models,
    }
    return await tasks[name](run, **kwargs)


async def test_anthropic_message_streamed_and_counted(gateway: EmulatedGateway) -> None:
    key = fresh_key()
    options = {"system": SYSTEM}
    sync = await call("message", model=CLAUDE, messages=MESSAGES, options=options)
    assert QUESTION in sync.text and sync.stop_reason == "end_turn"
    streamed = await call(
        "stream", model=CLAUDE, messages=MESSAGES, options=options, artifact_key=key
    )
    # The emulator answers deterministically: the stream assembles to the same reply.
    assert streamed.text == sync.text and streamed.usage == sync.usage
    final = (await versions(key))[-1]
    assert body(final.data) == sync.text and not partial(final)
    counted = await call("count", model=CLAUDE, messages=MESSAGES, options=options)
    assert sync.usage is not None and counted.input_tokens == sync.usage.input_tokens


async def test_gemini_generate_and_streamed(gateway: EmulatedGateway) -> None:
    key = fresh_key()
    options = {"system_instruction": {"parts": [{"text": SYSTEM}]}}
    sync = await call("generate", model=GEMINI, contents=CONTENTS, options=options)
    assert QUESTION in sync.text
    streamed = await call(
        "gemini-stream", model=GEMINI, contents=CONTENTS, options=options, artifact_key=key
    )
    assert streamed.text == sync.text
    assert streamed.candidates[0].finish_reason == "STOP"
    assert body((await versions(key))[-1].data) == sync.text


@pytest.mark.parametrize(("route", "model"), [("openai", GEMINI), ("anthropic", CLAUDE)])
async def test_model_lists(
    gateway: EmulatedGateway, control: httpx.AsyncClient, route: str, model: str
) -> None:
    models = await call("models", route=route)
    assert model in {m.id for m in models.data}
    (listed,) = await call_log(control)
    assert listed["method"] == "GET" and listed["path"] == f"/{route}/v1/models"


@pytest.mark.parametrize(
    ("name", "kwargs", "path", "error"),
    [
        (
            "stream",
            {"model": CLAUDE, "messages": MESSAGES},
            "/anthropic/v1/messages",
            InternalServerError,  # Anthropic's overloaded_error event (529)
        ),
        (
            "gemini-stream",
            {"model": GEMINI, "contents": CONTENTS},
            f"/gemini/v1beta/models/{GEMINI}:streamGenerateContent",
            ServiceUnavailableError,  # Google's 503 envelope, retryable before any text
        ),
    ],
)
async def test_a_stream_cut_part_way_fails_once_and_keeps_its_partial_text(
    gateway: EmulatedGateway,
    control: httpx.AsyncClient,
    name: str,
    kwargs: dict[str, Any],
    path: str,
    error: type[APIStatusError],
) -> None:
    key = fresh_key()
    fault = {"match": f"POST {path}", "fault": "sse_error"}
    (await control.post("/_emulator/faults", json=fault)).raise_for_status()
    with pytest.raises(error, match="stream error: injected fault") as raised:
        await call(name, artifact_key=key, **kwargs)
    assert type(raised.value) is error  # the typed error itself, not wrapped
    # Not retried: the gateway has billed the part it sent, and a retry would bill again.
    assert [c["path"] for c in await paid_calls(control)] == [path]
    final = (await versions(key))[-1]
    assert body(final.data)  # the text that arrived before the error
    assert f"*(incomplete: {error.__name__}: stream error: injected fault" in str(final.data)


@pytest.mark.parametrize(
    ("name", "kwargs", "message"),
    [
        ("stream", {"artifact_key": "Bad Key"}, "key: an artifact key"),
        ("message", {"options": {"stream": True}}, "options.stream"),
        ("message", {"max_tokens": 0}, "max_tokens"),
        ("models", {"route": "gemini"}, "route: list the models"),
    ],
)
async def test_bad_input_fails_before_any_call(
    gateway: EmulatedGateway,
    control: httpx.AsyncClient,
    name: str,
    kwargs: dict[str, Any],
    message: str,
) -> None:
    if name != "models":
        kwargs = {"model": CLAUDE, "messages": MESSAGES, **kwargs}
    with pytest.raises(ValueError, match=message):
        await call(name, **kwargs)
    assert await call_log(control) == []
