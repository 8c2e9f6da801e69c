"""Placeholder: the gemini route family (filled in by its own change)."""

from __future__ import annotations

from ._base import Resource

__all__ = ["Gemini"]


class Gemini(Resource):
    """The gemini route family."""
