"""AI Music (``/suno/*``) response bodies: lenient, with task snapshots for the wait loop.

Every ``/suno/*`` answer is the envelope ``{"code", "msg", "data"}`` (§11.3). Query routes put a
task record in ``data`` (§11.6); those records implement :class:`anyint.TaskSnapshot`. Query
records are camelCase, but the field names here are snake_case and accept both spellings, so the
same item models also read the snake_case callbacks (§11.7).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, ClassVar, Generic, TypeVar

from pydantic import AliasChoices, BeforeValidator, ConfigDict, Field
from pydantic.alias_generators import to_camel

from ._base import ResponseModel

__all__ = [
    "AlignedWord",
    "CoverTask",
    "CoverTaskResponse",
    "LyricsItem",
    "LyricsTask",
    "LyricsTaskResponse",
    "Mp4Task",
    "Mp4TaskResponse",
    "MusicTask",
    "MusicTaskResponse",
    "Persona",
    "PersonaResponse",
    "StemUrls",
    "StyleResult",
    "StyleResultResponse",
    "SunoEnvelope",
    "SunoTaskCreated",
    "SunoTrack",
    "TimestampedLyrics",
    "TimestampedLyricsResponse",
    "VocalRemovalTask",
    "VocalRemovalTaskResponse",
    "WavTask",
    "WavTaskResponse",
]

DataT = TypeVar("DataT")


def _to_str(value: Any) -> Any:
    # errorCode / successFlag / times are numbers in some doc versions, strings in others.
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


OptStr = Annotated[str | None, BeforeValidator(_to_str)]


def _failed(*statuses: str) -> frozenset[str]:
    """A task type's failed terminal statuses: every type has ``CREATE_TASK_FAILED`` (§11.6)."""
    return frozenset({"CREATE_TASK_FAILED", *statuses})


class _SunoResponse(ResponseModel):
    # snake_case attributes, camelCase wire names; populate_by_name accepts snake_case too.
    model_config = ConfigDict(alias_generator=to_camel)


class SunoEnvelope(_SunoResponse, Generic[DataT]):
    """The ``{"code", "msg", "data"}`` wrapper of every ``/suno/*`` answer (§11.3).

    Error codes never reach this model: the client raises the typed error for any ``code``
    other than 200, whatever the HTTP status.
    """

    code: int
    msg: str | None = None
    data: DataT


class _TaskId(_SunoResponse):
    task_id: str


class SunoTaskCreated(SunoEnvelope[_TaskId]):
    """Answer of every task-creating ``/suno/*`` POST: ``data.taskId`` (§11.3)."""

    @property
    def task_id(self) -> str:
        """The new task's id; store it before anything else (§13.3)."""
        return self.data.task_id


# -- sync routes --------------------------------------------------------------------------------


class AlignedWord(_SunoResponse):
    """One aligned word (seconds). One upstream variant spells ``start_s``/``end_s``/``p_align``."""

    word: str
    success: bool | None = None
    start_s: float | None = None
    end_s: float | None = None
    palign: float | None = Field(None, validation_alias=AliasChoices("palign", "p_align"))


class TimestampedLyrics(_SunoResponse):
    """``data`` of ``POST /suno/timestamped-lyrics`` (sync; empty for instrumental tracks).

    ``aligned_words`` is required, so an async-style answer carrying only a ``taskId`` (contract
    gap §17 item 15) fails loudly instead of looking like a song without lyrics.
    """

    aligned_words: list[AlignedWord]
    waveform_data: list[float] = []
    hoot_cer: float | None = None
    is_streamed: bool | None = None


class StyleResult(_SunoResponse):
    """``data`` of ``POST /suno/style-generate`` (sync): the expanded style in ``result``."""

    result: str
    task_id: str | None = None
    param: str | None = None
    credits_consumed: float | None = None
    credits_remaining: float | None = None
    success_flag: OptStr = None
    error_code: OptStr = None
    error_message: str | None = None
    create_time: OptStr = None


class Persona(_SunoResponse):
    """``data`` of ``POST /suno/generate-persona`` (sync): reuse ``persona_id`` on generate."""

    persona_id: str
    name: str | None = None
    description: str | None = None


class TimestampedLyricsResponse(SunoEnvelope[TimestampedLyrics]):
    """Envelope of ``POST /suno/timestamped-lyrics``."""


class StyleResultResponse(SunoEnvelope[StyleResult]):
    """Envelope of ``POST /suno/style-generate``."""


class PersonaResponse(SunoEnvelope[Persona]):
    """Envelope of ``POST /suno/generate-persona``."""


# -- task records -------------------------------------------------------------------------------


