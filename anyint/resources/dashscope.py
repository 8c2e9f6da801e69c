"""Placeholder: the dashscope route family (filled in by its own change)."""

from __future__ import annotations

from ._base import Resource

__all__ = ["DashScope"]


class DashScope(Resource):
    """The dashscope route family."""
