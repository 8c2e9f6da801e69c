"""What AI Music tasks show: served output files and the query records of §11.6.

Files are made the first time a status that shows them is queried (or called back), through
``Backend.serve``, which makes each one once and re-issues its URL after expiry. Every record
builder takes the status it is describing, so the query routes and the callback builder show
the same URLs at the same stage. A task made by a ``task_no_output`` fault succeeds without its
output: the file functions give no URL for it, so queries and callbacks agree on that too.
"""

from __future__ import annotations

import functools
import json
import time
from typing import Any

from ..backend import Backend, Task
from ..errors import EmulatorError
from ..media import STEM_NAMES, jpeg, png
from . import audio
from .rules import QUERY_ROUTE, Track, tracks
from .text import lyric_variants

__all__ = [
    "COVER_SIZE",
    "IMAGE_SIZE",
    "cover_images",
    "lyrics_items",
    "query",
    "stem_urls",
    "track_fields",
    "video_url",
    "wav_url",
]

IMAGE_SIZE = 400  # track artwork (JPEG, square)
COVER_SIZE = 512  # cover art (PNG, square)
#: Query field of each split-stem stem (12 stems, §11.6).
_STEM_FIELDS = {
    "vocals": "vocalUrl",
    "backing_vocals": "backingVocalsUrl",
    "drums": "drumsUrl",
    "bass": "bassUrl",
    "guitar": "guitarUrl",
    "keyboard": "keyboardUrl",
    "percussion": "percussionUrl",
    "strings": "stringsUrl",
    "synth": "synthUrl",
    "fx": "fxUrl",
    "brass": "brassUrl",
    "woodwinds": "woodwindsUrl",
}
_ALL_STEM_FIELDS = ("originUrl", "instrumentalUrl", *_STEM_FIELDS.values())
_ERROR_CODE = 500


def now_ms() -> int:
    """Wall-clock epoch milliseconds (the upstream time format of non-song records)."""
    return int(time.time() * 1000)


def _done_ms(task: Task, status: str) -> int | None:
    if status != "SUCCESS":
        return None
    done: int = task.data.setdefault("completed_ms", now_ms())
    return done


def _errors(task: Task, status: str) -> dict[str, Any]:
    failed = status == task.failure
    return {
        "errorCode": _ERROR_CODE if failed else None,
        "errorMessage": f"{status}: generation failed (task_failed fault)" if failed else None,
    }


def _parent(backend: Backend, task: Task) -> tuple[Task, Track]:
    parent = backend.tasks[task.data["parent"]]
    return parent, tracks(parent)[task.data["index"]]


# -- files ----------------------------------------------------------------------------------------


def _track_audio(backend: Backend, task: Task, track: Track, *, stream: bool = False) -> str:
    kind = "stream" if stream else "mp3"
    name = f"{track.id}-stream.mp3" if stream else f"{track.id}.mp3"
    return backend.serve(
        task.base_url,
        f"suno:{task.id}:{track.id}:{kind}",
        name,
        "audio/mpeg",
        lambda: audio.track_mp3(track.spec),
    )


def _track_image(backend: Backend, task: Task, track: Track) -> str:
    return backend.serve(
        task.base_url,
        f"suno:{task.id}:{track.id}:jpeg",
        f"{track.id}.jpeg",
        "image/jpeg",
        lambda: backend.render(
            jpeg, IMAGE_SIZE, IMAGE_SIZE, seed=track.spec.seed, text=backend.media_text(track.title)
        ),
    )