class _SunoTask(_SunoResponse):
    """Shared task-record fields and the terminal-state rules of §11.6.

    ``SUCCESS`` counts as success only when result URLs are present (AnyInt: mark an asset ready
    only when the status is successful *and* output URLs exist); a ``SUCCESS`` without them is
    reported as a failed terminal state with an explanatory message rather than polled forever.
    ``CALLBACK_EXCEPTION`` means the webhook failed, not the job: done when URLs are present.
    """

    #: Failed terminal statuses of this task type (§11.6).
    FAILED_STATUSES: ClassVar[frozenset[str]] = _failed()

    task_id: str
    raw_status: OptStr = Field(None, alias="status")
    success_flag: OptStr = None
    param: str | dict[str, Any] | None = None
    error_code: OptStr = None
    raw_error_message: str | None = Field(None, alias="errorMessage")
    create_time: OptStr = None

    @property
    def status(self) -> str:
        """``status`` or, on routes that use it instead, ``successFlag``."""
        return self.raw_status or self.success_flag or "UNKNOWN"

    @property
    def has_results(self) -> bool:
        """Whether the record carries the task's output URLs (or text, for lyrics)."""
        return False

    @property
    def is_terminal(self) -> bool:
        """Whether polling can stop; TEXT_SUCCESS and FIRST_SUCCESS are not terminal."""
        status = self.status
        return (
            status in ("SUCCESS", "CALLBACK_EXCEPTION")
            or status in self.FAILED_STATUSES
            # Unlisted GENERATE_*_FAILED variants end the task too, rather than polling on.
            or status.endswith("_FAILED")
        )

    @property
    def is_success(self) -> bool:
        """Terminal, successful and with result URLs present."""
        return self.status in ("SUCCESS", "CALLBACK_EXCEPTION") and self.has_results

    @property
    def error_message(self) -> str | None:
        """The gateway's ``errorMessage``, or why a finished record is not usable."""
        if self.raw_error_message:
            return self.raw_error_message
        if self.status == "SUCCESS" and not self.has_results:
            return "status is SUCCESS but the record has no result URLs (not ready, §11.6)"
        if self.status == "CALLBACK_EXCEPTION" and not self.has_results:
            return "CALLBACK_EXCEPTION and the record has no result URLs"
        return None

    @property
    def params_dict(self) -> dict[str, Any]:
        """``param`` (a JSON string of the original request) decoded; ``{}`` if unreadable."""
        if isinstance(self.param, dict):
            return self.param
        if not self.param:
            return {}
        try:
            decoded = json.loads(self.param)
        except ValueError:
            return {}
        return decoded if isinstance(decoded, dict) else {}


class SunoTrack(_SunoResponse):
    """One generated track: ``sunoData[]`` in queries, ``data[]`` (snake_case) in callbacks.

    ``id`` is the ``audioId`` that follow-up routes (extend, vocal removal, WAV, MP4, ...) take.
    """

    id: str | None = None
    audio_url: str | None = None
    source_audio_url: str | None = None
    stream_audio_url: str | None = None
    source_stream_audio_url: str | None = None
    image_url: str | None = None
    source_image_url: str | None = None
    prompt: str | None = None
    model_name: str | None = None
    title: str | None = None
    tags: str | None = None
    create_time: OptStr = None
    duration: float | None = None

    @property
    def audio_id(self) -> str | None:
        """Alias of ``id``, under the name follow-up routes use."""
        return self.id


class _MusicResult(_SunoResponse):
    task_id: str | None = None
    suno_data: list[SunoTrack] = []


class MusicTask(_SunoTask):
    """``data`` of ``GET /suno/query/task``: generate, extend, upload and overlay tasks (§11.6)."""

    FAILED_STATUSES: ClassVar[frozenset[str]] = _failed(
        "GENERATE_AUDIO_FAILED", "SENSITIVE_WORD_ERROR"
    )

    parent_music_id: str | None = None
    response: _MusicResult | None = None
    type: str | None = None
    operation_type: str | None = None

    @property
    def tracks(self) -> list[SunoTrack]:
        """The generated tracks (usually 2); audio URLs are final only at SUCCESS."""
        return self.response.suno_data if self.response else []

    @property
    def has_results(self) -> bool:
        """Every track has its final ``audioUrl``."""
        tracks = self.tracks
        return bool(tracks) and all(t.audio_url for t in tracks)


class LyricsItem(_SunoResponse):
    """One lyric variant: ``lyricsData[]`` in queries, ``data[]`` in callbacks."""

    text: str | None = None
    title: str | None = None
    status: str | None = None
    error_message: str | None = None


class _LyricsResult(_SunoResponse):
    task_id: str | None = None
    lyrics_data: list[LyricsItem] = []


