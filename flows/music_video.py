"""Flow ``music-video``: lyrics → song → stems, WAV and cover art (in parallel) → music video.

Needs: an AnyInt gateway (``credentials_block``: name of a saved ``AnyIntCredentials`` block, else
``ANYINT_API_KEY``/``ANYINT_BASE_URL``) and an asset store (``store_block``: name of a saved
``AssetStore`` block, else the default store). Optional ``ANYINT_CALLBACK_URL``: the callback
receiver, so waits wake as soon as Suno calls back (polling is the fallback).

Every parameter is checked, and every request body that can be known up front is built, before
the first paid call; the model is checked against the gateway's catalogue too. Every step is
submit → wait → fetch. A retry or resume of a flow run reuses every gateway task it created and
every asset it stored (nothing is paid twice); a new flow run makes a new song, unless it shares
an ``idempotency_key`` with an earlier one.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from prefect.artifacts import acreate_progress_artifact, aupdate_progress_artifact
from pydantic import BaseModel, Field

from anyint.types.suno import SunoModel
from blocks.ids import markdown_code
from tasks import AssetRecord, RunConfig

from ._common import ModelNeed, check_models, manifest_key, publish_assets, start_run
from ._music_steps import (
    SongPlan,
    SongResult,
    StemsMode,
    StepResult,
    by_kind,
    make_follow_ups,
    make_music_video,
    make_song,
    plan_song,
)
from ._params import (
    BlockName,
    DeadlineSeconds,
    IdempotencyKey,
    PollInterval,
    checked_flow,
    checked_parameters,
)

__all__ = ["MusicVideoResult", "music_video"]


class MusicVideoResult(BaseModel):
    """What a ``music-video`` run made.

    Attributes:
        title: Title of the chosen track.
        mode: ``custom`` (style and title; lyrics unless instrumental) or ``simple``.
        model: Suno model.
        task_ids: Gateway task id per step (``lyrics``, ``song``, ``stems``, ``wav``,
            ``cover_art``, ``music_video``); steps switched off are absent.
        reused_steps: Steps whose gateway task was created before (a resume or a shared key:
            nothing paid this time).
        audio_id: ``audioId`` of the chosen track.
        duration: Its duration in seconds, as the song task reported it.
        track_key: Store key of its MP3.
        lyrics: The lyrics sung, when there was a lyrics step.
        assets: Stored assets by manifest kind (``audio``, ``image``, ``lyrics``, ``stem``,
            ``wav``, ``cover_art``, ``music_video``).
        manifest_key: Store key of this run's ``manifest.json``.
    """

    title: str
    mode: Literal["custom", "simple"]
    model: str
    task_ids: dict[str, str]
    reused_steps: list[str]
    audio_id: str
    duration: float | None
    track_key: str | None
    lyrics: str | None
    assets: dict[str, list[AssetRecord]]
    manifest_key: str


class _Progress:
    """One progress artifact for the whole pipeline, moved on after each stage."""

    def __init__(self, stages: list[str]) -> None:
        self.stages = stages
        self.done = 0
        self.artifact_id: Any = None

    async def start(self) -> None:
        self.artifact_id = await acreate_progress_artifact(
            0.0, description=f"music-video: {' → '.join(self.stages)}"
        )

    async def finished(self, stage: str) -> None:
        self.done += 1
        await aupdate_progress_artifact(
            self.artifact_id,
            100.0 * self.done / len(self.stages),
            description=f"music-video: {stage} done ({self.done}/{len(self.stages)})",
        )


def _model_need(plan: SongPlan) -> ModelNeed:
    outputs: list[Any] = ["audio"]
    if plan.lyrics_body is not None:
        outputs.append("text")
    if plan.cover_art:
        outputs.append("image")
    if plan.music_video:
        outputs.append("video")
    return ModelNeed("model", plan.model.value, "suno", input=("text",), output=tuple(outputs))


def _summary(song: SongResult, plan: SongPlan, steps: list[StepResult]) -> str:
    lines = [
        f"**{song.title}** · {plan.mode} mode · model `{plan.model.value}` · track "
        f"{plan.track + 1} ({markdown_code(song.audio_id)}, {song.duration} s)",
        "",
        "| step | gateway task | |",
        "|---|---|---|",
    ]
    # Ids are the gateway's data: shown so that no character of theirs can break the table.
    lines += [
        f"| {s.step} | {markdown_code(s.task_id, table=True)} | {'reused' if s.reused else 'new'} |"
        for s in steps
    ]
    if song.lyrics:
        lines += ["", "```", song.lyrics.strip(), "```"]
    return "\n".join(lines)


async def _make_everything(run: RunConfig, plan: SongPlan) -> tuple[list[StepResult], SongResult]:
    """Song → follow-ups in parallel → music video, moving one progress artifact along."""
    follow_ups = [
        name
        for name, on in (("stems", plan.stems), ("wav", plan.wav), ("cover art", plan.cover_art))
        if on
    ]
    stages = ["lyrics + song" if plan.lyrics_body else "song"]
    stages += [", ".join(follow_ups)] if follow_ups else []
    stages += ["music video"] if plan.music_video else []
    progress = _Progress(stages)
    await progress.start()
    song = await make_song(run, plan)
    await progress.finished(stages[0])
    steps = [*song.steps, *await make_follow_ups(run, plan, song)]
    if follow_ups:
        await progress.finished(stages[1])
    # Last and only after the others succeeded: the MV is the most expensive step.
    if plan.music_video:
        steps.append(await make_music_video(run, song))
        await progress.finished("music video")
    return steps, song


def _plan(p: dict[str, Any]) -> SongPlan:
    """The song a run's checked parameters ask for, every body built and checked."""
    return plan_song(
        prompt=p["prompt"],
        model=p["model"],
        style=p["style"],
        title=p["title"],
        instrumental=p["instrumental"],
        lyrics=p["lyrics"],
        track=p["track"],
        stems=p["stems"],
        wav=p["wav"],
        cover_art=p["cover_art"],
        music_video=p["music_video"],
    )


