"""Image understanding: Anthropic-compatible messages, or Gemini-compatible generateContent."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any, Literal

from prefect import task
from pydantic import BaseModel

from anyint import AnyIntClient
from anyint.types.gemini import Part

from .chat import streamed
from .images import ImageInput, anthropic_image_block, inline_image, load_image
from .run import RunConfig
from .streaming import STREAM_RETRY_OPTIONS, LiveText, live_markdown
from .usage import count_call

__all__ = ["LIVE_KEY", "Description", "describe_images"]


class Description(BaseModel):
    """The answer about one or more images."""

    answer: str
    model: str
    route: str
    usage: dict[str, Any] = {}


#: Artifact key of the partial answer while ``describe-images`` streams.
LIVE_KEY = "describe-images-live"


async def _ask_anthropic(
    client: AnyIntClient,
    inputs: list[ImageInput],
    question: str,
    model: str,
    max_tokens: int,
    live: LiveText | None,
) -> tuple[str, Any]:
    content = [*map(anthropic_image_block, inputs), {"type": "text", "text": question}]
    request: dict[str, Any] = {
        "model": model,
        "max_tokens": max_tokens,
        "messages": [{"role": "user", "content": content}],
    }
    if live is None:
        message = await client.anthropic.create(request)
    else:
        message = await streamed(live, client.anthropic.stream_final(request, on_text=live.append))
    return message.text, message


async def _ask_gemini(
    client: AnyIntClient,
    inputs: list[ImageInput],
    question: str,
    model: str,
    live: LiveText | None,
) -> tuple[str, Any]:
    inlined = [await inline_image(client, i) for i in inputs]
    parts = [Part.from_bytes(i.data or b"", i.media_type or "image/png") for i in inlined]
    body: dict[str, Any] = {"contents": [{"role": "user", "parts": [*parts, {"text": question}]}]}
    if live is None:
        reply = await client.gemini.generate_content(model, body)
    else:
        reply = await streamed(live, client.gemini.stream_final(model, body, on_text=live.append))
    return reply.text, reply


@task(
    name="describe-images",
    task_run_name="describe {route} ({model})",
    **STREAM_RETRY_OPTIONS,
)
async def describe_images(
    run: RunConfig,
    images: list[str],
    question: str,
    model: str,
    route: Literal["anthropic", "gemini"] = "anthropic",
    max_tokens: int = 1024,
    stream: bool = False,
) -> Description:
    """Ask ``question`` about ``images`` (URLs, local paths or data URLs).

    Every image is checked (type, size, allowed folder) before the paid call. With ``stream``
    the answer is streamed on either route, its partial text the markdown artifact
    :data:`LIVE_KEY` while the stream is open; the task returns once the stream has closed.

    Raises:
        ValueError: No image, or a bad one (named), before any call.
        APIStatusError: The gateway refused the call, or the stream failed part-way (the
            artifact then keeps the partial answer, marked incomplete; not retried).
    """
    inputs = [load_image(ref, f"images[{i}]") for i, ref in enumerate(images)]
    if not inputs:
        raise ValueError("images: give at least one image")
    connection = await run.gateway.connect()
    async with connection.client() as client, AsyncExitStack() as stack:
        live = None
        if stream:
            title = f"Answer of {model} ({route} route)"
            live = await stack.enter_async_context(live_markdown(LIVE_KEY, title))
        if route == "anthropic":
            answer, reply = await _ask_anthropic(client, inputs, question, model, max_tokens, live)
        else:
            answer, reply = await _ask_gemini(client, inputs, question, model, live)
    wire = "anthropic.messages" if route == "anthropic" else "gemini.generateContent"
    usage = await count_call(connection.store, run, wire, reply)
    return Description(answer=answer, model=model, route=route, usage=usage)
