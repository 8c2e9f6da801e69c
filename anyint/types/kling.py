"""Kling native models for the Transtreams routes under ``/transtreams/kling/v1`` (§10.4).

AnyInt's field table stops at the reference fields; the rest follows the upstream Kling docs
([UP] in ``anyint-api.md``). Every create answers ``{code, message, request_id, data}`` where
``code`` 0 means the call was accepted (not that the task succeeded), and every query answers the
same envelope with ``data.task_status`` moving ``submitted → processing → succeed | failed``.
"""

from __future__ import annotations

import binascii
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, Literal, TypedDict

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    field_validator,
    model_validator,
)

from . import kling_responses
from ._base import ModelInput, RequestModel
from .kling_responses import *  # noqa: F403  (the answers; see that module)

__all__ = [
    "KlingImage2VideoFields",
    "KlingImage2VideoParams",
    "KlingImageFields",
    "KlingImageParams",
    "KlingImageRef",
    "KlingOmniImageFields",
    "KlingOmniImageParams",
    "KlingOmniVideoFields",
    "KlingOmniVideoParams",
    "KlingShotPrompt",
    "KlingText2VideoFields",
    "KlingText2VideoParams",
    "KlingVideoRef",
]
__all__ += kling_responses.__all__

PROMPT_MAX = 2500

_Prompt = Annotated[str, Field(min_length=1, max_length=PROMPT_MAX)]
_Unit = Annotated[StrictFloat, Field(ge=0, le=1)]
_Duration = StrictInt | str
_Mode = Literal["std", "pro"]
_Sound = Literal["on", "off"]
_VideoAspect = Literal["16:9", "9:16", "1:1"]
_ImageAspect = Literal["16:9", "9:16", "1:1", "4:3", "3:4", "3:2", "2:3", "21:9"]


def _check_http_url(field: str, value: str) -> str:
    if value.startswith(("https://", "http://")) and len(value) > len("https://"):
        return value
    raise ValueError(f"{field} must be an http(s) URL, got {value[:40]!r}")


