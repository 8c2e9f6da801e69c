"""Chat routes as Prefect tasks: Anthropic messages (sync, streamed, token count), Gemini
generateContent (sync, streamed) and both model lists (contract §4, §8, §9).

Each task takes the request's main fields as parameters and any other documented field in
``options`` (Anthropic: ``system``, ``tools``, ``tool_choice``, ``temperature``...; Gemini:
``system_instruction``, ``tools``, ``tool_config``, ``generation_config``...). The client checks
the request before any I/O, so a bad field fails the task, named, before anything is paid.

Nothing is stored but each answer's usage (:func:`tasks.usage.count_call`, for the run's
totals): a reply is text, returned to the caller. Sync calls retry only what the
client flags retryable (proof the gateway did no work, :mod:`tasks._policy`); a streamed call
retries only when nothing had arrived yet (:data:`tasks.streaming.STREAM_RETRY_OPTIONS`), since
a stream cut part-way has been billed. While a stream is open its partial text is the markdown
artifact ``artifact_key`` (:func:`tasks.streaming.live_markdown`); the task returns once the
stream has closed.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, Literal, TypeVar

from prefect import task

from anyint.types.anthropic import AnthropicMessage, MessageTokensCount
from anyint.types.gemini import GenerateContentResponse
from anyint.types.models import ModelList

from . import limits
from ._policy import RETRY_OPTIONS
from .run import RunConfig
from .streaming import STREAM_RETRY_OPTIONS, LiveText, live_markdown, mark_mid_stream
from .usage import count_call

__all__ = [
    "anthropic_count_tokens",
    "anthropic_message",
    "anthropic_stream",
    "gemini_generate",
    "gemini_stream",
    "list_models",
    "streamed",
]

R = TypeVar("R")


async def streamed(live: LiveText, reply: Awaitable[R]) -> R:
    """Await a streamed ``reply`` whose text goes to ``live``; an error after some text arrived
    is marked mid-stream (:func:`tasks.streaming.mark_mid_stream`) and re-raised as it is."""
    try:
        return await reply
    except Exception as exc:
        if live.text:
            mark_mid_stream(exc, len(live.text))
        raise


def _anthropic_fields(
    model: str, messages: list[dict[str, Any]], options: dict[str, Any] | None
) -> dict[str, Any]:
    fields = {**(options or {}), "model": model, "messages": messages}
    if "stream" in fields:
        raise ValueError("options.stream: choose the task instead (anthropic-stream streams)")
    return fields


@task(name="anthropic-messages", task_run_name="anthropic message ({model})", **RETRY_OPTIONS)
async def anthropic_message(
    run: RunConfig,
    model: str,
    messages: list[dict[str, Any]],
    max_tokens: int = 1024,
    options: dict[str, Any] | None = None,
) -> AnthropicMessage:
    """Send a conversation on the Anthropic-compatible route and wait for the reply (§8.2).

    Args:
        run: The flow run's gateway, intent and deadline.
        model: Model id (``claude-sonnet-4-6``).
        messages: The turns, as Anthropic message dicts.
        max_tokens: Cap on the reply's tokens.
        options: Other request fields (``system``, ``tools``, ``tool_choice``, ``temperature``...).

    Returns:
        The reply: ``.text``, tool-use blocks, stop reason and usage.
    """
    fields = _anthropic_fields(model, messages, options)
    connection = await run.gateway.connect()
    async with limits.slot(run, connection.store, "anthropic"), connection.client() as client:
        reply = await client.anthropic.create(fields, max_tokens=max_tokens)
    await count_call(connection.store, run, "anthropic.messages", reply)
    return reply


@task(name="anthropic-stream", task_run_name="anthropic stream ({model})", **STREAM_RETRY_OPTIONS)
async def anthropic_stream(
    run: RunConfig,
    model: str,
    messages: list[dict[str, Any]],
    max_tokens: int = 1024,
    options: dict[str, Any] | None = None,
    artifact_key: str = "anthropic-stream",
) -> AnthropicMessage:
    """As :func:`anthropic_message`, streamed (§8.4): the partial text is the markdown artifact
    ``artifact_key`` while the stream is open; returns the assembled reply once it has closed.

    Raises:
        APIStatusError: The gateway refused the call, or the stream failed part-way (the
            artifact then keeps the partial text, marked incomplete).
    """
    fields = _anthropic_fields(model, messages, options)
    connection = await run.gateway.connect()
    async with limits.slot(run, connection.store, "anthropic"), connection.client() as client:
        async with live_markdown(artifact_key, f"{model} (Anthropic stream)") as live:
            on_text = live.append
            final = client.anthropic.stream_final(fields, max_tokens=max_tokens, on_text=on_text)
            reply = await streamed(live, final)
    await count_call(connection.store, run, "anthropic.messages", reply)
    return reply


@task(name="count-tokens", task_run_name="count tokens ({model})", **RETRY_OPTIONS)
async def anthropic_count_tokens(
    run: RunConfig,
    model: str,
    messages: list[dict[str, Any]],
    options: dict[str, Any] | None = None,
) -> MessageTokensCount:
    """Count the input tokens of a request before sending it (§8.4); nothing is generated.

    Args:
        run: The flow run's gateway.
        model: Model id.
        messages: The turns.
        options: ``system``, ``tools`` or ``tool_choice`` (the fields a count takes).

    Returns:
        ``input_tokens``: the count ``usage.input_tokens`` of the same request reports.
    """
    fields = _anthropic_fields(model, messages, options)
    async with (await run.gateway.connect()).client() as client:
        return await client.anthropic.count_tokens(fields)


def _gemini_fields(
    contents: list[dict[str, Any]], options: dict[str, Any] | None
) -> dict[str, Any]:
    return {**(options or {}), "contents": contents}


@task(name="gemini-generate", task_run_name="gemini generate ({model})", **RETRY_OPTIONS)
async def gemini_generate(
    run: RunConfig,
    model: str,
    contents: list[dict[str, Any]],
    options: dict[str, Any] | None = None,
) -> GenerateContentResponse:
    """``generateContent`` on the Gemini-compatible route (§9): text, function calls or images.

    Args:
        run: The flow run's gateway.
        model: Model id (``gemini-2.0-flash``), no ``models/`` prefix.
        contents: The turns, as Gemini content dicts (camelCase or snake_case).
        options: Other fields (``system_instruction``, ``tools``, ``generation_config``...).

    Returns:
        The reply: ``.text``, ``.function_calls``, ``.images`` and usage.
    """
    connection = await run.gateway.connect()
    async with limits.slot(run, connection.store, "gemini"), connection.client() as client:
        reply = await client.gemini.generate_content(model, _gemini_fields(contents, options))
    await count_call(connection.store, run, "gemini.generateContent", reply)
    return reply


@task(name="gemini-stream", task_run_name="gemini stream ({model})", **STREAM_RETRY_OPTIONS)
async def gemini_stream(
    run: RunConfig,
    model: str,
    contents: list[dict[str, Any]],
    options: dict[str, Any] | None = None,
    artifact_key: str = "gemini-stream",
) -> GenerateContentResponse:
    """As :func:`gemini_generate`, streamed (``streamGenerateContent?alt=sse``, §9.6): the
    partial text is the markdown artifact ``artifact_key`` while the stream is open; returns
    the merged reply once it has closed.

    Raises:
        APIStatusError: The gateway refused the call, or the stream failed part-way (the
            artifact then keeps the partial text, marked incomplete).
    """
    connection = await run.gateway.connect()
    async with limits.slot(run, connection.store, "gemini"), connection.client() as client:
        async with live_markdown(artifact_key, f"{model} (Gemini stream)") as live:
            body = _gemini_fields(contents, options)
            final = client.gemini.stream_final(model, body, on_text=live.append)
            reply = await streamed(live, final)
    await count_call(connection.store, run, "gemini.generateContent", reply)
    return reply


@task(name="list-models", task_run_name="models ({route})", **RETRY_OPTIONS)
async def list_models(
    run: RunConfig, route: Literal["openai", "anthropic"] = "openai"
) -> ModelList:
    """The model catalogue the key can use (§4): ``GET /openai/v1/models`` (Bearer) or
    ``GET /anthropic/v1/models`` (``x-api-key``). A free read.

    Raises:
        ValueError: ``route`` is neither ``openai`` nor ``anthropic``.
    """
    if route not in ("openai", "anthropic"):
        raise ValueError(f"route: list the models of 'openai' or 'anthropic', got {route!r}")
    async with (await run.gateway.connect()).client() as client:
        return await client.models.list(route)
