"""Kling native models for the Transtreams routes under ``/transtreams/kling/v1`` (§10.4).

AnyInt's field table stops at the reference fields; the rest follows the upstream Kling docs
([UP] in ``anyint-api.md``). Every create answers ``{code, message, request_id, data}`` where
``code`` 0 means the call was accepted (not that the task succeeded), and every query answers the
same envelope with ``data.task_status`` moving ``submitted → processing → succeed | failed``.
"""

from __future__ import annotations

import binascii
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ._base import RequestModel, ResponseModel, StatusMixin

__all__ = [
    "KlingImage",
    "KlingImage2VideoParams",
    "KlingImageParams",
    "KlingImageRef",
    "KlingOmniImageParams",
    "KlingOmniVideoParams",
    "KlingShotPrompt",
    "KlingTask",
    "KlingTaskCreated",
    "KlingTaskData",
    "KlingTaskInfo",
    "KlingTaskResult",
    "KlingTaskStatus",
    "KlingText2VideoParams",
    "KlingVideo",
    "KlingVideoRef",
]

PROMPT_MAX = 2500

_Prompt = Annotated[str, Field(min_length=1, max_length=PROMPT_MAX)]
_Unit = Annotated[StrictFloat, Field(ge=0, le=1)]
_Duration = StrictInt | str


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
    callback_url: str | None = None

    @field_validator("callback_url")
    @classmethod
    def _callback_is_url(cls, value: str | None) -> str | None:
        return None if value is None else _check_http_url("callback_url", value)

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


class _KlingVideoCreate(_KlingCreate):
    """Fields of the Std/Pro video routes."""

    mode: Literal["std", "pro"] | None = None
    duration: _Duration | None = None
    aspect_ratio: Literal["16:9", "9:16", "1:1"] | None = None
    cfg_scale: _Unit | None = None
    generate_audio: StrictBool | None = None
    sound: Literal["on", "off"] | None = None
    voice_id: Annotated[str, Field(min_length=1)] | None = None
    external_task_id: Annotated[str, Field(min_length=1)] | None = None

    @field_validator("duration")
    @classmethod
    def _duration_positive(cls, value: int | str | None) -> int | str | None:
        _seconds(value)
        return value


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


