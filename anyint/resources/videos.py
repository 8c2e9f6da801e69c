"""Placeholder: the videos route family (filled in by its own change)."""

from __future__ import annotations

from ._base import Resource

__all__ = ["Videos"]


class Videos(Resource):
    """The videos route family."""
