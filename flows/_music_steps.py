"""The pieces of the music pipeline, shared by the ``music-video`` and ``content-brief`` flows.

A song is planned first (:func:`plan_song`): every Suno request body that can be built before
anything is paid for is built with the client's strict request models, so a bad parameter fails
before the first create. The steps then run as submit → wait → fetch each (:func:`run_step`):
lyrics → song → one chosen track → follow-ups (stems, WAV, cover art in parallel) → music video.

Bodies are deterministic (no timestamps, no random ids): within one intent (the flow run, or an
``idempotency_key``) the submit layer recognises an identical body as the same step, so a retry
or resume reuses every gateway task instead of paying again.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal, TypedDict, TypeVar, Unpack

from prefect import get_run_logger
from pydantic import BaseModel, ConfigDict, ValidationError

from anyint import TaskTimeoutError
from anyint.records import CALLBACK_FIELDS
from anyint.types import RequestModel
from anyint.types import suno as su
from anyint.types.suno_requests import MODEL_LIMITS, PLACEHOLDER_CALLBACK_URL
from flows._defer import Deferred, finish_step
from flows._params import named_error
from tasks import AssetRecord, FinishedTask, Output, RunConfig, submit

__all__ = [
    "FollowUps",
    "SongPlan",
    "SongResult",
    "StemsMode",
    "StepResult",
    "by_kind",
    "derive_title",
    "fit_title",
    "gather_all",
    "make_follow_ups",
    "make_music_video",
    "make_song",
    "plan_song",
    "run_step",
    "suno_body",
    "take_track",
]

StemsMode = Literal["separate_vocal", "split_stem"]
T = TypeVar("T")

#: Route of each stems mode: ``split_stem`` has its own route, which fixes the type.
_STEMS_ROUTES: dict[str, str] = {
    "separate_vocal": "suno.vocal-removal",
    "split_stem": "suno.split-stem",
}
#: Stand-in lyrics used only to check the custom-mode rules before the real lyrics exist.
_LYRICS_STAND_IN = "[Verse]\n(lyrics from the lyrics step)"
#: Longest derived title; well under every model's title limit (``MODEL_LIMITS``).
_DERIVED_TITLE_CHARS = 40
#: Words a title does not end on: a cut after one of them reads as a sentence broken off.
_DANGLING = frozenset("a an and at by for from in into of on or the to with".split())


def suno_body(request: type[RequestModel], /, **fields: Any) -> dict[str, Any]:
    """A validated Suno body without the callback URL (``submit`` adds the configured one).

    Raises:
        pydantic.ValidationError: ``fields`` break a rule of ``request``.
    """
    params = request.model_validate({"call_back_url": PLACEHOLDER_CALLBACK_URL, **fields})
    return {k: v for k, v in params.to_body().items() if k not in CALLBACK_FIELDS}


def fit_title(text: str, limit: int, *, capitalise: bool = False) -> str | None:
    """The longest run of ``text``'s first whole words within ``limit`` characters.

    Never cuts a word: a first word longer than ``limit`` gives None. When words had to go,
    trailing joining words (``of``, ``the`` ...) go too, so the title does not read as broken
    off; a text that fits is kept whole ("Something To Hold On To").

    Args:
        text: A prompt or a title.
        limit: Most characters the title may have.
        capitalise: Capitalise each word (for a title derived from a prompt).
    """
    all_words = re.findall(r"[\w'-]+" if capitalise else r"\S+", text)
    if capitalise:
        all_words = [f"{w[:1].upper()}{w[1:]}" for w in all_words]
    words: list[str] = []
    for word in all_words:
        if len(" ".join([*words, word])) > limit:
            break
        words.append(word)
    while len(all_words) > len(words) > 1 and words[-1].lower() in _DANGLING:
        words.pop()
    return " ".join(words) or None


def derive_title(prompt: str) -> str:
    """A short, deterministic title from a theme: its first whole words, each capitalised."""
    return fit_title(prompt, _DERIVED_TITLE_CHARS, capitalise=True) or "Untitled"


class SongPlan(BaseModel):
    """Everything a song needs, checked before any paid call.

    Attributes:
        model: Suno model.
        mode: ``custom`` (lyrics or instrumental with style and title) or ``simple``.
        title: Title sent in custom mode (None in simple mode: the model names the song).
        title_from_lyrics: The title was derived from the prompt and a lyrics step runs: the
            lyrics' own title, when they have one, replaces it.
        lyrics_body: Body of ``/suno/generate-lyrics``, or None when there is no lyrics step.
        song_body: Body of ``/suno/generate``; in custom vocal mode the lyrics go into ``prompt``.
        track: Which generated track the follow-ups use.
        stems: Stems mode, or None for no stems.
        wav: Export a WAV.
        cover_art: Make cover art.
        music_video: Make a music video.
    """

    model_config = ConfigDict(frozen=True)

    model: su.SunoModel
    mode: Literal["custom", "simple"]
    title: str | None
    title_from_lyrics: bool = False
    lyrics_body: dict[str, Any] | None
    song_body: dict[str, Any]
    track: int = 0
    stems: StemsMode | None = None
    wav: bool = False
    cover_art: bool = False
    music_video: bool = False

    def song_request(self, lyrics: str | None, lyrics_title: str | None = None) -> dict[str, Any]:
        """The final ``/suno/generate`` body, with the chosen lyrics in custom vocal mode.

        Args:
            lyrics: The lyrics to sing (None: no lyrics step).
            lyrics_title: The lyrics' own title; replaces a derived title (cut at a word
                boundary to the model's title limit), never one the user gave.

        Raises:
            ValueError: The generated lyrics break the model's prompt limit.
        """
        if lyrics is None:
            return dict(self.song_body)
        fields = {**self.song_body, "prompt": lyrics}
        if self.title_from_lyrics and lyrics_title:
            fields["title"] = fit_title(lyrics_title, MODEL_LIMITS[self.model].title) or self.title
        try:
            return suno_body(su.GenerateParams, **fields)
        except ValidationError as exc:
            reasons = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
            raise ValueError(f"the generated lyrics cannot be sung: {reasons}") from None


class FollowUps(TypedDict, total=False):
    """What :func:`plan_song` plans after the song (the :class:`SongPlan` fields of that name)."""

    track: int
    stems: StemsMode | None
    wav: bool
    cover_art: bool
    music_video: bool


def plan_song(
    *,
    prompt: str,
    model: su.SunoModel,
    style: str | None,
    title: str | None,
    instrumental: bool,
    lyrics: bool,
    names: dict[str, str] | None = None,
    **follow_ups: Unpack[FollowUps],
) -> SongPlan:
    """Build and check every body that can be known before paying.

    Modes:

    - ``lyrics=True`` with vocals writes lyrics first, then sings them in custom mode with
      ``style`` and ``title`` (derived from the prompt when not given);
    - ``lyrics=True`` with ``instrumental=True`` is custom mode with ``style`` and ``title`` and
      no lyrics step (nothing is sung);
    - ``lyrics=False`` is simple mode: the prompt goes straight to ``/suno/generate``, with the
      style folded into it (simple mode takes a free description and no style field); the model
      names the song, so an explicit ``title`` is an error there.

    Args:
        names: Flow parameter names, when a flow calls them differently (``{"prompt": "brief"}``).
        follow_ups: Track choice and follow-up steps, as in :class:`SongPlan`.

    Raises:
        ValueError: Naming the flow parameter that breaks a rule.
    """
    names = {name: name for name in ("prompt", "style", "title")} | (names or {})
    if not prompt.strip():
        raise ValueError(f"parameter {names['prompt']!r}: must not be empty")
    ask = _SongAsk(prompt, model, style, title, instrumental, names)
    try:
        song_title, song_body, lyrics_body = _custom_mode(ask) if lyrics else _simple_mode(ask)
    except ValidationError as exc:
        raise named_error(exc, names) from None
    return SongPlan(
        model=model,
        mode="custom" if lyrics else "simple",
        title=song_title,
        title_from_lyrics=lyrics_body is not None and not title,
        lyrics_body=lyrics_body,
        song_body=song_body,
        **follow_ups,
    )


@dataclass(frozen=True)
class _SongAsk:
    """What :func:`plan_song` was asked for, with the flow's names of its parameters."""

    prompt: str
    model: su.SunoModel
    style: str | None
    title: str | None
    instrumental: bool
    names: dict[str, str]

    def too_long(self, name: str, value: str | None, limit: int) -> None:
        if value is not None and len(value) > limit:
            raise ValueError(
                f"parameter {self.names[name]!r}: {len(value)} characters; model "
                f"{self.model.value} allows at most {limit}"
            )