class KlingImage2VideoParams(_KlingVideoCreate):
    """Body of ``POST /transtreams/kling/v1/videos/image2video``: the text2video fields plus images.

    Attributes:
        image: First frame: http(s) URL or raw base64 (no ``data:`` prefix). Required.
        image_tail: Last frame, same format.
    """

    image: str
    image_tail: str | None = None

    @field_validator("image", "image_tail")
    @classmethod
    def _image_format(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else _check_image(info.field_name or "image", value)


class KlingImageRef(RequestModel):
    """One Omni ``image_list[]`` entry.

    Attributes:
        image_url: http(s) URL or raw base64 of a jpg/png (<= 10 MB, >= 300 px).
        type: ``first_frame`` or ``end_frame``; omit for a plain reference image.
    """

    image_url: str
    type: Literal["first_frame", "end_frame"] | None = None

    @field_validator("image_url")
    @classmethod
    def _image_format(cls, value: str) -> str:
        return _check_image("image_url", value)


class KlingVideoRef(RequestModel):
    """The Omni ``video_list[]`` entry (mp4/mov, 3-10 s, 720-2160 px, 24-60 fps, <= 200 MB).

    Attributes:
        video_url: http(s) URL of the video.
        refer_type: ``base`` (edit this video) or ``feature`` (use it as a reference).
        keep_original_sound: ``yes`` or ``no``.
    """

    video_url: str
    refer_type: Literal["base", "feature"] | None = None
    keep_original_sound: Literal["yes", "no"] | None = None

    @field_validator("video_url")
    @classmethod
    def _video_is_url(cls, value: str) -> str:
        return _check_http_url("video_url", value)


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


class KlingOmniVideoParams(_KlingCreate):
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

    mode: Literal["std", "pro"] | None = None
    duration: _Duration | None = None
    aspect_ratio: Literal["16:9", "9:16", "1:1"] | None = None
    sound: Literal["on", "off"] | None = None
    generate_audio: StrictBool | None = None
    image_list: Annotated[list[KlingImageRef], Field(max_length=7)] | None = None
    video_list: Annotated[list[KlingVideoRef], Field(max_length=1)] | None = None
    element_list: Annotated[list[dict[str, Any]], Field(max_length=3)] | None = None
    multi_shot: StrictBool | None = None
    shot_type: Literal["customize", "intelligence"] | None = None
    multi_prompt: Annotated[list[KlingShotPrompt], Field(min_length=1, max_length=6)] | None = None
    watermark_info: dict[str, Any] | None = None
    external_task_id: Annotated[str, Field(min_length=1)] | None = None

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

    image: str | None = None
    image_reference: Literal["subject", "face"] | None = None
    image_fidelity: _Unit | None = None
    human_fidelity: _Unit | None = None
    resolution: Literal["1k", "2k"] | None = None
    n: Annotated[StrictInt, Field(ge=1, le=9)] | None = None
    aspect_ratio: Literal["16:9", "9:16", "1:1", "4:3", "3:4", "3:2", "2:3", "21:9"] | None = None

    @field_validator("image")
    @classmethod
    def _image_format(cls, value: str | None) -> str | None:
        return None if value is None else _check_image("image", value)


class KlingOmniImageParams(_KlingCreate):
    """Body of ``POST /transtreams/kling/v1/images/omni-image`` (model ``kling-v3-omni``).

    The contract does not list this route's fields (§17 item 17). The fields every Kling create
    shares are checked; any other provider-native field (``image_list``, ``n``, ``aspect_ratio``,
    ``resolution``, ...) is passed through unchecked.
    """

    model_config = ConfigDict(extra="allow")


# -- responses ------------------------------------------------------------------------------------


class KlingTaskStatus(StrEnum):
    """Kling task states: ``submitted → processing → succeed | failed``."""

    SUBMITTED = "submitted"
    PROCESSING = "processing"
    SUCCEED = "succeed"
    FAILED = "failed"

    @property
    def is_terminal(self) -> bool:
        """Whether the task will never change state again."""
        return self in (KlingTaskStatus.SUCCEED, KlingTaskStatus.FAILED)


class KlingVideo(ResponseModel):
    """One result video; ``duration`` is a string of seconds such as ``"5.041"``."""

    id: str | None = None
    url: str | None = None
    duration: str | float | None = None


class KlingImage(ResponseModel):
    """One result image."""

    index: int | None = None
    url: str | None = None


class KlingTaskResult(ResponseModel):
    """``data.task_result``: videos for video tasks, images for image tasks."""

    videos: list[KlingVideo] = Field(default_factory=list)
    images: list[KlingImage] = Field(default_factory=list)


class KlingTaskInfo(ResponseModel):
    """``data.task_info``: echoes ``external_task_id``."""

    external_task_id: str | None = None


class KlingTaskData(ResponseModel):
    """The ``data`` object of a create or query answer.

    Attributes:
        task_id: Kling task id (a numeric string).
        task_status: Raw status string; see :class:`KlingTaskStatus`.
        task_status_msg: Why a task failed.
        created_at: Milliseconds since the epoch.
        updated_at: Milliseconds since the epoch.
        task_result: Result assets once ``succeed``.
    """

    task_id: str
    task_status: str = ""
    task_status_msg: str | None = None
    task_info: KlingTaskInfo | None = None
    created_at: int | None = None
    updated_at: int | None = None
    task_result: KlingTaskResult | None = None

    @field_validator("task_id", mode="before")
    @classmethod
    def _id_as_text(cls, value: Any) -> Any:
        # Kling ids are 18-digit numbers; a gateway that sends them as JSON numbers still works.
        return str(value) if isinstance(value, int) else value


class _KlingEnvelope(ResponseModel):
    code: int | str | None = None
    message: str | None = None
    request_id: str | None = None
    data: KlingTaskData

    @property
    def task_id(self) -> str:
        """The Kling task id."""
        return self.data.task_id

    @property
    def status(self) -> str:
        """The raw status string."""
        return self.data.task_status


class KlingTaskCreated(_KlingEnvelope):
    """Answer to a Kling create (``code`` 0): store ``task_id`` before polling.

    Attributes:
        code: 0 when the call was accepted (any other code was raised as an error).
        message: ``SUCCEED`` when accepted.
        request_id: Kling request id.
        data: ``task_id``, ``task_status`` (``submitted``) and ``task_info``.
    """


class KlingTask(_KlingEnvelope, StatusMixin[KlingTaskStatus]):
    """Answer to a Kling query; a :class:`~anyint.TaskSnapshot`.

    ``status`` stays the raw string so a state added later still parses; ``status_enum`` gives
    the :class:`KlingTaskStatus` when it is a known one. An unknown status is not terminal.
    """

    status_type: ClassVar[type[StrEnum]] = KlingTaskStatus
    success: ClassVar[StrEnum] = KlingTaskStatus.SUCCEED

    @property
    def error_code(self) -> str | None:
        """Kling reports no per-task error code; always None."""
        return None

    @property
    def error_message(self) -> str | None:
        """``task_status_msg`` of a failed task (empty strings read as None)."""
        return self.data.task_status_msg or None

    @property
    def video_urls(self) -> list[str]:
        """Result video URLs (time-limited; copy them out promptly)."""
        result = self.data.task_result
        return [v.url for v in result.videos if v.url] if result else []

    @property
    def image_urls(self) -> list[str]:
        """Result image URLs of an image task."""
        result = self.data.task_result
        return [i.url for i in result.images if i.url] if result else []
