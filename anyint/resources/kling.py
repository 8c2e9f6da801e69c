"""Placeholder: the kling route family (filled in by its own change)."""

from __future__ import annotations

from ._base import Resource

__all__ = ["Kling"]


class Kling(Resource):
    """The kling route family."""