#: The title sent (None: the model names the song), the song body and the lyrics body.
_Bodies = tuple[str | None, dict[str, Any], dict[str, Any] | None]


def _custom_mode(ask: _SongAsk) -> _Bodies:
    """Custom mode: style and title, and a lyrics step unless instrumental."""
    if not (ask.style and ask.style.strip()):
        raise ValueError(f"parameter {ask.names['style']!r}: custom mode needs a style")
    limits = MODEL_LIMITS[ask.model]
    ask.too_long("style", ask.style, limits.style)
    ask.too_long("title", ask.title, limits.title)
    title = ask.title or derive_title(ask.prompt)
    fields: dict[str, Any] = {
        "custom_mode": True,
        "instrumental": ask.instrumental,
        "model": ask.model,
        "style": ask.style,
        "title": title,
    }
    if ask.instrumental:
        return title, suno_body(su.GenerateParams, **fields), None
    # The lyrics are not written yet: check every rule with a stand-in now, and send the real
    # ones (checked again) once the lyrics step has run.
    song_body = suno_body(su.GenerateParams, **fields, prompt=_LYRICS_STAND_IN)
    song_body.pop("prompt")
    return title, song_body, suno_body(su.LyricsParams, prompt=ask.prompt)


def _simple_mode(ask: _SongAsk) -> _Bodies:
    """Simple mode: the prompt (style folded in) is the whole description; no lyrics step."""
    prompt, style = ask.names["prompt"], ask.names["style"]
    if ask.title:
        raise ValueError(
            f"parameter {ask.names['title']!r}: simple mode (lyrics=False) lets the model name "
            "the song; leave title empty or use lyrics=True"
        )
    description = f"{ask.prompt.strip()}. Style: {ask.style.strip()}" if ask.style else ask.prompt
    if len(description) > su.SIMPLE_MODE_PROMPT_LIMIT:
        raise ValueError(
            f"parameter {prompt!r}: simple mode (lyrics=False) sends at most "
            f"{su.SIMPLE_MODE_PROMPT_LIMIT} characters, and the prompt with the style folded in "
            f"is {len(description)}; shorten {prompt!r} or {style!r}, or use lyrics=True"
        )
    body = suno_body(
        su.GenerateParams,
        custom_mode=False,
        instrumental=ask.instrumental,
        model=ask.model,
        prompt=description,
    )
    return None, body, None


