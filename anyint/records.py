"""What may be stored or logged of a request: canonical JSON, digests, and secret-free copies.

Public because every layer above the client keeps requests (journals, manifests) by these rules.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from .secrets import scrub

__all__ = [
    "CALLBACK_FIELDS",
    "SECRET_FIELDS",
    "canonical_json",
    "mask",
    "redact",
    "request_digest",
    "storable",
]

#: Body fields that name where results are delivered, not what is asked for. They are left out of
#: request digests so the same request sent with a different callback URL is the same request.
CALLBACK_FIELDS = frozenset({"callBackUrl", "callback_url", "callbackUrl", "call_back_url"})

#: Field names that may hold credentials and are removed from anything we store or log.
SECRET_FIELDS = frozenset(
    {"api_key", "apiKey", "x-api-key", "authorization", "Authorization", "token", "secret"}
)


def _strip(value: Any, drop: frozenset[str]) -> Any:
    if isinstance(value, Mapping):
        return {k: _strip(v, drop) for k, v in value.items() if k not in drop}
    if isinstance(value, list | tuple):
        return [_strip(v, drop) for v in value]
    return value


def canonical_json(value: Any, *, exclude: Iterable[str] = CALLBACK_FIELDS) -> str:
    """Serialize ``value`` deterministically (sorted keys, no spaces), dropping ``exclude`` keys.

    Args:
        value: JSON-compatible data.
        exclude: Keys removed at every depth.

    Returns:
        The canonical JSON text.
    """
    return json.dumps(
        _strip(value, frozenset(exclude)), sort_keys=True, separators=(",", ":"), default=str
    )


def request_digest(method: str, path: str, body: Any = None) -> str:
    """sha256 of a request's method, path and canonical body (callback URLs excluded).

    Two requests with the same digest ask the gateway for the same work.

    Args:
        method: HTTP method.
        path: Gateway path, without host or query.
        body: JSON body, if any.

    Returns:
        Hex digest.
    """
    text = f"{method.upper()} {path}\n{canonical_json(body)}"
    return hashlib.sha256(text.encode()).hexdigest()


def redact(value: Any) -> Any:
    """Return a copy of ``value`` without credential-bearing keys, at every depth."""
    return _strip(value, SECRET_FIELDS)


def _values(value: Any, keys: frozenset[str]) -> list[str]:
    if isinstance(value, Mapping):
        found = [v for k, v in value.items() if k in keys and isinstance(v, str)]
        return found + [s for v in value.values() for s in _values(v, keys)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _values(v, keys)]
    return []


def mask(text: str, body: Any = None, *, also: Iterable[str] = ()) -> str:
    """Replace the callback URLs and credentials found in ``body`` (and ``also``), and every
    secret the process knows, by ``***``.

    For text that came back from the gateway (an error message may echo the request) and is
    about to be kept on an error that gets logged and pickled.

    Args:
        text: The text to clean.
        body: The JSON request body whose callback and credential fields must not leak.
        also: Further secrets, such as the API key.

    Returns:
        ``text`` with every such value masked.
    """
    return scrub(text, extra=[*_values(body, CALLBACK_FIELDS | SECRET_FIELDS), *also])


#: Strings longer than this (inline media) are stored as their length and digest.
MAX_STORED_STRING = 2048


def _compact(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _compact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_compact(v) for v in value]
    if isinstance(value, str) and len(value) > MAX_STORED_STRING:
        return f"<{len(value)} chars, sha256 {hashlib.sha256(value.encode()).hexdigest()}>"
    return value


def storable(body: Any) -> Any:
    """A request fit to keep in manifests and journals.

    No credentials, no callback URLs (they carry the receiver's token), and long strings such as
    inline base64 media replaced by their length and sha256.
    """
    return _compact(_strip(body, SECRET_FIELDS | CALLBACK_FIELDS))
