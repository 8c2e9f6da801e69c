"""The callback inbox: one JSON record per (task id, phase) on the :class:`~blocks.AssetStore`.

It is storage, not web: the receiver (:mod:`callbacks.app`) writes
``inbox/<segment>/<phase>.json``; wait tasks are woken by :mod:`blocks.inbox_watch` (one
watcher per store and process, reading :func:`terminal_record`) and stop polling early once a
terminal record lands; :func:`read_inbox` gives every phase. ``<segment>`` is
:func:`blocks.ids.id_segment` of the task id: the id itself for every id the gateway hands out
today, an encoded or hashed form for any other, so any id is safe. A record is::

    {"task_id": "...", "family": "suno", "phase": "complete",
     "received_at": "2025-01-01T00:00:00.000000+00:00", "body": {...as received...}}

Delivery is at-least-once (contract §11.7, §13.3), so a record is written once and never
rewritten: the first delivery of a (task, phase) wins and later copies are acknowledged as
duplicates.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Literal, TypeGuard, get_args

from anyint.config import settings
from anyint.types.suno_requests import PLACEHOLDER_CALLBACK_URL

from .ids import MAX_TASK_ID_BYTES, id_segment
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
    """Check a task id found in a callback body: any string is data, within a sane length.

    What the id may contain is no concern here: :func:`inbox_key` makes any id a safe key.

    Args:
        task_id: The id as found in a callback body (a string; a non-bool int is accepted and
            converted, as some providers send numeric ids).

    Returns:
        The id as a string.

    Raises:
        ValueError: Not a string (or integer), empty, not valid Unicode (a lone surrogate, which
            JSON allows: no URL or UTF-8 answer can carry such an id), or over 4096 bytes.
    """
    task_id = _as_text(task_id)
    try:
        size = len(task_id.encode("utf-8"))
    except UnicodeEncodeError:
        raise ValueError("task id must be valid Unicode text (it has a lone surrogate)") from None
    if size > MAX_TASK_ID_BYTES:
        raise ValueError(f"task id must be at most {MAX_TASK_ID_BYTES} bytes of UTF-8")
    return task_id


def _as_text(task_id: object) -> str:
    if isinstance(task_id, int) and not isinstance(task_id, bool):
        task_id = str(task_id)
    if not isinstance(task_id, str) or not task_id:
        raise ValueError("task id must be a non-empty string (or an integer)")
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
    """The store key of one inbox record: ``inbox/<segment>/<phase>.json``.

    ``<segment>`` is :func:`blocks.ids.id_segment` of the id: the id itself when it is safe as a
    path segment, else its reversible or hashed form (never ``/``, ``..`` or anything that leaves
    the store). Any id has a key: a wait never fails on the id the gateway chose.

    Raises:
        ValueError: Empty task id, or an invalid phase (see :func:`check_phase`).
    """
    segment = id_segment(_as_text(task_id))
    return check_key(f"{INBOX_PREFIX}/{segment}/{check_phase(phase)}.json")


def read_inbox(store: AssetStore, task_id: str) -> dict[str, dict[str, Any]]:
    """All records received for ``task_id``, by phase.

    Args:
        store: The store the receiver writes to.
        task_id: Gateway task id (any non-empty string).

    Returns:
        ``{phase: record}``; empty when nothing arrived yet.

    Raises:
        ValueError: Empty task id.
    """
    task_id = _as_text(task_id)
    folder = f"{INBOX_PREFIX}/{id_segment(task_id)}"
    records: dict[str, dict[str, Any]] = {}
    for key in store.list(folder):
        name = key.rsplit("/", 1)[-1]
        if key != f"{folder}/{name}" or not name.endswith(".json"):
            continue  # Not a record (nested or foreign file): ignore rather than fail a wait.
        try:
            record = store.read_json(key)
        except FileNotFoundError:
            continue  # Removed between listing and reading (manual clean-up): not there.
        if _is_record_of(record, task_id):
            records[name.removesuffix(".json")] = record
    return records


def _is_record_of(record: Any, task_id: str) -> TypeGuard[dict[str, Any]]:
    """A record of ``task_id``: a hashed folder name stands for its id only with the record's
    ``task_id`` to confirm it (a record without one, from before, is taken as it is)."""
    return isinstance(record, dict) and record.get("task_id", task_id) == task_id


def terminal_record(store: AssetStore, task_id: str) -> dict[str, Any] | None:
    """The terminal record of ``task_id`` (``complete``, else ``error``), or None.

    Checks the two keys directly rather than listing the folder: cheaper on S3. The inbox
    watcher calls it once per registered wait and once per change it sees, never per tick.

    Raises:
        ValueError: Empty task id.
    """
    task_id = _as_text(task_id)
    for phase in TERMINAL_PHASES:
        key = inbox_key(task_id, phase)
        if store.exists(key):
            try:
                record = store.read_json(key)
            except FileNotFoundError:
                continue
            if _is_record_of(record, task_id):
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
        task_id: Gateway task id (any non-empty string: it is kept in the record, whatever form
            its key takes).
        family: Route family (``suno``, ``dashscope``, ``kling``, ``videos``).
        phase: Callback phase.
        body: The decoded JSON body as received.
        received_at: Arrival time; now (UTC) when omitted.

    Returns:
        ``(written, record)``: ``written`` is False for a duplicate, and ``record`` is then the
        one built for this delivery (not re-read from the store).

    Raises:
        ValueError: Empty task id, invalid phase or unknown family.
    """
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {', '.join(FAMILIES)}")
    task_id = _as_text(task_id)
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
