"""Base models: strict for what we send, lenient for what we receive (style.md lesson 3)."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Generic, TypeAlias, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, field_validator

__all__ = [
    "IdText",
    "ModelInput",
    "PlainBase64",
    "RequestModel",
    "ResponseModel",
    "StatusMixin",
    "TaskAnswer",
    "TaskRecord",
    "check_text",
    "check_texts",
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


#: What text may not hold: C0 controls and DEL, except tab, newline, and a carriage return that
#: starts a CRLF line break (text pasted from Windows has those, and they mean nothing else). A
#: lone CR is refused: in a log or a terminal it moves back to the start of the line, so the text
#: after it hides the text before it. C1 controls (U+0080..U+009F) are left alone: they are
#: letters in legacy encodings mis-decoded, not something people type.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\r(?!\n)")
_C0_NAMES = (
    "NUL SOH STX ETX EOT ENQ ACK BEL BS HT LF VT FF CR SO SI "
    "DLE DC1 DC2 DC3 DC4 NAK SYN ETB CAN EM SUB ESC FS GS RS US"
).split()


def check_text(value: str) -> str:
    """Refuse text with a control character (see ``_CONTROL``), saying which, where and what to do.

    The message starts lower case and does not name the field: pydantic and the flows' parameter
    check put the field (``prompt``, ``title``, ...) in front of it.

    Raises:
        ValueError: ``value`` holds a refused control character.
    """
    found = _CONTROL.search(value)
    if found is None:
        return value
    code = ord(found.group())
    name = "DEL" if code == 0x7F else _C0_NAMES[code]
    what = "a carriage return without a newline" if code == 0x0D else "a control character"
    others = len(_CONTROL.findall(value)) - 1
    more = f" (and {others} more after it)" if others else ""
    raise ValueError(
        f"has {what}, U+{code:04X} ({name}), at position {found.start() + 1} of {len(value)}"
        f"{more}; remove it (text may hold tabs, newlines and CRLF line breaks, no other "
        "control characters)"
    )


def check_texts(value: Any) -> Any:
    """:func:`check_text` on a string, or on every string in a list, tuple or set (nested).

    Mappings are passed over: the request models keep free-form JSON (tool inputs and schemas,
    function arguments) in ``dict`` fields, which is data relayed as it is, JSON-escaped on the
    wire, and may be the model's own output sent back; the rule is for text people write.
    Nested models are not entered either: each checks its own fields.
    """
    if isinstance(value, str):
        check_text(value)
    elif isinstance(value, list | tuple | set | frozenset):
        for index, item in enumerate(value):
            try:
                check_texts(item)
            except ValueError as exc:
                raise ValueError(f"item {index} {exc}") from None
    return value


class RequestModel(BaseModel):
    """A request body. Unknown fields are rejected, so a typo fails before any I/O.

    No text field, however nested, may hold a control character other than tab, newline or a
    CRLF line break (see :func:`check_text`): a NUL or an escape sequence in a prompt or a title
    is a paste accident that the gateway would bill for, or a way to forge log lines.
    """

    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, validate_assignment=True, str_strip_whitespace=False
    )

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        return check_texts(value)

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
