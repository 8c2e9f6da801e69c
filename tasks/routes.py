"""Every task-based gateway route as data: how to create it, query it and list its outputs.

One table keeps submit, wait and fetch generic: a new route is one :class:`RouteSpec` entry, and
the never-pay-twice rules of :mod:`tasks.submit` hold for it automatically.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

from pydantic import BaseModel

from anyint import AnyIntClient, MediaKind, TaskSnapshot
from anyint.resources.dashscope import DashScope
from anyint.resources.kling import Kling
from anyint.resources.suno import Suno
from anyint.resources.videos import Videos
from anyint.types import RequestModel
from anyint.types import dashscope as ds
from anyint.types import kling as kl
from anyint.types import suno as su
from anyint.types import videos as vi
from blocks.inbox import Family

__all__ = ["ROUTES", "MissingOutput", "Output", "RouteSpec", "route"]


class Output(BaseModel):
    """One thing a finished task produced, from the snapshot to the manifest (its URL may
    expire; fetch re-queries the task then).

    Attributes:
        name: File name inside the task's asset folder (``track-1.mp3``).
        kind: Media kind checked on download (``audio``, ``video``, ``image``, ``text``).
        asset_kind: Manifest ``kind`` (``audio``, ``stem``, ``video``, ``image``, ``lyrics`` ...).
        url: Where to download it, or None when ``content`` holds it already.
        content: Inline content (lyrics text), stored as is.
        audio_id: Suno track id the output belongs to, when there is one.
    """

    name: str
    kind: MediaKind
    asset_kind: str
    url: str | None = None
    content: bytes | None = None
    audio_id: str | None = None


def _out(
    name: str,
    kind: MediaKind,
    asset_kind: str,
    url: str | None = None,
    *,
    content: bytes | None = None,
    audio_id: str | None = None,
) -> Output:
    return Output(
        name=name, kind=kind, asset_kind=asset_kind, url=url, content=content, audio_id=audio_id
    )


@dataclass(frozen=True)
class RouteSpec:
    """How to drive one task-based route.

    Attributes:
        name: Registry key, ``family.route`` (``suno.generate``).
        family: Gateway family (timing, callbacks).
        params: Strict request model; a body is validated with it before anything is recorded.
        create: Sends the create call and returns the gateway task id.
        query: Fetches one snapshot of the task.
        outputs: Lists the outputs of a successful snapshot.
        callback_field: Body field that carries the callback URL, if the route takes one.
        lost_status: The terminal status by which the family says it does not know the task
            (DashScope ``UNKNOWN``: unknown or expired), rather than a 404.
    """

    name: str
    family: Family
    params: type[RequestModel]
    create: Callable[[AnyIntClient, Any], Awaitable[str]]
    query: Callable[[AnyIntClient, str], Awaitable[TaskSnapshot]]
    outputs: Callable[[Any, AnyIntClient], list[Output]]
    callback_field: str | None = None
    lost_status: str | None = None


# -- outputs per task type ----------------------------------------------------------------------
# A success counts only with the documented output: each function raises MissingOutput, naming
# what is missing, rather than returning fewer outputs than the route promises.


class MissingOutput(ValueError):
    """A successful snapshot lacks an output its route documents (the message names it)."""


def _require(outputs: list[Output], what: str) -> list[Output]:
    if not outputs:
        raise MissingOutput(what)
    return outputs


def _music(task: su.MusicTask, _: AnyIntClient) -> list[Output]:
    out = []
    for i, track in enumerate(task.tracks, start=1):
        if not track.audio_url:
            raise MissingOutput(f"an audio URL for track {i} ({track.id})")
        out.append(_out(f"track-{i}.mp3", "audio", "audio", track.audio_url, audio_id=track.id))
        if track.image_url:
            out.append(
                _out(f"track-{i}-cover.jpg", "image", "image", track.image_url, audio_id=track.id)
            )
    return _require(out, "any track")


def _lyrics(task: su.LyricsTask, _: AnyIntClient) -> list[Output]:
    if not any(item.text for item in task.lyrics):
        raise MissingOutput("lyrics text")
    return [
        _out(
            f"lyrics-{i}.txt",
            "text",
            "lyrics",
            content=f"# {item.title or 'Untitled'}\n\n{item.text or ''}\n".encode(),
        )
        for i, item in enumerate(task.lyrics, start=1)
    ]


def _one(name: str, kind: MediaKind, asset_kind: str, url: str | None, what: str) -> list[Output]:
    """The single output at ``url``; ``what`` names it when the snapshot lacks it."""
    return _require([_out(name, kind, asset_kind, url)] if url else [], what)


def _numbered(
    name: str, kind: MediaKind, asset_kind: str, urls: Iterable[str], what: str
) -> list[Output]:
    """One output per URL, numbered from 1 (``name`` holds ``{i}``); at least one."""
    outputs = [_out(name.format(i=i), kind, asset_kind, u) for i, u in enumerate(urls, start=1)]
    return _require(outputs, what)


def _stems(task: su.VocalRemovalTask, _: AnyIntClient) -> list[Output]:
    stems = [_out(f"stem-{name}.mp3", "audio", "stem", url) for name, url in task.stems.items()]
    return _require(stems, "stem URLs")


def _wav(task: su.WavTask, _: AnyIntClient) -> list[Output]:
    return _one("song.wav", "audio", "wav", task.audio_wav_url, "a WAV URL")


def _mp4(task: su.Mp4Task, _: AnyIntClient) -> list[Output]:
    return _one("music-video.mp4", "video", "music_video", task.video_url, "a video URL")


def _cover(task: su.CoverTask, _: AnyIntClient) -> list[Output]:
    return _numbered("cover-{i}.png", "image", "cover_art", task.images, "cover image URLs")


def _ds_video(task: ds.DashScopeTask, _: AnyIntClient) -> list[Output]:
    return _one("video.mp4", "video", "video", task.video_url, "output.video_url")


def _kling_video(task: kl.KlingTask, _: AnyIntClient) -> list[Output]:
    return _numbered("video-{i}.mp4", "video", "video", task.video_urls, "task_result videos")


def _kling_images(task: kl.KlingTask, _: AnyIntClient) -> list[Output]:
    return _numbered("image-{i}.png", "image", "image", task.image_urls, "task_result images")


def _openai_video(task: vi.VideoObject, client: AnyIntClient) -> list[Output]:
    # The id is the gateway's data: one path segment, whatever it holds (``%`` and ``/`` too).
    url = f"{client.base_url}/openai/v1/videos/{quote(task.id, safe='')}/content"
    return [_out("video.mp4", "video", "video", url)]


# -- the table ----------------------------------------------------------------------------------


async def _task_id(created: Awaitable[Any]) -> str:
    return str((await created).task_id)


R = TypeVar("R")
#: How a task type is queried (a method of the family's resource), and what its success outputs.
_TaskType = tuple[
    Callable[[R, str], Awaitable[TaskSnapshot]], Callable[[Any, AnyIntClient], list[Output]]
]
#: A family's routes: name → (strict request model, create method of the resource, task type).
_Rows = dict[str, tuple[type[RequestModel], Callable[[R, Any], Awaitable[Any]], _TaskType[R]]]


def _family(
    family: Family,
    resource: Callable[[AnyIntClient], R],
    rows: _Rows[R],
    *,
    callback_field: str | None = None,
    lost_status: str | None = None,
) -> list[RouteSpec]:
    """The specs of one family's routes, named ``family.route``."""

    def spec(
        name: str,
        params: type[RequestModel],
        create: Callable[[R, Any], Awaitable[Any]],
        task: _TaskType[R],
    ) -> RouteSpec:
        query, outputs = task
        return RouteSpec(
            name=f"{family}.{name}",
            family=family,
            params=params,
            create=lambda c, p: _task_id(create(resource(c), p)),
            query=lambda c, t: query(resource(c), t),
            outputs=outputs,
            callback_field=callback_field,
            lost_status=lost_status,
        )

    return [spec(name, *row) for name, row in rows.items()]


