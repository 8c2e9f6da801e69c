"""Options every command shares."""

from __future__ import annotations

__all__ = ["options"]

#: Set by the top-level callback: ``--debug`` shows tracebacks instead of one-line errors.
options = {"debug": False}