class StepResult(BaseModel):
    """One finished step: its gateway task and what was stored.

    Attributes:
        step: Pipeline step (``lyrics``, ``song``, ``stems``, ``wav``, ``cover_art`` ...).
        route: Route name.
        task_id: Gateway task id.
        reused: The task came from an earlier run (nothing was paid for this time).
        records: Stored assets.
    """

    step: str
    route: str
    task_id: str
    reused: bool
    records: list[AssetRecord]


async def run_step(
    run: RunConfig,
    step: str,
    route: str,
    body: dict[str, Any],
    *,
    model: str | None = None,
    pick: Callable[[FinishedTask], list[Output]] | None = None,
) -> tuple[StepResult, FinishedTask]:
    """Submit → wait → fetch one gateway task.

    Args:
        run: The flow run's gateway, intent and deadline.
        step: Step name, for results and logs.
        route: Route name (``suno.generate``).
        body: Request body (deterministic, so a resume finds the task again).
        model: Model id recorded in the manifest.
        pick: Chooses the outputs to store (all when None), e.g. only the chosen lyric variant.
    """
    submitted = await submit(run, route, body)
    collected = await finish_step(run, submitted, request=body, model=model, pick=pick)
    finished, records = collected.finished, collected.records
    result = StepResult(
        step=step,
        route=route,
        task_id=submitted.task_id,
        reused=submitted.reused,
        records=records,
    )
    return result, finished


class SongResult(BaseModel):
    """A finished song and the track chosen for the follow-ups (the last edit's, if any).

    Attributes:
        title: Title of the chosen track (as the gateway reports it).
        task_id: Song task id (the ``taskId`` follow-ups take).
        audio_id: Chosen track's ``audioId``.
        duration: Chosen track's duration in seconds, as the task reported it.
        track_key: Store key of the chosen track's MP3.
        lyrics: Lyrics sung, when there was a lyrics step.
        steps: The lyrics and song steps, then any edits (``extend``, ``replace_section``).
    """

    title: str
    task_id: str
    audio_id: str
    duration: float | None
    track_key: str | None
    lyrics: str | None
    steps: list[StepResult]


async def make_song(run: RunConfig, plan: SongPlan) -> SongResult:
    """Lyrics (when planned) → song → the chosen track.

    Raises:
        ValueError: The song has fewer tracks than ``plan.track`` needs.
    """
    logger = get_run_logger()
    steps: list[StepResult] = []
    lyrics_text: str | None = None
    lyrics_title: str | None = None
    if plan.lyrics_body is not None:
        step, finished = await run_step(
            run, "lyrics", "suno.generate-lyrics", plan.lyrics_body, pick=_chosen_lyrics
        )
        steps.append(step)
        index = _lyrics_index(finished)
        variant = su.LyricsTask.model_validate(finished.snapshot).lyrics[index]
        lyrics_text, lyrics_title = variant.text, variant.title
        logger.info("singing lyric variant %d", index + 1)
    body = plan.song_request(lyrics_text, lyrics_title)
    step, finished = await run_step(run, "song", "suno.generate", body, model=plan.model.value)
    song = SongResult(
        title=body.get("title") or "Untitled",
        task_id=step.task_id,
        audio_id="",
        duration=None,
        track_key=None,
        lyrics=lyrics_text,
        steps=steps,
    )
    return take_track(song, step, finished, plan.track, parameter="track")


