"""Flow ``generate-image``: make image(s) from a prompt and keep them in the asset store.

Routes: ``gemini`` (Gemini-compatible ``generateContent`` with IMAGE output, plain or streamed)
or ``dashscope`` (DashScope multimodal generation, sync). Both are sync routes: the images come
back in the answer, so there is no gateway task to wait for.

Needs: an ``AnyIntCredentials`` block (``credentials_block``) or ``ANYINT_API_KEY`` /
``ANYINT_BASE_URL``, and an ``AssetStore`` block (``store_block``) or ``ANYINT_STORE`` (default
``./output``). Writes the PNG(s) under ``assets/<route>/...`` and the run's manifest under
``runs/<flow_run_id>/manifest.json``; publishes table, markdown and image artifacts.

A re-run with the same parameters hands back the images stored by the earlier run instead of
paying again: the generation step is cached on its request, the gateway and the store, and the
stored files are checked (gone → generated again). For a new image, change the prompt: a sync
route stores under a key derived from the request, so generating the same request again would
overwrite the files an earlier run's manifest points to.
"""

from __future__ import annotations

import hashlib
import math
import os
from typing import Annotated, Any, Literal

from prefect import flow
from prefect.context import TaskRunContext
from pydantic import BaseModel, ConfigDict, Field, model_validator

from anyint._client import DEFAULT_BASE_URL
from anyint._utils import canonical_json
from flows._common import (
    ModelNeed,
    check_models,
    gateway_for,
    parse_parameters,
    publish_assets,
    use_gateway,
)
from tasks import AssetRecord, current_gateway, record_assets
from tasks.generation import dashscope_image, gemini_image

__all__ = ["DASHSCOPE_FIXED_SIZES", "DEFAULT_MODELS", "GEMINI_ASPECT_RATIOS", "ImageResult"]

Route = Literal["gemini", "dashscope"]
DEFAULT_MODELS: dict[str, str] = {
    "gemini": "gemini-3.1-flash-image-preview",
    "dashscope": "qwen-image-plus",
}
PROMPT_MAX = 2000
#: Aspect ratios Gemini image models take in ``imageConfig.aspectRatio``.
GEMINI_ASPECT_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
#: The only sizes these DashScope models render (contract §10.1 [UP]); other models take any W*H.
DASHSCOPE_FIXED_SIZES: dict[str, tuple[str, ...]] = {
    model: ("1664*928", "1472*1104", "1328*1328", "1104*1472", "928*1664")
    for model in ("qwen-image-plus", "qwen-image-max")
}
#: Bounds of a free ``W*H`` on DashScope models without a fixed list.
SIDE_MIN, SIDE_MAX = 256, 2048

Prompt = Annotated[
    str, Field(min_length=1, max_length=PROMPT_MAX, description="What the image shows.")
]
Model = Annotated[
    str | None,
    Field(
        max_length=200,
        description=(
            "Model id; empty picks the route's default (gemini: "
            f"{DEFAULT_MODELS['gemini']}, dashscope: {DEFAULT_MODELS['dashscope']})."
        ),
    ),
]
RouteField = Annotated[Route, Field(description="gemini (generateContent) or dashscope.")]
Size = Annotated[
    str | None,
    Field(
        pattern=r"^[1-9][0-9]{0,4}[*:][1-9][0-9]{0,4}$",
        description=(
            'dashscope: "W*H" in pixels (qwen-image-plus: 1664*928, 1472*1104, 1328*1328, '
            '1104*1472, 928*1664). gemini: an aspect ratio, as "W:H" or "W*H" that reduces to '
            f"one of {', '.join(GEMINI_ASPECT_RATIOS)} (Gemini picks the pixel size). "
            "Empty: the model's default."
        ),
    ),
]
Stream = Annotated[bool, Field(description="gemini only: stream the answer (SSE).")]
BlockName = Annotated[
    str | None, Field(description="Name of a saved block; empty uses the environment.")
]


def gemini_aspect_ratio(size: str) -> str:
    """The Gemini aspect ratio of ``size`` (``"1024*576"`` or ``"16:9"`` → ``"16:9"``).

    Raises:
        ValueError: The ratio is not one Gemini image models take.
    """
    w, h = (int(x) for x in size.replace(":", "*").split("*"))
    g = math.gcd(w, h)
    ratio = f"{w // g}:{h // g}"
    if ratio not in GEMINI_ASPECT_RATIOS:
        raise ValueError(
            f"parameter 'size': the gemini route takes an aspect ratio, not exact pixels, and "
            f"{size} is {ratio}, which it cannot honour; use one of "
            f"{', '.join(GEMINI_ASPECT_RATIOS)} (e.g. 1024*576 for 16:9), or the dashscope "
            "route for exact pixel sizes"
        )
    return ratio


