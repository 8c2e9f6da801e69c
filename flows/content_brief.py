"""Flow ``content-brief``: from one brief, a cover image, a short video and a song in parallel,
optionally a music video of the song, then a summary artifact. Meant to run on a schedule.

Needs: an AnyInt gateway (``credentials_block``: name of a saved ``AnyIntCredentials`` block, else
``ANYINT_API_KEY``/``ANYINT_BASE_URL``) and an asset store (``store_block``: name of a saved
``AssetStore`` block, else the default store). ``task_runner="dask"`` needs ``prefect-dask``.

The three branches run as Prefect tasks in a subflow (``content-brief-fan-out``) whose task runner
is picked per run: Prefect's thread pool, a local Dask cluster (``processes=False``), or an
existing Dask cluster by address (``dask_address``, see :mod:`flows._dask`). Each
branch receives the run's :class:`~tasks.RunConfig` as a plain value (block names and URLs, never
a secret), so it runs the same wherever the runner puts it.

Every parameter, request body and model is checked before the first paid call.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from prefect import flow, get_run_logger, task
from prefect.artifacts import acreate_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture
from prefect.futures import wait as wait_futures
from pydantic import BaseModel, Field, ValidationError

from anyint.types import dashscope as ds
from anyint.types import kling as kl
from anyint.types.suno import SunoModel
from blocks.ids import markdown_code
from tasks import AssetRecord, RunConfig
from tasks.generation import GEMINI_ASPECT_RATIOS, aspect_ratio, dashscope_image, gemini_image
from tasks.usage import UsageSummary

from ._common import ModelNeed, check_models_once, manifest_key, publish_assets, start_run
from ._dask import DaskAddress, check_dask_address, fan_out_runner, ran_on, settle_manifest
from ._music_steps import (
    SongPlan,
    SongResult,
    StepResult,
    make_music_video,
    make_song,
    plan_song,
    run_step,
)
from ._params import (
    BlockName,
    DeadlineSeconds,
    IdempotencyKey,
    PollInterval,
    PriceTable,
    checked_flow,
    checked_parameters,
    named_error,
)

__all__ = ["ContentBriefResult", "content_brief"]

ImageRoute = Literal["dashscope", "gemini"]
VideoRoute = Literal["dashscope", "kling"]
_IMAGE_MODELS = {"dashscope": "qwen-image-plus", "gemini": "gemini-3.1-flash-image-preview"}
_VIDEO_MODELS = {"dashscope": "wan2.6-t2v", "kling": "kling-v3"}
_VIDEO_ROUTES = {"dashscope": "dashscope.video-synthesis", "kling": "kling.text2video"}
_SIZE = r"^[1-9]\d{0,4}\*[1-9]\d{0,4}$"

# -- the branches ---------------------------------------------------------------------------------


class ImageSpec(BaseModel):
    """The cover image request, checked before any call."""

    route: ImageRoute
    model: str
    prompt: str
    size: str


class VideoSpec(BaseModel):
    """The video request: route name and the validated body."""

    route: str
    model: str
    body: dict[str, Any]


class SongBranch(BaseModel):
    """The song and, when asked for, its music video."""

    song: SongResult
    music_video: StepResult | None = None


@task(name="brief-image", cache_policy=NO_CACHE)
async def brief_image(run: RunConfig, spec: ImageSpec) -> list[AssetRecord]:
    """The cover image (a sync route: stored as soon as it answers)."""
    get_run_logger().info("image branch of run %s on %s", run.flow_run_id, ran_on())
    if spec.route == "gemini":
        return await gemini_image(
            run, spec.prompt, spec.model, aspect_ratio=aspect_ratio(spec.size)
        )
    return await dashscope_image(run, spec.prompt, spec.model, size=spec.size)


@task(name="brief-video", cache_policy=NO_CACHE)
async def brief_video(run: RunConfig, spec: VideoSpec) -> StepResult:
    """The short video: submit → wait → fetch."""
    get_run_logger().info("video branch of run %s on %s", run.flow_run_id, ran_on())
    step, _ = await run_step(run, "video", spec.route, spec.body, model=spec.model)
    return step


@task(name="brief-song", cache_policy=NO_CACHE)
async def brief_song(run: RunConfig, plan: SongPlan) -> SongBranch:
    """Lyrics → song (→ music video)."""
    get_run_logger().info("song branch of run %s on %s", run.flow_run_id, ran_on())
    song = await make_song(run, plan)
    video = await make_music_video(run, song) if plan.music_video else None
    return SongBranch(song=song, music_video=video)


class FanOut(BaseModel):
    """What the three branches made."""

    image: list[AssetRecord]
    video: StepResult
    song: SongBranch


@flow(name="content-brief-fan-out")
async def fan_out(run: RunConfig, image: ImageSpec, video: VideoSpec, song: SongPlan) -> FanOut:
    """Run the image, video and song branches at once on this flow's task runner."""
    futures: list[PrefectFuture[Any]] = [
        brief_image.submit(run, image),
        brief_video.submit(run, video),
        brief_song.submit(run, song),
    ]
    # Let every branch finish (a failed one must not orphan the others' paid work) without
    # blocking this flow's event loop; then the first failure, if any, is raised.
    await asyncio.to_thread(lambda: wait_futures(futures))
    image_records, video_step, song_branch = (f.result() for f in futures)
    return FanOut(image=image_records, video=video_step, song=song_branch)