def _check_image(field: str, value: str) -> str:
    """Kling takes an http(s) URL or raw base64; a ``data:`` URL prefix is refused upstream."""
    if value.startswith("data:"):
        raise ValueError(
            f"{field} must be an http(s) URL or raw base64 without the 'data:...;base64,' prefix"
        )
    if value.startswith(("https://", "http://")):
        return _check_http_url(field, value)
    if not value:
        raise ValueError(f"{field} must be an http(s) URL or raw base64, got an empty string")
    try:
        binascii.a2b_base64(value.encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise ValueError(
            f"{field} must be an http(s) URL or raw base64, got {value[:40]!r}"
        ) from None
    return value


def _field_checked(check: Callable[[str, str], str]) -> AfterValidator:
    """Run ``check(field_name, value)`` after the type check, so errors name the field."""
    return AfterValidator(lambda value, info: check(info.field_name or "value", value))


_Url = Annotated[str, _field_checked(_check_http_url)]
"""An http(s) URL."""
_Image = Annotated[str, _field_checked(_check_image)]
"""An image: an http(s) URL or raw base64 (no ``data:`` prefix)."""


def _seconds(value: int | str | None) -> int | None:
    """Read a duration given as an int or a numeric string (both are accepted by Kling)."""
    if value is None:
        return None
    if isinstance(value, str) and not (value.isascii() and value.isdigit()):
        raise ValueError(f"duration must be a whole number of seconds, got {value!r}")
    seconds = int(value)
    if seconds <= 0:
        raise ValueError(f"duration must be > 0 seconds, got {value!r}")
    return seconds


# -- requests -------------------------------------------------------------------------------------


class _KlingCreate(RequestModel):
    """Fields every Kling create shares."""

    model_name: Annotated[str, Field(min_length=1)]
    model: str | None = None
    prompt: _Prompt
    negative_prompt: Annotated[str, Field(max_length=PROMPT_MAX)] | None = None
    callback_url: _Url | None = None

    @model_validator(mode="after")
    def _model_matches(self) -> _KlingCreate:
        # Some gateway clients track `model`; a different value would bill one model and run
        # another, so the two must agree when both are given.
        if self.model is not None and self.model != self.model_name:
            raise ValueError(
                f"model must equal model_name when given, got {self.model!r} "
                f"and model_name {self.model_name!r}"
            )
        return self


class _KlingCreateFields(TypedDict, total=False):
    """Keyword fields of :class:`_KlingCreate` (every Kling create)."""

    model_name: str
    model: str | None
    prompt: str
    negative_prompt: str | None
    callback_url: str | None


class _KlingVideoBase(_KlingCreate):
    """Fields every Kling video create shares (Std/Pro and Omni)."""

    mode: _Mode | None = None
    duration: _Duration | None = None
    aspect_ratio: _VideoAspect | None = None
    sound: _Sound | None = None
    generate_audio: StrictBool | None = None
    external_task_id: Annotated[str, Field(min_length=1)] | None = None


class _KlingVideoBaseFields(_KlingCreateFields, total=False):
    """Keyword fields of :class:`_KlingVideoBase`."""

    mode: _Mode | None
    duration: _Duration | None
    aspect_ratio: _VideoAspect | None
    sound: _Sound | None
    generate_audio: bool | None
    external_task_id: str | None


class _KlingVideoCreate(_KlingVideoBase):
    """Fields of the Std/Pro video routes."""

    cfg_scale: _Unit | None = None
    voice_id: Annotated[str, Field(min_length=1)] | None = None

    @field_validator("duration")
    @classmethod
    def _duration_positive(cls, value: int | str | None) -> int | str | None:
        _seconds(value)
        return value


class _KlingVideoCreateFields(_KlingVideoBaseFields, total=False):
    """Keyword fields of :class:`_KlingVideoCreate`."""

    cfg_scale: float | None
    voice_id: str | None


class KlingText2VideoParams(_KlingVideoCreate):
    """Body of ``POST /transtreams/kling/v1/videos/text2video``.

    Attributes:
        model_name: Native Kling model, e.g. ``kling-v3``.
        model: Optional; must equal ``model_name`` when given.
        prompt: What the video shows, at most 2500 characters.
        negative_prompt: What to avoid, at most 2500 characters.
        mode: ``std`` (Standard) or ``pro`` (Pro).
        duration: Seconds, as an int or numeric string (e.g. 5); allowed values vary per model.
        aspect_ratio: ``16:9``, ``9:16`` or ``1:1``.
        cfg_scale: Prompt adherence, 0..1.
        generate_audio: Generate an audio track.
        sound: ``on`` or ``off``.
        voice_id: Voice for generated speech, e.g. ``voice_demo_1``.
        callback_url: Upstream result callback; whether the gateway honours it is undocumented.
        external_task_id: Your own id, echoed back in ``task_info``.
    """


class KlingText2VideoFields(_KlingVideoCreateFields, total=False):
    """Keyword fields of :class:`KlingText2VideoParams`."""


class KlingImage2VideoParams(_KlingVideoCreate):
    """Body of ``POST /transtreams/kling/v1/videos/image2video``: the text2video fields plus images.

    Attributes:
        image: First frame: http(s) URL or raw base64 (no ``data:`` prefix). Required.
        image_tail: Last frame, same format.
    """

    image: _Image
    image_tail: _Image | None = None


class KlingImage2VideoFields(_KlingVideoCreateFields, total=False):
    """Keyword fields of :class:`KlingImage2VideoParams`."""

    image: str
    image_tail: str | None


class KlingImageRef(RequestModel):
    """One Omni ``image_list[]`` entry.

    Attributes:
        image_url: http(s) URL or raw base64 of a jpg/png (<= 10 MB, >= 300 px).
        type: ``first_frame`` or ``end_frame``; omit for a plain reference image.
    """

    image_url: _Image
    type: Literal["first_frame", "end_frame"] | None = None


class KlingVideoRef(RequestModel):
    """The Omni ``video_list[]`` entry (mp4/mov, 3-10 s, 720-2160 px, 24-60 fps, <= 200 MB).

    Attributes:
        video_url: http(s) URL of the video.
        refer_type: ``base`` (edit this video) or ``feature`` (use it as a reference).
        keep_original_sound: ``yes`` or ``no``.
    """

    video_url: _Url
    refer_type: Literal["base", "feature"] | None = None
    keep_original_sound: Literal["yes", "no"] | None = None


class KlingShotPrompt(RequestModel):
    """One ``multi_prompt[]`` shot.

    Attributes:
        index: Shot number.
        prompt: What this shot shows.
        duration: Shot length in seconds (int or numeric string).
    """

    index: Annotated[StrictInt, Field(ge=0)]
    prompt: _Prompt
    duration: _Duration

    @field_validator("duration")
    @classmethod
    def _duration_positive(cls, value: int | str) -> int | str:
        _seconds(value)
        return value


class KlingOmniVideoParams(_KlingVideoBase):
    """Body of ``POST /transtreams/kling/v1/videos/omni-video`` (model ``kling-v3-omni``).

    The prompt may refer to ``<<<image_1>>>``, ``<<<video_1>>>`` and ``<<<element_1>>>``.

    Attributes:
        mode: ``std`` or ``pro``.
        duration: 3..15 seconds (at most 10 with a reference video).
        aspect_ratio: ``16:9``, ``9:16`` or ``1:1``.
        sound: ``on`` or ``off``; must be ``off`` with a reference video.
        generate_audio: Generate an audio track.
        image_list: Up to 7 reference images (4 with a video).
        video_list: At most one reference video.
        element_list: Up to 3 elements (shape not in the contract; passed through).
        multi_shot: Generate several shots.
        shot_type: ``customize`` (use ``multi_prompt``) or ``intelligence``.
        multi_prompt: 1-6 shots whose durations add up to ``duration``.
        watermark_info: Upstream watermark options, passed through.
        external_task_id: Your own id, echoed back in ``task_info``.
    """

    image_list: Annotated[list[KlingImageRef], Field(max_length=7)] | None = None
    video_list: Annotated[list[KlingVideoRef], Field(max_length=1)] | None = None
    element_list: Annotated[list[dict[str, Any]], Field(max_length=3)] | None = None
    multi_shot: StrictBool | None = None
    shot_type: Literal["customize", "intelligence"] | None = None
    multi_prompt: Annotated[list[KlingShotPrompt], Field(min_length=1, max_length=6)] | None = None
    watermark_info: dict[str, Any] | None = None

    @field_validator("duration")
    @classmethod
    def _duration_range(cls, value: int | str | None) -> int | str | None:
        seconds = _seconds(value)
        if seconds is not None and not 3 <= seconds <= 15:
            raise ValueError(f"duration must be 3..15 seconds for Omni video, got {value!r}")
        return value

    @model_validator(mode="after")
    def _reference_rules(self) -> KlingOmniVideoParams:
        if self.video_list:
            if self.image_list and len(self.image_list) > 4:
                raise ValueError("image_list may hold at most 4 images when video_list is given")
            if self.sound is not None and self.sound != "off":
                raise ValueError("sound must be 'off' when video_list is given")
            seconds = _seconds(self.duration)
            if seconds is not None and seconds > 10:
                raise ValueError("duration must be <= 10 seconds when video_list is given")
        total = _seconds(self.duration)
        if self.multi_prompt and total is not None:
            shots = sum(_seconds(shot.duration) or 0 for shot in self.multi_prompt)
            if shots != total:
                raise ValueError(
                    f"multi_prompt durations must add up to duration ({total} s), got {shots} s"
                )
        return self


class KlingOmniVideoFields(_KlingVideoBaseFields, total=False):
    """Keyword fields of :class:`KlingOmniVideoParams`."""

    image_list: Sequence[ModelInput[KlingImageRef]] | None
    video_list: Sequence[ModelInput[KlingVideoRef]] | None
    element_list: Sequence[Mapping[str, Any]] | None
    multi_shot: bool | None
    shot_type: Literal["customize", "intelligence"] | None
    multi_prompt: Sequence[ModelInput[KlingShotPrompt]] | None
    watermark_info: Mapping[str, Any] | None


class KlingImageParams(_KlingCreate):
    """Body of ``POST /transtreams/kling/v1/images/generations`` (model ``kling-v2-1``).

    Attributes:
        image: Reference image: http(s) URL or raw base64.
        image_reference: ``subject`` or ``face``.
        image_fidelity: Reference strength, 0..1.
        human_fidelity: Face similarity, 0..1.
        resolution: ``1k`` or ``2k``.
        n: Number of images, 1..9.
        aspect_ratio: ``16:9``, ``9:16``, ``1:1``, ``4:3``, ``3:4``, ``3:2``, ``2:3`` or ``21:9``.
    """

    image: _Image | None = None
    image_reference: Literal["subject", "face"] | None = None
    image_fidelity: _Unit | None = None
    human_fidelity: _Unit | None = None
    resolution: Literal["1k", "2k"] | None = None
    n: Annotated[StrictInt, Field(ge=1, le=9)] | None = None
    aspect_ratio: _ImageAspect | None = None


class KlingImageFields(_KlingCreateFields, total=False):
    """Keyword fields of :class:`KlingImageParams`."""

    image: str | None
    image_reference: Literal["subject", "face"] | None
    image_fidelity: float | None
    human_fidelity: float | None
    resolution: Literal["1k", "2k"] | None
    n: int | None
    aspect_ratio: _ImageAspect | None


class KlingOmniImageParams(_KlingCreate):
    """Body of ``POST /transtreams/kling/v1/images/omni-image`` (model ``kling-v3-omni``).

    The contract does not list this route's fields (§17 item 17). The fields every Kling create
    shares are checked; any other provider-native field (``image_list``, ``n``, ``aspect_ratio``,
    ``resolution``, ...) is passed through unchecked.
    """

    model_config = ConfigDict(extra="allow")


class KlingOmniImageFields(_KlingCreateFields, total=False):
    """Keyword fields of :class:`KlingOmniImageParams`: the common ones.

    The route's other, undocumented fields are accepted too, but only in the ``params``
    mapping: a TypedDict cannot leave its keys open.
    """
