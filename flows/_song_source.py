"""The finished song a follow-up flow starts from (``karaoke``, ``persona``): one the user names by
``task_id`` + ``audio_id``, or a short song made on the fly when both are empty.

A named song is checked with a free query (it exists, it is ``SUCCESS``, the track is one of its
tracks) before anything is paid for, each problem naming its parameter; its chosen track is then
copied into the store like any fetched output (``assets/suno/<taskId>/track-<n>.mp3``), so what a
flow makes from it is stored beside it.
"""

from __future__ import annotations

from typing import Annotated

from prefect import task
from pydantic import Field

from anyint import APIStatusError
from anyint.types import suno as su
from tasks import RETRY_OPTIONS, FinishedTask, RunConfig, fetch, journal, routes
from tasks.wait import outputs_of

from ._music_steps import SongPlan, SongResult, StepResult, make_song, plan_song

__all__ = ["SongId", "check_song_ref", "find_song", "plan_source", "source_song"]

#: A ``task_id`` or ``audio_id`` flow parameter naming the finished song to start from.
SongId = Annotated[str | None, Field(max_length=200)]

#: The route a named song is fetched as: every music task shares its query and outputs.
_MUSIC_ROUTE = "suno.generate"


def check_song_ref(task_id: str | None, audio_id: str | None) -> bool:
    """Whether a song is named (``True``) or is to be made (``False``: both empty).

    Raises:
        ValueError: Only one of the two is given (naming the missing one).
    """
    if bool(task_id) == bool(audio_id):
        return bool(task_id)
    missing, given = ("task_id", "audio_id") if audio_id else ("audio_id", "task_id")
    raise ValueError(
        f"parameter {missing!r}: needed with {given} (a finished song is its task_id and the "
        "audio_id of one of its tracks); leave both empty to make a song first"
    )


def plan_source(prompt: str, model: su.SunoModel) -> SongPlan:
    """The short song made on the fly: simple mode, one paid task (the model writes the words).

    Raises:
        ValueError: ``prompt`` breaks a simple-mode rule (named).
    """
    return plan_song(
        prompt=prompt, model=model, style=None, title=None, instrumental=False, lyrics=False
    )


def _chosen(finished: FinishedTask, audio_id: str) -> SongResult:
    task = su.MusicTask.model_validate(finished.snapshot)
    track = next(t for t in task.tracks if t.id == audio_id)
    return SongResult(
        title=track.title or "Untitled",
        task_id=finished.task_id,
        audio_id=audio_id,
        duration=track.duration,
        track_key=None,  # known once fetched
        lyrics=track.prompt or None,
        steps=[],
    )


@task(name="find-song", task_run_name="find song {task_id}", **RETRY_OPTIONS)
async def find_song(run: RunConfig, task_id: str, audio_id: str) -> FinishedTask:
    """The named song's task, finished, with only the chosen track's outputs (a free query).

    Raises:
        ValueError: No such music task, not finished, or ``audio_id`` not one of its tracks
            (naming ``task_id`` or ``audio_id``); nothing has been paid for.
    """
    spec = routes.route(_MUSIC_ROUTE)
    connection = await run.gateway.connect()
    async with connection.client() as client:
        try:
            snapshot = await client.suno.get_music_task(task_id)
        except APIStatusError as exc:
            raise ValueError(
                f"parameter 'task_id': {task_id!r} is not a Suno music task the gateway knows "
                f"({exc.status_code}: {exc}); give the taskId of a finished song"
            ) from None
        if snapshot.status != "SUCCESS":
            raise ValueError(
                f"parameter 'task_id': task {task_id!r} is {snapshot.status}, not SUCCESS; "
                "wait until the song is finished"
            )
        ids = [t.id for t in snapshot.tracks]
        if audio_id not in ids:
            raise ValueError(
                f"parameter 'audio_id': {audio_id!r} is not a track of task {task_id!r} (its "
                f"audioIds: {', '.join(str(i) for i in ids)})"
            )
        outputs = outputs_of(spec, snapshot, client, task_id)
    body = {"taskId": task_id, "audioId": audio_id}
    return FinishedTask(
        route=_MUSIC_ROUTE,
        task_id=task_id,
        # No journal entry has this digest: the song was not submitted by this run.
        digest=journal.identity(run.gateway.base_url, run.intent, "suno.find-song", body),
        status=snapshot.status,
        outputs=[o for o in outputs if o.audio_id == audio_id],
        snapshot=snapshot.model_dump(mode="json"),
    )


async def source_song(
    run: RunConfig, task_id: str | None, audio_id: str | None, plan: SongPlan
) -> SongResult:
    """The named song (its track stored), or the song of ``plan`` made now."""
    if not (task_id and audio_id):
        return await make_song(run, plan)
    finished = await find_song(run, task_id, audio_id)
    records = await fetch(run, finished)
    song = _chosen(finished, audio_id)
    key = next((r.key for r in records if r.kind == "audio"), None)
    step = StepResult(
        step="song", route=_MUSIC_ROUTE, task_id=task_id, reused=True, records=records
    )
    return song.model_copy(update={"track_key": key, "steps": [step]})
