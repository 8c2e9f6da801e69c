"""Follow-up rules of AI Music (contract §11.5, §16.1 item 6): parents, tracks, uploads, personas.

Everything a rule needs lives in the backend's tasks (tracks, personas, existing cover and WAV
records hang off their parent task), so ``Backend.reset()`` forgets it all at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..backend import Backend, Task
from ..errors import EmulatorError
from ..media import probe
from .audio import TrackSpec
from .uploads import fetch_loopback, is_loopback

__all__ = [
    "FAILURE",
    "MUSIC_STAGES",
    "QUERY_ROUTE",
    "SINGLE_STAGES",
    "Track",
    "check_once",
    "check_persona",
    "find_track",
    "music_parent",
    "record_child",
    "track_of",
    "uploaded_audio_seconds",
]

MUSIC_STAGES = ("PENDING", "TEXT_SUCCESS", "FIRST_SUCCESS", "SUCCESS")
SINGLE_STAGES = ("PENDING", "SUCCESS")
#: Terminal failure status per task kind (§11.6), used when a ``task_failed`` fault applies.
FAILURE = {
    "music": "GENERATE_AUDIO_FAILED",
    "lyrics": "GENERATE_LYRICS_FAILED",
    "vocal-removal": "GENERATE_AUDIO_FAILED",
    "wav": "GENERATE_WAV_FAILED",
    "mp4": "GENERATE_MP4_FAILED",
    "cover": "GENERATE_COVER_FAILED",
}
#: The query route of each task kind.
QUERY_ROUTE = {
    "music": "/suno/query/task",
    "lyrics": "/suno/query/lyrics",
    "vocal-removal": "/suno/query/vocal-removal",
    "wav": "/suno/query/wav",
    "mp4": "/suno/query/mp4",
    "cover": "/suno/query/cover",
}


@dataclass(frozen=True)
class Track:
    """One generated track of a music task (``sunoData[]`` item; ``id`` is the audioId).

    Attributes:
        id: The audioId.
        spec: How to render its audio.
        title: Title.
        tags: Style tags.
        prompt: Its lyrics ("" for instrumental tracks).
        model: The Suno model that made it.
        create_time: ``YYYY-MM-DD HH:MM:SS`` (UTC).
    """

    id: str
    spec: TrackSpec
    title: str
    tags: str
    prompt: str
    model: str
    create_time: str


def tracks(task: Task) -> list[Track]:
    """The tracks of a music task."""
    found: list[Track] = task.data.get("tracks", [])
    return found


def music_parent(backend: Backend, task_id: str) -> Task:
    """The finished music task ``task_id`` refers to, or a 400 saying what is wrong with it."""
    task = backend.find_task(task_id, "suno")
    if task is None:
        raise EmulatorError(400, f"taskId {task_id!r} was not found", code="parent_not_found")
    if task.kind != "music":
        raise EmulatorError(
            400,
            f"taskId {task_id!r} is a {task.kind} task; this route needs a music task "
            "(generate, extend, upload-cover, ...)",
            code="parent_wrong_kind",
        )
    status = backend.status(task, poll=False)
    if status != "SUCCESS":
        raise EmulatorError(
            400,
            f"task {task_id!r} is {status}; the parent task must be SUCCESS before follow-up "
            "routes can use it",
            code="parent_not_ready",
        )
    return task


def track_of(task: Task, audio_id: str) -> tuple[int, Track]:
    """The index and track ``audio_id`` of ``task``, or a 400 listing the task's audioIds."""
    for index, track in enumerate(tracks(task)):
        if track.id == audio_id:
            return index, track
    known = ", ".join(t.id for t in tracks(task))
    raise EmulatorError(
        400,
        f"audioId {audio_id!r} does not belong to task {task.id!r} (its audioIds: {known})",
        code="audio_not_in_task",
    )


def find_track(backend: Backend, audio_id: str) -> tuple[Task, int, Track]:
    """The finished music task holding ``audio_id`` (extend names only the audioId)."""
    for task in list(backend.tasks.values()):
        if task.family == "suno" and task.kind == "music" and not task.unknown:
            for index, track in enumerate(tracks(task)):
                if track.id == audio_id:
                    music_parent(backend, task.id)  # must be SUCCESS
                    return task, index, track
    raise EmulatorError(400, f"audioId {audio_id!r} was not found", code="audio_not_found")


