"""Flow ``generate-image``: make image(s) from a prompt and keep them in the asset store.

Routes: ``gemini`` (Gemini-compatible ``generateContent`` with IMAGE output, plain or streamed)
or ``dashscope`` (DashScope multimodal generation, sync). Both are sync routes: the images come
back in the answer, so there is no gateway task to wait for.

Needs: an ``AnyIntCredentials`` block (``credentials_block``) or ``ANYINT_API_KEY`` /
``ANYINT_BASE_URL``, and an ``AssetStore`` block (``store_block``) or ``ANYINT_STORE`` (default
``./output``). Writes the PNG(s) under ``assets/<route>/...`` and the run's manifest under
``runs/<flow_run_id>/manifest.json``; publishes table, markdown and image artifacts.

A retry or resume of a flow run hands back the images it stored (sha256 checked; gone → made
again) instead of paying again; a new flow run makes new images under new keys (nothing earlier
is overwritten), unless it shares an ``idempotency_key`` with an earlier run.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from flows._common import ModelNeed, check_models, manifest_key, publish_assets, start_run
from flows._params import (
    BlockName,
    IdempotencyKey,
    checked_flow,
    checked_parameters,
    model_field,
    text_field,
)
from tasks import AssetRecord
from tasks.generation import GEMINI_ASPECT_RATIOS, aspect_ratio, dashscope_image, gemini_image

__all__ = ["DASHSCOPE_FIXED_SIZES", "DEFAULT_MODELS", "GEMINI_ASPECT_RATIOS", "ImageResult"]

Route = Literal["gemini", "dashscope"]
DEFAULT_MODELS: dict[str, str] = {
    "gemini": "gemini-3.1-flash-image-preview",
    "dashscope": "qwen-image-plus",
}
PROMPT_MAX = 2000
#: The only sizes these DashScope models render (contract §10.1 [UP]); other models take any W*H.
DASHSCOPE_FIXED_SIZES: dict[str, tuple[str, ...]] = {
    model: ("1664*928", "1472*1104", "1328*1328", "1104*1472", "928*1664")
    for model in ("qwen-image-plus", "qwen-image-max")
}
#: Bounds of a free ``W*H`` on DashScope models without a fixed list.
SIDE_MIN, SIDE_MAX = 256, 2048

Prompt = Annotated[str, text_field(PROMPT_MAX, "What the image shows.")]
Model = Annotated[
    str | None,
    model_field(f"gemini: {DEFAULT_MODELS['gemini']}, dashscope: {DEFAULT_MODELS['dashscope']}"),
]
RouteField = Annotated[Route, Field(description="gemini (generateContent) or dashscope.")]
Size = Annotated[
    str | None,
    Field(
        pattern=r"^[1-9][0-9]{0,4}[*:][1-9][0-9]{0,4}$",
        description=(
            'dashscope: "W*H" in pixels (qwen-image-plus: 1664*928, 1472*1104, 1328*1328, '
            f"1104*1472, 928*1664). gemini: an aspect ratio, one of "
            f"{', '.join(GEMINI_ASPECT_RATIOS)} (Gemini picks the pixels; it cannot be given "
            "W*H). Empty: the model's default."
        ),
    ),
]
Stream = Annotated[bool, Field(description="gemini only: stream the answer (SSE).")]


def gemini_aspect_ratio(size: str) -> str:
    """``size`` as the Gemini route sends it: an aspect ratio it honours, unchanged.

    Gemini sets only ``imageConfig.aspectRatio`` (contract §9.3), never pixels, so ``W*H`` is
    refused rather than quietly sent as its ratio at whatever pixel size Gemini picks.

    Raises:
        ValueError: Naming ``size`` and the aspect ratios the gemini route takes.
    """
    if size in GEMINI_ASPECT_RATIOS:
        return size
    ratio = aspect_ratio(size)
    fix = (
        f"; pass size={ratio!r} (Gemini picks the pixels)"
        if ratio in GEMINI_ASPECT_RATIOS
        else f" ({'' if ratio == size else f'{ratio}, '}not offered); pick one of those"
    )
    raise ValueError(
        f"parameter 'size': the gemini route takes only an aspect ratio, one of "
        f"{', '.join(GEMINI_ASPECT_RATIOS)}; got {size}{fix}, or use route 'dashscope' for "
        "exact W*H pixels"
    )


def check_size(route: Route, size: str | None, model: str) -> None:
    """The cross-field rule of ``size``: what the chosen route and model can honour.

    Raises:
        ValueError: Naming ``size`` and what it may be.
    """
    if size is None:
        return
    if route == "gemini":
        gemini_aspect_ratio(size)
        return
    if ":" in size:
        raise ValueError(f"parameter 'size': the dashscope route takes pixels as W*H, got {size!r}")
    fixed = DASHSCOPE_FIXED_SIZES.get(model)
    if fixed is not None and size not in fixed:
        raise ValueError(f"parameter 'size': {model} renders only {', '.join(fixed)}; got {size}")
    if fixed is None and not all(SIDE_MIN <= int(side) <= SIDE_MAX for side in size.split("*")):
        raise ValueError(
            f"parameter 'size': sides must be {SIDE_MIN}..{SIDE_MAX} pixels, got {size}"
        )


class ImageResult(BaseModel):
    """What ``generate-image`` returns.

    Attributes:
        route: Route used.
        model: Model used.
        images: The stored images (URI, key, bytes, sha256, source URL).
        manifest_key: This run's manifest in the asset store.
        reused: True when images this intent stored before were handed back (nothing paid).
    """

    route: Route
    model: str
    images: list[AssetRecord]
    manifest_key: str
    reused: bool = False


@checked_flow(
    "generate-image", "Generate image(s) on the Gemini or DashScope route and store them."
)
async def generate_image(
    prompt: Prompt = "A lighthouse on a cliff at dusk, watercolour.",
    model: Model = None,
    route: RouteField = "gemini",
    size: Size = None,
    stream: Stream = False,
    idempotency_key: IdempotencyKey = None,
    credentials_block: BlockName = None,
    store_block: BlockName = None,
) -> ImageResult:
    """Generate image(s) for ``prompt`` and store them with a manifest.

    Args:
        prompt: What the image shows.
        model: Model id; None picks the route's default.
        route: ``gemini`` or ``dashscope``.
        size: ``"W*H"`` pixels (dashscope), an aspect ratio like ``16:9`` (gemini), or None.
        stream: Stream the Gemini answer.
        idempotency_key: Runs with the same key share the stored images (paid once).
        credentials_block: Saved ``AnyIntCredentials`` block name.
        store_block: Saved ``AssetStore`` block name.

    Returns:
        The stored images and this run's manifest key.

    Raises:
        ValueError: A bad parameter (named in the message); raised before any paid call.
    """
    p = checked_parameters(locals())
    model_id = p["model"] or DEFAULT_MODELS[p["route"]]
    if not p["prompt"].strip():
        raise ValueError("parameter 'prompt': must not be blank")
    if p["stream"] and p["route"] != "gemini":
        raise ValueError(f"parameter 'stream': only the gemini route streams, not {p['route']}")
    check_size(p["route"], p["size"], model_id)
    run = await start_run(p)
    await check_models(run, [ModelNeed("model", model_id, p["route"], output=("image",))])
    if p["route"] == "gemini":
        aspect = gemini_aspect_ratio(p["size"]) if p["size"] else None
        records = await gemini_image(
            run, p["prompt"], model_id, stream=p["stream"], aspect_ratio=aspect
        )
    else:
        records = await dashscope_image(run, p["prompt"], model_id, size=p["size"])
    # Stored before this execution started: handed back by the journal, not paid now.
    reused = all(r.created_at.timestamp() < run.started_at for r in records)
    await publish_assets(
        run,
        records,
        key="generate-image",
        title="Generated image",
        summary=f"`{model_id}` on the {p['route']} route\n\n> {p['prompt']}",
    )
    return ImageResult(
        route=p["route"],
        model=model_id,
        images=records,
        manifest_key=manifest_key(run),
        reused=reused,
    )
