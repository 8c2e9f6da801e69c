"""The callback inbox: one JSON record per (task id, phase) on the :class:`~blocks.AssetStore`.

It is storage, not web: the receiver (:mod:`callbacks.app`) writes
``inbox/<task_id>/<phase>.json``; wait tasks read it with :func:`read_inbox` or
:func:`terminal_record` and stop polling early once a terminal record lands. A record is::

    {"task_id": "...", "family": "suno", "phase": "complete",
     "received_at": "2025-01-01T00:00:00.000000+00:00", "body": {...as received...}}

Delivery is at-least-once (contract §11.7, §13.3), so a record is written once and never
rewritten: the first delivery of a (task, phase) wins and later copies are acknowledged as
duplicates.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from anyint.config import settings
from anyint.types.suno_requests import PLACEHOLDER_CALLBACK_URL

from .store import AssetStore, check_key

__all__ = [
    "CALLBACK_TOKEN_ENV",
    "CALLBACK_URL_ENV",
    "FAMILIES",
    "INBOX_PREFIX",
    "PLACEHOLDER_CALLBACK_URL",
    "TERMINAL_PHASES",
    "Family",
    "callback_url",
    "check_phase",
    "check_task_id",
    "check_token",
    "inbox_key",
    "read_inbox",
    "terminal_record",
    "write_record",
]

#: Route families with task callbacks: the one list (the route table and the receiver use it).
Family = Literal["suno", "dashscope", "kling", "videos"]
FAMILIES: tuple[Family, ...] = get_args(Family)
#: Folder of the store that holds the inbox.
INBOX_PREFIX = "inbox"
#: Phases after which no further callback follows; ``complete`` wins over ``error`` when both
#: exist (a late success after a reported failure is still a usable result).
TERMINAL_PHASES = ("complete", "error")
#: Environment variable with the secret path segment of the callback URL.
CALLBACK_TOKEN_ENV = "ANYINT_CALLBACK_TOKEN"
#: Environment variable with the public base URL of the receiver (e.g. ``https://hooks.example.com``).
CALLBACK_URL_ENV = "ANYINT_CALLBACK_URL"

# A whitelist rather than a blacklist: ids become store keys (S3 object names, local file names),
# and every id the gateway hands out (hex, UUID, Kling digits, ``video_...``) fits it.
_TASK_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,199}")
_PHASE = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
# The token is a path segment: URL-safe characters only (what ``secrets.token_urlsafe`` makes), and
# long enough that guessing it through the 404s is hopeless.
_TOKEN = re.compile(r"[A-Za-z0-9._~-]{16,256}")


def check_token(token: object) -> str:
    """Validate a callback token (the secret path segment).

    Raises:
        ValueError: Not 16-256 URL-safe characters (``A-Z a-z 0-9 . _ ~ -``). The message never
            repeats the token.
    """
    if not isinstance(token, str) or not _TOKEN.fullmatch(token):
        raise ValueError(
            f"{CALLBACK_TOKEN_ENV} must be 16-256 URL-safe characters (A-Z a-z 0-9 . _ ~ -); "
            "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    return token


def check_task_id(task_id: object) -> str:
    """Validate a gateway task id for use as an inbox folder name.

    Args:
        task_id: The id as found in a callback body (a string; a non-bool int is accepted and
            converted, as some providers send numeric ids).

    Returns:
        The id as a string.

    Raises:
        ValueError: Empty, too long (over 200 characters), or containing anything besides
            letters, digits, ``.``, ``_``, ``:`` and ``-`` (so no ``/``, no ``..``).
    """
    if isinstance(task_id, int) and not isinstance(task_id, bool):
        task_id = str(task_id)
    if not isinstance(task_id, str) or not _TASK_ID.fullmatch(task_id) or ".." in task_id:
        raise ValueError(
            "task id must be 1-200 characters of letters, digits, '.', '_', ':' or '-' "
            "(no '/' or '..')"
        )
    return task_id


def check_phase(phase: object) -> str:
    """Validate a callback phase (``text``, ``first``, ``complete``, ``error``, a status...).

    Raises:
        ValueError: Not 1-32 characters of lower-case letters, digits, ``_`` or ``-``.
    """
    if not isinstance(phase, str) or not _PHASE.fullmatch(phase):
        raise ValueError("phase must be 1-32 characters of a-z, 0-9, '_' or '-'")
    return phase


def inbox_key(task_id: str, phase: str) -> str:
    """The store key of one inbox record: ``inbox/<task_id>/<phase>.json``.

    Raises:
        ValueError: Invalid task id or phase (see :func:`check_task_id`, :func:`check_phase`).
    """
    return check_key(f"{INBOX_PREFIX}/{check_task_id(task_id)}/{check_phase(phase)}.json")


def read_inbox(store: AssetStore, task_id: str) -> dict[str, dict[str, Any]]:
    """All records received for ``task_id``, by phase.

    Args:
        store: The store the receiver writes to.
        task_id: Gateway task id.

    Returns:
        ``{phase: record}``; empty when nothing arrived yet.

    Raises:
        ValueError: Invalid task id.
    """
    folder = f"{INBOX_PREFIX}/{check_task_id(task_id)}"
    records: dict[str, dict[str, Any]] = {}
    for key in store.list(folder):
        name = key.rsplit("/", 1)[-1]
        if key != f"{folder}/{name}" or not name.endswith(".json"):
            continue  # Not a record (nested or foreign file): ignore rather than fail a wait.
        try:
            record = store.read_json(key)
        except FileNotFoundError:
            continue  # Removed between listing and reading (manual clean-up): not there.
        if isinstance(record, dict):
            records[name.removesuffix(".json")] = record
    return records


def terminal_record(store: AssetStore, task_id: str) -> dict[str, Any] | None:
    """The terminal record of ``task_id`` (``complete``, else ``error``), or None.

    Checks the two keys directly rather than listing the folder: cheaper on S3, and a wait task
    calls this on every poll.

    Raises:
        ValueError: Invalid task id.
    """
    for phase in TERMINAL_PHASES:
        key = inbox_key(task_id, phase)
        if store.exists(key):
            try:
                record = store.read_json(key)
            except FileNotFoundError:
                continue
            if isinstance(record, dict):
                return record
    return None


def write_record(
    store: AssetStore,
    task_id: str,
    family: str,
    phase: str,
    body: Any,
    *,
    received_at: datetime | None = None,
) -> tuple[bool, dict[str, Any]]:
    """Store one callback unless that (task, phase) is already in the inbox.

    Blocking (store I/O): call it from a worker thread in async code. The record is written with
    the store's exclusive create, so of concurrent duplicates (threads, processes, machines)
    exactly one is written and the first writer's ``received_at`` stands.

    Args:
        store: Destination store.
        task_id: Gateway task id.
        family: Route family (``suno``, ``dashscope``, ``kling``, ``videos``).
        phase: Callback phase.
        body: The decoded JSON body as received.
        received_at: Arrival time; now (UTC) when omitted.

    Returns:
        ``(written, record)``: ``written`` is False for a duplicate, and ``record`` is then the
        one built for this delivery (not re-read from the store).

    Raises:
        ValueError: Invalid task id, phase or family.
    """
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {', '.join(FAMILIES)}")
    key = inbox_key(task_id, phase)
    record = {
        "task_id": task_id,
        "family": family,
        "phase": phase,
        "received_at": (received_at or datetime.now(UTC)).isoformat(),
        "body": body,
    }
    return store.create_json(key, record), record


def callback_url(family: str) -> str:
    """The ``callBackUrl``/``callback_url`` to send the gateway for ``family``.

    ``{ANYINT_CALLBACK_URL}/callbacks/{ANYINT_CALLBACK_TOKEN}/{family}`` when both are set,
    else :data:`PLACEHOLDER_CALLBACK_URL` (``https://callbacks.invalid/anyint``), which never
    resolves: the caller then relies on polling alone.

    The result contains the secret token: pass it to the gateway, never to a log, a Prefect
    parameter, a manifest or a cache key.

    Raises:
        ValueError: Unknown family, ``ANYINT_CALLBACK_URL`` set without
            ``ANYINT_CALLBACK_TOKEN``, or a malformed token (see :func:`check_token`).
    """
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {', '.join(FAMILIES)}, got {family!r}")
    env = settings()
    base = env.callback_url or ""
    token = env.callback_token.get_secret_value() if env.callback_token else ""
    if not base:
        return PLACEHOLDER_CALLBACK_URL
    if not token:
        raise ValueError(
            f"{CALLBACK_URL_ENV} is set but {CALLBACK_TOKEN_ENV} is not: the receiver needs the "
            "same secret token in the callback path"
        )
    return f"{base.rstrip('/')}/callbacks/{check_token(token)}/{family}"
