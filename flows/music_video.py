"""Flow ``music-video``: lyrics → song → [extend] → [replace section] → stems, WAV and cover art
(in parallel) → music video.

Needs: an AnyInt gateway (``credentials_block``: name of a saved ``AnyIntCredentials`` block, else
``ANYINT_API_KEY``/``ANYINT_BASE_URL``) and an asset store (``store_block``: name of a saved
``AssetStore`` block, else the default store). Optional ``ANYINT_CALLBACK_URL``: the callback
receiver, so waits wake as soon as Suno calls back (polling is the fallback).

Every parameter is checked, and every request body that can be known up front is built, before
the first paid call; the model is checked against the gateway's catalogue too. Every step is
submit → wait → fetch. A retry or resume of a flow run reuses every gateway task it created and
every asset it stored (nothing is paid twice); a new flow run makes a new song, unless it shares
an ``idempotency_key`` with an earlier one.

Which track the follow-ups use: ``track`` picks one of the song's tracks. ``extend`` continues
that track, and ``replace_section`` re-sings a window of the newest track: the extension when
``extend`` is on (the window's seconds count on the extended track), else the song's. Each edit
makes a new music task, whose first track is kept; stems, WAV, cover art and the music video
are all made of the last track kept, and the result's ``audio_id``, ``duration`` and
``track_key`` describe it (``song_audio_id`` is the song's own track). With ``style_assist`` the
rough ``style`` is expanded by ``/suno/style-generate`` before the song, and the expanded style
(cut at a word to the model's limit) is used by the song and every edit.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, NamedTuple

from prefect import get_run_logger
from prefect.artifacts import acreate_progress_artifact, aupdate_progress_artifact
from pydantic import Field

from anyint.types.suno import SunoModel
from blocks.ids import markdown_code
from tasks import AssetRecord, RunConfig
from tasks.suno_sync import style_generate
from tasks.usage import UsageSummary

from ._common import ModelNeed, check_models_once, manifest_key, publish_assets, start_run
from ._defer import deferrable
from ._music_extras import (
    EditLyrics,
    EditPlan,
    ExtendAt,
    SectionWindow,
    extend_song,
    fit_style,
    plan_edits,
    resing_window,
    style_room,
)
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
    Defer,
    IdempotencyKey,
    PollInterval,
    PriceTable,
    checked_flow,
    checked_parameters,
)

__all__ = ["MusicVideoResult", "music_video"]

_DESCRIPTION = "Lyrics → song (+ extend, re-sung window) → stems, WAV, cover art → music video."
_PROMPT = "A bright summer pop song about travel and freedom"


class MusicVideoResult(UsageSummary):
    """What a ``music-video`` run made.

    Attributes:
        title: Title of the chosen track.
        mode: ``custom`` (style and title; lyrics unless instrumental) or ``simple``.
        model: Suno model.
        task_ids: Gateway task id per step (``lyrics``, ``song``, ``extend``,
            ``replace_section``, ``stems``, ``wav``, ``cover_art``, ``music_video``); steps
            switched off are absent.
        reused_steps: Steps whose gateway task was created before (a resume or a shared key:
            nothing paid this time).
        audio_id: ``audioId`` of the track the follow-ups used (the last edit's, if any).
        song_audio_id: ``audioId`` of the song's chosen track (what ``extend`` continued).
        duration: Its duration in seconds, as its task reported it.
        track_key: Store key of its MP3.
        style: The style sung (the expanded one with ``style_assist``).
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
    song_audio_id: str
    duration: float | None
    track_key: str | None
    lyrics: str | None
    style: str
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
    edits = [s.step for s in song.steps if s.step in ("extend", "replace_section")]
    made = f" after {' and '.join(edits)}" if edits else ""
    lines = [
        f"**{song.title}** · {plan.mode} mode · model `{plan.model.value}` · track "
        f"{markdown_code(song.audio_id)} ({song.duration} s){made}",
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


def _stages(plan: SongPlan, edits: EditPlan, style_assist: bool) -> list[str]:
    """The pipeline's stages, in order, as the progress artifact names them."""
    follow_ups = [
        name
        for name, on in (("stems", plan.stems), ("wav", plan.wav), ("cover art", plan.cover_art))
        if on
    ]
    stages = ["style assist"] if style_assist else []
    stages += ["lyrics + song" if plan.lyrics_body else "song"]
    stages += ["extend"] if edits.extend else []
    stages += ["replace section"] if edits.window is not None else []
    stages += [", ".join(follow_ups)] if follow_ups else []
    stages += ["music video"] if plan.music_video else []
    return stages


class _Plans(NamedTuple):
    song: SongPlan
    edits: EditPlan
    style: str


class _Made(NamedTuple):
    steps: list[StepResult]
    song: SongResult
    plans: _Plans
    song_audio_id: str


async def _make_everything(run: RunConfig, p: dict[str, Any], plans: _Plans) -> _Made:
    """Style → song → edits → follow-ups in parallel → music video, moving one progress
    artifact along."""
    # The pipeline's artifact says where it is: a progress artifact per wait as well would cost
    # the Prefect server two calls or more per step and show six bars for one run.
    run = run.model_copy(update={"step_progress": False})
    progress = _Progress(_stages(plans.song, plans.edits, p["style_assist"]))
    await progress.start()
    if p["style_assist"]:
        plans = await _assisted(run, p, plans)
        await progress.finished("style assist")
    plan, edits = plans.song, plans.edits
    song = await make_song(run, plan)
    song_audio_id = song.audio_id
    await progress.finished("song")
    if edits.extend:
        song = await extend_song(run, edits, song)
        await progress.finished("extend")
    if edits.window is not None:
        song = await resing_window(run, edits, song)
        await progress.finished("replace section")
    steps = [*song.steps, *await make_follow_ups(run, plan, song)]
    if plan.stems or plan.wav or plan.cover_art:
        await progress.finished("stems, wav, cover art")
    # Last and only after the others succeeded: the MV is the most expensive step.
    if plan.music_video:
        steps.append(await make_music_video(run, song))
        await progress.finished("music video")
    return _Made(steps, song, plans, song_audio_id)


def _plans(p: dict[str, Any], style: str) -> _Plans:
    """The song and edits a run's checked parameters ask for, every body built and checked."""
    song = plan_song(
        prompt=p["prompt"],
        model=p["model"],
        style=style,
        title=p["title"],
        instrumental=p["instrumental"],
        lyrics=p["lyrics"],
        track=p["track"],
        stems=p["stems"],
        wav=p["wav"],
        cover_art=p["cover_art"],
        music_video=p["music_video"],
    )
    edits = plan_edits(
        model=p["model"],
        style=style,
        prompt=p["prompt"],
        instrumental=p["instrumental"],
        extend=p["extend"],
        extend_at=p["extend_at"],
        extend_lyrics=p["extend_lyrics"],
        replace_section=p["replace_section"],
        replace_lyrics=p["replace_lyrics"],
    )
    return _Plans(song, edits, style)


async def _assisted(run: RunConfig, p: dict[str, Any], plans: _Plans) -> _Plans:
    """The plans again with the style ``style-generate`` expanded from the rough one."""
    expanded = await style_generate(run, p["style"])
    room = style_room(plans.song.model, plans.song.mode, p["prompt"])
    style = fit_style(expanded, p["style"], room)
    get_run_logger().info("style assist: %r → %r", p["style"], style)
    return _plans(p, style)


async def _published(run: RunConfig, made: _Made) -> MusicVideoResult:
    """Publish what the steps stored as artifacts; the flow's result."""
    plan, song, steps = made.plans.song, made.song, made.steps
    records = [r for s in steps for r in s.records]
    used = await publish_assets(
        run,
        records,
        key="music-video",
        title=f"Music video: {song.title}",
        summary=_summary(song, plan, steps),
    )
    return MusicVideoResult(
        usage_totals=used.usage_totals,
        estimated_cost=used.estimated_cost,
        title=song.title,
        mode=plan.mode,
        model=plan.model.value,
        task_ids={s.step: s.task_id for s in steps},
        reused_steps=[s.step for s in steps if s.reused],
        audio_id=song.audio_id,
        song_audio_id=made.song_audio_id,
        duration=song.duration,
        track_key=song.track_key,
        lyrics=song.lyrics,
        style=made.plans.style,
        assets=by_kind(records),
        manifest_key=manifest_key(run),
    )


@checked_flow("music-video", _DESCRIPTION)
async def music_video(
    prompt: Annotated[str, Field(min_length=1)] = _PROMPT,
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
    extend: bool = False,
    extend_at: ExtendAt = None,
    extend_lyrics: EditLyrics = None,
    replace_section: SectionWindow = None,
    replace_lyrics: EditLyrics = None,
    style_assist: bool = False,
    deadline_seconds: DeadlineSeconds = 1800.0,
    poll_interval: PollInterval = 5.0,
    idempotency_key: IdempotencyKey = None,
    credentials_block: BlockName = None,
    store_block: BlockName = None,
    price_table: PriceTable = None,
    defer: Defer = False,
) -> MusicVideoResult:
    """Make a song with lyrics, its stems, a WAV master, cover art and a music video.

    The edits come between the song and the follow-ups: extend continues the chosen track, then
    replace_section re-sings a window of the newest track (the extension, if any). Each edit's
    first track is kept; stems, WAV, cover art and the video are made of the last track kept.

    Args:
        prompt: Theme of the song (what the lyrics are about); with lyrics off, the whole song
            description (simple mode: at most 500 characters, style included).
        model: Suno model.
        style: Musical style (V4 allows 200 characters, later models 1000).
        title: Song title; derived from the prompt when empty (must be empty with lyrics off).
        instrumental: No vocals (and no lyrics step).
        lyrics: Write lyrics first and sing them (custom mode); off is simple mode.
        stems: separate_vocal (vocals + instrumental), split_stem (up to 12 stems) or none.
        wav: Export a WAV of the track.
        cover_art: Make cover art for the song.
        music_video: Make a music video (MP4) of the track.
        track: Which of the song's two tracks is used (0 or 1).
        extend: Continue the song.
        extend_at: Where the continuation starts (s), sung with extend_lyrics; empty: at the end.
        extend_lyrics: Lyrics of the continuation (with extend_at).
        replace_section: [start, end] seconds to re-sing: 6-60 s, at most half the track.
        replace_lyrics: What the re-sung window sings (with replace_section).
        style_assist: Expand the rough style with style-generate first.
        deadline_seconds: Time budget for all the waiting, in seconds.
        poll_interval: First poll interval in seconds (later waits: 10 % of the time waited).
        idempotency_key: Runs with the same key share their gateway tasks and assets.
        credentials_block: Name of a saved AnyIntCredentials block (else ANYINT_* env).
        store_block: Name of a saved AssetStore block (else the default store).
        price_table: Store key of a JSON price table (:mod:`tasks.usage`): the usage
            totals then come with an estimated cost.
        defer: Deployment runs: suspend while the gateway works (see :mod:`flows._defer`).

    Returns:
        Task ids per step, the track used, stored assets by kind and the manifest key.

    Raises:
        ValueError: A parameter breaks a rule (named in the message); nothing was paid for
            the step it is about (a window or extend_at that does not fit: only the song).
    """
    p = checked_parameters(locals())
    plans = _plans(p, p["style"])
    run = await start_run(p)
    await check_models_once(run, [_model_need(plans.song)])

    async def make(run: RunConfig) -> MusicVideoResult:
        return await _published(run, await _make_everything(run, p, plans))

    return await deferrable(run, make)
