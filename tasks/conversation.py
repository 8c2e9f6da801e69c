"""A tool-using conversation on either chat route, in the route's own wire shape.

Gemini function calling (``functionDeclarations`` / ``functionCall`` / ``functionResponse``,
contract §9.5) and Anthropic tool use (``tools`` / ``tool_use`` / ``tool_result``, §8) differ only
in shape, so the loop in ``flows/assistant.py`` sees one :class:`ModelTurn` per model reply and
one :class:`ToolOutcome` per tool call. Each model turn is one run of the chat tasks of
:mod:`tasks.chat` (sync, or streamed into the UI's ``assistant-stream`` artifact), so it has
their retry rules and its own task run.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Literal

from pydantic import BaseModel

from anyint import AnyIntClient
from anyint.types.anthropic import AnthropicMessage, TextBlock, ToolUseBlock
from anyint.types.gemini import GenerateContentResponse

from .chat import anthropic_message, anthropic_stream, gemini_generate, gemini_stream
from .images import ImageInput, anthropic_image_block, inline_image
from .run import RunConfig
from .tools import ToolDeclaration

__all__ = [
    "MAX_TOKENS",
    "STREAM_KEY",
    "ModelTurn",
    "Route",
    "ToolCall",
    "ToolOutcome",
    "first_turn",
    "model_turn",
    "results_turn",
]

Route = Literal["gemini", "anthropic"]
#: Anthropic requires a reply cap; this one leaves room for a plan and a summary.
MAX_TOKENS = 4096
#: The one artifact key a streamed turn's partial text is published under.
STREAM_KEY = "assistant-stream"


class ToolCall(BaseModel):
    """A tool call the model asked for.

    Attributes:
        id: The call's id (Anthropic ``tool_use.id``; Gemini's optional ``functionCall.id``).
        name: Tool name.
        arguments: The model's arguments.
    """

    id: str | None = None
    name: str
    arguments: dict[str, Any] = {}


class ModelTurn(BaseModel):
    """One model reply, whatever the route.

    Attributes:
        text: Its text.
        calls: The tool calls it asks for, in order.
        message: The reply as a turn of the history (the route's wire shape).
        stop_reason: ``finishReason`` / ``stop_reason``.
        usage: Token usage the gateway reported.
    """

    text: str
    calls: list[ToolCall]
    message: dict[str, Any]
    stop_reason: str | None = None
    usage: dict[str, Any] | None = None


class ToolOutcome(BaseModel):
    """What one tool call gave back.

    Attributes:
        call: The call.
        response: The object sent back to the model (the result, or ``{"error": ...}``).
        error: The error message when the tool raised or could not be called.
    """

    call: ToolCall
    response: dict[str, Any]
    error: str | None = None


async def first_turn(
    client: AnyIntClient, route: Route, prompt: str, images: list[ImageInput]
) -> dict[str, Any]:
    """The user's turn: the images (as ``describe-images`` sends them), then the prompt."""
    if route == "anthropic":
        content = [*map(anthropic_image_block, images), {"type": "text", "text": prompt}]
        return {"role": "user", "content": content}
    parts: list[dict[str, Any]] = []
    for image in images:
        inlined = await inline_image(client, image)
        data = base64.b64encode(inlined.data or b"").decode()
        parts.append({"inlineData": {"mimeType": inlined.media_type or "image/png", "data": data}})
    return {"role": "user", "parts": [*parts, {"text": prompt}]}


def results_turn(route: Route, outcomes: list[ToolOutcome]) -> dict[str, Any]:
    """The turn that sends the tool results back, one per call, in call order."""
    if route == "anthropic":
        blocks = []
        for outcome in outcomes:
            block: dict[str, Any] = {
                "type": "tool_result",
                "tool_use_id": outcome.call.id,
                "content": json.dumps(outcome.response, ensure_ascii=False),
            }
            if outcome.error is not None:
                block["is_error"] = True
            blocks.append(block)
        return {"role": "user", "content": blocks}
    parts = []
    for outcome in outcomes:
        response: dict[str, Any] = {"name": outcome.call.name, "response": outcome.response}
        if outcome.call.id is not None:
            response["id"] = outcome.call.id
        parts.append({"functionResponse": response})
    return {"role": "user", "parts": parts}


def _anthropic_turn(message: AnthropicMessage) -> ModelTurn:
    blocks: list[dict[str, Any]] = []
    for block in message.content:
        if isinstance(block, TextBlock) and block.text:  # Anthropic refuses empty text blocks
            blocks.append({"type": "text", "text": block.text})
        elif isinstance(block, ToolUseBlock):
            blocks.append(block.model_dump(include={"type", "id", "name", "input"}))
    return ModelTurn(
        text=message.text,
        calls=[ToolCall(id=u.id, name=u.name, arguments=u.input) for u in message.tool_uses],
        message={"role": "assistant", "content": blocks},
        stop_reason=message.stop_reason,
        usage=message.usage.model_dump() if message.usage else None,
    )


def _gemini_turn(reply: GenerateContentResponse) -> ModelTurn:
    content = reply.candidates[0].content if reply.candidates else None
    # Sent back as it came (thought signatures included), when any part of it can be.
    sendable = content is not None and any(p.to_param() is not None for p in content.parts)
    calls = [ToolCall(id=c.id, name=c.name, arguments=c.args or {}) for c in reply.function_calls]
    return ModelTurn(
        text=reply.text,
        calls=calls,
        message=content.to_param().to_body() if content is not None and sendable else {},
        stop_reason=reply.finish_reason,
        usage=reply.usage_metadata.model_dump() if reply.usage_metadata else None,
    )


async def model_turn(
    run: RunConfig,
    route: Route,
    model: str,
    history: list[dict[str, Any]],
    declarations: list[ToolDeclaration],
    *,
    step: int,
    stream: bool = False,
) -> ModelTurn:
    """Ask the model for its next turn, offering ``declarations``; one chat task run.

    Args:
        run: The flow run's gateway, intent and deadline.
        route: ``gemini`` or ``anthropic``.
        model: Model id.
        history: The conversation so far, in the route's wire shape.
        declarations: The tools offered.
        step: Which turn this is (1-based), for the task run's name.
        stream: Stream the reply into the ``assistant-stream`` artifact.
    """
    name = f"turn {step}: {route} ({model})"
    if route == "anthropic":
        options: dict[str, Any] = (
            {"tools": [d.anthropic() for d in declarations]} if declarations else {}
        )
        if stream:
            streaming = anthropic_stream.with_options(task_run_name=name)
            message = await streaming(run, model, history, MAX_TOKENS, options, STREAM_KEY)
        else:
            plain = anthropic_message.with_options(task_run_name=name)
            message = await plain(run, model, history, MAX_TOKENS, options)
        return _anthropic_turn(message)
    options = (
        {"tools": [{"functionDeclarations": [d.gemini() for d in declarations]}]}
        if declarations
        else {}
    )
    if stream:
        streamed = gemini_stream.with_options(task_run_name=name)
        reply = await streamed(run, model, history, options, artifact_key=STREAM_KEY)
    else:
        reply = await gemini_generate.with_options(task_run_name=name)(run, model, history, options)
    return _gemini_turn(reply)
