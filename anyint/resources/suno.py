"""Placeholder: the suno route family (filled in by its own change)."""

from __future__ import annotations

from ._base import Resource

__all__ = ["Suno"]


class Suno(Resource):
    """The suno route family."""
