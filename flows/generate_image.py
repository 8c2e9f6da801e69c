"""Flow ``generate-image``: make image(s) from a prompt and keep them in the asset store.

Routes (``route``): ``gemini`` (Gemini-compatible ``generateContent`` with IMAGE output, plain or
streamed) and ``dashscope`` (DashScope multimodal generation) are sync: the images come back in
the answer. ``kling`` (Kling v2.1 ``images/generations``) and ``kling-omni`` (Kling V3 Omni
``omni-image``) are task routes: submit (recorded before it is sent, never paid twice) → wait →
fetch. What each route may be asked is in :mod:`flows._image_routes`.

Needs: an ``AnyIntCredentials`` block (``credentials_block``) or ``ANYINT_API_KEY`` /
``ANYINT_BASE_URL``, and an ``AssetStore`` block (``store_block``) or ``ANYINT_STORE`` (default
``./output``). Local reference ``images`` are read only inside ``ANYINT_INPUT_DIR`` (default: the
working directory). Writes the PNG(s) under ``assets/<family>/...`` and the run's manifest under
``runs/<flow_run_id>/manifest.json``; publishes table, markdown and image artifacts.

A retry or resume of a flow run hands back the images it stored (sha256 checked; gone → made
again) instead of paying again; a new flow run makes new images under new keys (nothing earlier
is overwritten), unless it shares an ``idempotency_key`` with an earlier run.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from anyint.types.models import Modality
from blocks.ids import markdown_code
from flows._common import ModelNeed, check_models_once, manifest_key, publish_assets, start_run
from flows._defer import deferrable, finish_step
from flows._image_routes import (
    DASHSCOPE_FIXED_SIZES,
    DEFAULT_MODELS,
    FAMILIES,
    ImageOptions,
    Route,
    check_options,
    for_manifest,
    gemini_aspect_ratio,
    kling_request,
    reference,
)
from flows._params import (
    BlockName,
    DeadlineSeconds,
    Defer,
    IdempotencyKey,
    PollInterval,
    PriceTable,
    checked_flow,
    checked_parameters,
    model_field,
    text_field,
)
from tasks import AssetRecord, RunConfig, submit
from tasks.generation import GEMINI_ASPECT_RATIOS, dashscope_image, gemini_image
from tasks.images import check_image_urls, load_image
from tasks.usage import UsageSummary

__all__ = [
    "DASHSCOPE_FIXED_SIZES",
    "DEFAULT_MODELS",
    "GEMINI_ASPECT_RATIOS",
    "ImageResult",
    "gemini_aspect_ratio",
]

PROMPT_MAX = 2000
IMAGES_MAX = 4
N_MAX = 9
SEED_MAX = 2147483647

Prompt = Annotated[str, text_field(PROMPT_MAX, "What the image shows.")]
Model = Annotated[
    str | None,
    model_field(", ".join(f"{route}: {model}" for route, model in DEFAULT_MODELS.items())),
]
RouteField = Annotated[
    Route,
    Field(
        description=(
            "gemini (generateContent), dashscope (Qwen image), kling (Kling v2.1 image task) "
            "or kling-omni (Kling V3 Omni image task)."
        )
    ),
]
Size = Annotated[
    str | None,
    Field(
        pattern=r"^[1-9][0-9]{0,4}[*:][1-9][0-9]{0,4}$",
        description=(
            'dashscope: "W*H" in pixels (qwen-image-plus: 1664*928, 1472*1104, 1328*1328, '
            f"1104*1472, 928*1664). gemini: an aspect ratio, one of "
            f"{', '.join(GEMINI_ASPECT_RATIOS)}; kling, kling-omni: an aspect ratio, one of "
            "16:9, 9:16, 1:1, 4:3, 3:4, 3:2, 2:3, 21:9 (the provider picks the pixels). Empty: "
            "the model's default."
        ),
    ),
]
Stream = Annotated[bool, Field(description="gemini only: stream the answer (SSE).")]
Images = Annotated[
    list[str],
    Field(
        max_length=IMAGES_MAX,
        description=(
            "Reference images (optional; dashscope editing models, kling: one, kling-omni): "
            "https URLs, data:image/...;base64 URLs, or paths inside ANYINT_INPUT_DIR."
        ),
    ),
]
Count = Annotated[
    int | None,
    Field(
        ge=1,
        le=N_MAX,
        description="How many images (dashscope, kling, kling-omni; qwen-image-plus makes 1). "
        "Empty: one.",
    ),
]
Seed = Annotated[
    int | None,
    Field(ge=0, le=SEED_MAX, description="dashscope only: random seed. Empty: a random one."),
]
NegativePrompt = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=500,
        description="What to avoid (dashscope, kling, kling-omni). Empty: nothing.",
    ),
]


class ImageResult(UsageSummary):
    """What ``generate-image`` returns.

    Attributes:
        route: Route used.
        model: Model used.
        images: The stored images (URI, key, bytes, sha256, source URL).
        manifest_key: This run's manifest in the asset store.
        reused: True when images this intent stored before were handed back (nothing paid).
        task_id: Gateway task id on the Kling routes (None on the sync routes).
    """

    route: Route
    model: str
    images: list[AssetRecord]
    manifest_key: str
    reused: bool = False
    task_id: str | None = None


def _checked_options(p: dict[str, Any], model: str) -> ImageOptions:
    """The run's options, each held to what the route and model take (nothing paid yet).

    Raises:
        ValueError: Naming the parameter.
    """
    if not p["prompt"].strip():
        raise ValueError("parameter 'prompt': must not be blank")
    if p["stream"] and p["route"] != "gemini":
        raise ValueError(f"parameter 'stream': only the gemini route streams, not {p['route']}")
    images = tuple(load_image(ref, f"images[{i}]") for i, ref in enumerate(p["images"]))
    options = ImageOptions(
        size=p["size"],
        n=p["n"],
        seed=p["seed"],
        negative_prompt=p["negative_prompt"],
        images=images,
    )
    check_options(p["route"], model, options)
    return options


async def _check_gateway(run: RunConfig, p: dict[str, Any], model: str) -> None:
    """Reference URLs answer and the model makes images on the route (nothing paid)."""
    if p["images"]:
        async with (await run.gateway.connect()).client() as client:
            await check_image_urls(client, {f"images[{i}]": r for i, r in enumerate(p["images"])})
    inputs: tuple[Modality, ...] = ("text", "image") if p["images"] else ("text",)
    need = ModelNeed("model", model, FAMILIES[p["route"]], input=inputs, output=("image",))
    await check_models_once(run, [need])


async def _kling_images(
    run: RunConfig, route: Route, model: str, prompt: str, options: ImageOptions
) -> tuple[list[AssetRecord], str, bool]:
    """A Kling image task: submit → wait → fetch; its records, task id and reuse."""
    name, body = kling_request(route, model, prompt, options)
    submitted = await submit(run, name, body)
    collected = await finish_step(run, submitted, request=for_manifest(body), model=model)
    return collected.records, submitted.task_id, submitted.reused


async def _make(
    run: RunConfig, p: dict[str, Any], model: str, options: ImageOptions
) -> tuple[list[AssetRecord], str | None, bool]:
    """The images of the chosen route: records, gateway task id (task routes) and reuse."""
    if p["route"] in ("kling", "kling-omni"):
        return await _kling_images(run, p["route"], model, p["prompt"], options)
    if p["route"] == "gemini":
        aspect = gemini_aspect_ratio(p["size"]) if p["size"] else None
        records = await gemini_image(
            run, p["prompt"], model, stream=p["stream"], aspect_ratio=aspect
        )
    else:
        records = await dashscope_image(
            run,
            p["prompt"],
            model,
            size=p["size"],
            negative_prompt=options.negative_prompt,
            images=[reference(image, raw=False) for image in options.images],
            n=options.n,
            seed=options.seed,
        )
    # Stored before this execution started: handed back by the journal, not paid now.
    return records, None, all(r.created_at.timestamp() < run.started_at for r in records)


async def _published(
    run: RunConfig,
    p: dict[str, Any],
    model: str,
    records: list[AssetRecord],
    task_id: str | None,
    reused: bool,
) -> ImageResult:
    """Publish the stored images as artifacts; the flow's result."""
    where = f"the {p['route']} route" + (f", task {markdown_code(task_id)}" if task_id else "")
    used = await publish_assets(
        run,
        records,
        key="generate-image",
        title="Generated image",
        summary=f"`{model}` on {where}\n\n> {p['prompt']}",
    )
    return ImageResult(
        usage_totals=used.usage_totals,
        estimated_cost=used.estimated_cost,
        route=p["route"],
        model=model,
        images=records,
        manifest_key=manifest_key(run),
        reused=reused,
        task_id=task_id,
    )


