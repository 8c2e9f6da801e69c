"""Image understanding: Anthropic-compatible messages, or Gemini-compatible generateContent."""

from __future__ import annotations

import base64
import io
from typing import Any, Literal

from prefect import task
from pydantic import BaseModel

from anyint import AnyIntClient, download
from anyint.types.gemini import Part

from ._policy import RETRY_OPTIONS
from .images import MAX_INLINE_BYTES, ImageInput, load_image
from .run import RunConfig

__all__ = ["Description", "describe_images"]


class Description(BaseModel):
    """The answer about one or more images."""

    answer: str
    model: str
    route: str
    usage: dict[str, Any] | None = None


async def _inline(client: AnyIntClient, image: ImageInput) -> ImageInput:
    """Gemini takes inline bytes only (contract §9.3): fetch URL images first."""
    if image.data is not None or image.url is None:
        return image
    buffer = io.BytesIO()
    result = await download(client, image.url, buffer, kind="image", max_bytes=MAX_INLINE_BYTES)
    return ImageInput(media_type=result.content_type, data=buffer.getvalue())


def _anthropic_block(image: ImageInput) -> dict[str, Any]:
    if image.data is not None:
        data = base64.b64encode(image.data).decode()
        return {
            "type": "image",
            "source": {"type": "base64", "media_type": image.media_type, "data": data},
        }
    return {"type": "image", "source": {"type": "url", "url": image.url}}


@task(
    name="describe-images",
    task_run_name="describe {route} ({model})",
    **RETRY_OPTIONS,
)
async def describe_images(
    run: RunConfig,
    images: list[str],
    question: str,
    model: str,
    route: Literal["anthropic", "gemini"] = "anthropic",
    max_tokens: int = 1024,
) -> Description:
    """Ask ``question`` about ``images`` (URLs, local paths or data URLs).

    Every image is checked (type, size, allowed folder) before the paid call.
    """
    inputs = [load_image(ref, f"images[{i}]") for i, ref in enumerate(images)]
    if not inputs:
        raise ValueError("images: give at least one image")
    connection = await run.gateway.connect()
    async with connection.client() as client:
        if route == "anthropic":
            content = [*map(_anthropic_block, inputs), {"type": "text", "text": question}]
            message = await client.anthropic.create(
                model=model,
                max_tokens=max_tokens,
                messages=[{"role": "user", "content": content}],
            )
            usage = message.usage.model_dump() if message.usage else None
            return Description(answer=message.text, model=model, route=route, usage=usage)
        inlined = [await _inline(client, i) for i in inputs]
        parts = [Part.from_bytes(i.data or b"", i.media_type or "image/png") for i in inlined]
        reply = await client.gemini.generate_content(
            model, contents=[{"role": "user", "parts": [*parts, {"text": question}]}]
        )
        usage = reply.usage_metadata.model_dump() if reply.usage_metadata else None
        return Description(answer=reply.text, model=model, route=route, usage=usage)
