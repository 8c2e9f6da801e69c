"""Base models: strict for what we send, lenient for what we receive (style.md lesson 3)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Generic, TypeAlias, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

__all__ = [
    "IdText",
    "ModelInput",
    "PlainBase64",
    "RequestModel",
    "ResponseModel",
    "StatusMixin",
    "TaskAnswer",
    "TaskRecord",
]

S = TypeVar("S", bound=StrEnum)
M = TypeVar("M", bound=BaseModel)

#: What a nested request field accepts on input: the model, or a mapping of its fields. The
#: ``*Fields`` TypedDicts (the keyword signatures of the resource methods) use it.
ModelInput: TypeAlias = M | Mapping[str, Any]


def _check_plain_base64(value: str) -> str:
    if value.startswith("data:"):
        raise ValueError("data must be plain base64 without a 'data:...;base64,' prefix")
    if not value:
        raise ValueError("data must not be empty")
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"data must be valid standard base64 ({exc})") from None
    return value


#: Inline bytes as plain standard base64, without the ``data:...;base64,`` prefix of a data URL
#: (Anthropic and Gemini both refuse the prefix).
PlainBase64 = Annotated[str, AfterValidator(_check_plain_base64)]


def _number_as_text(value: Any) -> Any:
    return str(value) if isinstance(value, int) else value


#: An id kept as text although some gateways send it as a JSON number (Kling ids are 18-digit
#: numbers; OpenAI-style adapters relay them), so every later path and comparison sees a string.
IdText = Annotated[str, BeforeValidator(_number_as_text)]


class RequestModel(BaseModel):
    """A request body. Unknown fields are rejected, so a typo fails before any I/O."""

    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, validate_assignment=True, str_strip_whitespace=False
    )

    def to_body(self) -> dict[str, Any]:
        """The JSON body exactly as the gateway expects it (aliases, no unset optionals)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class ResponseModel(BaseModel):
    """A response body. Unknown fields are kept, so a new gateway field never breaks a run."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class StatusMixin(Generic[S]):
    """``status_enum``, ``is_terminal`` and ``is_success`` of a task snapshot, from its raw
    ``status`` string and the family's status enum (whose members have ``is_terminal``).

    A class sets :attr:`status_type`, :attr:`success` and whether the family spells its states in
    upper or lower case; the raw ``status`` stays a string so a state added later still parses,
    and an unknown one is not terminal.
    """

    status_type: ClassVar[type[StrEnum]]
    success: ClassVar[StrEnum]
    upper_case: ClassVar[bool] = False
    if TYPE_CHECKING:

        @property
        def status(self) -> str:
            """The raw status string (a field or a property of the snapshot class)."""

    @property
    def status_enum(self) -> S | None:
        """The status as an enum member, or None for a status this library does not know."""
        raw = self.status.upper() if self.upper_case else self.status.lower()
        try:
            return self.status_type(raw)  # type: ignore[return-value]
        except ValueError:
            return None

    @property
    def is_terminal(self) -> bool:
        """Whether polling can stop (a failed or successful terminal state)."""
        status = self.status_enum
        return status is not None and bool(getattr(status, "is_terminal", False))

    @property
    def is_success(self) -> bool:
        """Whether the task reached its success state."""
        return self.status_enum is self.success


class TaskRecord(ResponseModel):
    """The task record a create or query answer nests: the id and the raw status string."""

    task_id: IdText
    task_status: str = ""


class TaskAnswer(ResponseModel):
    """An answer that nests its task record (``task_id``, ``task_status``) under one field.

    A subclass names that field in :meth:`_record`; ``task_id`` and ``status`` read through it.
    """

    @property
    def _record(self) -> TaskRecord:
        raise NotImplementedError

    @property
    def task_id(self) -> str:
        """The task id."""
        return self._record.task_id

    @property
    def status(self) -> str:
        """The raw status string."""
        return self._record.task_status