class ImageParams(BaseModel):
    """The flow's parameters, checked together before any call."""

    model_config = ConfigDict(extra="forbid")

    prompt: Prompt
    model: Model
    route: Route
    size: Size
    stream: bool
    credentials_block: BlockName = None
    store_block: BlockName = None

    @model_validator(mode="after")
    def _fits_route(self) -> ImageParams:
        if not self.prompt.strip():
            raise ValueError("parameter 'prompt': must not be blank")
        if self.stream and self.route != "gemini":
            raise ValueError(f"parameter 'stream': only the gemini route streams, not {self.route}")
        if self.size is None:
            return self
        if self.route == "gemini":
            gemini_aspect_ratio(self.size)
            return self
        if ":" in self.size:
            raise ValueError(
                f"parameter 'size': the dashscope route takes pixels as W*H, got {self.size!r}"
            )
        fixed = DASHSCOPE_FIXED_SIZES.get(self.chosen_model)
        if fixed is not None and self.size not in fixed:
            raise ValueError(
                f"parameter 'size': {self.chosen_model} renders only {', '.join(fixed)}; "
                f"got {self.size}"
            )
        if fixed is None and not all(
            SIDE_MIN <= int(side) <= SIDE_MAX for side in self.size.split("*")
        ):
            raise ValueError(
                f"parameter 'size': sides must be {SIDE_MIN}..{SIDE_MAX} pixels, got {self.size}"
            )
        return self

    @property
    def chosen_model(self) -> str:
        """The model to call: the parameter, or the route's default."""
        return self.model or DEFAULT_MODELS[self.route]


class ImageResult(BaseModel):
    """What ``generate-image`` returns.

    Attributes:
        route: Route used.
        model: Model used.
        images: The stored images (URI, key, bytes, sha256, source URL).
        manifest_key: This run's manifest in the asset store.
        reused: True when an earlier run's stored images were handed back (nothing was paid).
    """

    route: Route
    model: str
    images: list[AssetRecord]
    manifest_key: str
    reused: bool = False


def _scope() -> str:
    """Gateway and store identity: a cached result is only valid for the store that holds it."""
    gateway = current_gateway()
    base = gateway.credentials.base_url or os.environ.get("ANYINT_BASE_URL") or DEFAULT_BASE_URL
    return f"{base}|{gateway.store.root_url}"


def _cache_key(context: TaskRunContext, parameters: dict[str, Any]) -> str:
    """Same request, gateway and store → the same images.

    ``stream`` only changes how the answer travels, not the request's identity (nor the store key
    the images go to), so it is left out.
    """
    request = {k: v for k, v in parameters.items() if k != "stream"}
    text = canonical_json({"task": context.task.name, "params": request, "scope": _scope()})
    return f"anyint-image-{hashlib.sha256(text.encode()).hexdigest()}"


async def _generate(p: ImageParams, model: str, *, refresh: bool) -> tuple[list[AssetRecord], bool]:
    """Run the route's task with caching; returns the records and whether they came from cache."""
    options: dict[str, Any] = {
        "cache_key_fn": _cache_key,
        "persist_result": True,
        "refresh_cache": refresh,
    }
    # Prefect's stubs type an async task called with return_state=True as returning the State
    # itself; at run time it is awaited like any async task call (hence the ignores).
    if p.route == "gemini":
        aspect = gemini_aspect_ratio(p.size) if p.size else None
        state = await gemini_image.with_options(**options)(
            p.prompt, model, stream=p.stream, aspect_ratio=aspect, return_state=True
        )  # type: ignore[misc]
    else:
        state = await dashscope_image.with_options(**options)(
            p.prompt, model, size=p.size, return_state=True
        )  # type: ignore[misc]
    records: list[AssetRecord] = await state.aresult()
    return records, state.name == "Cached"


@flow(
    name="generate-image",
    description="Generate image(s) on the Gemini or DashScope route and store them.",
    validate_parameters=False,  # parse_parameters raises one ValueError naming the parameter
)
async def generate_image(
    prompt: Prompt = "A lighthouse on a cliff at dusk, watercolour.",
    model: Model = None,
    route: RouteField = "gemini",
    size: Size = None,
    stream: Stream = False,
    credentials_block: BlockName = None,
    store_block: BlockName = None,
) -> ImageResult:
    """Generate image(s) for ``prompt`` and store them with a manifest.

    Args:
        prompt: What the image shows.
        model: Model id; None picks the route's default.
        route: ``gemini`` or ``dashscope``.
        size: ``"W*H"`` pixels (dashscope) or an aspect ratio (gemini); None for the default.
        stream: Stream the Gemini answer.
        credentials_block: Saved ``AnyIntCredentials`` block name.
        store_block: Saved ``AssetStore`` block name.

    Returns:
        The stored images and this run's manifest key.

    Raises:
        ValueError: A bad parameter (named in the message); raised before any paid call.
    """
    p = parse_parameters(ImageParams, locals())
    model_id = p.chosen_model
    with use_gateway(await gateway_for(p.credentials_block, p.store_block)):
        store = current_gateway().store
        await check_models([ModelNeed("model", model_id, p.route, output=("image",))])
        records, reused = await _generate(p, model_id, refresh=False)
        if reused and not all(store.exists(r.key) for r in records):
            records, reused = await _generate(p, model_id, refresh=True)  # the store lost them
        manifest_key = record_assets(store, records)  # a cached result joins this run's manifest
        await publish_assets(
            records,
            key="generate-image",
            title="Generated image",
            summary=f"`{model_id}` on the {p.route} route"
            + (" (stored by an earlier run)" if reused else "")
            + f"\n\n> {p.prompt}",
        )
    return ImageResult(
        route=p.route, model=model_id, images=records, manifest_key=manifest_key, reused=reused
    )
