"""Every task-based gateway route as data: how to create it, query it and list its outputs.

One table keeps submit, wait and fetch generic: a new route is one :class:`RouteSpec` entry, and
the never-pay-twice rules of :mod:`tasks.submit` hold for it automatically.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from anyint import AnyIntClient, MediaKind, TaskSnapshot
from anyint.types import RequestModel
from anyint.types import dashscope as ds
from anyint.types import kling as kl
from anyint.types import suno as su
from anyint.types import videos as vi

__all__ = ["ROUTES", "Output", "RouteSpec", "route"]

Family = Literal["suno", "dashscope", "kling", "videos"]


@dataclass(frozen=True)
class Output:
    """One thing a finished task produced.

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


@dataclass(frozen=True)
class RouteSpec:
    """How to drive one task-based route.

    Attributes:
        name: Registry key, ``family.route`` (``suno.generate``).
        family: Gateway family (timing, callbacks).
        path: Create path, used in request digests and messages.
        params: Strict request model; a body is validated with it before anything is recorded.
        create: Sends the create call and returns the gateway task id.
        query: Fetches one snapshot of the task.
        outputs: Lists the outputs of a successful snapshot.
        callback_field: Body field that carries the callback URL, if the route takes one.
    """

    name: str
    family: Family
    path: str
    params: type[RequestModel]
    create: Callable[[AnyIntClient, Any], Awaitable[str]]
    query: Callable[[AnyIntClient, str], Awaitable[TaskSnapshot]]
    outputs: Callable[[Any, AnyIntClient], list[Output]]
    callback_field: str | None = None


# -- outputs per task type ----------------------------------------------------------------------


def _music(task: su.MusicTask, _: AnyIntClient) -> list[Output]:
    out = []
    for i, track in enumerate(task.tracks, start=1):
        if track.audio_url:
            out.append(
                Output(f"track-{i}.mp3", "audio", "audio", track.audio_url, audio_id=track.id)
            )
        if track.image_url:
            out.append(
                Output(f"track-{i}-cover.jpg", "image", "image", track.image_url, audio_id=track.id)
            )
    return out


def _lyrics(task: su.LyricsTask, _: AnyIntClient) -> list[Output]:
    return [
        Output(
            f"lyrics-{i}.txt",
            "text",
            "lyrics",
            content=f"# {item.title or 'Untitled'}\n\n{item.text or ''}\n".encode(),
        )
        for i, item in enumerate(task.lyrics, start=1)
    ]


def _stems(task: su.VocalRemovalTask, _: AnyIntClient) -> list[Output]:
    return [Output(f"stem-{name}.mp3", "audio", "stem", url) for name, url in task.stems.items()]


def _wav(task: su.WavTask, _: AnyIntClient) -> list[Output]:
    return [Output("song.wav", "audio", "wav", task.audio_wav_url)] if task.audio_wav_url else []


def _mp4(task: su.Mp4Task, _: AnyIntClient) -> list[Output]:
    return (
        [Output("music-video.mp4", "video", "music_video", task.video_url)]
        if (task.video_url)
        else []
    )


def _cover(task: su.CoverTask, _: AnyIntClient) -> list[Output]:
    return [
        Output(f"cover-{i}.png", "image", "cover_art", url)
        for i, url in enumerate(task.images, start=1)
    ]


def _ds_video(task: ds.DashScopeTask, _: AnyIntClient) -> list[Output]:
    return [Output("video.mp4", "video", "video", task.video_url)] if task.video_url else []


def _kling_video(task: kl.KlingTask, _: AnyIntClient) -> list[Output]:
    return [
        Output(f"video-{i}.mp4", "video", "video", url)
        for i, url in enumerate(task.video_urls, start=1)
    ]


def _openai_video(task: vi.VideoObject, client: AnyIntClient) -> list[Output]:
    url = f"{client.base_url}/openai/v1/videos/{task.id}/content"
    return [Output("video.mp4", "video", "video", url)]


# -- the table ----------------------------------------------------------------------------------


