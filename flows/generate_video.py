"""Flow ``generate-video``: text (or a first frame) to video, kept in the asset store.

Routes (``route``): ``dashscope`` (Wan: ``wan2.6-t2v``, or ``wan2.6-i2v`` with an image),
``kling`` (Kling Std/Pro ``text2video`` / ``image2video``: ``kling-v3``), ``kling-omni`` (Kling
V3 Omni ``omni-video``: ``kling-v3-omni``) and ``openai`` (the OpenAI-style ``/openai/v1/videos``
route the gateway recommends for new integrations: ``kling-3.0`` or ``kling-v3-omni``). All are
task-based: submit (recorded before it is sent, never paid twice) → wait (polls with backoff
within ``deadline_seconds``) → fetch (streams the MP4 into the store). A retry or resume of the
flow run waits on the same task; a new flow run makes a new video unless it shares an
``idempotency_key``. What each route sends is in :mod:`flows._video_routes`.

Needs: an ``AnyIntCredentials`` block (``credentials_block``) or ``ANYINT_API_KEY`` /
``ANYINT_BASE_URL``, and an ``AssetStore`` block (``store_block``) or ``ANYINT_STORE`` (default
``./output``). ``ANYINT_CALLBACK_URL`` (optional) lets the gateway's Kling callback end the wait
early. A local ``image`` path is read only inside ``ANYINT_INPUT_DIR`` (default: the working
directory). Writes ``assets/<family>/<task_id>/video*.mp4`` and
``runs/<flow_run_id>/manifest.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field, ValidationError

from anyint.types.models import Modality
from blocks.ids import markdown_code
from flows._common import ModelNeed, check_models_once, manifest_key, publish_assets, start_run
from flows._defer import deferrable, finish_step
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
from flows._video_routes import (
    DEFAULT_MODELS,
    FAMILIES,
    AspectRatio,
    Mode,
    Route,
    VideoOptions,
    check_options,
    default_model,
    for_manifest,
    request_error,
    video_request,
)
from tasks import AssetRecord, FinishedTask, RunConfig, SubmittedTask, submit
from tasks.images import check_image_urls, load_image
from tasks.routes import route as route_spec
from tasks.usage import UsageSummary

__all__ = ["DEFAULT_MODELS", "DURATION_MAX", "VideoResult", "default_model", "video_request"]

PROMPT_MAX = 2500
DURATION_MIN, DURATION_MAX = 1, 15

Prompt = Annotated[str, text_field(PROMPT_MAX, "What the video shows.")]
Model = Annotated[
    str | None,
    model_field(
        "dashscope: wan2.6-t2v, or wan2.6-i2v with an image; kling: kling-v3; "
        "kling-omni: kling-v3-omni; openai: kling-3.0"
    ),
]
RouteField = Annotated[
    Route,
    Field(
        description=(
            "dashscope (Wan), kling (Kling Std/Pro), kling-omni (Kling V3 Omni) or openai "
            "(the OpenAI-style /openai/v1/videos route)."
        )
    ),
]
Image = Annotated[
    str | None,
    Field(
        description=(
            "First frame (optional): an https URL, a data:image/...;base64 URL, or a path inside "
            "ANYINT_INPUT_DIR. PNG, JPEG, GIF or WebP, up to 5 MB inline."
        )
    ),
]
Duration = Annotated[
    int,
    Field(
        ge=DURATION_MIN,
        le=DURATION_MAX,
        description=(
            "Length in seconds (the model may allow only some values, e.g. 5 or 10; "
            "kling-omni: 3..15)."
        ),
    ),
]
AspectRatioField = Annotated[
    AspectRatio | None,
    Field(
        description=(
            "Frame shape: 16:9, 9:16 or 1:1 (dashscope sends Wan's 720P size of it). Empty: "
            "the model's default, or the first frame's shape when an image is given."
        )
    ),
]
ModeField = Annotated[
    Mode | None,
    Field(
        description=(
            "Kling quality: std (Standard) or pro (Pro); kling, kling-omni and openai only. "
            "Empty: std on kling, the gateway's default elsewhere."
        )
    ),
]
Audio = Annotated[
    bool | None,
    Field(description="Generate a soundtrack (true/false). Empty: the route's default."),
]


class VideoResult(UsageSummary):
    """What ``generate-video`` returns.

    Attributes:
        route: Gateway route used (``kling.image2video`` ...).
        model: Model used.
        task_id: Gateway task id (keep it: the task can be looked up or fetched again).
        videos: The stored MP4(s).
        manifest_key: This run's manifest in the asset store.
        reused: True when the task was created before (a resume or a shared key: nothing paid).
    """

    route: str
    model: str
    task_id: str
    videos: list[AssetRecord]
    manifest_key: str
    reused: bool = False


@dataclass(frozen=True)
class _Create:
    """The one create of a run, checked before anything is paid.

    Attributes:
        model: Model id.
        route: Registry route name (``kling.image2video`` ...).
        body: Request body.
        inputs: Modalities the model is sent.
    """

    model: str
    route: str
    body: dict[str, Any]
    inputs: tuple[Modality, ...]


def _checked_create(p: dict[str, Any]) -> _Create:
    """The create a run's checked parameters ask for, held to the route's own rules.

    Raises:
        ValueError: Naming the parameter and the rule it breaks.
    """
    if not p["prompt"].strip():
        raise ValueError("parameter 'prompt': must not be blank")
    frame = load_image(p["image"], "image") if p["image"] is not None else None
    options = VideoOptions(
        prompt=p["prompt"],
        duration=p["duration"],
        image=frame,
        aspect_ratio=p["aspect_ratio"],
        mode=p["mode"],
        audio=p["audio"],
    )
    model_id = p["model"] or default_model(p["route"], frame is not None)
    check_options(p["route"], model_id, options)
    name, body = video_request(p["route"], model_id, options)
    try:
        route_spec(name).params.model_validate(body)  # the route's own rules, before paying
    except ValidationError as exc:
        raise request_error(exc, name) from None
    inputs: tuple[Modality, ...] = ("text", "image") if frame is not None else ("text",)
    return _Create(model=model_id, route=name, body=body, inputs=inputs)


async def _check_gateway(run: RunConfig, p: dict[str, Any], create: _Create) -> None:
    """The first frame's URL answers and the model makes video on the route (nothing paid)."""
    if p["image"] is not None:
        async with (await run.gateway.connect()).client() as client:
            await check_image_urls(client, {"image": p["image"]})
    family = FAMILIES[p["route"]]
    need = ModelNeed("model", create.model, family, input=create.inputs, output=("video",))
    await check_models_once(run, [need])


