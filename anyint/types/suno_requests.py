"""AI Music (``/suno/*``) request bodies: strict, every documented rule checked before any I/O.

Rules come from anyint-api.md §11.4-11.5 (AnyInt states the generate fields; the rest is the
upstream Suno API, which AnyInt says it is compatible with). Attribute names are snake_case; the
camelCase aliases are the documented wire names, so ``.to_body()`` is exactly the documented body
and both spellings are accepted on input. Error messages use the wire names.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self, TypedDict

from pydantic import ConfigDict, Field, StrictBool, model_validator
from pydantic.alias_generators import to_camel

from ._base import RequestModel
from .suno_rules import (
    MODEL_LIMITS,
    SIMPLE_MODE_PROMPT_LIMIT,
    ContinueAt,
    HttpUrl,
    ModelLimits,
    NonEmpty,
    Seconds,
    SunoModel,
    SunoModelName,
    VocalGender,
    Weight,
    blank,
    check_lengths,
    check_overlay_model,
    check_song_mode,
    check_window,
    required_message,
)

__all__ = [
    "MODEL_LIMITS",
    "PLACEHOLDER_CALLBACK_URL",
    "SIMPLE_MODE_PROMPT_LIMIT",
    "AddInstrumentalFields",
    "AddInstrumentalParams",
    "AddVocalsFields",
    "AddVocalsParams",
    "CoverArtFields",
    "CoverArtParams",
    "ExtendFields",
    "ExtendParams",
    "GenerateFields",
    "GenerateParams",
    "LyricsFields",
    "LyricsParams",
    "ModelLimits",
    "Mp4Fields",
    "Mp4Params",
    "PersonaFields",
    "PersonaParams",
    "ReplaceSectionFields",
    "ReplaceSectionParams",
    "SplitStemFields",
    "SplitStemParams",
    "StyleFields",
    "StyleParams",
    "SunoModel",
    "TimestampedLyricsFields",
    "TimestampedLyricsParams",
    "UploadCoverFields",
    "UploadCoverParams",
    "UploadExtendFields",
    "UploadExtendParams",
    "VocalRemovalFields",
    "VocalRemovalParams",
    "WavFields",
    "WavParams",
]

#: A syntactically valid callback URL that can never be delivered to (the ``.invalid`` TLD never
#: resolves, RFC 2606), for callers who only poll: ``callBackUrl`` is required even then (§11.7).
PLACEHOLDER_CALLBACK_URL = "https://callbacks.invalid/anyint"


class _SunoRequest(RequestModel):
    model_config = ConfigDict(alias_generator=to_camel)


class _StyleKnobs(_SunoRequest):
    """Optional knobs shared by the song-making routes (§11.4, §11.5)."""

    negative_tags: str | None = None
    vocal_gender: VocalGender | None = None
    style_weight: Weight | None = None
    weirdness_constraint: Weight | None = None
    audio_weight: Weight | None = None


class _StyleKnobsFields(TypedDict, total=False):
    # A route that requires one of these (add-vocals: negative_tags) cannot say so here: a
    # TypedDict may not redeclare an inherited key. Its params model checks it at run time.
    negative_tags: str | None
    vocal_gender: VocalGender | None
    style_weight: float | None
    weirdness_constraint: float | None
    audio_weight: float | None


class GenerateParams(_StyleKnobs):
    """Body of ``POST /suno/generate`` (§11.4).

    Rules: simple mode (``customMode: false``) needs ``prompt`` (<= 500 characters) and no
    ``style``/``title``/``personaId``; custom mode needs ``style`` and ``title``, plus ``prompt``
    (the exact lyrics) when ``instrumental`` is false; custom-mode lengths follow
    :data:`MODEL_LIMITS`.

    Example:
        >>> params = GenerateParams(
        ...     custom_mode=False,
        ...     instrumental=False,
        ...     model="V5",
        ...     prompt="A bright summer pop song",
        ...     call_back_url=PLACEHOLDER_CALLBACK_URL,
        ... )
        >>> params.to_body()["customMode"]
        False
    """

    custom_mode: StrictBool
    instrumental: StrictBool
    model: SunoModel
    call_back_url: HttpUrl
    prompt: str | None = None
    style: str | None = None
    title: str | None = None
    persona_id: NonEmpty | None = None

    @model_validator(mode="after")
    def _check_mode(self) -> Self:
        check_song_mode(
            self.custom_mode,
            self.instrumental,
            prompt=self.prompt,
            style=self.style,
            title=self.title,
            persona_id=self.persona_id,
        )
        if self.custom_mode:
            check_lengths(self.model, prompt=self.prompt, style=self.style, title=self.title)
        return self


class _SongFields(_StyleKnobsFields, total=False):
    """The keyword fields generate and extend share (model, callback and the song's text)."""

    model: SunoModelName
    call_back_url: str
    prompt: str | None
    style: str | None
    title: str | None
    persona_id: str | None


class GenerateFields(_SongFields, total=False):
    """Keyword fields of :class:`GenerateParams`."""

    custom_mode: bool
    instrumental: bool


class UploadCoverParams(GenerateParams):
    """Body of ``POST /suno/upload-cover``: re-sing uploaded audio (§11.5).

    Same rules as :class:`GenerateParams`. The upload length limit (<= 8 min, <= 1 min for
    ``V4_5ALL``) can only be checked by the gateway, which fetches ``uploadUrl``.
    """

    upload_url: HttpUrl


class UploadCoverFields(GenerateFields, total=False):
    """Keyword fields of :class:`UploadCoverParams`."""

    upload_url: str


class _ExtendBase(_StyleKnobs):
    default_param_flag: StrictBool
    model: SunoModel
    call_back_url: HttpUrl
    continue_at: ContinueAt | None = None
    prompt: str | None = None
    style: str | None = None
    title: str | None = None
    persona_id: NonEmpty | None = None

    def _prompt_needed(self) -> bool:
        return True

    @model_validator(mode="after")
    def _check_custom(self) -> Self:
        if self.default_param_flag:
            required = [("style", self.style), ("title", self.title)]
            if self._prompt_needed():
                required.append(("prompt", self.prompt))
            missing = [name for name, value in required if blank(value)]
            if self.continue_at is None:
                missing.append("continueAt")
            if missing:
                raise ValueError(
                    f"{required_message(missing)} when defaultParamFlag is true (custom params)"
                )
        check_lengths(self.model, prompt=self.prompt, style=self.style, title=self.title)
        return self


class _ExtendBaseFields(_SongFields, total=False):
    default_param_flag: bool
    continue_at: float | None


class ExtendParams(_ExtendBase):
    """Body of ``POST /suno/extend`` (§11.4).

    ``defaultParamFlag: true`` means custom parameters: ``prompt``, ``style``, ``title`` and
    ``continueAt`` are then required. With ``false`` only ``audioId`` (plus ``model`` and
    ``callBackUrl``) is needed. ``model`` must match the source track's model (checked by the
    gateway).
    """

    audio_id: NonEmpty


class ExtendFields(_ExtendBaseFields, total=False):
    """Keyword fields of :class:`ExtendParams`."""

    audio_id: str


class UploadExtendParams(_ExtendBase):
    """Body of ``POST /suno/upload-extend``: continue uploaded audio (§11.5).

    With ``defaultParamFlag: true``, ``style``, ``title`` and ``continueAt`` are required, and
    ``prompt`` too unless ``instrumental`` is true.
    """

    upload_url: HttpUrl
    instrumental: StrictBool | None = None

    def _prompt_needed(self) -> bool:
        return self.instrumental is not True


class UploadExtendFields(_ExtendBaseFields, total=False):
    """Keyword fields of :class:`UploadExtendParams`."""

    upload_url: str
    instrumental: bool | None


class _Overlay(_StyleKnobs):
    """Fields of the two overlay routes, which add a part to uploaded audio (§11.5)."""

    upload_url: HttpUrl
    title: NonEmpty
    negative_tags: NonEmpty  # required on these routes
    call_back_url: HttpUrl
    model: SunoModel | None = None

    @model_validator(mode="after")
    def _check_model(self) -> Self:
        check_overlay_model(self.model)
        return self


class _OverlayFields(_StyleKnobsFields, total=False):
    upload_url: str
    title: str
    call_back_url: str
    model: SunoModelName | None


class AddVocalsParams(_Overlay):
    """Body of ``POST /suno/add-vocals``: sing over an uploaded instrumental (§11.5)."""

    prompt: NonEmpty
    style: NonEmpty


class AddVocalsFields(_OverlayFields, total=False):
    """Keyword fields of :class:`AddVocalsParams`."""

    prompt: str
    style: str


class AddInstrumentalParams(_Overlay):
    """Body of ``POST /suno/add-instrumental``: accompaniment under uploaded vocals (§11.5)."""

    tags: NonEmpty


class AddInstrumentalFields(_OverlayFields, total=False):
    """Keyword fields of :class:`AddInstrumentalParams`."""

    tags: str


class LyricsParams(_SunoRequest):
    """Body of ``POST /suno/generate-lyrics`` (§11.4). Upstream recommends <= ~200 words."""

    prompt: NonEmpty
    call_back_url: HttpUrl


class LyricsFields(TypedDict, total=False):
    """Keyword fields of :class:`LyricsParams`."""

    prompt: str
    call_back_url: str


class _TrackRef(_SunoRequest):
    """The finished track a follow-up route works on: its task and its ``audioId``."""

    task_id: NonEmpty
    audio_id: NonEmpty


class _TrackRefFields(TypedDict, total=False):
    task_id: str
    audio_id: str


class TimestampedLyricsParams(_TrackRef):
    """Body of ``POST /suno/timestamped-lyrics`` (sync; the source task must be complete)."""

    # Older upstream variant only; not sent unless given.
    music_index: Annotated[int, Field(ge=0)] | None = None


class TimestampedLyricsFields(_TrackRefFields, total=False):
    """Keyword fields of :class:`TimestampedLyricsParams`."""

    music_index: int | None


class StyleParams(_SunoRequest):
    """Body of ``POST /suno/style-generate`` (sync): rough style text to expand."""

    content: NonEmpty


class StyleFields(TypedDict, total=False):
    """Keyword fields of :class:`StyleParams`."""

    content: str


class CoverArtParams(_SunoRequest):
    """Body of ``POST /suno/generate-cover``: cover art for a finished music task (one per task)."""

    task_id: NonEmpty
    call_back_url: HttpUrl


class CoverArtFields(TypedDict, total=False):
    """Keyword fields of :class:`CoverArtParams`."""

    task_id: str
    call_back_url: str


class PersonaParams(_TrackRef):
    """Body of ``POST /suno/generate-persona`` (sync; one persona per ``audioId``)."""

    name: NonEmpty
    description: NonEmpty


class PersonaFields(_TrackRefFields, total=False):
    """Keyword fields of :class:`PersonaParams`."""

    name: str
    description: str


class _TrackTask(_TrackRef):
    call_back_url: HttpUrl


class _TrackTaskFields(_TrackRefFields, total=False):
    call_back_url: str


class VocalRemovalParams(_TrackTask):
    """Body of ``POST /suno/vocal-removal`` (§11.5). Each call is billed again (no cache).

    ``type`` unset lets the gateway apply its default, ``separate_vocal`` (2 stems);
    ``split_stem`` asks for up to 12 stems.
    """

    type: Literal["separate_vocal", "split_stem"] | None = None


class VocalRemovalFields(_TrackTaskFields, total=False):
    """Keyword fields of :class:`VocalRemovalParams`."""

    type: Literal["separate_vocal", "split_stem"] | None


class SplitStemParams(_TrackTask):
    """Body of ``POST /suno/split-stem`` (§11.5; contract gap §17 item 13).

    The route's own body is undocumented; we assume it mirrors vocal-removal. ``type`` is always
    sent as ``split_stem``: if the route fixes the type, the value agrees with it; if the gateway
    relays the body to the upstream vocal-removal call, leaving it out would silently (and
    billably) produce the 2-stem default instead of the stems asked for.
    """

    type: Literal["split_stem"] = "split_stem"


class SplitStemFields(_TrackTaskFields, total=False):
    """Keyword fields of :class:`SplitStemParams`."""

    type: Literal["split_stem"]


class ReplaceSectionParams(_TrackRef):
    """Body of ``POST /suno/replace-section``: regenerate a time window of a track (§11.5).

    The window ``infillEndS - infillStartS`` must be 6-60 s with start < end, both in seconds
    with at most 2 decimals. The further rule "at most 50 % of the track" needs the track's
    duration, which only the gateway knows, so it is checked server-side.
    """

    prompt: NonEmpty
    tags: NonEmpty
    title: NonEmpty
    infill_start_s: Seconds
    infill_end_s: Seconds
    negative_tags: str | None = None
    full_lyrics: str | None = None
    call_back_url: HttpUrl | None = None

    @model_validator(mode="after")
    def _check_window(self) -> Self:
        check_window(self.infill_start_s, self.infill_end_s)
        return self


class ReplaceSectionFields(_TrackRefFields, total=False):
    """Keyword fields of :class:`ReplaceSectionParams`."""

    prompt: str
    tags: str
    title: str
    infill_start_s: float
    infill_end_s: float
    negative_tags: str | None
    full_lyrics: str | None
    call_back_url: str | None


class WavParams(_TrackTask):
    """Body of ``POST /suno/wav-generate`` (a second WAV for the same track answers 409)."""


class WavFields(_TrackTaskFields, total=False):
    """Keyword fields of :class:`WavParams`."""


class Mp4Params(_TrackTask):
    """Body of ``POST /suno/mp4-generate``: a music video of one track."""

    author: Annotated[str, Field(max_length=50)] | None = None
    domain_name: Annotated[str, Field(max_length=50)] | None = None


class Mp4Fields(_TrackTaskFields, total=False):
    """Keyword fields of :class:`Mp4Params`."""

    author: str | None
    domain_name: str | None
