"""Placeholder: the models route family (filled in by its own change)."""

from __future__ import annotations

from ._base import Resource

__all__ = ["Models"]


class Models(Resource):
    """The models route family."""
