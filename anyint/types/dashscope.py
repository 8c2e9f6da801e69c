"""DashScope models: sync image generation, video-synthesis tasks and task queries (§10.1-10.3).

AnyInt documents only the routes and the first request fields of this family; the rest follows
the upstream DashScope docs ([UP] in ``anyint-api.md``). Requests accept exactly the documented
fields (a typo fails before any I/O); responses keep every field the gateway sends.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal, TypedDict

from pydantic import Field, StrictBool, StrictInt, field_validator, model_validator

from ._base import ModelInput, RequestModel, ResponseModel, StatusMixin, TaskAnswer, TaskRecord

__all__ = [
    "DashScopeImageContent",
    "DashScopeImageFields",
    "DashScopeImageInput",
    "DashScopeImageMessage",
    "DashScopeImageParameters",
    "DashScopeImageParams",
    "DashScopeImageResponse",
    "DashScopeImageUsage",
    "DashScopeResultChoice",
    "DashScopeResultContent",
    "DashScopeResultMessage",
    "DashScopeResultOutput",
    "DashScopeTask",
    "DashScopeTaskCreated",
    "DashScopeTaskOutput",
    "DashScopeTaskStatus",
    "DashScopeTaskUsage",
    "DashScopeTextContent",
    "DashScopeVideoFields",
    "DashScopeVideoInput",
    "DashScopeVideoParameters",
    "DashScopeVideoParams",
]

#: ``"W*H"`` in pixels, e.g. ``"1328*1328"`` (DashScope writes sizes with ``*``, not ``x``).
SIZE_PATTERN = r"^[1-9][0-9]*\*[1-9][0-9]*$"
SEED_MAX = 2147483647

_Size = Annotated[str, Field(pattern=SIZE_PATTERN)]
_Seed = Annotated[StrictInt, Field(ge=0, le=SEED_MAX)]
_NonEmpty = Annotated[str, Field(min_length=1)]


def _check_url(field: str, value: str, *, allow_data: bool) -> str:
    """Accept an http(s) URL (and a ``data:`` URL when ``allow_data``), naming the field if not."""
    if value.startswith(("https://", "http://")) and len(value) > len("https://"):
        return value
    if allow_data and value.startswith("data:") and ";base64," in value:
        return value
    allowed = "an http(s) URL or a base64 data URL" if allow_data else "an http(s) URL"
    raise ValueError(f"{field} must be {allowed}, got {value[:40]!r}")


# -- image generation request (§10.1) -------------------------------------------------------------


class DashScopeTextContent(RequestModel):
    """A text block of a message: the prompt.

    Attributes:
        text: The prompt text.
    """

    text: _NonEmpty


class DashScopeImageContent(RequestModel):
    """An image block of a message, for image-editing models.

    Attributes:
        image: Public http(s) URL or ``data:image/...;base64,...`` URL of the input image.
    """

    image: str

    @field_validator("image")
    @classmethod
    def _image_is_url(cls, value: str) -> str:
        return _check_url("image", value, allow_data=True)


class DashScopeImageMessage(RequestModel):
    """One ``input.messages[]`` entry.

    Attributes:
        role: Always ``"user"`` (the only documented role).
        content: Text and image blocks, at least one.
    """

    role: Literal["user"] = "user"
    content: list[DashScopeTextContent | DashScopeImageContent] = Field(min_length=1)


class DashScopeImageInput(RequestModel):
    """The ``input`` object of an image request.

    Attributes:
        messages: At least one user message.
    """

    messages: list[DashScopeImageMessage] = Field(min_length=1)


class DashScopeImageParameters(RequestModel):
    """The optional ``parameters`` object of an image request ([UP] DashScope).

    Which parameters AnyInt forwards is undocumented (§17 item 9); these are the upstream ones.

    Attributes:
        size: ``"W*H"``; qwen-image-plus/max accept ``1664*928``, ``1472*1104``, ``1328*1328``
            (default), ``1104*1472`` and ``928*1664``.
        negative_prompt: What to avoid, at most 500 characters.
        prompt_extend: Let the model rewrite the prompt (upstream default true).
        watermark: Add the provider watermark.
        n: Number of images (1 for qwen-image-plus/max).
        seed: Random seed, 0..2147483647.
    """

    size: _Size | None = None
    negative_prompt: Annotated[str, Field(max_length=500)] | None = None
    prompt_extend: StrictBool | None = None
    watermark: StrictBool | None = None
    n: Annotated[StrictInt, Field(ge=1)] | None = None
    seed: _Seed | None = None


class DashScopeImageParams(RequestModel):
    """Body of ``POST /dashscope/v1/services/aigc/multimodal-generation/generation``.

    Attributes:
        model: Image-capable model id, e.g. ``qwen-image-plus``.
        input: The messages holding the prompt (and input images for editing models).
        parameters: Generation options.

    Example:
        >>> body = DashScopeImageParams.from_prompt("qwen-image-plus", "A neon poster").to_body()
        >>> body["input"]["messages"][0]["content"]
        [{'text': 'A neon poster'}]
    """

    model: _NonEmpty
    input: DashScopeImageInput
    parameters: DashScopeImageParameters | None = None

    @classmethod
    def from_prompt(
        cls,
        model: str,
        prompt: str,
        *,
        images: list[str] | None = None,
        **parameters: Any,
    ) -> DashScopeImageParams:
        """Build a one-message request from a prompt, optional input images and parameters.

        Args:
            model: Image model id.
            prompt: The prompt text.
            images: Input image URLs or data URLs (editing models), placed before the text.
            **parameters: Fields of :class:`DashScopeImageParameters`.

        Returns:
            The validated request.
        """
        content: list[dict[str, str]] = [{"image": url} for url in images or []]
        content.append({"text": prompt})
        return cls.model_validate(
            {
                "model": model,
                "input": {"messages": [{"role": "user", "content": content}]},
                "parameters": parameters or None,
            }
        )


class DashScopeImageFields(TypedDict, total=False):
    """Keyword fields of :class:`DashScopeImageParams`."""

    model: str
    input: ModelInput[DashScopeImageInput]
    parameters: ModelInput[DashScopeImageParameters] | None


# -- image generation response (§10.1) ------------------------------------------------------------


class DashScopeResultContent(ResponseModel):
    """One content block of a result message: an ``image`` URL (or, rarely, ``text``)."""

    image: str | None = None
    text: str | None = None


class DashScopeResultMessage(ResponseModel):
    """The assistant message of one choice."""

    role: str | None = None
    content: list[DashScopeResultContent] = Field(default_factory=list)


class DashScopeResultChoice(ResponseModel):
    """One ``output.choices[]`` entry."""

    finish_reason: str | None = None
    message: DashScopeResultMessage | None = None


class DashScopeResultOutput(ResponseModel):
    """The ``output`` object of a sync image response."""

    choices: list[DashScopeResultChoice] = Field(default_factory=list)


class DashScopeImageUsage(ResponseModel):
    """Image usage: pixel size and image count."""

    width: int | None = None
    height: int | None = None
    image_count: int | None = None


class DashScopeImageResponse(ResponseModel):
    """Synchronous image result.

    Attributes:
        output: The choices holding the result images.
        usage: Size and count of the generated images.
        request_id: DashScope request id, for support.
    """

    output: DashScopeResultOutput | None = None
    usage: DashScopeImageUsage | None = None
    request_id: str | None = None

    @property
    def image_urls(self) -> list[str]:
        """Every result image URL, in order. They are signed and expire after about 24 h."""
        if self.output is None:
            return []
        return [
            block.image
            for choice in self.output.choices
            if choice.message is not None
            for block in choice.message.content
            if block.image
        ]


# -- video synthesis request (§10.2) --------------------------------------------------------------


class DashScopeVideoInput(RequestModel):
    """The ``input`` object of a video-synthesis request.

    Text-to-video needs ``prompt``; image-to-video needs ``img_url`` (or ``media`` on newer
    models) and takes an optional ``prompt``.

    Attributes:
        prompt: What the video shows.
        img_url: First-frame image: http(s) URL or base64 data URL (i2v models).
        audio_url: Audio track to drive the video: http(s) URL.
        negative_prompt: What to avoid, at most 500 characters.
        media: Media list used instead of ``img_url`` by some newer models. Its item shape is not
            in the contract, so items are passed through as given.
    """

    prompt: _NonEmpty | None = None
    img_url: str | None = None
    audio_url: str | None = None
    negative_prompt: Annotated[str, Field(max_length=500)] | None = None
    media: list[dict[str, Any]] | None = None

    @field_validator("img_url")
    @classmethod
    def _img_url_is_url(cls, value: str | None) -> str | None:
        return None if value is None else _check_url("img_url", value, allow_data=True)

    @field_validator("audio_url")
    @classmethod
    def _audio_url_is_url(cls, value: str | None) -> str | None:
        return None if value is None else _check_url("audio_url", value, allow_data=False)

    @model_validator(mode="after")
    def _needs_something(self) -> DashScopeVideoInput:
        if self.prompt is None and self.img_url is None and not self.media:
            raise ValueError("input needs a prompt, an img_url or media")
        return self


class DashScopeVideoParameters(RequestModel):
    """The optional ``parameters`` object of a video-synthesis request ([UP] DashScope).

    Attributes:
        resolution: ``480P``, ``720P`` or ``1080P`` (image-to-video models).
        size: ``"W*H"``, e.g. ``"1280*720"`` (text-to-video models).
        duration: Length in seconds (5, 10 or 15 on wan2.6; allowed values vary per model).
        prompt_extend: Let the model rewrite the prompt.
        watermark: Add the provider watermark.
        audio: Generate an audio track.
        shot_type: ``single`` or ``multi`` shot.
        seed: Random seed, 0..2147483647.
    """

    resolution: Literal["480P", "720P", "1080P"] | None = None
    size: _Size | None = None
    duration: Annotated[StrictInt, Field(gt=0)] | None = None
    prompt_extend: StrictBool | None = None
    watermark: StrictBool | None = None
    audio: StrictBool | None = None
    shot_type: Literal["single", "multi"] | None = None
    seed: _Seed | None = None


class DashScopeVideoParams(RequestModel):
    """Body of ``POST /dashscope/v1/services/aigc/video-generation/video-synthesis``.

    Attributes:
        model: Video model id, e.g. ``wan2.6-t2v`` or ``wan2.6-i2v``.
        input: Prompt and reference media.
        parameters: Generation options.
    """

    model: _NonEmpty
    input: DashScopeVideoInput
    parameters: DashScopeVideoParameters | None = None


class DashScopeVideoFields(TypedDict, total=False):
    """Keyword fields of :class:`DashScopeVideoParams`."""

    model: str
    input: ModelInput[DashScopeVideoInput]
    parameters: ModelInput[DashScopeVideoParameters] | None


# -- tasks (§10.2-10.3) ---------------------------------------------------------------------------


class DashScopeTaskStatus(StrEnum):
    """DashScope task states (§10.3).

    ``PENDING → RUNNING → SUCCEEDED | FAILED``; ``CANCELED`` only from ``PENDING``; ``UNKNOWN``
    when the id is not found or older than 24 h. ``SUSPENDED`` is upstream's paused state.
    """

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUSPENDED = "SUSPENDED"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"
    UNKNOWN = "UNKNOWN"

    @property
    def is_terminal(self) -> bool:
        """Whether the task will never change state again."""
        return self in _TERMINAL


_TERMINAL = frozenset(
    {
        DashScopeTaskStatus.SUCCEEDED,
        DashScopeTaskStatus.FAILED,
        DashScopeTaskStatus.CANCELED,
        DashScopeTaskStatus.UNKNOWN,
    }
)


class DashScopeTaskOutput(TaskRecord):
    """The ``output`` object of a task create or query response.

    Attributes:
        task_id: The task id (valid 24 h upstream).
        task_status: Raw status string; see :class:`DashScopeTaskStatus`.
        video_url: Result video once ``SUCCEEDED`` (signed, expires after 24 h).
        code: Error code once ``FAILED``.
        message: Error message once ``FAILED``.
    """

    submit_time: str | None = None
    scheduled_time: str | None = None
    end_time: str | None = None
    orig_prompt: str | None = None
    actual_prompt: str | None = None
    video_url: str | None = None
    code: str | int | None = None
    message: str | None = None


class DashScopeTaskUsage(ResponseModel):
    """Video usage. Keys vary by model; the unlisted ones stay available as extra fields."""

    duration: float | None = None
    video_duration: float | None = None
    video_count: int | None = None
    sr: int | str | None = Field(default=None, alias="SR")


class _DashScopeTaskAnswer(TaskAnswer):
    """What a create and a query answer share: the task's ``output`` and the request id."""

    output: DashScopeTaskOutput
    request_id: str | None = None

    @property
    def _record(self) -> DashScopeTaskOutput:
        return self.output


