"""AI Music (``/suno/*``): song, lyrics, stem, export and persona routes (anyint-api.md §11).

Every call uses Bearer auth and checks the body ``code`` as well as the HTTP status: Suno may
answer HTTP 200 with an error code in the body, which the client raises as the matching typed
error (413 :class:`~anyint.PayloadTooLargeError`, 430 :class:`~anyint.SunoRateLimitError`, ...).
Task-creating POSTs are never resent after an answer that does not prove rejection (no
idempotency key exists, §13.3): a dropped connection, a 5xx other than 503 (HTTP or body
``code``) or an unreadable answer raises :class:`~anyint.AmbiguousSubmitError` instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar, overload

from .._polling import PollSchedule, wait_for_task
from ..types._base import RequestModel
from ..types.suno import (
    AddInstrumentalParams,
    AddVocalsParams,
    CoverArtParams,
    CoverTask,
    CoverTaskResponse,
    ExtendParams,
    GenerateParams,
    LyricsParams,
    LyricsTask,
    LyricsTaskResponse,
    Mp4Params,
    Mp4Task,
    Mp4TaskResponse,
    MusicTask,
    MusicTaskResponse,
    Persona,
    PersonaParams,
    PersonaResponse,
    ReplaceSectionParams,
    SplitStemParams,
    StyleParams,
    StyleResult,
    StyleResultResponse,
    SunoEnvelope,
    SunoTask,
    SunoTaskCreated,
    TimestampedLyrics,
    TimestampedLyricsParams,
    TimestampedLyricsResponse,
    UploadCoverParams,
    UploadExtendParams,
    VocalRemovalParams,
    VocalRemovalTask,
    VocalRemovalTaskResponse,
    WavParams,
    WavTask,
    WavTaskResponse,
)
from ._base import Resource, build_params, parse_response, require_id

__all__ = ["Suno", "TaskKind"]

P = TypeVar("P", bound=RequestModel)
T = TypeVar("T")

#: Which query route :meth:`Suno.wait` polls.
TaskKind = Literal["music", "lyrics", "vocal-removal", "wav", "mp4", "cover"]

#: Suno's success ``code`` in the body (§11.3).
_OK = 200


class Suno(Resource):
    """AI Music routes; ``client.suno``.

    Creation methods return :class:`SunoTaskCreated` (store ``.task_id`` first); query methods
    return task records; :meth:`wait` polls one until it is done.

    Example:
        >>> created = await client.suno.generate(  # doctest: +SKIP
        ...     custom_mode=False, instrumental=False, model="V5",
        ...     prompt="A calm piano track", call_back_url=PLACEHOLDER_CALLBACK_URL)
        >>> task = await client.suno.wait(created.task_id)  # doctest: +SKIP
        >>> [track.audio_url for track in task.tracks]  # doctest: +SKIP
    """

    # -- plumbing ------------------------------------------------------------------------------

    async def _create(self, path: str, body: RequestModel) -> SunoTaskCreated:
        return await self._submit(SunoTaskCreated, path, body.to_body(), ok_code=_OK)

    async def _sync(
        self,
        path: str,
        body: RequestModel,
        envelope: type[SunoEnvelope[T]],
        *,
        creates_task: bool,
    ) -> T:
        if creates_task:  # billed: an unreadable answer is doubt too
            return (await self._submit(envelope, path, body.to_body(), ok_code=_OK)).data
        response = await self._client.request("POST", path, json=body.to_body(), ok_code=_OK)
        return parse_response(envelope, response).data

    async def _query(self, path: str, task_id: str, envelope: type[SunoEnvelope[T]]) -> T:
        require_id("task_id", task_id)
        response = await self._client.request("GET", path, params={"taskId": task_id}, ok_code=_OK)
        return parse_response(envelope, response).data

    # -- creation routes (async tasks) ---------------------------------------------------------

    async def generate(
        self, params: GenerateParams | None = None, **kwargs: Any
    ) -> SunoTaskCreated:
        """``POST /suno/generate``: a new song (usually 2 tracks); poll with ``kind="music"``.

        Args:
            params: The body, or pass its fields as keywords (snake_case or camelCase).
            **kwargs: Fields of :class:`GenerateParams`.

        Raises:
            pydantic.ValidationError: A rule of §11.4 is broken (nothing is sent).
            APIStatusError: The gateway refused it (e.g. 413 text too long, 430 rate).
            AmbiguousSubmitError: It may have been created (no answer, a 5xx other than
                503, or an unreadable answer); not resent.
        """
        return await self._create("/suno/generate", build_params(GenerateParams, params, kwargs))

    async def extend(self, params: ExtendParams | None = None, **kwargs: Any) -> SunoTaskCreated:
        """``POST /suno/extend``: continue a generated track; poll with ``kind="music"``."""
        return await self._create("/suno/extend", build_params(ExtendParams, params, kwargs))

    async def generate_lyrics(
        self, params: LyricsParams | None = None, **kwargs: Any
    ) -> SunoTaskCreated:
        """``POST /suno/generate-lyrics``; poll with ``kind="lyrics"``."""
        return await self._create(
            "/suno/generate-lyrics", build_params(LyricsParams, params, kwargs)
        )

    async def generate_cover_art(
        self, params: CoverArtParams | None = None, **kwargs: Any
    ) -> SunoTaskCreated:
        """``POST /suno/generate-cover``: cover art for a finished task; ``kind="cover"``.

        One cover per music task: a repeat answers 400 with the existing task id in the body.
        """
        return await self._create(
            "/suno/generate-cover", build_params(CoverArtParams, params, kwargs)
        )

    async def upload_cover(
        self, params: UploadCoverParams | None = None, **kwargs: Any
    ) -> SunoTaskCreated:
        """``POST /suno/upload-cover``: re-sing uploaded audio; poll with ``kind="music"``."""
        return await self._create(
            "/suno/upload-cover", build_params(UploadCoverParams, params, kwargs)
        )

    async def upload_extend(
        self, params: UploadExtendParams | None = None, **kwargs: Any
    ) -> SunoTaskCreated:
        """``POST /suno/upload-extend``: continue uploaded audio; poll with ``kind="music"``."""
        body = build_params(UploadExtendParams, params, kwargs)
        return await self._create("/suno/upload-extend", body)

    async def add_vocals(
        self, params: AddVocalsParams | None = None, **kwargs: Any
    ) -> SunoTaskCreated:
        """``POST /suno/add-vocals``: vocals over an instrumental; poll with ``kind="music"``."""
        return await self._create("/suno/add-vocals", build_params(AddVocalsParams, params, kwargs))

    async def add_instrumental(
        self, params: AddInstrumentalParams | None = None, **kwargs: Any
    ) -> SunoTaskCreated:
        """``POST /suno/add-instrumental``: accompaniment under vocals; ``kind="music"``."""
        body = build_params(AddInstrumentalParams, params, kwargs)
        return await self._create("/suno/add-instrumental", body)

    async def vocal_removal(
        self, params: VocalRemovalParams | None = None, **kwargs: Any
    ) -> SunoTaskCreated:
        """``POST /suno/vocal-removal`` (billed per call); poll with ``kind="vocal-removal"``."""
        body = build_params(VocalRemovalParams, params, kwargs)
        return await self._create("/suno/vocal-removal", body)

    async def split_stem(
        self, params: SplitStemParams | None = None, **kwargs: Any
    ) -> SunoTaskCreated:
        """``POST /suno/split-stem`` (up to 12 stems); poll with ``kind="vocal-removal"``."""
        return await self._create("/suno/split-stem", build_params(SplitStemParams, params, kwargs))

    async def replace_section(
        self, params: ReplaceSectionParams | None = None, **kwargs: Any
    ) -> SunoTaskCreated:
        """``POST /suno/replace-section``: regenerate a 6-60 s window; ``kind="music"``."""
        body = build_params(ReplaceSectionParams, params, kwargs)
        return await self._create("/suno/replace-section", body)

    async def wav_generate(self, params: WavParams | None = None, **kwargs: Any) -> SunoTaskCreated:
        """``POST /suno/wav-generate`` (a repeat answers 409); poll with ``kind="wav"``."""
        return await self._create("/suno/wav-generate", build_params(WavParams, params, kwargs))

    async def mp4_generate(self, params: Mp4Params | None = None, **kwargs: Any) -> SunoTaskCreated:
        """``POST /suno/mp4-generate``: a music video; poll with ``kind="mp4"``."""
        return await self._create("/suno/mp4-generate", build_params(Mp4Params, params, kwargs))

    # -- synchronous routes (contract gap §17 item 15: sync upstream, assumed sync here) ---------

    async def timestamped_lyrics(
        self, params: TimestampedLyricsParams | None = None, **kwargs: Any
    ) -> TimestampedLyrics:
        """``POST /suno/timestamped-lyrics``: word timings of a finished track (read-only)."""
        body = build_params(TimestampedLyricsParams, params, kwargs)
        return await self._sync(
            "/suno/timestamped-lyrics", body, TimestampedLyricsResponse, creates_task=False
        )

    async def style_generate(self, params: StyleParams | None = None, **kwargs: Any) -> StyleResult:
        """``POST /suno/style-generate``: expand rough style text.

        Billed (``creditsConsumed``), so an ambiguous failure is not resent either.
        """
        body = build_params(StyleParams, params, kwargs)
        return await self._sync(
            "/suno/style-generate", body, StyleResultResponse, creates_task=True
        )

    async def generate_persona(self, params: PersonaParams | None = None, **kwargs: Any) -> Persona:
        """``POST /suno/generate-persona``: a reusable voice (one per ``audioId``, not resent)."""
        body = build_params(PersonaParams, params, kwargs)
        return await self._sync("/suno/generate-persona", body, PersonaResponse, creates_task=True)

    # -- query routes ----------------------------------------------------------------------------

    async def get_music_task(self, task_id: str) -> MusicTask:
        """``GET /suno/query/task``: generate, extend, upload, overlay and replace tasks."""
        return await self._query("/suno/query/task", task_id, MusicTaskResponse)

    async def get_lyrics_task(self, task_id: str) -> LyricsTask:
        """``GET /suno/query/lyrics``."""
        return await self._query("/suno/query/lyrics", task_id, LyricsTaskResponse)

    async def get_vocal_removal_task(self, task_id: str) -> VocalRemovalTask:
        """``GET /suno/query/vocal-removal``: vocal-removal and split-stem tasks."""
        return await self._query("/suno/query/vocal-removal", task_id, VocalRemovalTaskResponse)

    async def get_wav_task(self, task_id: str) -> WavTask:
        """``GET /suno/query/wav``."""
        return await self._query("/suno/query/wav", task_id, WavTaskResponse)

    async def get_mp4_task(self, task_id: str) -> Mp4Task:
        """``GET /suno/query/mp4``."""
        return await self._query("/suno/query/mp4", task_id, Mp4TaskResponse)

    async def get_cover_task(self, task_id: str) -> CoverTask:
        """``GET /suno/query/cover``: cover-art tasks."""
        return await self._query("/suno/query/cover", task_id, CoverTaskResponse)

    # -- waiting -------------------------------------------------------------------------------

    @overload
    async def wait(
        self,
        task_id: str,
        *,
        kind: Literal["music"] = ...,
        schedule: PollSchedule | None = ...,
        on_change: Callable[[MusicTask], Awaitable[None] | None] | None = ...,
        wake: asyncio.Event | None = ...,
    ) -> MusicTask: ...
    @overload
    async def wait(
        self,
        task_id: str,
        *,
        kind: Literal["lyrics"],
        schedule: PollSchedule | None = ...,
        on_change: Callable[[LyricsTask], Awaitable[None] | None] | None = ...,
        wake: asyncio.Event | None = ...,
    ) -> LyricsTask: ...
    @overload
    async def wait(
        self,
        task_id: str,
        *,
        kind: Literal["vocal-removal"],
        schedule: PollSchedule | None = ...,
        on_change: Callable[[VocalRemovalTask], Awaitable[None] | None] | None = ...,
        wake: asyncio.Event | None = ...,
    ) -> VocalRemovalTask: ...
    @overload
    async def wait(
        self,
        task_id: str,
        *,
        kind: Literal["wav"],
        schedule: PollSchedule | None = ...,
        on_change: Callable[[WavTask], Awaitable[None] | None] | None = ...,
        wake: asyncio.Event | None = ...,
    ) -> WavTask: ...
    @overload
    async def wait(
        self,
        task_id: str,
        *,
        kind: Literal["mp4"],
        schedule: PollSchedule | None = ...,
        on_change: Callable[[Mp4Task], Awaitable[None] | None] | None = ...,
        wake: asyncio.Event | None = ...,
    ) -> Mp4Task: ...
    @overload
    async def wait(
        self,
        task_id: str,
        *,
        kind: Literal["cover"],
        schedule: PollSchedule | None = ...,
        on_change: Callable[[CoverTask], Awaitable[None] | None] | None = ...,
        wake: asyncio.Event | None = ...,
    ) -> CoverTask: ...

    async def wait(
        self,
        task_id: str,
        *,
        kind: TaskKind = "music",
        schedule: PollSchedule | None = None,
        on_change: Callable[[Any], Awaitable[None] | None] | None = None,
        wake: asyncio.Event | None = None,
    ) -> SunoTask:
        """Poll a task until it is done and its result URLs are present.

        Args:
            task_id: The id from the creation call.
            kind: Which query route fits the task: ``music`` (generate, extend, upload-*,
                add-*, replace-section), ``lyrics``, ``vocal-removal`` (also split-stem),
                ``wav``, ``mp4`` or ``cover`` (cover art).
            schedule: Poll intervals and deadline.
            on_change: Called with each record whose status changed (e.g. TEXT_SUCCESS).
            wake: Set it (e.g. from a callback receiver) to poll at once.

        Returns:
            The successful record.

        Raises:
            ValueError: Empty ``task_id`` or unknown ``kind`` (nothing is sent).
            TaskFailedError: A failed state, or SUCCESS without result URLs.
            TaskTimeoutError: The deadline passed; wait again with the same id.
        """
        require_id("task_id", task_id)
        getters: dict[str, Callable[[str], Awaitable[SunoTask]]] = {
            "music": self.get_music_task,
            "lyrics": self.get_lyrics_task,
            "vocal-removal": self.get_vocal_removal_task,
            "wav": self.get_wav_task,
            "mp4": self.get_mp4_task,
            "cover": self.get_cover_task,
        }
        getter = getters.get(kind)
        if getter is None:
            raise ValueError(f"kind must be one of {sorted(getters)}, got {kind!r}")
        return await wait_for_task(
            lambda: getter(task_id),
            task_id=task_id,
            schedule=schedule,
            on_change=on_change,
            wake=wake,
        )
