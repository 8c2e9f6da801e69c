"""Flow ``persona``: a persona (reusable voice) from a finished song, then a new song in that voice.

The source song is one the user names (``task_id`` + ``audio_id``), or, with both empty (the
default), a short song made on the fly from ``prompt``. ``/suno/generate-persona`` (§11.5, sync,
billed, one persona per ``audioId``) makes the voice; the new song is written about
``new_prompt`` (a lyrics step) and sung in custom mode, the only mode that takes a ``personaId``
(§11.4), with ``new_style`` and ``new_title``.

Needs: an AnyInt gateway (``credentials_block`` or ``ANYINT_API_KEY``/``ANYINT_BASE_URL``) and an
asset store (``store_block`` or the default store). Every parameter and request body is checked
before the first paid call. A retry or resume of a flow run reuses every task and the persona it
recorded; a track that has a persona already (an earlier run) lends that persona.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, ValidationError

from anyint.types import suno as su
from anyint.types.suno import SunoModel
from anyint.types.suno_requests import PLACEHOLDER_CALLBACK_URL
from blocks.ids import markdown_code
from tasks import AssetRecord
from tasks.suno_sync import PersonaResult, generate_persona
from tasks.usage import UsageSummary

from ._common import ModelNeed, check_models_once, manifest_key, publish_assets, start_run
from ._defer import deferrable
from ._music_steps import SongPlan, SongResult, by_kind, make_song, plan_song
from ._params import (
    BlockName,
    DeadlineSeconds,
    Defer,
    IdempotencyKey,
    PollInterval,
    PriceTable,
    checked_flow,
    checked_parameters,
    named_error,
    text_field,
)
from ._song_source import SongId, check_song_ref, plan_source, source_song

__all__ = ["PersonaFlowResult", "persona"]

_NEW = {"prompt": "new_prompt", "style": "new_style", "title": "new_title"}


class PersonaFlowResult(UsageSummary):
    """What a ``persona`` run made.

    Attributes:
        persona_id: The persona (``personaId``), for later songs in this voice.
        persona_adopted: The track had a persona already; it was reused (nothing paid for it).
        source_task_id: The source song's task.
        source_audio_id: The source track.
        made_source: The source song was made by this run.
        title: Title of the new song's chosen track.
        task_id: The new song's task.
        audio_id: The new song's first track.
        track_key: Store key of its MP3.
        lyrics: The lyrics it sings.
        assets: Stored assets by manifest kind (``audio``, ``image``, ``lyrics``, ``persona``).
        manifest_key: Store key of this run's ``manifest.json``.
    """

    persona_id: str
    persona_adopted: bool
    source_task_id: str
    source_audio_id: str
    made_source: bool
    title: str
    task_id: str
    audio_id: str
    track_key: str | None
    lyrics: str | None
    assets: dict[str, list[AssetRecord]]
    manifest_key: str


def _plan_new(p: dict[str, Any]) -> SongPlan:
    """The new song: lyrics about ``new_prompt``, sung in custom mode with a persona.

    Raises:
        ValueError: A ``new_*`` parameter breaks a rule (named).
    """
    plan = plan_song(
        prompt=p["new_prompt"],
        model=p["model"],
        style=p["new_style"],
        title=p["new_title"],
        instrumental=False,
        lyrics=True,
        names=_NEW,
    )
    # The persona and the lyrics are not made yet: check the body with stand-ins now.
    stand_in = {**plan.song_body, "prompt": "[Verse]\n...", "personaId": "persona"}
    try:
        su.GenerateParams.model_validate({"callBackUrl": PLACEHOLDER_CALLBACK_URL, **stand_in})
    except ValidationError as exc:
        raise named_error(exc, _NEW) from None
    return plan


def _summary(persona: PersonaResult, source: SongResult, song: SongResult) -> str:
    how = "adopted (the track had one)" if persona.adopted else "new"
    return "\n".join(
        [
            f"Persona {markdown_code(persona.persona_id)} ({how}) from "
            f"**{source.title}** (track {markdown_code(source.audio_id)})",
            "",
            f"New song: **{song.title}** (task {markdown_code(song.task_id)})",
            *(["", "```", song.lyrics.strip(), "```"] if song.lyrics else []),
        ]
    )


@checked_flow("persona", "A voice from a finished song, then a new song sung in that voice.")
async def persona(
    task_id: SongId = None,
    audio_id: SongId = None,
    prompt: Annotated[
        str, text_field(500, "The source song made first when task_id and audio_id are empty.")
    ] = "A short warm acoustic song about the sea",
    name: Annotated[str, text_field(100, "Name of the persona.")] = "Sea Voice",
    description: Annotated[
        str, text_field(500, "What the persona's voice is like.")
    ] = "Warm, airy lead vocal with a gentle vibrato",
    new_prompt: Annotated[
        str, text_field(2000, "What the new song is about (its lyrics are written first).")
    ] = "Coming home at night along the harbour",
    new_style: Annotated[str, Field(min_length=1, max_length=1000)] = "acoustic pop, warm",
    new_title: Annotated[str | None, Field(max_length=80)] = None,
    model: SunoModel = SunoModel.V5,
    deadline_seconds: DeadlineSeconds = 1800.0,
    poll_interval: PollInterval = 5.0,
    idempotency_key: IdempotencyKey = None,
    credentials_block: BlockName = None,
    store_block: BlockName = None,
    price_table: PriceTable = None,
    defer: Defer = False,
) -> PersonaFlowResult:
    """Make a persona from a song's track, then a new song sung by it.

    Args:
        task_id: Task id of a finished Suno song; empty (with audio_id) makes one first.
        audio_id: audioId of the track whose voice becomes the persona.
        prompt: What the source song made first is about (simple mode, at most 500 characters).
        name: Name of the persona.
        description: What the persona's voice is like.
        new_prompt: What the new song is about; its lyrics are written first.
        new_style: Musical style of the new song (V4 allows 200 characters, later models 1000).
        new_title: Title of the new song; derived from new_prompt when empty.
        model: Suno model of both songs.
        deadline_seconds: Time budget for all the waiting, in seconds.
        poll_interval: First poll interval in seconds (later waits: 10 % of the time waited).
        idempotency_key: Runs with the same key share their gateway tasks and assets.
        credentials_block: Name of a saved AnyIntCredentials block (else ANYINT_* env).
        store_block: Name of a saved AssetStore block (else the default store).
        price_table: Store key of a JSON price table (:mod:`tasks.usage`): the usage
            totals then come with an estimated cost.
        defer: Deployment runs: suspend while the gateway works (see :mod:`flows._defer`).

    Returns:
        The persona id, the source and the new song, stored assets by kind and the manifest key.

    Raises:
        ValueError: A parameter breaks a rule (named in the message); nothing was paid for.
    """
    return await _persona(checked_parameters(locals()))


async def _persona(p: dict[str, Any]) -> PersonaFlowResult:
    """The persona run of checked parameters ``p``."""
    named = check_song_ref(p["task_id"], p["audio_id"])
    source_plan = plan_source(p["prompt"], p["model"])
    new_plan = _plan_new(p)
    run = await start_run(p)
    need = ModelNeed("model", new_plan.model.value, "suno", output=("audio", "text"))
    await check_models_once(run, [need])
    source = await deferrable(
        run, lambda run: source_song(run, p["task_id"], p["audio_id"], source_plan)
    )
    voice = await generate_persona(
        run, source.task_id, source.audio_id, p["name"], p["description"]
    )
    body = {**new_plan.song_body, "personaId": voice.persona_id}
    song = await deferrable(
        run, lambda run: make_song(run, new_plan.model_copy(update={"song_body": body}))
    )
    records = [r for s in [*source.steps, *song.steps] for r in s.records] + [voice.record]
    used = await publish_assets(
        run,
        records,
        key="persona",
        title=f"Persona: {p['name']}",
        summary=_summary(voice, source, song),
    )
    return PersonaFlowResult(
        usage_totals=used.usage_totals,
        estimated_cost=used.estimated_cost,
        persona_id=voice.persona_id,
        persona_adopted=voice.adopted,
        source_task_id=source.task_id,
        source_audio_id=source.audio_id,
        made_source=not named,
        title=song.title,
        task_id=song.task_id,
        audio_id=song.audio_id,
        track_key=song.track_key,
        lyrics=song.lyrics,
        assets=by_kind(records),
        manifest_key=manifest_key(run),
    )