class DashScopeTaskCreated(_DashScopeTaskAnswer):
    """Answer to a video-synthesis create: the task id to store before anything else.

    Attributes:
        output: Holds ``task_id`` and the initial ``task_status`` (``PENDING``).
        request_id: DashScope request id.
    """


class DashScopeTask(_DashScopeTaskAnswer, StatusMixin[DashScopeTaskStatus]):
    """Answer to ``GET /dashscope/v1/tasks/{task_id}``; a :class:`~anyint.TaskSnapshot`.

    ``status`` stays the raw string so a state added later still parses; ``status_enum`` gives
    the :class:`DashScopeTaskStatus` when it is a known one. An unknown status is not terminal.

    Attributes:
        output: Task id, status, timings, result URL or error.
        usage: Billing usage once finished.
        request_id: DashScope request id.
    """

    status_type: ClassVar[type[StrEnum]] = DashScopeTaskStatus
    success: ClassVar[StrEnum] = DashScopeTaskStatus.SUCCEEDED
    upper_case: ClassVar[bool] = True

    usage: DashScopeTaskUsage | None = None

    @property
    def error_code(self) -> str | None:
        """``output.code`` of a failed task."""
        return None if self.output.code is None else str(self.output.code)

    @property
    def error_message(self) -> str | None:
        """``output.message`` of a failed task, or why an UNKNOWN/CANCELED task has no result."""
        if self.output.message:
            return self.output.message
        if self.status_enum is DashScopeTaskStatus.UNKNOWN:
            return "task id is unknown or expired (DashScope keeps task ids for 24 h)"
        if self.status_enum is DashScopeTaskStatus.CANCELED:
            return "task was canceled before it started"
        return None

    @property
    def video_url(self) -> str | None:
        """Result video URL of a SUCCEEDED task (signed, expires after 24 h)."""
        return self.output.video_url
