"""Sync generation routes: Gemini image output (plain or streamed) and DashScope images."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from prefect import Task, get_run_logger, task

from anyint import APIResponseValidationError

from . import limits
from ._policy import RETRY_OPTIONS
from ._sync import sync_step
from .assets import AssetRecord
from .run import RunConfig
from .usage import usage_of

__all__ = ["GEMINI_ASPECT_RATIOS", "aspect_ratio", "dashscope_image", "gemini_image"]

#: Aspect ratios Gemini image models take in ``imageConfig.aspectRatio`` (§9.3); Gemini picks
#: the pixel size itself, so a ratio is all a caller can ask for.
GEMINI_ASPECT_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")


def aspect_ratio(size: str) -> str:
    """``1280*720`` (or ``1280:720``) as its reduced aspect ratio, ``16:9``."""
    width, height = (int(x) for x in size.replace(":", "*").split("*"))
    gcd = math.gcd(width, height)
    return f"{width // gcd}:{height // gcd}"


_EXT = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif"}
#: Partial text from a stream is logged at most this often.
LOG_EVERY_SECONDS = 0.5

P = ParamSpec("P")
R = TypeVar("R")


def _image_task(route: str) -> Callable[[Callable[P, R]], Task[P, R]]:
    """``@task`` of the image route of a family: ``<route>-image``, with the gateway retries."""
    return task(name=f"{route}-image", task_run_name=f"{route} image ({{model}})", **RETRY_OPTIONS)


@_image_task("gemini")
async def gemini_image(
    run: RunConfig,
    prompt: str,
    model: str,
    stream: bool = False,
    aspect_ratio: str | None = None,
) -> list[AssetRecord]:
    """Generate image(s) on the Gemini-compatible route and store them.

    With ``stream=True`` the SSE route is used and partial text is logged as it arrives. A
    retry or resume of the same intent hands back the images already stored (nothing paid).

    Raises:
        ValueError: ``aspect_ratio`` is not one of :data:`GEMINI_ASPECT_RATIOS` (before any
            call: a ratio Gemini would not honour is never sent).
    """
    if aspect_ratio is not None and aspect_ratio not in GEMINI_ASPECT_RATIOS:
        raise ValueError(
            f"aspect_ratio: Gemini image models take one of {', '.join(GEMINI_ASPECT_RATIOS)}; "
            f"got {aspect_ratio!r}"
        )
    logger = get_run_logger()
    config: dict[str, Any] = {"responseModalities": ["TEXT", "IMAGE"]}
    if aspect_ratio:
        config["imageConfig"] = {"aspectRatio": aspect_ratio}
    body = {"contents": [{"role": "user", "parts": [{"text": prompt}]}], "generationConfig": config}
    last = [0.0]
    text: list[str] = []

    def on_text(delta: str) -> None:
        text.append(delta)
        if time.monotonic() - last[0] >= LOG_EVERY_SECONDS:
            last[0] = time.monotonic()
            logger.info("partial text: %s", "".join(text)[-200:])

    step = await sync_step(run, "gemini.generateContent", model, body)
    if (kept := await asyncio.to_thread(step.stored)) is not None:
        return kept
    async with limits.slot(run, step.store, "gemini"), step.connection.client() as client:
        if stream:
            reply = await client.gemini.stream_final(model, body, on_text=on_text)
        else:
            reply = await client.gemini.generate_content(model, body)
    images = reply.images
    if not images:
        raise APIResponseValidationError(f"{model} answered without an image: {reply.text[:200]!r}")
    usage = usage_of("gemini", reply)
    items = [
        (f"image-{i}.{_EXT.get(img.mime_type, 'bin')}", img.data, img.mime_type)
        for i, img in enumerate(images, start=1)
    ]
    return await asyncio.to_thread(step.store_bytes, items, "image", usage)


@_image_task("dashscope")
async def dashscope_image(
    run: RunConfig,
    prompt: str,
    model: str,
    size: str | None = None,
    negative_prompt: str | None = None,
    images: list[str] | None = None,
    n: int | None = None,
    seed: int | None = None,
) -> list[AssetRecord]:
    """Generate image(s) on DashScope's sync route and copy them into the store.

    A retry or resume of the same intent hands back the images already stored (nothing paid).

    Args:
        run: The flow run's gateway and intent.
        prompt: What the image shows.
        model: Image model, e.g. ``qwen-image-plus``.
        size: ``"W*H"`` pixels; None for the model's default.
        negative_prompt: What to avoid (at most 500 characters).
        images: Reference images for models that take them: http(s) URLs or
            ``data:image/...;base64`` URLs, placed before the prompt (§10.1 [UP]).
        n: Number of images (1 on qwen-image-plus/max); None for one.
        seed: Random seed, 0..2147483647; None for a random one.
    """
    options = {"size": size, "negative_prompt": negative_prompt, "n": n, "seed": seed}
    parameters: dict[str, Any] = {k: v for k, v in options.items() if v is not None and v != ""}
    content: list[dict[str, str]] = [{"image": ref} for ref in images or []]
    body: dict[str, Any] = {
        "model": model,
        "input": {"messages": [{"role": "user", "content": [*content, {"text": prompt}]}]},
        "parameters": parameters,
    }
    step = await sync_step(run, "dashscope.multimodal-generation", model, body)
    if (kept := await asyncio.to_thread(step.stored)) is not None:
        return kept
    async with limits.slot(run, step.store, "dashscope"), step.connection.client() as client:
        reply = await client.dashscope.generate_image(**body)
        usage = usage_of("dashscope", reply)
        items = [(f"image-{i}.png", url) for i, url in enumerate(reply.image_urls, start=1)]
        if not items:
            raise APIResponseValidationError(f"{model} answered without an image URL")
        return await step.store_urls(client, items, "image", usage)