def track_fields(backend: Backend, task: Task, status: str) -> list[dict[str, Any]]:
    """``sunoData`` items (camelCase) as of ``status``.

    Text and titles from TEXT_SUCCESS, stream and image URLs from FIRST_SUCCESS, the final
    ``audioUrl`` and ``duration`` at SUCCESS; nothing before TEXT_SUCCESS or after a failure.
    A ``task_no_output`` task never shows audio URLs or a duration (artwork only).
    """
    if status not in ("TEXT_SUCCESS", "FIRST_SUCCESS", "SUCCESS"):
        return []
    out = []
    for track in tracks(task):
        item: dict[str, Any] = {
            "id": track.id,
            "audioUrl": "",
            "sourceAudioUrl": "",
            "streamAudioUrl": "",
            "sourceStreamAudioUrl": "",
            "imageUrl": "",
            "sourceImageUrl": "",
            "prompt": track.prompt,
            "modelName": f"chirp-{track.model.lower().replace('_', '-')}",
            "title": track.title,
            "tags": track.tags,
            "createTime": track.create_time,
            "duration": None,
        }
        if status in ("FIRST_SUCCESS", "SUCCESS"):
            image = _track_image(backend, task, track)
            item.update(imageUrl=image, sourceImageUrl=image)
        if status in ("FIRST_SUCCESS", "SUCCESS") and not task.no_output:
            stream = _track_audio(backend, task, track, stream=True)
            item.update(streamAudioUrl=stream, sourceStreamAudioUrl=stream)
        if status == "SUCCESS" and not task.no_output:
            url = _track_audio(backend, task, track)
            item.update(audioUrl=url, sourceAudioUrl=url, duration=round(track.spec.duration, 2))
        out.append(item)
    return out


def stem_urls(backend: Backend, task: Task) -> dict[str, str | None]:
    """All stem fields of a vocal-removal task (camelCase), unused ones (all: no output) None."""
    urls: dict[str, str | None] = dict.fromkeys(_ALL_STEM_FIELDS)
    if task.no_output:
        return urls
    parent, track = _parent(backend, task)
    urls["originUrl"] = _track_audio(backend, parent, track)

    def serve(stem: str, label: str) -> str:
        return backend.serve(
            task.base_url,
            f"suno:{task.id}:{stem}",
            f"{track.id}_{label}.mp3",
            "audio/mpeg",
            lambda: audio.stem_mp3(track.spec, stem),
        )

    if task.data["type"] == "split_stem":
        for stem in STEM_NAMES:
            urls[_STEM_FIELDS[stem]] = serve(stem, stem.title().replace("_", ""))
    else:
        urls["vocalUrl"] = serve("vocals", "Vocals")
        urls["instrumentalUrl"] = serve("instrumental", "Instrumental")
    return urls


def wav_url(backend: Backend, task: Task) -> str | None:
    """The WAV export of a wav task's track (None for a ``task_no_output`` task)."""
    if task.no_output:
        return None
    _, track = _parent(backend, task)
    return backend.serve(
        task.base_url,
        f"suno:{task.id}:wav",
        f"{track.id}.wav",
        "audio/wav",
        lambda: backend.render(audio.track_wav, track.spec),
    )


def video_url(backend: Backend, task: Task) -> str | None:
    """The music video of an mp4 task's track (caption: title, author, watermark domain).

    None for a ``task_no_output`` task.
    """
    if task.no_output:
        return None
    _, track = _parent(backend, task)
    words = [track.title, task.data.get("author"), task.data.get("domain_name")]
    caption = " · ".join(w for w in words if w)
    return backend.serve(
        task.base_url,
        f"suno:{task.id}:mp4",
        f"{track.id}.mp4",
        "video/mp4",
        lambda: backend.render(
            audio.track_mp4, track.spec, seed=task.data["seed"], caption=backend.media_text(caption)
        ),
    )


def cover_images(backend: Backend, task: Task) -> list[str]:
    """The two cover-art PNGs of a cover task (none for a ``task_no_output`` task)."""
    if task.no_output:
        return []
    seed, text = task.data["seed"], backend.media_text(task.data["title"])
    return [
        backend.serve(
            task.base_url,
            f"suno:{task.id}:cover{i}",
            f"cover-{i + 1}.png",
            "image/png",
            functools.partial(
                backend.render, png, COVER_SIZE, COVER_SIZE, seed=seed + i, text=text
            ),
        )
        for i in range(2)
    ]