# -- the flow -------------------------------------------------------------------------------------


class ContentBriefResult(UsageSummary):
    """What a ``content-brief`` run made.

    Attributes:
        brief: The brief.
        image: Stored cover image(s).
        video: Stored video(s).
        song: Stored song assets (lyrics, tracks, their cover images).
        music_video: Stored music video, when asked for.
        title: Song title.
        audio_id: ``audioId`` of the song's first track.
        task_ids: Gateway task id per step (``video``, ``lyrics``, ``song``, ``music_video``).
        manifest_key: Store key of this run's ``manifest.json`` (every asset above).
    """

    brief: str
    image: list[AssetRecord]
    video: list[AssetRecord]
    song: list[AssetRecord]
    music_video: list[AssetRecord]
    title: str
    audio_id: str
    task_ids: dict[str, str]
    manifest_key: str


def _video_spec(route: VideoRoute, model: str, prompt: str, size: str, seconds: int) -> VideoSpec:
    try:
        if route == "kling":
            width, height = (int(x) for x in size.split("*"))
            aspect = "16:9" if width > height else "9:16" if height > width else "1:1"
            body = kl.KlingText2VideoParams(
                model_name=model, prompt=prompt, duration=seconds, aspect_ratio=aspect
            ).to_body()
        else:
            body = ds.DashScopeVideoParams(
                model=model,
                input=ds.DashScopeVideoInput(prompt=prompt),
                parameters=ds.DashScopeVideoParameters(size=size, duration=seconds),
            ).to_body()
    except ValidationError as exc:
        raise named_error(exc, {"model_name": "video_model", "input": "brief"}) from None
    return VideoSpec(route=_VIDEO_ROUTES[route], model=model, body=body)


def _image_spec(route: ImageRoute, model: str, prompt: str, size: str) -> ImageSpec:
    if route == "dashscope":
        try:  # the body dashscope_image() sends, checked now
            ds.DashScopeImageParams.model_validate(
                {
                    "model": model,
                    "input": {"messages": [{"role": "user", "content": [{"text": prompt}]}]},
                    "parameters": {"size": size},
                }
            )
        except ValidationError as exc:
            raise named_error(exc, {"input": "brief", "parameters": "image_size"}) from None
    elif (ratio := aspect_ratio(size)) not in GEMINI_ASPECT_RATIOS:  # now, before any branch pays
        raise ValueError(
            f"parameter 'image_size': the gemini route uses its aspect ratio, {ratio}, "
            f"which Gemini does not offer; pick W*H with one of {', '.join(GEMINI_ASPECT_RATIOS)}"
        )
    return ImageSpec(route=route, model=model, prompt=prompt, size=size)


