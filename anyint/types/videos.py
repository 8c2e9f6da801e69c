"""OpenAI-style video models for ``/openai/v1/videos`` (Kling through the gateway, §10.5).

The request fields are AnyInt's ([AI-en]); the video object follows OpenAI's ([UP]), because
AnyInt's exact status strings are not published (§17 item 16). Unknown statuses still parse.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal, TypedDict

from pydantic import Field, StrictBool, StrictInt, field_validator, model_validator

from ._base import IdText, ModelInput, RequestModel, ResponseModel, StatusMixin

__all__ = [
    "VideoCreateFields",
    "VideoCreateParams",
    "VideoError",
    "VideoFrameImage",
    "VideoObject",
    "VideoStatus",
]


def _check_http_url(field: str, value: str) -> str:
    if value.startswith(("https://", "http://")) and len(value) > len("https://"):
        return value
    raise ValueError(f"{field} must be a public http(s) URL, got {value[:40]!r}")


class VideoFrameImage(RequestModel):
    """One ``frame_images[]`` entry: a keyframe image and where it goes.

    Give the position as ``role`` or as ``frame_type`` (the gateway accepts either name), not both.

    Attributes:
        url: Public http(s) URL of the image.
        role: Frame position, e.g. ``first_frame``.
        frame_type: Alternative name for ``role``.
    """

    url: str
    role: Annotated[str, Field(min_length=1)] | None = None
    frame_type: Annotated[str, Field(min_length=1)] | None = None

    @field_validator("url")
    @classmethod
    def _url_is_http(cls, value: str) -> str:
        return _check_http_url("url", value)

    @model_validator(mode="after")
    def _one_position(self) -> VideoFrameImage:
        if (self.role is None) == (self.frame_type is None):
            raise ValueError("frame_images[] needs exactly one of role or frame_type")
        return self


class VideoCreateParams(RequestModel):
    """Body of ``POST /openai/v1/videos``.

    Attributes:
        model: ``kling-3.0`` (Standard/Pro) or ``kling-v3-omni`` (Omni).
        prompt: What the video shows.
        duration: Seconds, as an int or numeric string (e.g. 5).
        aspect_ratio: ``W:H``, e.g. ``16:9``.
        mode: ``std`` or ``pro``.
        generate_audio: Generate an audio track.
        sound: Omni audio mode, ``on`` or ``off``.
        image: Public http(s) image URL: first frame / image-to-video reference.
        input_reference: Public http(s) URL or base64 data URL of a reference image.
        frame_images: Keyframe images with their positions.
    """

    model: Annotated[str, Field(min_length=1)]
    prompt: Annotated[str, Field(min_length=1)]
    duration: StrictInt | str | None = None
    aspect_ratio: Annotated[str, Field(pattern=r"^[1-9][0-9]*:[1-9][0-9]*$")] | None = None
    mode: Literal["std", "pro"] | None = None
    generate_audio: StrictBool | None = None
    sound: Literal["on", "off"] | None = None
    image: str | None = None
    input_reference: str | None = None
    frame_images: Annotated[list[VideoFrameImage], Field(min_length=1)] | None = None

    @field_validator("duration")
    @classmethod
    def _duration_positive(cls, value: int | str | None) -> int | str | None:
        if value is None:
            return None
        if isinstance(value, str) and not (value.isascii() and value.isdigit()):
            raise ValueError(f"duration must be a whole number of seconds, got {value!r}")
        if int(value) <= 0:
            raise ValueError(f"duration must be > 0 seconds, got {value!r}")
        return value

    @field_validator("image")
    @classmethod
    def _image_is_url(cls, value: str | None) -> str | None:
        return None if value is None else _check_http_url("image", value)

    @field_validator("input_reference")
    @classmethod
    def _reference_is_url(cls, value: str | None) -> str | None:
        if value is None or (value.startswith("data:image/") and ";base64," in value):
            return value
        return _check_http_url("input_reference", value)


class VideoCreateFields(TypedDict, total=False):
    """Keyword fields of :class:`VideoCreateParams`."""

    model: str
    prompt: str
    duration: int | str | None
    aspect_ratio: str | None
    mode: Literal["std", "pro"] | None
    generate_audio: bool | None
    sound: Literal["on", "off"] | None
    image: str | None
    input_reference: str | None
    frame_images: Sequence[ModelInput[VideoFrameImage]] | None


class VideoStatus(StrEnum):
    """Video job states: ``queued → in_progress → completed | failed``.

    ``cancelled``/``canceled`` and ``expired`` are read as failed terminal states too (other
    OpenAI-style video gateways use them).
    """

    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    CANCELED = "canceled"
    EXPIRED = "expired"

    @property
    def is_terminal(self) -> bool:
        """Whether the job will never change state again."""
        return self not in (VideoStatus.QUEUED, VideoStatus.IN_PROGRESS)


class VideoError(ResponseModel):
    """``error`` of a failed video."""

    code: str | int | None = None
    message: str | None = None


class VideoObject(ResponseModel, StatusMixin[VideoStatus]):
    """An OpenAI-style video job; a :class:`~anyint.TaskSnapshot` keyed by ``id``.

    ``status`` stays the raw string so a state added later still parses; ``status_enum`` gives
    the :class:`VideoStatus` when it is a known one. An unknown status is not terminal.

    Attributes:
        id: The video id (``video_...``) used by every other route.
        status: Raw status string; see :class:`VideoStatus`.
        object: ``video``.
        model: Model id.
        progress: 0..100.
        created_at: Unix seconds.
        completed_at: Unix seconds, once finished.
        seconds: Length, e.g. ``"5"``.
        size: Frame size, e.g. ``"1280x720"``.
        error: Code and message of a failed job.
    """

    status_type: ClassVar[type[StrEnum]] = VideoStatus
    success: ClassVar[StrEnum] = VideoStatus.COMPLETED

    id: IdText
    object: str | None = None
    model: str | None = None
    status: str = ""
    progress: float | None = None
    created_at: int | None = None
    completed_at: int | None = None
    seconds: str | int | None = None
    size: str | None = None
    error: VideoError | None = None

    @model_validator(mode="before")
    @classmethod
    def _id_fallback(cls, data: Any) -> Any:
        # Some OpenAI-style video adapters answer with `task_id` only ([3P], §15).
        if isinstance(data, dict) and "id" not in data and "task_id" in data:
            return {**data, "id": data["task_id"]}
        return data

    @property
    def task_id(self) -> str:
        """The video id (the task id for polling and errors)."""
        return self.id

    @property
    def error_code(self) -> str | None:
        """``error.code`` of a failed job."""
        if self.error is None or self.error.code is None:
            return None
        return str(self.error.code)

    @property
    def error_message(self) -> str | None:
        """``error.message`` of a failed job, or why a cancelled/expired job has no result."""
        if self.error is not None and self.error.message:
            return self.error.message
        status = self.status_enum
        if status in (VideoStatus.CANCELLED, VideoStatus.CANCELED, VideoStatus.EXPIRED):
            return f"video job {status}"
        return None