async def _published(
    run: RunConfig, plan: SongPlan, song: SongResult, steps: list[StepResult]
) -> MusicVideoResult:
    """Publish what the steps stored as artifacts; the flow's result."""
    records = [r for s in steps for r in s.records]
    await publish_assets(
        run,
        records,
        key="music-video",
        title=f"Music video: {song.title}",
        summary=_summary(song, plan, steps),
    )
    return MusicVideoResult(
        title=song.title,
        mode=plan.mode,
        model=plan.model.value,
        task_ids={s.step: s.task_id for s in steps},
        reused_steps=[s.step for s in steps if s.reused],
        audio_id=song.audio_id,
        duration=song.duration,
        track_key=song.track_key,
        lyrics=song.lyrics,
        assets=by_kind(records),
        manifest_key=manifest_key(run),
    )


@checked_flow("music-video", "Lyrics → song → stems, WAV and cover art → music video, all stored.")
async def music_video(
    prompt: Annotated[str, Field(min_length=1)] = (
        "A bright summer pop song about travel and freedom"
    ),
    model: SunoModel = SunoModel.V5,
    style: Annotated[str, Field(min_length=1, max_length=1000)] = "synth-pop, bright",
    title: Annotated[str | None, Field(max_length=80)] = None,
    instrumental: bool = False,
    lyrics: bool = True,
    stems: StemsMode | None = "separate_vocal",
    wav: bool = True,
    cover_art: bool = True,
    music_video: bool = True,
    track: Annotated[int, Field(ge=0, le=1)] = 0,
    deadline_seconds: DeadlineSeconds = 1800.0,
    poll_interval: PollInterval = 5.0,
    idempotency_key: IdempotencyKey = None,
    credentials_block: BlockName = None,
    store_block: BlockName = None,
) -> MusicVideoResult:
    """Make a song with lyrics, its stems, a WAV master, cover art and a music video.

    Args:
        prompt: Theme of the song; the lyrics are written about it. With lyrics off it is the
            song description (simple mode: at most 500 characters, style included).
        model: Suno model.
        style: Musical style (V4 allows 200 characters, later models 1000).
        title: Song title; derived from the prompt when empty (must be empty with lyrics off).
        instrumental: No vocals (and no lyrics step).
        lyrics: Write lyrics first and sing them (custom mode); off sends the prompt to the
            model in simple mode.
        stems: separate_vocal (vocals + instrumental), split_stem (up to 12 stems) or none.
        wav: Export a WAV of the chosen track.
        cover_art: Make cover art for the song.
        music_video: Make a music video (MP4) of the chosen track.
        track: Which of the two generated tracks the follow-ups use (0 or 1).
        deadline_seconds: Time budget for all the waiting, in seconds.
        poll_interval: First poll interval in seconds (backs off up to 6x).
        idempotency_key: Runs with the same key share their gateway tasks and assets.
        credentials_block: Name of a saved AnyIntCredentials block (else ANYINT_* env).
        store_block: Name of a saved AssetStore block (else the default store).

    Returns:
        Task ids per step, the chosen track, stored assets by kind and the manifest key.

    Raises:
        ValueError: A parameter breaks a rule (named in the message); nothing was paid for.
    """
    p = checked_parameters(locals())
    plan = _plan(p)
    run = await start_run(p)
    await check_models(run, [_model_need(plan)])
    steps, song = await _make_everything(run, plan)
    return await _published(run, plan, song, steps)
