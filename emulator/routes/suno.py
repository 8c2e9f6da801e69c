"""AI Music routes (``/suno/*``, contract §11): creation, synchronous and query routes.

Thin: bodies are validated by :mod:`emulator.music.bodies`, rules and outputs live in
:mod:`emulator.music`. Every success is ``{"code": 200, "msg": "success", "data": ...}``; errors
use the same envelope with the HTTP status equal to ``code`` (the app renders them).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from ..auth import bearer_auth
from ..backend import Backend, Task
from ..music import bodies, query, tasks
from ..music.rules import QUERY_ROUTE
from ..music.tasks import Kind
from ._common import call_of

router = APIRouter(prefix="/suno", tags=["suno"])

Envelope = dict[str, Any]


def _ok(data: Any) -> Envelope:
    return {"code": 200, "msg": "success", "data": data}


def _created(task: Task) -> Envelope:
    return _ok({"taskId": task.id})


# -- creation routes ------------------------------------------------------------------------------


@router.post("/generate")
async def generate(
    request: Request, body: bodies.GenerateBody, backend: Backend = Depends(bearer_auth)
) -> Envelope:
    """A new song: two tracks, PENDING → TEXT_SUCCESS → FIRST_SUCCESS → SUCCESS."""
    return _created(tasks.start_generate(call_of(request, backend), body))


@router.post("/extend")
async def extend(
    request: Request, body: bodies.ExtendBody, backend: Backend = Depends(bearer_auth)
) -> Envelope:
    """Continue a finished track (found by ``audioId``)."""
    return _created(tasks.start_extend(call_of(request, backend), body))


@router.post("/upload-cover")
async def upload_cover(
    request: Request, body: bodies.UploadCoverBody, backend: Backend = Depends(bearer_auth)
) -> Envelope:
    """Re-sing uploaded audio (an emulator asset URL)."""
    return _created(tasks.start_upload_cover(call_of(request, backend), body))


@router.post("/upload-extend")
async def upload_extend(
    request: Request, body: bodies.UploadExtendBody, backend: Backend = Depends(bearer_auth)
) -> Envelope:
    """Continue uploaded audio (an emulator asset URL)."""
    return _created(tasks.start_upload_extend(call_of(request, backend), body))


@router.post("/add-vocals")
async def add_vocals(
    request: Request, body: bodies.AddVocalsBody, backend: Backend = Depends(bearer_auth)
) -> Envelope:
    """Vocals over an uploaded instrumental."""
    return _created(tasks.start_add_vocals(call_of(request, backend), body))


@router.post("/add-instrumental")
async def add_instrumental(
    request: Request, body: bodies.AddInstrumentalBody, backend: Backend = Depends(bearer_auth)
) -> Envelope:
    """Accompaniment under uploaded vocals."""
    return _created(tasks.start_add_instrumental(call_of(request, backend), body))


@router.post("/replace-section")
async def replace_section(
    request: Request, body: bodies.ReplaceSectionParams, backend: Backend = Depends(bearer_auth)
) -> Envelope:
    """Regenerate a 6-60 s window of a finished track."""
    return _created(tasks.start_replace_section(call_of(request, backend), body))


@router.post("/generate-lyrics")
async def generate_lyrics(
    request: Request, body: bodies.LyricsParams, backend: Backend = Depends(bearer_auth)
) -> Envelope:
    """Lyric variants for a theme (PENDING → SUCCESS; query /suno/query/lyrics)."""
    return _created(tasks.start_lyrics(call_of(request, backend), body))


@router.post("/generate-cover")
async def generate_cover(
    request: Request, body: bodies.CoverArtParams, backend: Backend = Depends(bearer_auth)
) -> Envelope:
    """Cover art (two PNGs) for a finished music task; once per task."""
    return _created(tasks.start_cover(call_of(request, backend), body))


@router.post("/vocal-removal")
async def vocal_removal(
    request: Request, body: bodies.VocalRemovalParams, backend: Backend = Depends(bearer_auth)
) -> Envelope:
    """Vocals + instrumental (``separate_vocal``, default) or 12 stems (``split_stem``)."""
    return _created(tasks.start_stems(call_of(request, backend), body))


@router.post("/split-stem")
async def split_stem(
    request: Request, body: bodies.SplitStemParams, backend: Backend = Depends(bearer_auth)
) -> Envelope:
    """Twelve stems of a finished track (vocal removal with ``split_stem``)."""
    return _created(tasks.start_stems(call_of(request, backend), body))


@router.post("/wav-generate")
async def wav_generate(
    request: Request, body: bodies.WavParams, backend: Backend = Depends(bearer_auth)
) -> Envelope:
    """A WAV export of one track; a second one for the same audioId is a 409."""
    return _created(tasks.start_wav(call_of(request, backend), body))


@router.post("/mp4-generate")
async def mp4_generate(
    request: Request, body: bodies.Mp4Params, backend: Backend = Depends(bearer_auth)
) -> Envelope:
    """A music video (H.264 + AAC) of one track."""
    return _created(tasks.start_mp4(call_of(request, backend), body))


# -- synchronous routes ---------------------------------------------------------------------------


@router.post("/timestamped-lyrics")
async def timestamped_lyrics(
    request: Request, body: bodies.TimestampedLyricsParams, backend: Backend = Depends(bearer_auth)
) -> Envelope:
    """Aligned words (seconds) of a finished track."""
    return _ok(tasks.timestamped_lyrics(call_of(request, backend), body))


@router.post("/style-generate")
async def style_generate(
    request: Request, body: bodies.StyleParams, backend: Backend = Depends(bearer_auth)
) -> Envelope:
    """Expand rough style text; the only Suno answer that reports credits (§11.4)."""
    call = call_of(request, backend)
    data = tasks.style_generate(call, body)
    call.reported({"creditsConsumed": data["creditsConsumed"]})
    return _ok(data)


@router.post("/generate-persona")
async def generate_persona(
    request: Request, body: bodies.PersonaParams, backend: Backend = Depends(bearer_auth)
) -> Envelope:
    """A reusable voice from a finished track; once per audioId."""
    return _ok(tasks.generate_persona(call_of(request, backend), body))


# -- query routes ---------------------------------------------------------------------------------

#: Query route of each task kind, with what it serves.
_QUERIES: dict[Kind, str] = {
    "music": "Generate, extend, upload, overlay and replace-section tasks.",
    "lyrics": "Lyrics tasks.",
    "vocal-removal": "Vocal-removal and split-stem tasks (status in ``successFlag``).",
    "wav": "WAV export tasks.",
    "mp4": "Music-video tasks.",
    "cover": "Cover-art tasks.",
}


def _query_route(kind: Kind, doc: str) -> None:
    async def query_route(
        task_id: str | None = Query(None, alias="taskId"), backend: Backend = Depends(bearer_auth)
    ) -> Envelope:
        return _ok(query(backend, kind, task_id))

    query_route.__name__ = f"query_{'task' if kind == 'music' else kind.replace('-', '_')}"
    query_route.__doc__ = doc
    router.add_api_route(QUERY_ROUTE[kind].removeprefix("/suno"), query_route, methods=["GET"])


for _kind, _doc in _QUERIES.items():
    _query_route(_kind, _doc)
