"""AI Music callback payloads (contract §11.7), registered as ``callback_builders["suno"]``.

Payloads are AnyInt's bare shape; the dispatcher wraps them as upstream ``{code, msg, data}``
when the task was created with ``callback_wrapped``. A wrapped delivery carries the upstream
``msg`` of each stage, so the builder adds ``msg`` only for wrapped tasks (the bare shape has
none). Item fields are snake_case here, unlike the camelCase query records.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from ..backend import Backend, Task
from . import records

__all__ = ["build_callbacks", "install"]

_MSG = {
    "text": "Text generation completed successfully.",
    "first": "First audio generated successfully.",
    "complete": "All generated successfully.",
    "vocal-removal": "vocal Removal generated successfully.",
    "wav": "WAV generated successfully.",
    "mp4": "MP4 generated successfully.",
    "cover": "Cover generated successfully.",
    "lyrics": "All generated successfully.",
}


def _snake(name: str) -> str:
    # createTime stays camelCase: upstream callbacks spell it so (§11.7).
    return name if name == "createTime" else re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def _snake_items(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{_snake(k): v for k, v in item.items()} for item in items]


def _with_msg(task: Task, payload: dict[str, Any], key: str) -> dict[str, Any]:
    if task.callback_wrapped:
        payload["msg"] = _MSG[key]
    return payload


def _never_delivered(url: str | None) -> bool:
    host = urlsplit(url or "").hostname or ""
    return not url or host == "invalid" or host.endswith(".invalid")


def _builder(backend: Backend) -> Any:
    def build(task: Task, status: str) -> list[dict[str, Any]]:
        return build_callbacks(backend, task, status)

    return build


def install(backend: Backend) -> None:
    """Register the AI Music callback builder on ``backend`` (idempotent)."""
    if "suno" not in backend.callback_builders:
        backend.callback_builders["suno"] = _builder(backend)


def build_callbacks(backend: Backend, task: Task, status: str) -> list[dict[str, Any]]:
    """The payloads to POST when ``task`` enters ``status`` (bare AnyInt shape).

    Music tasks: ``text`` (``data: []``), ``first`` (the first track, stream URL only),
    ``complete`` (every track). Single-stage tasks: one per-type payload at SUCCESS. Any
    failure: ``{"callbackType": "error", "task_id", "code": 500, "msg"}``.
    """
    if _never_delivered(task.callback_url):
        return []  # don't render media for a placeholder URL the dispatcher skips anyway
    if status == task.failure:
        return [
            {
                "callbackType": "error",
                "task_id": task.id,
                "code": 500,
                "msg": f"{status}: generation failed (task_failed fault)",
            }
        ]
    payload = (
        _music(backend, task, status) if task.kind == "music" else _single(backend, task, status)
    )
    return [] if payload is None else [payload]


def _music(backend: Backend, task: Task, status: str) -> dict[str, Any] | None:
    phase = {"TEXT_SUCCESS": "text", "FIRST_SUCCESS": "first", "SUCCESS": "complete"}.get(status)
    if phase is None:
        return None
    items = _snake_items(records.track_fields(backend, task, status))
    # text: no tracks yet; first: the first track, streaming; complete: every track.
    data = [] if phase == "text" else items[:1] if phase == "first" else items
    return _with_msg(task, {"callbackType": phase, "task_id": task.id, "data": data}, phase)


def _single(backend: Backend, task: Task, status: str) -> dict[str, Any] | None:
    if status != "SUCCESS":
        return None
    kind = task.kind
    payload: dict[str, Any]
    if kind == "lyrics":
        items = [
            {**item, "status": "complete", "error_message": ""}
            for item in records.lyrics_items(task, status)
        ]
        payload = {"callbackType": "complete", "task_id": task.id, "data": items}
    elif kind == "vocal-removal":
        info = {_snake(k): v for k, v in records.stem_urls(backend, task).items()}
        payload = {"task_id": task.id, "vocal_removal_info": info}
    elif kind == "wav":
        payload = {"task_id": task.id, "audio_wav_url": records.wav_url(backend, task)}
    elif kind == "mp4":
        payload = {"task_id": task.id, "video_url": records.video_url(backend, task)}
    else:  # cover art: camelCase taskId here (§11.7)
        payload = {"taskId": task.id, "images": records.cover_images(backend, task)}
    return _with_msg(task, payload, kind)