def lyrics_items(task: Task, status: str) -> list[dict[str, str]]:
    """Lyric variants (``text``, ``title``) of a lyrics task at SUCCESS (none: no output)."""
    if status != "SUCCESS" or task.no_output:
        return []
    return lyric_variants(task.body["prompt"], task.data["seed"])


# -- query records --------------------------------------------------------------------------------


def _param(task: Task) -> str:
    return json.dumps(task.body, separators=(",", ":"), ensure_ascii=False)


def _music(backend: Backend, task: Task, status: str) -> dict[str, Any]:
    return {
        "taskId": task.id,
        "parentMusicId": task.data.get("parent_music_id", ""),
        "param": _param(task),
        "response": {"taskId": task.id, "sunoData": track_fields(backend, task, status)},
        "status": status,
        "type": task.data["op"].upper(),
        "operationType": task.data["op"],
        **_errors(task, status),
    }


def _lyrics(backend: Backend, task: Task, status: str) -> dict[str, Any]:
    items = [
        {**item, "status": "complete", "errorMessage": ""} for item in lyrics_items(task, status)
    ]
    return {
        "taskId": task.id,
        "param": _param(task),
        "response": {"taskId": task.id, "lyricsData": items},
        "status": status,
        "type": "LYRICS",
        **_errors(task, status),
    }


def _child(task: Task, status: str, response: Any) -> dict[str, Any]:
    """Fields shared by the records of tasks made from one track (stems, WAV, MP4)."""
    return {
        "taskId": task.id,
        "musicId": task.data["audio_id"],
        "callbackUrl": task.callback_url,
        "musicIndex": task.data["index"],
        "completeTime": _done_ms(task, status),
        "response": response,
        "successFlag": status,
        "createTime": task.data["created_ms"],
        **_errors(task, status),
    }


def _vocal_removal(backend: Backend, task: Task, status: str) -> dict[str, Any]:
    return _child(task, status, stem_urls(backend, task) if status == "SUCCESS" else None)


def _wav(backend: Backend, task: Task, status: str) -> dict[str, Any]:
    response = {"audio_wav_url": wav_url(backend, task)} if status == "SUCCESS" else None
    record = _child(task, status, response)
    del record["musicIndex"]  # not in the documented WAV record
    return record


def _mp4(backend: Backend, task: Task, status: str) -> dict[str, Any]:
    response = {"videoUrl": video_url(backend, task)} if status == "SUCCESS" else None
    return _child(task, status, response)


def _cover(backend: Backend, task: Task, status: str) -> dict[str, Any]:
    images = cover_images(backend, task) if status == "SUCCESS" else []
    return {
        "taskId": task.id,
        "parentTaskId": task.data["parent"],
        "callbackUrl": task.callback_url,
        "completeTime": _done_ms(task, status),
        "response": {"images": images} if images else None,
        "successFlag": status,
        "createTime": task.data["created_ms"],
        **_errors(task, status),
    }


_RECORDS = {
    "music": _music,
    "lyrics": _lyrics,
    "vocal-removal": _vocal_removal,
    "wav": _wav,
    "mp4": _mp4,
    "cover": _cover,
}


def query(backend: Backend, kind: str, task_id: str | None) -> dict[str, Any]:
    """The record of task ``task_id`` on the query route for ``kind`` (counts as a poll).

    Raises:
        EmulatorError: 400 without a taskId; 404 for an unknown task or one of another kind
            (the message names the right query route).
    """
    if task_id is None or not task_id.strip():
        raise EmulatorError(400, "taskId query parameter is required", code="missing_task_id")
    task = backend.find_task(task_id, "suno")
    if task is None:
        raise EmulatorError(404, f"task {task_id!r} was not found", code="task_not_found")
    if task.kind != kind:
        raise EmulatorError(
            404,
            f"task {task_id!r} is a {task.kind} task, not found on this route; query it with "
            f"GET {QUERY_ROUTE[task.kind]}?taskId={task_id}",
            code="task_wrong_route",
        )
    return _RECORDS[kind](backend, task, backend.status(task))
