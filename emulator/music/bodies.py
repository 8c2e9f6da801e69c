"""Request bodies of the ``/suno/*`` routes: the client's strict models, plus status mapping.

The rules are the client's own (:mod:`anyint.types.suno_requests`), so the emulator accepts and
rejects exactly what the client does. Two additions only change *how* a rejection is reported:

* Length limits (per model in custom mode, 500 characters in simple mode) are checked per field
  and reported as ``string_too_long``, which the app renders as 413 ("text too long", contract
  §11.3) rather than the 400 a model-level rule would give.
* ``model`` is checked against the catalogue (:func:`emulator.catalogue.check_model`) first, so
  an unknown or non-Suno model gets the catalogue's message.

AI Music has no official SDK whose extra fields we would need to tolerate, so unknown fields stay
rejected (400).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from anyint.types import RequestModel
from anyint.types.suno import (
    MODEL_LIMITS,
    SIMPLE_MODE_PROMPT_LIMIT,
    AddInstrumentalParams,
    AddVocalsParams,
    CoverArtParams,
    ExtendParams,
    GenerateParams,
    LyricsParams,
    Mp4Params,
    PersonaParams,
    ReplaceSectionParams,
    SplitStemParams,
    StyleParams,
    SunoModel,
    TimestampedLyricsParams,
    UploadCoverParams,
    UploadExtendParams,
    VocalRemovalParams,
    WavParams,
)

from ..catalogue import check_model
from ..errors import EmulatorError

# The routes without a length or model rule of their own take the client's models unchanged.
__all__ = [
    "AddInstrumentalBody",
    "AddVocalsBody",
    "CoverArtParams",
    "ExtendBody",
    "GenerateBody",
    "LyricsParams",
    "Mp4Params",
    "PersonaParams",
    "ReplaceSectionParams",
    "SplitStemParams",
    "StyleParams",
    "TimestampedLyricsParams",
    "UploadCoverBody",
    "UploadExtendBody",
    "VocalRemovalParams",
    "WavParams",
]

# add-vocals / add-instrumental default to V4_5PLUS, whose limits V5 shares.
_OVERLAY_LIMITS = MODEL_LIMITS[SunoModel.V4_5PLUS]


def _catalogue_model(value: Any) -> Any:
    if isinstance(value, str):
        try:
            check_model(value, "suno", output="audio")
        except EmulatorError as exc:
            raise PydanticCustomError(
                "model_not_found", "{detail}", {"detail": exc.message}
            ) from None
    return value


def _too_long(value: str | None, limit: int, where: str) -> None:
    if value is not None and len(value) > limit:
        raise PydanticCustomError(
            "string_too_long",
            "{detail}",
            {"detail": f"{len(value)} characters; {where} allows at most {limit}"},
        )


def _model_limit(value: str | None, info: ValidationInfo) -> None:
    model = info.data.get("model")
    if isinstance(model, SunoModel) and info.field_name:
        limit = getattr(MODEL_LIMITS[model], info.field_name)
        _too_long(value, limit, f"model {model.value}")


class _CatalogueChecked(RequestModel):
    """Checks ``model`` against the emulator's catalogue before the client's own rules."""

    @field_validator("model", mode="before", check_fields=False)
    @classmethod
    def _check_catalogue(cls, value: Any) -> Any:
        return _catalogue_model(value)


class _ModelLimited(_CatalogueChecked):
    """Per-model length limits on ``prompt``, ``style`` and ``title``, reported as 413."""

    @field_validator("prompt", "style", "title", check_fields=False)
    @classmethod
    def _check_length(cls, value: str | None, info: ValidationInfo) -> str | None:
        _model_limit(value, info)
        return value


class GenerateBody(_CatalogueChecked, GenerateParams):
    """``POST /suno/generate``."""

    @field_validator("prompt", "style", "title")
    @classmethod
    def _check_length(cls, value: str | None, info: ValidationInfo) -> str | None:
        custom = info.data.get("custom_mode")
        if custom is False and info.field_name == "prompt":
            _too_long(value, SIMPLE_MODE_PROMPT_LIMIT, "simple mode (customMode: false)")
        elif custom is True:
            _model_limit(value, info)
        return value


class UploadCoverBody(UploadCoverParams, GenerateBody):
    """``POST /suno/upload-cover`` (the generate rules plus ``uploadUrl``)."""


class ExtendBody(_ModelLimited, ExtendParams):
    """``POST /suno/extend`` (limits apply whatever ``defaultParamFlag`` says, as in the client)."""


class UploadExtendBody(_ModelLimited, UploadExtendParams):
    """``POST /suno/upload-extend``."""


class AddVocalsBody(_CatalogueChecked, AddVocalsParams):
    """``POST /suno/add-vocals``."""

    @field_validator("prompt", "style", "title")
    @classmethod
    def _check_length(cls, value: str, info: ValidationInfo) -> str:
        limit = getattr(_OVERLAY_LIMITS, info.field_name or "prompt")
        _too_long(value, limit, "add-vocals")
        return value


class AddInstrumentalBody(_CatalogueChecked, AddInstrumentalParams):
    """``POST /suno/add-instrumental`` (``tags`` is the style text: the style limit applies)."""

    @field_validator("title", "tags")
    @classmethod
    def _check_length(cls, value: str, info: ValidationInfo) -> str:
        limit = _OVERLAY_LIMITS.title if info.field_name == "title" else _OVERLAY_LIMITS.style
        _too_long(value, limit, "add-instrumental")
        return value
