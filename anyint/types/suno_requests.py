"""AI Music (``/suno/*``) request bodies: strict, every documented rule checked before any I/O.

Rules come from anyint-api.md §11.4-11.5 (AnyInt states the generate fields; the rest is the
upstream Suno API, which AnyInt says it is compatible with). Attribute names are snake_case; the
camelCase aliases are the documented wire names, so ``.to_body()`` is exactly the documented body
and both spellings are accepted on input. Error messages use the wire names.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Literal, Self
from urllib.parse import urlsplit

from pydantic import AfterValidator, ConfigDict, Field, StrictBool, model_validator
from pydantic.alias_generators import to_camel

from ._base import RequestModel

__all__ = [
    "MODEL_LIMITS",
    "PLACEHOLDER_CALLBACK_URL",
    "SIMPLE_MODE_PROMPT_LIMIT",
    "AddInstrumentalParams",
    "AddVocalsParams",
    "CoverArtParams",
    "ExtendParams",
    "GenerateParams",
    "LyricsParams",
    "ModelLimits",
    "Mp4Params",
    "PersonaParams",
    "ReplaceSectionParams",
    "SplitStemParams",
    "StyleParams",
    "SunoModel",
    "TimestampedLyricsParams",
    "UploadCoverParams",
    "UploadExtendParams",
    "VocalRemovalParams",
    "WavParams",
]

#: A syntactically valid callback URL that can never be delivered to (the ``.invalid`` TLD never
#: resolves, RFC 2606), for callers who only poll: ``callBackUrl`` is required even then (§11.7).
PLACEHOLDER_CALLBACK_URL = "https://callbacks.invalid/anyint"


class SunoModel(StrEnum):
    """Models accepted by ``/suno/generate`` and the routes that take ``model`` (§11.1)."""

    V4 = "V4"
    V4_5 = "V4_5"
    V4_5PLUS = "V4_5PLUS"
    V4_5ALL = "V4_5ALL"
    V5 = "V5"


@dataclass(frozen=True)
class ModelLimits:
    """Custom-mode character limits of one model (§11.4).

    Attributes:
        prompt: Max characters of ``prompt`` (the lyrics in custom mode).
        style: Max characters of ``style``.
        title: Max characters of ``title``.
    """

    prompt: int
    style: int
    title: int


# Title: older upstream docs say 80 for every model, newer ones 100 for V4_5/V4_5PLUS/V5. We keep
# 80: a title the stricter limit accepts is accepted by both, and an over-long one fails here
# instead of as a paid-route 413.
MODEL_LIMITS: dict[SunoModel, ModelLimits] = {
    SunoModel.V4: ModelLimits(prompt=3000, style=200, title=80),
    SunoModel.V4_5: ModelLimits(prompt=5000, style=1000, title=80),
    SunoModel.V4_5PLUS: ModelLimits(prompt=5000, style=1000, title=80),
    SunoModel.V4_5ALL: ModelLimits(prompt=5000, style=1000, title=80),
    SunoModel.V5: ModelLimits(prompt=5000, style=1000, title=80),
}

#: Simple mode (``customMode: false``) prompt limit; older upstream docs said 400.
SIMPLE_MODE_PROMPT_LIMIT = 500


def _check_http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"must be an http(s) URL, got {value!r}")
    return value


def _check_two_decimals(value: float) -> float:
    if round(value, 2) != value:
        raise ValueError(f"must have at most 2 decimals, got {value!r}")
    return value


HttpUrl = Annotated[str, AfterValidator(_check_http_url)]
"""An absolute http(s) URL, kept verbatim (pydantic's ``HttpUrl`` would add a trailing slash)."""

NonEmpty = Annotated[str, Field(min_length=1)]
Weight = Annotated[float, Field(strict=True, ge=0, le=1), AfterValidator(_check_two_decimals)]
"""``styleWeight`` / ``weirdnessConstraint`` / ``audioWeight``: 0.00-1.00, two decimals."""
Seconds = Annotated[float, Field(strict=True, ge=0), AfterValidator(_check_two_decimals)]
"""A replace-section time: seconds, two decimals (§11.5)."""
ContinueAt = Annotated[float, Field(strict=True, gt=0)]
"""Where an extension starts, in seconds into the source track (> 0)."""
VocalGender = Literal["m", "f"]


def _blank(value: str | None) -> bool:
    return value is None or not value.strip()


def _required(names: list[str]) -> str:
    return f"{' and '.join(names)} {'is' if len(names) == 1 else 'are'} required"


def _check_lengths(
    model: SunoModel, *, prompt: str | None, style: str | None, title: str | None
) -> None:
    """Custom-mode length limits of ``model`` (§11.4); the gateway would answer 413."""
    limits = MODEL_LIMITS[model]
    for name, value, limit in (
        ("prompt", prompt, limits.prompt),
        ("style", style, limits.style),
        ("title", title, limits.title),
    ):
        if value is not None and len(value) > limit:
            raise ValueError(
                f"{name} is {len(value)} characters; model {model.value} allows at most {limit}"
            )


class _SunoRequest(RequestModel):
    model_config = ConfigDict(alias_generator=to_camel)


class _StyleKnobs(_SunoRequest):
    """Optional knobs shared by the song-making routes (§11.4, §11.5)."""

    negative_tags: str | None = None
    vocal_gender: VocalGender | None = None
    style_weight: Weight | None = None
    weirdness_constraint: Weight | None = None
    audio_weight: Weight | None = None


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
        _check_song_mode(
            self.custom_mode,
            self.instrumental,
            prompt=self.prompt,
            style=self.style,
            title=self.title,
            persona_id=self.persona_id,
        )
        if self.custom_mode:
            _check_lengths(self.model, prompt=self.prompt, style=self.style, title=self.title)
        return self


def _check_song_mode(
    custom_mode: bool,
    instrumental: bool,
    *,
    prompt: str | None,
    style: str | None,
    title: str | None,
    persona_id: str | None,
) -> None:
    """The customMode/instrumental rules shared by generate and upload-cover (§11.4-11.5)."""
    if not custom_mode:
        if prompt is None or not prompt.strip():
            raise ValueError("prompt is required in simple mode (customMode: false)")
        if len(prompt) > SIMPLE_MODE_PROMPT_LIMIT:
            raise ValueError(
                f"prompt is {len(prompt)} characters; simple mode (customMode: false) allows at "
                f"most {SIMPLE_MODE_PROMPT_LIMIT}"
            )
        for name, value in (("style", style), ("title", title)):
            if not _blank(value):
                raise ValueError(f"{name} must be left empty in simple mode (customMode: false)")
        if persona_id is not None:
            raise ValueError("personaId is only allowed in custom mode (customMode: true)")
        return
    missing = [name for name, value in (("style", style), ("title", title)) if _blank(value)]
    if not instrumental and _blank(prompt):
        missing.append("prompt")
    if missing:
        what = "instrumental" if instrumental else "vocal (instrumental: false)"
        raise ValueError(f"{_required(missing)} in custom mode for a {what} track")


class UploadCoverParams(GenerateParams):
    """Body of ``POST /suno/upload-cover``: re-sing uploaded audio (§11.5).

    Same rules as :class:`GenerateParams`. The upload length limit (<= 8 min, <= 1 min for
    ``V4_5ALL``) can only be checked by the gateway, which fetches ``uploadUrl``.
    """

    upload_url: HttpUrl


class _ExtendBase(_StyleKnobs):
    default_param_flag: StrictBool
    model: SunoModel
    call_back_url: HttpUrl
    continue_at: ContinueAt | None = None
    prompt: str | None = None
    style: str | None = None
    title: str | None = None
    persona_id: NonEmpty | None = None

    def _check_custom(self, *, prompt_needed: bool) -> None:
        if self.default_param_flag:
            required = [("style", self.style), ("title", self.title)]
            if prompt_needed:
                required.append(("prompt", self.prompt))
            missing = [name for name, value in required if _blank(value)]
            if self.continue_at is None:
                missing.append("continueAt")
            if missing:
                raise ValueError(
                    f"{_required(missing)} when defaultParamFlag is true (custom params)"
                )
        _check_lengths(self.model, prompt=self.prompt, style=self.style, title=self.title)


class ExtendParams(_ExtendBase):
    """Body of ``POST /suno/extend`` (§11.4).

    ``defaultParamFlag: true`` means custom parameters: ``prompt``, ``style``, ``title`` and
    ``continueAt`` are then required. With ``false`` only ``audioId`` (plus ``model`` and
    ``callBackUrl``) is needed. ``model`` must match the source track's model (checked by the
    gateway).
    """

    audio_id: NonEmpty

    @model_validator(mode="after")
    def _check_flag(self) -> Self:
        self._check_custom(prompt_needed=True)
        return self


class UploadExtendParams(_ExtendBase):
    """Body of ``POST /suno/upload-extend``: continue uploaded audio (§11.5).

    With ``defaultParamFlag: true``, ``style``, ``title`` and ``continueAt`` are required, and
    ``prompt`` too unless ``instrumental`` is true.
    """

    upload_url: HttpUrl
    instrumental: StrictBool | None = None

    @model_validator(mode="after")
    def _check_flag(self) -> Self:
        self._check_custom(prompt_needed=self.instrumental is not True)
        return self


# add-vocals / add-instrumental accept only these two models, V4_5PLUS being the upstream default.
_OVERLAY_MODELS = frozenset({SunoModel.V4_5PLUS, SunoModel.V5})


def _check_overlay_model(model: SunoModel | None) -> None:
    if model is not None and model not in _OVERLAY_MODELS:
        raise ValueError(f"model must be V4_5PLUS or V5 on this route, got {model.value}")


class AddVocalsParams(_StyleKnobs):
    """Body of ``POST /suno/add-vocals``: sing over an uploaded instrumental (§11.5)."""

    upload_url: HttpUrl
    prompt: NonEmpty
    title: NonEmpty
    style: NonEmpty
    negative_tags: NonEmpty  # required on this route
    call_back_url: HttpUrl
    model: SunoModel | None = None

    @model_validator(mode="after")
    def _check_model(self) -> Self:
        _check_overlay_model(self.model)
        return self


class AddInstrumentalParams(_StyleKnobs):
    """Body of ``POST /suno/add-instrumental``: accompaniment under uploaded vocals (§11.5)."""

    upload_url: HttpUrl
    title: NonEmpty
    tags: NonEmpty
    negative_tags: NonEmpty  # required on this route
    call_back_url: HttpUrl
    model: SunoModel | None = None

    @model_validator(mode="after")
    def _check_model(self) -> Self:
        _check_overlay_model(self.model)
        return self


class LyricsParams(_SunoRequest):
    """Body of ``POST /suno/generate-lyrics`` (§11.4). Upstream recommends <= ~200 words."""

    prompt: NonEmpty
    call_back_url: HttpUrl


class TimestampedLyricsParams(_SunoRequest):
    """Body of ``POST /suno/timestamped-lyrics`` (sync; the source task must be complete)."""

    task_id: NonEmpty
    audio_id: NonEmpty
    # Older upstream variant only; not sent unless given.
    music_index: Annotated[int, Field(ge=0)] | None = None


class StyleParams(_SunoRequest):
    """Body of ``POST /suno/style-generate`` (sync): rough style text to expand."""

    content: NonEmpty


class CoverArtParams(_SunoRequest):
    """Body of ``POST /suno/generate-cover``: cover art for a finished music task (one per task)."""

    task_id: NonEmpty
    call_back_url: HttpUrl


class PersonaParams(_SunoRequest):
    """Body of ``POST /suno/generate-persona`` (sync; one persona per ``audioId``)."""

    task_id: NonEmpty
    audio_id: NonEmpty
    name: NonEmpty
    description: NonEmpty


class _TrackTask(_SunoRequest):
    task_id: NonEmpty
    audio_id: NonEmpty
    call_back_url: HttpUrl


class VocalRemovalParams(_TrackTask):
    """Body of ``POST /suno/vocal-removal`` (§11.5). Each call is billed again (no cache).

    ``type`` unset lets the gateway apply its default, ``separate_vocal`` (2 stems);
    ``split_stem`` asks for up to 12 stems.
    """

    type: Literal["separate_vocal", "split_stem"] | None = None


class SplitStemParams(_TrackTask):
    """Body of ``POST /suno/split-stem`` (§11.5; contract gap §17 item 13).

    The route's own body is undocumented; we assume it mirrors vocal-removal. ``type`` is always
    sent as ``split_stem``: if the route fixes the type, the value agrees with it; if the gateway
    relays the body to the upstream vocal-removal call, leaving it out would silently (and
    billably) produce the 2-stem default instead of the stems asked for.
    """

    type: Literal["split_stem"] = "split_stem"


class ReplaceSectionParams(_SunoRequest):
    """Body of ``POST /suno/replace-section``: regenerate a time window of a track (§11.5).

    The window ``infillEndS - infillStartS`` must be 6-60 s with start < end, both in seconds
    with at most 2 decimals. The further rule "at most 50 % of the track" needs the track's
    duration, which only the gateway knows, so it is checked server-side.
    """

    task_id: NonEmpty
    audio_id: NonEmpty
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
        if self.infill_start_s >= self.infill_end_s:
            raise ValueError(
                f"infillStartS ({self.infill_start_s}) must be before infillEndS "
                f"({self.infill_end_s})"
            )
        # Round away float noise such as 10.01 - 4.01 = 6.000000000000001.
        window = round(self.infill_end_s - self.infill_start_s, 2)
        if not 6 <= window <= 60:
            raise ValueError(
                f"infillEndS - infillStartS is {window} s; the replaced window must be 6-60 s"
            )
        return self


class WavParams(_TrackTask):
    """Body of ``POST /suno/wav-generate`` (a second WAV for the same track answers 409)."""


class Mp4Params(_TrackTask):
    """Body of ``POST /suno/mp4-generate``: a music video of one track."""

    author: Annotated[str, Field(max_length=50)] | None = None
    domain_name: Annotated[str, Field(max_length=50)] | None = None