async def _task_id(created: Awaitable[Any]) -> str:
    return str((await created).task_id)


def _suno(
    name: str,
    path: str,
    params: type[RequestModel],
    method: str,
    query: str,
    outputs: Callable[[Any, AnyIntClient], list[Output]],
) -> RouteSpec:
    return RouteSpec(
        name=f"suno.{name}",
        family="suno",
        path=path,
        params=params,
        create=lambda c, p: _task_id(getattr(c.suno, method)(p)),
        query=lambda c, t: getattr(c.suno, query)(t),
        outputs=outputs,
        callback_field="callBackUrl",
    )


_MUSIC = "get_music_task"
ROUTES: dict[str, RouteSpec] = {
    spec.name: spec
    for spec in [
        _suno("generate", "/suno/generate", su.GenerateParams, "generate", _MUSIC, _music),
        _suno("extend", "/suno/extend", su.ExtendParams, "extend", _MUSIC, _music),
        _suno(
            "upload-cover",
            "/suno/upload-cover",
            su.UploadCoverParams,
            "upload_cover",
            _MUSIC,
            _music,
        ),
        _suno(
            "upload-extend",
            "/suno/upload-extend",
            su.UploadExtendParams,
            "upload_extend",
            _MUSIC,
            _music,
        ),
        _suno("add-vocals", "/suno/add-vocals", su.AddVocalsParams, "add_vocals", _MUSIC, _music),
        _suno(
            "add-instrumental",
            "/suno/add-instrumental",
            su.AddInstrumentalParams,
            "add_instrumental",
            _MUSIC,
            _music,
        ),
        _suno(
            "replace-section",
            "/suno/replace-section",
            su.ReplaceSectionParams,
            "replace_section",
            _MUSIC,
            _music,
        ),
        _suno(
            "generate-lyrics",
            "/suno/generate-lyrics",
            su.LyricsParams,
            "generate_lyrics",
            "get_lyrics_task",
            _lyrics,
        ),
        _suno(
            "vocal-removal",
            "/suno/vocal-removal",
            su.VocalRemovalParams,
            "vocal_removal",
            "get_vocal_removal_task",
            _stems,
        ),
        _suno(
            "split-stem",
            "/suno/split-stem",
            su.SplitStemParams,
            "split_stem",
            "get_vocal_removal_task",
            _stems,
        ),
        _suno(
            "wav-generate", "/suno/wav-generate", su.WavParams, "wav_generate", "get_wav_task", _wav
        ),
        _suno(
            "mp4-generate", "/suno/mp4-generate", su.Mp4Params, "mp4_generate", "get_mp4_task", _mp4
        ),
        _suno(
            "generate-cover",
            "/suno/generate-cover",
            su.CoverArtParams,
            "generate_cover_art",
            "get_cover_task",
            _cover,
        ),
        RouteSpec(
            name="dashscope.video-synthesis",
            family="dashscope",
            path="/dashscope/v1/services/aigc/video-generation/video-synthesis",
            params=ds.DashScopeVideoParams,
            create=lambda c, p: _task_id(c.dashscope.create_video_task(p)),
            query=lambda c, t: c.dashscope.get_task(t),
            outputs=_ds_video,
        ),
        RouteSpec(
            name="kling.text2video",
            family="kling",
            path="/transtreams/kling/v1/videos/text2video",
            params=kl.KlingText2VideoParams,
            create=lambda c, p: _task_id(c.kling.create_text2video(p)),
            query=lambda c, t: c.kling.get_text2video(t),
            outputs=_kling_video,
            callback_field="callback_url",
        ),
        RouteSpec(
            name="kling.image2video",
            family="kling",
            path="/transtreams/kling/v1/videos/image2video",
            params=kl.KlingImage2VideoParams,
            create=lambda c, p: _task_id(c.kling.create_image2video(p)),
            query=lambda c, t: c.kling.get_image2video(t),
            outputs=_kling_video,
            callback_field="callback_url",
        ),
        RouteSpec(
            name="videos.create",
            family="videos",
            path="/openai/v1/videos",
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
