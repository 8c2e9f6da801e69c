"""What the three video task families share once a task exists (DashScope, Kling, OpenAI-style).

Creating the task, rendering its MP4 once (a real H.264 file, :func:`emulator.media.mp4`),
serving it, the wall-clock times a status was first seen, and job progress.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import numpy as np
from pydantic import BaseModel

from ..backend import Backend, Task, TaskFamily
from ..calls import Call
from ..media import mp4
from .specs import VideoSpec

__all__ = [
    "FAILURE_MESSAGE",
    "new_task",
    "progress",
    "seen_at",
    "serve_video",
    "video_bytes",
    "video_bytes_now",
]

#: ``output.message`` / ``task_status_msg`` / ``error.message`` of a task failed by a fault.
FAILURE_MESSAGE = "video generation failed (injected task_failed fault)"
#: Sample rate of the soundtrack of a clip that asks for audio.
_AUDIO_RATE = 24000


def new_task(
    call: Call,
    *,
    family: TaskFamily,
    kind: str,
    stages: tuple[str, str, str],
    failed: str,
    body: BaseModel,
    data: dict[str, Any],
    callback_url: str | None = None,
    prefix: str = "",
) -> Task:
    """Create a video family's task (the body is kept as sent, without unset fields).

    ``data`` gets the creation's wall-clock time as ``wall`` (the families report it); the call
    log notes the task as this call's.
    """
    task = call.backend.create_task(
        family=family,
        kind=kind,
        stages=stages,
        body=body.model_dump(mode="json", exclude_none=True),
        base_url=call.base_url,
        failure_status=failed,
        method=call.method,
        path=call.path,
        callback_url=callback_url,
        prefix=prefix,
        data={**data, "wall": time.time()},
    )
    return call.created(task)


def _render(spec: VideoSpec) -> bytes:
    audio = None
    if spec.audio:
        # A quiet two-note drone: enough for players and probes to see a real AAC track.
        t = np.arange(round(spec.duration * _AUDIO_RATE)) / _AUDIO_RATE
        root = 110.0 * 2 ** ((spec.seed % 12) / 12)
        audio = 0.2 * np.sin(2 * np.pi * root * t) + 0.1 * np.sin(2 * np.pi * 1.5 * root * t)
    return mp4(
        seed=spec.seed,
        width=spec.width,
        height=spec.height,
        duration=spec.seconds,
        fps=spec.fps,
        audio=audio,
        sample_rate=_AUDIO_RATE,
        text=spec.text,
    )


async def video_bytes(task: Task, spec: VideoSpec) -> bytes:
    """The task's MP4, rendered once (in a worker thread, so the server keeps answering)."""
    data: bytes | None = task.data.get("_mp4")
    if data is not None:
        return data
    pending: asyncio.Future[bytes] | None = task.data.get("_mp4_pending")
    if pending is None:
        # Concurrent polls share one render.
        pending = asyncio.ensure_future(asyncio.to_thread(_render, spec))
        task.data["_mp4_pending"] = pending
    data = await pending
    task.data["_mp4"] = data
    return data


def video_bytes_now(task: Task, spec: VideoSpec) -> bytes:
    """The task's MP4 from synchronous code (callback builders), rendered inline if need be."""
    data: bytes | None = task.data.get("_mp4")
    if data is None:
        data = task.data["_mp4"] = _render(spec)
    return data


async def serve_video(backend: Backend, base: str, task: Task, spec: VideoSpec) -> str:
    """The URL of the task's MP4 (re-issued when the previous one expired)."""
    data = await video_bytes(task, spec)
    return backend.serve(base, f"video:{task.id}", "video.mp4", "video/mp4", lambda: data)


# -- times and progress ---------------------------------------------------------------------------


def seen_at(task: Task, status: str) -> float:
    """Wall-clock time (Unix seconds) at which ``status`` was first reported for ``task``."""
    seen: dict[str, float] = task.data.setdefault("_seen", {})
    if status == task.stages[0]:
        return float(task.data.get("wall", seen.setdefault(status, time.time())))
    return seen.setdefault(status, time.time())


def progress(backend: Backend, task: Task, status: str) -> int:
    """0 before work starts, 100 once over, and in between the share of the run elapsed."""
    if status == task.stages[0]:
        return 0
    if backend.is_done(task, status):
        return 100
    timing = backend.timing[task.family]
    if timing.after_polls is not None:
        done = task.polls / (timing.after_polls * task.last)
    elif timing.after_seconds:
        done = (backend.clock() - task.created) / (timing.after_seconds * task.last)
    else:
        done = 1.0
    return min(99, max(1, round(100 * done)))
