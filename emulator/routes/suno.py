"""AI Music routes (``/suno/*``, contract §11): creation, synchronous and query routes.

Thin: bodies are validated by :mod:`emulator.music.bodies`, rules and outputs live in
:mod:`emulator.music`. Every success is ``{"code": 200, "msg": "success", "data": ...}``; errors
use the same envelope with the HTTP status equal to ``code`` (the app renders them).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from anyint.types.suno import (
    CoverArtParams,
    LyricsParams,
    Mp4Params,
    PersonaParams,
    ReplaceSectionParams,
    SplitStemParams,
    StyleParams,
    TimestampedLyricsParams,
    VocalRemovalParams,
    WavParams,
)

from ..auth import bearer_auth
from ..backend import Backend, Task
from ..music import Call, query, tasks
from ..music.bodies import (
    AddInstrumentalBody,
    AddVocalsBody,
    ExtendBody,
    GenerateBody,
    UploadCoverBody,
    UploadExtendBody,
)
from ._common import base_url, mark_created

router = APIRouter(prefix="/suno", tags=["suno"])

Envelope = dict[str, Any]


def _call(request: Request, backend: Backend) -> Call:
    return Call(backend, base_url(request), request.method, request.url.path)


def _ok(data: Any) -> Envelope:
    return {"code": 200, "msg": "success", "data": data}


def _created(request: Request, task: Task) -> Envelope:
    mark_created(request, task)
    return _ok({"taskId": task.id})


# -- creation routes ------------------------------------------------------------------------------


@router.post("/generate")
async def generate(
    request: Request, body: GenerateBody, backend: Backend = Depends(bearer_auth)
) -> Envelope:
    """A new song: two tracks, PENDING → TEXT_SUCCESS → FIRST_SUCCESS → SUCCESS."""
    return _created(request, tasks.start_generate(_call(request, backend), body))


@router.post("/extend")
async def extend(
    request: Request, body: ExtendBody, backend: Backend = Depends(bearer_auth)
) -> Envelope:
    """Continue a finished track (found by ``audioId``)."""
    return _created(request, tasks.start_extend(_call(request, backend), body))


@router.post("/upload-cover")
async def upload_cover(
    request: Request, body: UploadCoverBody, backend: Backend = Depends(bearer_auth)
) -> Envelope:
    """Re-sing uploaded audio (an emulator asset URL)."""
    return _created(request, tasks.start_upload_cover(_call(request, backend), body))


@router.post("/upload-extend")
async def upload_extend(
    request: Request, body: UploadExtendBody, backend: Backend = Depends(bearer_auth)
) -> Envelope:
    """Continue uploaded audio (an emulator asset URL)."""
    return _created(request, tasks.start_upload_extend(_call(request, backend), body))


@router.post("/add-vocals")
async def add_vocals(
    request: Request, body: AddVocalsBody, backend: Backend = Depends(bearer_auth)
) -> Envelope:
    """Vocals over an uploaded instrumental."""
    return _created(request, tasks.start_add_vocals(_call(request, backend), body))


@router.post("/add-instrumental")
async def add_instrumental(
    request: Request, body: AddInstrumentalBody, backend: Backend = Depends(bearer_auth)
) -> Envelope:
    """Accompaniment under uploaded vocals."""
    return _created(request, tasks.start_add_instrumental(_call(request, backend), body))


@router.post("/replace-section")
async def replace_section(
    request: Request, body: ReplaceSectionParams, backend: Backend = Depends(bearer_auth)
) -> Envelope:
    """Regenerate a 6-60 s window of a finished track."""
    return _created(request, tasks.start_replace_section(_call(request, backend), body))


@router.post("/generate-lyrics")
async def generate_lyrics(
    request: Request, body: LyricsParams, backend: Backend = Depends(bearer_auth)
) -> Envelope:
    """Lyric variants for a theme (PENDING → SUCCESS; query /suno/query/lyrics)."""
    return _created(request, tasks.start_lyrics(_call(request, backend), body))


@router.post("/generate-cover")
async def generate_cover(
    request: Request, body: CoverArtParams, backend: Backend = Depends(bearer_auth)
) -> Envelope:
    """Cover art (two PNGs) for a finished music task; once per task."""
    return _created(request, tasks.start_cover(_call(request, backend), body))


@router.post("/vocal-removal")
async def vocal_removal(
    request: Request, body: VocalRemovalParams, backend: Backend = Depends(bearer_auth)
) -> Envelope:
    """Vocals + instrumental (``separate_vocal``, default) or 12 stems (``split_stem``)."""
    return _created(request, tasks.start_stems(_call(request, backend), body))


@router.post("/split-stem")
async def split_stem(
    request: Request, body: SplitStemParams, backend: Backend = Depends(bearer_auth)
) -> Envelope:
    """Twelve stems of a finished track (vocal removal with ``split_stem``)."""
    return _created(request, tasks.start_stems(_call(request, backend), body))


@router.post("/wav-generate")
async def wav_generate(
    request: Request, body: WavParams, backend: Backend = Depends(bearer_auth)
) -> Envelope:
    """A WAV export of one track; a second one for the same audioId is a 409."""
    return _created(request, tasks.start_wav(_call(request, backend), body))


@router.post("/mp4-generate")
async def mp4_generate(
    request: Request, body: Mp4Params, backend: Backend = Depends(bearer_auth)
) -> Envelope:
    """A music video (H.264 + AAC) of one track."""
    return _created(request, tasks.start_mp4(_call(request, backend), body))


# -- synchronous routes ---------------------------------------------------------------------------


@router.post("/timestamped-lyrics")
async def timestamped_lyrics(
    request: Request, body: TimestampedLyricsParams, backend: Backend = Depends(bearer_auth)
) -> Envelope:
    """Aligned words (seconds) of a finished track."""
    return _ok(tasks.timestamped_lyrics(_call(request, backend), body))


@router.post("/style-generate")
async def style_generate(
    request: Request, body: StyleParams, backend: Backend = Depends(bearer_auth)
) -> Envelope:
    """Expand rough style text."""
    return _ok(tasks.style_generate(_call(request, backend), body))


@router.post("/generate-persona")
async def generate_persona(
    request: Request, body: PersonaParams, backend: Backend = Depends(bearer_auth)
) -> Envelope:
    """A reusable voice from a finished track; once per audioId."""
    return _ok(tasks.generate_persona(_call(request, backend), body))


# -- query routes ---------------------------------------------------------------------------------


@router.get("/query/task")
async def query_task(
    task_id: str | None = Query(None, alias="taskId"), backend: Backend = Depends(bearer_auth)
) -> Envelope:
    """Generate, extend, upload, overlay and replace-section tasks."""
    return _ok(query(backend, "music", task_id))


@router.get("/query/lyrics")
async def query_lyrics(
    task_id: str | None = Query(None, alias="taskId"), backend: Backend = Depends(bearer_auth)
) -> Envelope:
    """Lyrics tasks."""
    return _ok(query(backend, "lyrics", task_id))


@router.get("/query/vocal-removal")
async def query_vocal_removal(
    task_id: str | None = Query(None, alias="taskId"), backend: Backend = Depends(bearer_auth)
) -> Envelope:
    """Vocal-removal and split-stem tasks (status in ``successFlag``)."""
    return _ok(query(backend, "vocal-removal", task_id))


@router.get("/query/wav")
async def query_wav(
    task_id: str | None = Query(None, alias="taskId"), backend: Backend = Depends(bearer_auth)
) -> Envelope:
    """WAV export tasks."""
    return _ok(query(backend, "wav", task_id))


@router.get("/query/mp4")
async def query_mp4(
    task_id: str | None = Query(None, alias="taskId"), backend: Backend = Depends(bearer_auth)
) -> Envelope:
    """Music-video tasks."""
    return _ok(query(backend, "mp4", task_id))


@router.get("/query/cover")
async def query_cover(
    task_id: str | None = Query(None, alias="taskId"), backend: Backend = Depends(bearer_auth)
) -> Envelope:
    """Cover-art tasks."""
    return _ok(query(backend, "cover", task_id))