@checked_flow(
    "generate-image",
    "Generate image(s) on the Gemini, DashScope, Kling or Kling Omni route and store them.",
)
async def generate_image(
    prompt: Prompt = "A lighthouse on a cliff at dusk, watercolour.",
    model: Model = None,
    route: RouteField = "gemini",
    size: Size = None,
    n: Count = None,
    seed: Seed = None,
    negative_prompt: NegativePrompt = None,
    images: Images = [],  # noqa: B006 (never mutated; Prefect needs a JSON default)
    stream: Stream = False,
    deadline_seconds: DeadlineSeconds = 1800.0,
    poll_interval: PollInterval = 5.0,
    idempotency_key: IdempotencyKey = None,
    credentials_block: BlockName = None,
    store_block: BlockName = None,
    price_table: PriceTable = None,
    defer: Defer = False,
) -> ImageResult:
    """Generate image(s) for ``prompt`` and store them with a manifest.

    Args:
        prompt: What the image shows.
        model: Model id; None picks the route's default.
        route: ``gemini``, ``dashscope``, ``kling`` or ``kling-omni``.
        size: ``"W*H"`` pixels (dashscope), an aspect ratio like ``16:9`` (the others), or None.
        n: How many images (not gemini); None for one.
        seed: Random seed (dashscope only).
        negative_prompt: What to avoid (not gemini).
        images: Reference images: https URLs, data URLs or local paths.
        stream: Stream the Gemini answer.
        deadline_seconds: Time budget for waiting on a Kling task.
        poll_interval: First poll interval of a Kling task, in seconds.
        idempotency_key: Runs with the same key share the stored images (paid once).
        credentials_block: Saved ``AnyIntCredentials`` block name.
        store_block: Saved ``AssetStore`` block name.
        price_table: Store key of a JSON price table (:mod:`tasks.usage`): the usage
            totals then come with an estimated cost.
        defer: Deployment runs: suspend while a Kling task runs (see :mod:`flows._defer`).

    Returns:
        The stored images and this run's manifest key.

    Raises:
        ValueError: A bad parameter (named in the message); raised before any paid call.
    """
    p = checked_parameters(locals())
    model_id = p["model"] or DEFAULT_MODELS[p["route"]]
    options = _checked_options(p, model_id)
    run = await start_run(p)
    await _check_gateway(run, p, model_id)

    async def make(run: RunConfig) -> ImageResult:
        records, task_id, reused = await _make(run, p, model_id, options)
        return await _published(run, p, model_id, records, task_id, reused)

    return await deferrable(run, make)