def _summary(brief: str, out: FanOut, runner: str) -> str:
    song = out.song.song
    lines = [
        "# Content brief",
        "",
        f"> {brief}",
        "",
        f"Branches ran in parallel on the `{runner}` task runner.",
        "",
        "| branch | gateway task | assets |",
        "|---|---|---|",
        f"| image | (sync) | {', '.join(f'[{r.kind}]({r.uri})' for r in out.image)} |",
        f"| video | {markdown_code(out.video.task_id, table=True)} | "
        f"{', '.join(f'[{r.kind}]({r.uri})' for r in out.video.records)} |",
    ]
    for step in song.steps:
        cell = markdown_code(step.task_id, table=True)  # gateway data: kept inside its cell
        lines.append(f"| {step.step} | {cell} | {len(step.records)} stored |")
    if out.song.music_video:
        mv = out.song.music_video
        cell = markdown_code(mv.task_id, table=True)
        lines.append(f"| music video | {cell} | [mp4]({mv.records[0].uri}) |")
    lines += ["", f"Song **{song.title}** ({markdown_code(song.audio_id)}, {song.duration} s)."]
    return "\n".join(lines)


def _requests(p: dict[str, Any]) -> tuple[ImageSpec, VideoSpec, SongPlan]:
    """The three branches' requests, from a run's checked parameters (nothing paid yet)."""
    image_model = p["image_model"] or _IMAGE_MODELS[p["image_route"]]
    video_model = p["video_model"] or _VIDEO_MODELS[p["video_route"]]
    image = _image_spec(
        p["image_route"], image_model, f"Cover image: {p['brief']}", p["image_size"]
    )
    video = _video_spec(
        p["video_route"], video_model, p["brief"], p["video_size"], p["video_seconds"]
    )
    plan = plan_song(
        prompt=p["brief"],
        model=p["song_model"],
        style=p["song_style"],
        title=None,
        instrumental=False,
        lyrics=True,
        music_video=p["music_video"],
        names={"prompt": "brief", "style": "song_style", "model": "song_model"},
    )
    return image, video, plan


def _model_needs(
    p: dict[str, Any], image: ImageSpec, video: VideoSpec, plan: SongPlan
) -> list[ModelNeed]:
    """What each branch's model must do on its route."""
    song_outputs: tuple[Any, ...] = (
        ("audio", "text", "video") if plan.music_video else ("audio", "text")
    )
    return [
        ModelNeed("image_model", image.model, p["image_route"], output=("image",)),
        ModelNeed("video_model", video.model, p["video_route"], output=("video",)),
        ModelNeed("song_model", plan.model.value, "suno", output=song_outputs),
    ]


async def _published(run: RunConfig, p: dict[str, Any], out: FanOut) -> ContentBriefResult:
    """Publish the summary and what the branches stored as artifacts; the flow's result."""
    song = out.song.song
    song_records = [r for s in song.steps for r in s.records]
    mv_records = out.song.music_video.records if out.song.music_video else []
    records = [*out.image, *out.video.records, *song_records, *mv_records]
    await settle_manifest(run, records)
    runner = f"dask at {p['dask_address']}" if p["dask_address"] else p["task_runner"]
    await acreate_markdown_artifact(
        _summary(p["brief"], out, runner),
        key="content-brief-summary",
        description="Content brief: what was made",
    )
    title = f"Content brief: {song.title}"
    used = await publish_assets(run, records, key="content-brief", title=title)
    task_ids = {"video": out.video.task_id} | {s.step: s.task_id for s in song.steps}
    if out.song.music_video:
        task_ids["music_video"] = out.song.music_video.task_id
    return ContentBriefResult(
        usage_totals=used.usage_totals,
        estimated_cost=used.estimated_cost,
        brief=p["brief"],
        image=out.image,
        video=out.video.records,
        song=song_records,
        music_video=mv_records,
        title=song.title,
        audio_id=song.audio_id,
        task_ids=task_ids,
        manifest_key=manifest_key(run),
    )


