"""AI Music (``/suno/*``): song, lyrics, stem, export and persona routes (anyint-api.md §11).

Every call uses Bearer auth and checks the body ``code`` as well as the HTTP status: Suno may
answer HTTP 200 with an error code in the body, which the client raises as the matching typed
error (413 :class:`~anyint.PayloadTooLargeError`, 430 :class:`~anyint.SunoRateLimitError`, ...).
Task-creating POSTs are never resent after an answer that does not prove rejection (no
idempotency key exists, §13.3): a dropped connection, a 5xx other than 503 (HTTP or body
``code``) or an unreadable answer raises :class:`~anyint.AmbiguousSubmitError` instead.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal, TypeVar, Unpack, overload

from .._polling import WaitOptions
from ..types._base import RequestModel
from ..types.suno import (
    AddInstrumentalFields,
    AddInstrumentalParams,
    AddVocalsFields,
    AddVocalsParams,
    CoverArtFields,
    CoverArtParams,
    CoverTask,
    CoverTaskResponse,
    ExtendFields,
    ExtendParams,
    GenerateFields,
    GenerateParams,
    LyricsFields,
    LyricsParams,
    LyricsTask,
    LyricsTaskResponse,
    Mp4Fields,
    Mp4Params,
    Mp4Task,
    Mp4TaskResponse,
    MusicTask,
    MusicTaskResponse,
    Persona,
    PersonaFields,
    PersonaParams,
    PersonaResponse,
    ReplaceSectionFields,
    ReplaceSectionParams,
    SplitStemFields,
    SplitStemParams,
    StyleFields,
    StyleParams,
    StyleResult,
    StyleResultResponse,
    SunoEnvelope,
    SunoTask,
    SunoTaskCreated,
    TimestampedLyrics,
    TimestampedLyricsFields,
    TimestampedLyricsParams,
    TimestampedLyricsResponse,
    UploadCoverFields,
    UploadCoverParams,
    UploadExtendFields,
    UploadExtendParams,
    VocalRemovalFields,
    VocalRemovalParams,
    VocalRemovalTask,
    VocalRemovalTaskResponse,
    WavFields,
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

    Every creation and sync method takes its body the same way, and its docstring says only its
    route and what differs:

    - Args: ``params`` is the body (its params model or a mapping, snake_case or camelCase keys;
      positional only), or give its fields as snake_case keywords (keywords override ``params``).
    - Raises: ``pydantic.ValidationError`` when a rule of §11.4-11.5 is broken (nothing is
      sent); :class:`~anyint.APIStatusError` when the gateway refused it (e.g. 413 text too
      long, 430 rate); :class:`~anyint.AmbiguousSubmitError` when a task-creating call may have
      made a task (no answer, a 5xx other than 503, or an unreadable answer), never resent.

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
        self,
        params: GenerateParams | Mapping[str, Any] | None = None,
        /,
        **fields: Unpack[GenerateFields],
    ) -> SunoTaskCreated:
        """``POST /suno/generate``: a new song (usually 2 tracks); poll with ``kind="music"``."""
        return await self._create("/suno/generate", build_params(GenerateParams, params, fields))

    async def extend(
        self,
        params: ExtendParams | Mapping[str, Any] | None = None,
        /,
        **fields: Unpack[ExtendFields],
    ) -> SunoTaskCreated:
        """``POST /suno/extend``: continue a generated track; poll with ``kind="music"``."""
        return await self._create("/suno/extend", build_params(ExtendParams, params, fields))

    async def generate_lyrics(
        self,
        params: LyricsParams | Mapping[str, Any] | None = None,
        /,
        **fields: Unpack[LyricsFields],
    ) -> SunoTaskCreated:
        """``POST /suno/generate-lyrics``; poll with ``kind="lyrics"``."""
        return await self._create(
            "/suno/generate-lyrics", build_params(LyricsParams, params, fields)
        )

    async def generate_cover_art(
        self,
        params: CoverArtParams | Mapping[str, Any] | None = None,
        /,
        **fields: Unpack[CoverArtFields],
    ) -> SunoTaskCreated:
        """``POST /suno/generate-cover``: cover art for a finished task; ``kind="cover"``.

        One cover per music task: a repeat answers 400 with the existing task id in the body.
        """
        return await self._create(
            "/suno/generate-cover", build_params(CoverArtParams, params, fields)
        )

    async def upload_cover(
        self,
        params: UploadCoverParams | Mapping[str, Any] | None = None,
        /,
        **fields: Unpack[UploadCoverFields],
    ) -> SunoTaskCreated:
        """``POST /suno/upload-cover``: re-sing uploaded audio; poll with ``kind="music"``."""
        return await self._create(
            "/suno/upload-cover", build_params(UploadCoverParams, params, fields)
        )

    async def upload_extend(
        self,
        params: UploadExtendParams | Mapping[str, Any] | None = None,
        /,
        **fields: Unpack[UploadExtendFields],
    ) -> SunoTaskCreated:
        """``POST /suno/upload-extend``: continue uploaded audio; poll with ``kind="music"``."""
        body = build_params(UploadExtendParams, params, fields)
        return await self._create("/suno/upload-extend", body)

    async def add_vocals(
        self,
        params: AddVocalsParams | Mapping[str, Any] | None = None,
        /,
        **fields: Unpack[AddVocalsFields],
    ) -> SunoTaskCreated:
        """``POST /suno/add-vocals``: vocals over an instrumental; poll with ``kind="music"``."""
        return await self._create("/suno/add-vocals", build_params(AddVocalsParams, params, fields))

    async def add_instrumental(
        self,
        params: AddInstrumentalParams | Mapping[str, Any] | None = None,
        /,
        **fields: Unpack[AddInstrumentalFields],
    ) -> SunoTaskCreated:
        """``POST /suno/add-instrumental``: accompaniment under vocals; ``kind="music"``."""
        body = build_params(AddInstrumentalParams, params, fields)
        return await self._create("/suno/add-instrumental", body)

    async def vocal_removal(
        self,
        params: VocalRemovalParams | Mapping[str, Any] | None = None,
        /,
        **fields: Unpack[VocalRemovalFields],
    ) -> SunoTaskCreated:
        """``POST /suno/vocal-removal`` (billed per call); poll with ``kind="vocal-removal"``."""
        body = build_params(VocalRemovalParams, params, fields)
        return await self._create("/suno/vocal-removal", body)

    async def split_stem(
        self,
        params: SplitStemParams | Mapping[str, Any] | None = None,
        /,
        **fields: Unpack[SplitStemFields],
    ) -> SunoTaskCreated:
        """``POST /suno/split-stem`` (up to 12 stems); poll with ``kind="vocal-removal"``."""
        return await self._create("/suno/split-stem", build_params(SplitStemParams, params, fields))

    async def replace_section(
        self,
        params: ReplaceSectionParams | Mapping[str, Any] | None = None,
        /,
        **fields: Unpack[ReplaceSectionFields],
    ) -> SunoTaskCreated:
        """``POST /suno/replace-section``: regenerate a 6-60 s window; ``kind="music"``."""
        body = build_params(ReplaceSectionParams, params, fields)
        return await self._create("/suno/replace-section", body)

    async def wav_generate(
        self,
        params: WavParams | Mapping[str, Any] | None = None,
        /,
        **fields: Unpack[WavFields],
    ) -> SunoTaskCreated:
        """``POST /suno/wav-generate`` (a repeat answers 409); poll with ``kind="wav"``."""
        return await self._create("/suno/wav-generate", build_params(WavParams, params, fields))

    async def mp4_generate(
        self,
        params: Mp4Params | Mapping[str, Any] | None = None,
        /,
        **fields: Unpack[Mp4Fields],
    ) -> SunoTaskCreated:
        """``POST /suno/mp4-generate``: a music video; poll with ``kind="mp4"``."""
        return await self._create("/suno/mp4-generate", build_params(Mp4Params, params, fields))

    # -- synchronous routes (contract gap §17 item 15: sync upstream, assumed sync here) ---------

    async def timestamped_lyrics(
        self,
        params: TimestampedLyricsParams | Mapping[str, Any] | None = None,
        /,
        **fields: Unpack[TimestampedLyricsFields],
    ) -> TimestampedLyrics:
        """``POST /suno/timestamped-lyrics``: word timings of a finished track (read-only)."""
        body = build_params(TimestampedLyricsParams, params, fields)
        return await self._sync(
            "/suno/timestamped-lyrics", body, TimestampedLyricsResponse, creates_task=False
        )

    async def style_generate(
        self,
        params: StyleParams | Mapping[str, Any] | None = None,
        /,
        **fields: Unpack[StyleFields],
    ) -> StyleResult:
        """``POST /suno/style-generate``: expand rough style text.

        Billed (``creditsConsumed``), so an ambiguous failure is not resent either.
        """
        body = build_params(StyleParams, params, fields)
        return await self._sync(
            "/suno/style-generate", body, StyleResultResponse, creates_task=True
        )

    async def generate_persona(
        self,
        params: PersonaParams | Mapping[str, Any] | None = None,
        /,
        **fields: Unpack[PersonaFields],
    ) -> Persona:
        """``POST /suno/generate-persona``: a reusable voice (one per ``audioId``, not resent)."""
        body = build_params(PersonaParams, params, fields)
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
        **options: Unpack[WaitOptions[MusicTask]],
    ) -> MusicTask: ...
    @overload
    async def wait(
        self, task_id: str, *, kind: Literal["lyrics"], **options: Unpack[WaitOptions[LyricsTask]]
    ) -> LyricsTask: ...
    @overload
    async def wait(
        self,
        task_id: str,
        *,
        kind: Literal["vocal-removal"],
        **options: Unpack[WaitOptions[VocalRemovalTask]],
    ) -> VocalRemovalTask: ...
    @overload
    async def wait(
        self, task_id: str, *, kind: Literal["wav"], **options: Unpack[WaitOptions[WavTask]]
    ) -> WavTask: ...
    @overload
    async def wait(
        self, task_id: str, *, kind: Literal["mp4"], **options: Unpack[WaitOptions[Mp4Task]]
    ) -> Mp4Task: ...
    @overload
    async def wait(
        self, task_id: str, *, kind: Literal["cover"], **options: Unpack[WaitOptions[CoverTask]]
    ) -> CoverTask: ...

    async def wait(
        self,
        task_id: str,
        *,
        kind: TaskKind = "music",
        **options: Unpack[WaitOptions[Any]],
    ) -> SunoTask:
        """Poll a task until it is done and its result URLs are present.

        Args:
            task_id: The id from the creation call.
            kind: Which query route fits the task: ``music`` (generate, extend, upload-*,
                add-*, replace-section), ``lyrics``, ``vocal-removal`` (also split-stem),
                ``wav``, ``mp4`` or ``cover`` (cover art).
            **options: ``schedule``, ``on_change`` and ``wake``, as for
                :func:`anyint.wait_for_task`; ``on_change`` sees intermediate states such as
                TEXT_SUCCESS, and a callback receiver may set ``wake``.

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
        return await self._wait(lambda: getter(task_id), task_id, options)
