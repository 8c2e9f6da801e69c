"""Every task-based gateway route as data: how to create it, query it and list its outputs.

One table keeps submit, wait and fetch generic: a new route is one :class:`RouteSpec` entry, and
the never-pay-twice rules of :mod:`tasks.submit` hold for it automatically.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from anyint import AnyIntClient, MediaKind, TaskSnapshot
from anyint.resources.suno import Suno
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


def _stems(task: su.VocalRemovalTask, _: AnyIntClient) -> list[Output]:
    stems = [_out(f"stem-{name}.mp3", "audio", "stem", url) for name, url in task.stems.items()]
    return _require(stems, "stem URLs")


def _wav(task: su.WavTask, _: AnyIntClient) -> list[Output]:
    wav = [_out("song.wav", "audio", "wav", task.audio_wav_url)] if task.audio_wav_url else []
    return _require(wav, "a WAV URL")


def _mp4(task: su.Mp4Task, _: AnyIntClient) -> list[Output]:
    mp4 = [_out("music-video.mp4", "video", "music_video", task.video_url)]
    return _require(mp4 if task.video_url else [], "a video URL")


def _cover(task: su.CoverTask, _: AnyIntClient) -> list[Output]:
    covers = [
        _out(f"cover-{i}.png", "image", "cover_art", url)
        for i, url in enumerate(task.images, start=1)
    ]
    return _require(covers, "cover image URLs")


def _ds_video(task: ds.DashScopeTask, _: AnyIntClient) -> list[Output]:
    video = [_out("video.mp4", "video", "video", task.video_url)] if task.video_url else []
    return _require(video, "output.video_url")


def _kling_video(task: kl.KlingTask, _: AnyIntClient) -> list[Output]:
    videos = [
        _out(f"video-{i}.mp4", "video", "video", url)
        for i, url in enumerate(task.video_urls, start=1)
    ]
    return _require(videos, "task_result videos")


def _openai_video(task: vi.VideoObject, client: AnyIntClient) -> list[Output]:
    url = f"{client.base_url}/openai/v1/videos/{task.id}/content"
    return [_out("video.mp4", "video", "video", url)]


# -- the table ----------------------------------------------------------------------------------


async def _task_id(created: Awaitable[Any]) -> str:
    return str((await created).task_id)


def _suno(
    name: str,
    params: type[RequestModel],
    create: Callable[[Suno, Any], Awaitable[Any]],
    query: Callable[[Suno, str], Awaitable[TaskSnapshot]],
    outputs: Callable[[Any, AnyIntClient], list[Output]],
) -> RouteSpec:
    return RouteSpec(
        name=f"suno.{name}",
        family="suno",
        params=params,
        create=lambda c, p: _task_id(create(c.suno, p)),
        query=lambda c, t: query(c.suno, t),
        outputs=outputs,
        callback_field="callBackUrl",
    )


_MUSIC = Suno.get_music_task
ROUTES: dict[str, RouteSpec] = {
    spec.name: spec
    for spec in [
        _suno("generate", su.GenerateParams, Suno.generate, _MUSIC, _music),
        _suno("extend", su.ExtendParams, Suno.extend, _MUSIC, _music),
        _suno(
            "upload-cover",
            su.UploadCoverParams,
            Suno.upload_cover,
            _MUSIC,
            _music,
        ),
        _suno(
            "upload-extend",
            su.UploadExtendParams,
            Suno.upload_extend,
            _MUSIC,
            _music,
        ),
        _suno("add-vocals", su.AddVocalsParams, Suno.add_vocals, _MUSIC, _music),
        _suno(
            "add-instrumental",
            su.AddInstrumentalParams,
            Suno.add_instrumental,
            _MUSIC,
            _music,
        ),
        _suno(
            "replace-section",
            su.ReplaceSectionParams,
            Suno.replace_section,
            _MUSIC,
            _music,
        ),
        _suno(
            "generate-lyrics",
            su.LyricsParams,
            Suno.generate_lyrics,
            Suno.get_lyrics_task,
            _lyrics,
        ),
        _suno(
            "vocal-removal",
            su.VocalRemovalParams,
            Suno.vocal_removal,
            Suno.get_vocal_removal_task,
            _stems,
        ),
        _suno(
            "split-stem",
            su.SplitStemParams,
            Suno.split_stem,
            Suno.get_vocal_removal_task,
            _stems,
        ),
        _suno("wav-generate", su.WavParams, Suno.wav_generate, Suno.get_wav_task, _wav),
        _suno("mp4-generate", su.Mp4Params, Suno.mp4_generate, Suno.get_mp4_task, _mp4),
        _suno(
            "generate-cover",
            su.CoverArtParams,
            Suno.generate_cover_art,
            Suno.get_cover_task,
            _cover,
        ),
        RouteSpec(
            name="dashscope.video-synthesis",
            family="dashscope",
            params=ds.DashScopeVideoParams,
            create=lambda c, p: _task_id(c.dashscope.create_video_task(p)),
            query=lambda c, t: c.dashscope.get_task(t),
            outputs=_ds_video,
            lost_status="UNKNOWN",
        ),
        RouteSpec(
            name="kling.text2video",
            family="kling",
            params=kl.KlingText2VideoParams,
            create=lambda c, p: _task_id(c.kling.create_text2video(p)),
            query=lambda c, t: c.kling.get_text2video(t),
            outputs=_kling_video,
            callback_field="callback_url",
        ),
        RouteSpec(
            name="kling.image2video",
            family="kling",
            params=kl.KlingImage2VideoParams,
            create=lambda c, p: _task_id(c.kling.create_image2video(p)),
            query=lambda c, t: c.kling.get_image2video(t),
            outputs=_kling_video,
            callback_field="callback_url",
        ),
        RouteSpec(
            name="videos.create",
            family="videos",
            params=vi.VideoCreateParams,
            create=lambda c, p: _task_id(c.videos.create(p)),
            query=lambda c, t: c.videos.retrieve(t),
            outputs=_openai_video,
        ),
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