class LyricsTask(_SunoTask):
    """``data`` of ``GET /suno/query/lyrics``."""

    FAILED_STATUSES: ClassVar[frozenset[str]] = _failed(
        "GENERATE_LYRICS_FAILED", "SENSITIVE_WORD_ERROR"
    )

    response: _LyricsResult | None = None
    type: str | None = None

    @property
    def lyrics(self) -> list[LyricsItem]:
        """The lyric variants."""
        return self.response.lyrics_data if self.response else []

    @property
    def has_results(self) -> bool:
        """At least one variant has text."""
        return any(item.text for item in self.lyrics)


class StemUrls(_SunoResponse):
    """Stem URLs of a vocal-removal / split-stem task (query camelCase, callback snake_case).

    ``separate_vocal`` fills origin/instrumental/vocal; ``split_stem`` fills up to 12 stems.
    ``piano_url`` appears only in older docs.
    """

    origin_url: str | None = None
    instrumental_url: str | None = None
    vocal_url: str | None = None
    backing_vocals_url: str | None = None
    drums_url: str | None = None
    bass_url: str | None = None
    guitar_url: str | None = None
    keyboard_url: str | None = None
    percussion_url: str | None = None
    strings_url: str | None = None
    synth_url: str | None = None
    fx_url: str | None = None
    brass_url: str | None = None
    woodwinds_url: str | None = None
    piano_url: str | None = None

    @property
    def stems(self) -> dict[str, str]:
        """Non-empty URLs by stem name (``vocal``, ``instrumental``, ``drums``, ...)."""
        return {
            name.removesuffix("_url"): url
            for name in type(self).model_fields
            if isinstance(url := getattr(self, name), str) and url
        }


class _TrackJob(_SunoTask):
    """A task that works on one finished track (stems, WAV, MP4): the track's id and index."""

    music_id: str | None = None
    callback_url: str | None = None
    music_index: int | None = None
    complete_time: OptStr = None


class VocalRemovalTask(_TrackJob):
    """``data`` of ``GET /suno/query/vocal-removal`` (status in ``successFlag``)."""

    FAILED_STATUSES: ClassVar[frozenset[str]] = _failed("GENERATE_AUDIO_FAILED")

    response: StemUrls | None = None

    @property
    def stems(self) -> dict[str, str]:
        """Non-empty stem URLs by name; ``{}`` while pending."""
        return self.response.stems if self.response else {}

    @property
    def has_results(self) -> bool:
        """At least one stem URL besides the original."""
        return any(name != "origin" for name in self.stems)


class _WavResult(_SunoResponse):
    audio_wav_url: str | None = None


class WavTask(_TrackJob):
    """``data`` of ``GET /suno/query/wav`` (``response.audio_wav_url`` is snake_case upstream)."""

    FAILED_STATUSES: ClassVar[frozenset[str]] = _failed("GENERATE_WAV_FAILED")

    response: _WavResult | None = None

    @property
    def audio_wav_url(self) -> str | None:
        """The WAV file URL once ready."""
        return self.response.audio_wav_url if self.response else None

    @property
    def has_results(self) -> bool:
        """The WAV URL is present."""
        return bool(self.audio_wav_url)


class _Mp4Result(_SunoResponse):
    video_url: str | None = None


class Mp4Task(_TrackJob):
    """``data`` of ``GET /suno/query/mp4`` (music video)."""

    FAILED_STATUSES: ClassVar[frozenset[str]] = _failed("GENERATE_MP4_FAILED")

    response: _Mp4Result | None = None

    @property
    def video_url(self) -> str | None:
        """The MP4 URL once ready."""
        return self.response.video_url if self.response else None

    @property
    def has_results(self) -> bool:
        """The video URL is present."""
        return bool(self.video_url)


class _CoverResult(_SunoResponse):
    images: list[str] = []


class CoverTask(_SunoTask):
    """``data`` of ``GET /suno/query/cover`` (cover art, usually 2 PNG images)."""

    FAILED_STATUSES: ClassVar[frozenset[str]] = _failed("GENERATE_COVER_FAILED")

    response: _CoverResult | None = None

    @property
    def images(self) -> list[str]:
        """Image URLs once ready."""
        return self.response.images if self.response else []

    @property
    def has_results(self) -> bool:
        """At least one image URL is present."""
        return any(self.images)


class MusicTaskResponse(SunoEnvelope[MusicTask]):
    """Envelope of ``GET /suno/query/task``."""


class LyricsTaskResponse(SunoEnvelope[LyricsTask]):
    """Envelope of ``GET /suno/query/lyrics``."""


class VocalRemovalTaskResponse(SunoEnvelope[VocalRemovalTask]):
    """Envelope of ``GET /suno/query/vocal-removal``."""


class WavTaskResponse(SunoEnvelope[WavTask]):
    """Envelope of ``GET /suno/query/wav``."""


class Mp4TaskResponse(SunoEnvelope[Mp4Task]):
    """Envelope of ``GET /suno/query/mp4``."""


class CoverTaskResponse(SunoEnvelope[CoverTask]):
    """Envelope of ``GET /suno/query/cover``."""