def take_track(
    song: SongResult, step: StepResult, finished: FinishedTask, index: int, *, parameter: str
) -> SongResult:
    """``song`` moved on to track ``index`` of a finished music step, the step appended.

    Args:
        song: The song so far (its title is kept when the track has none).
        step: The music step that made the track (``song``, ``extend`` ...).
        finished: Its finished task.
        index: Which of the step's tracks to take.
        parameter: The flow parameter that chose ``index`` (named in the error).

    Raises:
        ValueError: The step made fewer tracks than ``index`` needs.
    """
    tracks = su.MusicTask.model_validate(finished.snapshot).tracks
    if index >= len(tracks):
        raise ValueError(
            f"parameter {parameter!r}: track {index} asked for, but task {step.task_id} made "
            f"{len(tracks)} track(s)"
        )
    chosen = tracks[index]
    assert chosen.id is not None  # a successful snapshot carries every track's audioId
    track_key = next(
        (r.key for r in step.records if r.audio_id == chosen.id and r.kind == "audio"), None
    )
    return song.model_copy(
        update={
            "title": chosen.title or song.title,
            "task_id": step.task_id,
            "audio_id": chosen.id,
            "duration": chosen.duration,
            "track_key": track_key,
            "steps": [*song.steps, step],
        }
    )


def _lyrics_index(finished: FinishedTask) -> int:
    """The first lyric variant with text: deterministic, so a re-run sings the same words."""
    variants = su.LyricsTask.model_validate(finished.snapshot).lyrics
    return next(i for i, v in enumerate(variants) if v.text)


def _chosen_lyrics(finished: FinishedTask) -> list[Output]:
    # Outputs are lyrics-1.txt, lyrics-2.txt ... in variant order (tasks.routes).
    name = f"lyrics-{_lyrics_index(finished) + 1}.txt"
    return [o for o in finished.outputs if o.name == name]


async def make_follow_ups(run: RunConfig, plan: SongPlan, song: SongResult) -> list[StepResult]:
    """Stems, WAV and cover art of the chosen track, in parallel (each only when planned)."""
    track = {"task_id": song.task_id, "audio_id": song.audio_id}
    jobs = []
    if plan.stems is not None:
        route = _STEMS_ROUTES[plan.stems]
        if plan.stems == "split_stem":
            body = suno_body(su.SplitStemParams, **track)
        else:
            body = suno_body(su.VocalRemovalParams, **track, type=plan.stems)
        jobs.append(run_step(run, "stems", route, body))
    if plan.wav:
        jobs.append(run_step(run, "wav", "suno.wav-generate", suno_body(su.WavParams, **track)))
    if plan.cover_art:
        body = suno_body(su.CoverArtParams, task_id=song.task_id)
        jobs.append(run_step(run, "cover_art", "suno.generate-cover", body))
    done = await gather_all(jobs)
    return [step for step, _ in done]


async def gather_all(jobs: Iterable[Awaitable[T]]) -> list[T]:
    """Run ``jobs`` at once and let every one finish before raising the first failure.

    A failed job must not orphan the others' paid work: finished and stored, it is reused by
    the resume. When several time out, the error names every task still running.
    """
    done = await asyncio.gather(*jobs, return_exceptions=True)
    # A real failure first: a deferred branch must not hide it (the run fails, not suspends).
    failures = sorted((o for o in done if isinstance(o, BaseException)), key=_is_deferred)
    if not failures:
        return done  # type: ignore[return-value]
    timeouts = [f for f in failures if isinstance(f, TaskTimeoutError)]
    if len(timeouts) > 1:
        ids = ", ".join(t.task_id for t in timeouts)
        timeouts[0].add_note(f"tasks still running on the gateway: {ids}")
    raise failures[0]


def _is_deferred(error: BaseException) -> bool:
    return isinstance(error, Deferred)


async def make_music_video(run: RunConfig, song: SongResult) -> StepResult:
    """A music video (MP4 with the track as soundtrack) of the chosen track."""
    body = suno_body(su.Mp4Params, task_id=song.task_id, audio_id=song.audio_id)
    step, _ = await run_step(run, "music_video", "suno.mp4-generate", body)
    return step


def by_kind(records: Iterable[AssetRecord]) -> dict[str, list[AssetRecord]]:
    """Stored assets grouped by manifest kind, in the order given."""
    out: dict[str, list[AssetRecord]] = {}
    for record in records:
        out.setdefault(record.kind, []).append(record)
    return out