@checked_flow(
    "content-brief", "A brief → cover image, short video and song in parallel (+ music video)."
)
async def content_brief(
    brief: Annotated[str, Field(min_length=1, max_length=1500)] = (
        "A calm morning by the sea: soft light, gulls over the harbour, the first coffee."
    ),
    music_video: bool = False,
    image_route: ImageRoute = "dashscope",
    image_model: str | None = None,
    image_size: Annotated[str, Field(pattern=_SIZE)] = "1328*1328",
    video_route: VideoRoute = "dashscope",
    video_model: str | None = None,
    video_size: Annotated[str, Field(pattern=_SIZE)] = "1280*720",
    video_seconds: Annotated[int, Field(ge=1, le=15)] = 5,
    song_model: SunoModel = SunoModel.V5,
    song_style: Annotated[str, Field(min_length=1, max_length=1000)] = "cinematic pop, warm",
    task_runner: Literal["default", "dask"] = "default",
    dask_address: DaskAddress = None,
    deadline_seconds: DeadlineSeconds = 1800.0,
    poll_interval: PollInterval = 5.0,
    idempotency_key: IdempotencyKey = None,
    credentials_block: BlockName = None,
    store_block: BlockName = None,
    price_table: PriceTable = None,
) -> ContentBriefResult:
    """Turn a brief into a cover image, a short video and a song (plus a music video).

    Args:
        brief: What the content is about: the image and video prompt and the song's theme.
        music_video: Also make a music video of the song.
        image_route: dashscope (multimodal generation) or gemini (image output).
        image_model: Image model; the route's default when empty.
        image_size: Image size W*H; the Gemini route uses its aspect ratio only.
        video_route: dashscope (video synthesis) or kling (text2video).
        video_model: Video model; the route's default when empty.
        video_size: Video size W*H; Kling uses its orientation only (16:9, 9:16 or 1:1).
        video_seconds: Video length in seconds.
        song_model: Suno model of the song.
        song_style: Musical style of the song.
        task_runner: Where the three branches run: Prefect's thread pool (default) or a local
            Dask cluster (dask).
        dask_address: Address of a running Dask scheduler (tcp://host:8786): the branches run
            on its workers (task_runner is then ignored). Empty: they run here.
        deadline_seconds: Time budget for all the waiting, in seconds.
        poll_interval: First poll interval in seconds (later waits: 10 % of the time waited).
        idempotency_key: Runs with the same key share their gateway tasks and assets (a daily
            schedule without one makes new content every day).
        credentials_block: Name of a saved AnyIntCredentials block (else ANYINT_* env).
        store_block: Name of a saved AssetStore block (else the default store).
        price_table: Store key of a JSON price table (:mod:`tasks.usage`): the usage
            totals then come with an estimated cost.

    Raises:
        ValueError: A parameter breaks a rule (named in the message); nothing was paid for.
    """
    p = checked_parameters(locals())
    image, video, plan = _requests(p)
    if p["dask_address"]:
        await check_dask_address(p["dask_address"])
    run = await start_run(p)
    await check_models_once(run, _model_needs(p, image, video, plan))
    # The branches run in the fan-out subflow but record into this run's manifest: the run
    # passes itself (its id and intent) to them. One thread (or Dask thread) per branch.
    runner = fan_out_runner(p["dask_address"], local_dask=p["task_runner"] == "dask", width=3)
    out = await fan_out.with_options(task_runner=runner)(run, image, video, plan)
    return await _published(run, p, out)
