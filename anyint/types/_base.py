"""Base models: strict for what we send, lenient for what we receive (style.md lesson 3)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = ["RequestModel", "ResponseModel"]


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
