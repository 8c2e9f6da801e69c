"""Receiver for AnyInt gateway callbacks and the inbox that wait tasks read.

Run it with ``python -m callbacks --host 0.0.0.0 --port 8788`` (token from
``ANYINT_CALLBACK_TOKEN``, store from ``ANYINT_STORE``) and give the gateway
:func:`callback_url` as the task's ``callBackUrl``/``callback_url``.
"""

from __future__ import annotations

from blocks.inbox import (
    FAMILIES,
    PLACEHOLDER_CALLBACK_URL,
    TERMINAL_PHASES,
    callback_url,
    inbox_key,
    read_inbox,
    terminal_record,
    write_record,
)

from .app import DEFAULT_MAX_BODY, build_event, create_callback_app, identify_callback

__all__ = [
    "DEFAULT_MAX_BODY",
    "FAMILIES",
    "PLACEHOLDER_CALLBACK_URL",
    "TERMINAL_PHASES",
    "build_event",
    "callback_url",
    "create_callback_app",
    "identify_callback",
    "inbox_key",
    "read_inbox",
    "terminal_record",
    "write_record",
]
