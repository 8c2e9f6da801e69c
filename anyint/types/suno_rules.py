"""The documented rules of the AI Music request bodies (anyint-api.md §11.4-11.5).

Models, their custom-mode length limits, the field types with their checks, and the cross-field
rules several bodies share. The bodies themselves are in :mod:`.suno_requests`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field

__all__ = [
    "MODEL_LIMITS",
    "SIMPLE_MODE_PROMPT_LIMIT",
    "ContinueAt",
    "HttpUrl",
    "ModelLimits",
    "NonEmpty",
    "Seconds",
    "SunoModel",
    "SunoModelName",
    "VocalGender",
    "Weight",
    "blank",
    "check_lengths",
    "check_overlay_model",
    "check_song_mode",
    "check_window",
    "required_message",
]


class SunoModel(StrEnum):
    """Models accepted by ``/suno/generate`` and the routes that take ``model`` (§11.1)."""

    V4 = "V4"
    V4_5 = "V4_5"
    V4_5PLUS = "V4_5PLUS"
    V4_5ALL = "V4_5ALL"
    V5 = "V5"


#: What a ``model`` field accepts on input: the enum or its value.
SunoModelName = SunoModel | Literal["V4", "V4_5", "V4_5PLUS", "V4_5ALL", "V5"]


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


def blank(value: str | None) -> bool:
    """Whether a text field is unset or only whitespace."""
    return value is None or not value.strip()


def required_message(names: list[str]) -> str:
    """``"a and b are required"``: the start of a missing-fields error."""
    return f"{' and '.join(names)} {'is' if len(names) == 1 else 'are'} required"


def check_lengths(
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


def check_song_mode(
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
            if not blank(value):
                raise ValueError(f"{name} must be left empty in simple mode (customMode: false)")
        if persona_id is not None:
            raise ValueError("personaId is only allowed in custom mode (customMode: true)")
        return
    missing = [name for name, value in (("style", style), ("title", title)) if blank(value)]
    if not instrumental and blank(prompt):
        missing.append("prompt")
    if missing:
        what = "instrumental" if instrumental else "vocal (instrumental: false)"
        raise ValueError(f"{required_message(missing)} in custom mode for a {what} track")


# add-vocals / add-instrumental accept only these two models, V4_5PLUS being the upstream default.
_OVERLAY_MODELS = frozenset({SunoModel.V4_5PLUS, SunoModel.V5})


def check_overlay_model(model: SunoModel | None) -> None:
    """add-vocals / add-instrumental accept only V4_5PLUS and V5 (§11.5)."""
    if model is not None and model not in _OVERLAY_MODELS:
        raise ValueError(f"model must be V4_5PLUS or V5 on this route, got {model.value}")


def check_window(start: float, end: float) -> None:
    """The replace-section window (§11.5): start before end, 6-60 s long.

    The further rule "at most 50 % of the track" needs the track's duration, which only the
    gateway knows.
    """
    if start >= end:
        raise ValueError(f"infillStartS ({start}) must be before infillEndS ({end})")
    # Round away float noise such as 10.01 - 4.01 = 6.000000000000001.
    window = round(end - start, 2)
    if not 6 <= window <= 60:
        raise ValueError(
            f"infillEndS - infillStartS is {window} s; the replaced window must be 6-60 s"
        )