def personas(task: Task) -> dict[str, dict[str, Any]]:
    """Personas made from ``task``'s tracks, by audioId."""
    found: dict[str, dict[str, Any]] = task.data.setdefault("personas", {})
    return found


def check_persona(backend: Backend, persona_id: str | None) -> None:
    """400 unless ``persona_id`` (when given) was made by ``/suno/generate-persona``."""
    if persona_id is None:
        return
    for task in list(backend.tasks.values()):
        if task.kind == "music" and any(
            p["personaId"] == persona_id for p in personas(task).values()
        ):
            return
    raise EmulatorError(
        400,
        f"personaId {persona_id!r} was not found; create one with POST /suno/generate-persona",
        code="persona_not_found",
    )


def check_once(
    backend: Backend, parent: Task, slot: str, key: str, *, status: int, made: str, code: str
) -> None:
    """Refuse a second live child task under ``parent.data[slot][key]`` (cover art, a WAV).

    Args:
        backend: Gateway state.
        parent: The music task the child is made from.
        slot: Where ``parent`` records that kind of child (``covers``, ``wavs``).
        key: Which child (``cover``, or the audioId of the track).
        status: HTTP status of the refusal (400 or 409, per route).
        made: What already exists, the start of the message.
        code: Error code of the refusal.

    Raises:
        EmulatorError: The child exists and has not failed; ``data.taskId`` names it.
    """
    task_id = parent.data.get(slot, {}).get(key)
    task = backend.get_task(task_id) if task_id else None
    if task is not None and task.failure is None:
        raise EmulatorError(
            status, f"{made}: taskId {task.id!r}", code=code, data={"taskId": task.id}
        )


def record_child(parent: Task, slot: str, key: str, child: Task) -> None:
    """Remember ``child`` under ``parent.data[slot][key]``, for :func:`check_once`."""
    parent.data.setdefault(slot, {})[key] = child.id


def uploaded_audio_seconds(backend: Backend, url: str, *, max_seconds: float) -> float:
    """Duration of the audio behind ``uploadUrl``: an asset of this emulator, or a loopback URL.

    A real gateway downloads ``uploadUrl``; the emulator never fetches the network, so it takes
    URLs it served itself (a track's ``audioUrl``, a stem, a WAV, an input handed to it by
    ``anyint_cli.embedded``) and URLs on the loopback interface (:mod:`.uploads`).
    """
    parts = urlsplit(url).path.split("/")
    if len(parts) == 4 and parts[1] == "_assets" and parts[2]:
        data, content_type = _own_asset(backend, url, parts[2])
    elif is_loopback(url):
        data, content_type = fetch_loopback(url), "the download"
    else:
        raise EmulatorError(
            400,
            f"uploadUrl {url.split('?', 1)[0]!r} cannot be fetched: the emulator does not "
            "download external URLs; "
            "pass an audio URL this emulator served (a /_assets/... URL, e.g. a track's audioUrl) "
            "or one on the loopback interface (http://127.0.0.1:...)",
            code="upload_url_external",
        )
    try:
        facts = probe(data)
    except ValueError:
        facts = None
    if facts is None or facts.audio is None:
        raise EmulatorError(
            400,
            f"uploadUrl {url.split('?', 1)[0]!r} is {content_type}, not audio",
            code="upload_not_audio",
        )
    if facts.duration > max_seconds:
        raise EmulatorError(
            400,
            f"uploaded audio is {facts.duration:.1f} s; this model accepts at most "
            f"{max_seconds:.0f} s",
            code="upload_too_long",
        )
    return facts.duration


def _own_asset(backend: Backend, url: str, asset_id: str) -> tuple[bytes, str]:
    asset = backend.assets.get(asset_id)
    if asset is None:
        raise EmulatorError(400, f"uploadUrl {url!r}: no such emulator asset", code="upload_url")
    if backend.clock() > asset.expires_at:
        raise EmulatorError(400, f"uploadUrl {url!r} has expired", code="upload_url_expired")
    return asset.data, asset.content_type