async def _published(
    run: RunConfig,
    create: _Create,
    prompt: str,
    submitted: SubmittedTask,
    finished: FinishedTask,
    records: list[AssetRecord],
) -> VideoResult:
    """Publish the stored video as artifacts; the flow's result."""
    used = await publish_assets(
        run,
        records,
        key="generate-video",
        title="Generated video",
        summary=f"`{create.model}` on {create.route}, task {markdown_code(finished.task_id)}"
        + (" (created before: nothing paid this time)" if submitted.reused else "")
        + f"\n\n> {prompt}",
    )
    return VideoResult(
        usage_totals=used.usage_totals,
        estimated_cost=used.estimated_cost,
        route=create.route,
        model=create.model,
        task_id=finished.task_id,
        videos=records,
        manifest_key=manifest_key(run),
        reused=submitted.reused,
    )


@checked_flow(
    "generate-video",
    "Generate a video on the DashScope, Kling, Kling Omni or OpenAI-style route; store the MP4.",
)
async def generate_video(
    prompt: Prompt = "A paper boat drifting down a rainy street, slow camera pan.",
    model: Model = None,
    route: RouteField = "dashscope",
    image: Image = None,
    duration: Duration = 5,
    aspect_ratio: AspectRatioField = None,
    mode: ModeField = None,
    audio: Audio = None,
    deadline_seconds: DeadlineSeconds = 1800.0,
    poll_interval: PollInterval = 5.0,
    idempotency_key: IdempotencyKey = None,
    credentials_block: BlockName = None,
    store_block: BlockName = None,
    price_table: PriceTable = None,
    defer: Defer = False,
) -> VideoResult:
    """Generate a video for ``prompt`` (optionally from a first frame) and store it.

    Args:
        prompt: What the video shows.
        model: Model id; None picks the route's default.
        route: ``dashscope``, ``kling``, ``kling-omni`` or ``openai``.
        image: First frame: https URL, data URL or local path.
        duration: Seconds.
        aspect_ratio: ``16:9``, ``9:16`` or ``1:1``; None for the default.
        mode: ``std`` or ``pro`` (Kling models); None for the route's default.
        audio: Generate a soundtrack; None for the route's default.
        deadline_seconds: Time budget for the wait; the error gives the resume command.
        poll_interval: First poll interval in seconds (later waits: 10 % of the time waited).
        idempotency_key: Runs with the same key share the gateway task and the stored video.
        credentials_block: Saved ``AnyIntCredentials`` block name.
        store_block: Saved ``AssetStore`` block name.
        price_table: Store key of a JSON price table (:mod:`tasks.usage`): the usage
            totals then come with an estimated cost.
        defer: Deployment runs: suspend while the gateway works (see :mod:`flows._defer`).

    Returns:
        The gateway task id, the stored MP4(s) and this run's manifest key.

    Raises:
        ValueError: A bad parameter (named in the message); raised before any paid call.
    """
    p = checked_parameters(locals())
    create = _checked_create(p)
    run = await start_run(p)
    await _check_gateway(run, p, create)

    async def make(run: RunConfig) -> VideoResult:
        submitted = await submit(run, create.route, create.body)
        collected = await finish_step(
            run, submitted, request=for_manifest(create.body), model=create.model
        )
        return await _published(
            run, create, p["prompt"], submitted, collected.finished, collected.records
        )

    return await deferrable(run, make)
