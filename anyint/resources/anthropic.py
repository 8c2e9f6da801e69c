"""Placeholder: the anthropic route family (filled in by its own change)."""

from __future__ import annotations

from ._base import Resource

__all__ = ["Anthropic"]


class Anthropic(Resource):
    """The anthropic route family."""