_MUSIC: _TaskType[Suno] = (Suno.get_music_task, _music)
_STEMS: _TaskType[Suno] = (Suno.get_vocal_removal_task, _stems)
_SUNO: _Rows[Suno] = {
    "generate": (su.GenerateParams, Suno.generate, _MUSIC),
    "extend": (su.ExtendParams, Suno.extend, _MUSIC),
    "upload-cover": (su.UploadCoverParams, Suno.upload_cover, _MUSIC),
    "upload-extend": (su.UploadExtendParams, Suno.upload_extend, _MUSIC),
    "add-vocals": (su.AddVocalsParams, Suno.add_vocals, _MUSIC),
    "add-instrumental": (su.AddInstrumentalParams, Suno.add_instrumental, _MUSIC),
    "replace-section": (su.ReplaceSectionParams, Suno.replace_section, _MUSIC),
    "generate-lyrics": (su.LyricsParams, Suno.generate_lyrics, (Suno.get_lyrics_task, _lyrics)),
    "vocal-removal": (su.VocalRemovalParams, Suno.vocal_removal, _STEMS),
    "split-stem": (su.SplitStemParams, Suno.split_stem, _STEMS),
    "wav-generate": (su.WavParams, Suno.wav_generate, (Suno.get_wav_task, _wav)),
    "mp4-generate": (su.Mp4Params, Suno.mp4_generate, (Suno.get_mp4_task, _mp4)),
    "generate-cover": (su.CoverArtParams, Suno.generate_cover_art, (Suno.get_cover_task, _cover)),
}
_DASHSCOPE: _Rows[DashScope] = {
    "video-synthesis": (
        ds.DashScopeVideoParams,
        DashScope.create_video_task,
        (DashScope.get_task, _ds_video),
    ),
}
_TEXT2VIDEO: _TaskType[Kling] = (Kling.get_text2video, _kling_video)
_IMAGE2VIDEO: _TaskType[Kling] = (Kling.get_image2video, _kling_video)
_OMNI_VIDEO: _TaskType[Kling] = (Kling.get_omni_video, _kling_video)
_IMAGE: _TaskType[Kling] = (Kling.get_image, _kling_images)
_OMNI_IMAGE: _TaskType[Kling] = (Kling.get_omni_image, _kling_images)
_KLING: _Rows[Kling] = {
    "text2video": (kl.KlingText2VideoParams, Kling.create_text2video, _TEXT2VIDEO),
    "image2video": (kl.KlingImage2VideoParams, Kling.create_image2video, _IMAGE2VIDEO),
    "omni-video": (kl.KlingOmniVideoParams, Kling.create_omni_video, _OMNI_VIDEO),
    "image": (kl.KlingImageParams, Kling.create_image, _IMAGE),
    "omni-image": (kl.KlingOmniImageParams, Kling.create_omni_image, _OMNI_IMAGE),
}
_VIDEOS: _Rows[Videos] = {
    "create": (vi.VideoCreateParams, Videos.create, (Videos.retrieve, _openai_video)),
}

ROUTES: dict[str, RouteSpec] = {
    spec.name: spec
    for spec in [
        *_family("suno", lambda c: c.suno, _SUNO, callback_field="callBackUrl"),
        *_family("dashscope", lambda c: c.dashscope, _DASHSCOPE, lost_status="UNKNOWN"),
        *_family("kling", lambda c: c.kling, _KLING, callback_field="callback_url"),
        *_family("videos", lambda c: c.videos, _VIDEOS),
    ]
}


def route(name: str) -> RouteSpec:
    """The spec of a route by registry name.

    Raises:
        ValueError: Unknown name; the message lists the known ones.
    """
    try:
        return ROUTES[name]
    except KeyError:
        raise ValueError(
            f"unknown route {name!r}; known routes: {', '.join(sorted(ROUTES))}"
        ) from None
