"""Base models: strict for what we send, lenient for what we receive (style.md lesson 3)."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

__all__ = ["RequestModel", "ResponseModel", "StatusMixin"]

S = TypeVar("S", bound=StrEnum)


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
