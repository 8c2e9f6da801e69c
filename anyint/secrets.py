"""The secrets this process knows, and the one place that scrubs them out of text.

A gateway (or a proxy in front of it) may answer an error with a message that repeats the
request back: its ``Authorization`` header, its body with the callback URL and its token. That
text ends up in exception messages, Prefect state messages, logs and the journal. Rather than
cleaning each call site, two places scrub every secret the process knows:

- the error tree (:class:`anyint.AnyIntError` scrubs its arguments, attributes, notes and
  ``str``), so whatever Prefect or the journal keeps of an error is clean; and
- :func:`install_log_scrubbing`, a log-record factory that scrubs each record's message and
  traceback when the record is made, before any handler (console, Prefect's API log handler,
  a file) sees it.

The secrets are the API key, the callback token and AWS credentials: whatever the environment
holds under :data:`ENV_SECRETS` (read at each scrub, so a changed environment is honoured) plus
what the code learns at run time through :func:`remember` (a key passed to a client, a token
passed to the receiver, credentials in a store block). AWS access key *ids* are identifiers,
not secrets (AWS documents them as such, and presigned URLs must carry them), so they are kept.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import quote

from pydantic import SecretStr

__all__ = [
    "CREDENTIAL_OPTIONS",
    "ENV_SECRETS",
    "MASK",
    "MIN_SECRET_LENGTH",
    "credential_values",
    "install_log_scrubbing",
    "known_secrets",
    "remember",
    "scrub",
    "scrub_record",
    "scrub_value",
]

#: What a secret is replaced by.
MASK = "***"
#: Shorter values are never treated as secrets: masking a 3-letter value would mangle unrelated
#: text, and no real key or token is that short.
MIN_SECRET_LENGTH = 8
#: Environment variables whose values are secrets wherever they appear.
ENV_SECRETS = (
    "ANYINT_API_KEY",
    "ANYINT_CALLBACK_TOKEN",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
)

#: Option names whose values are credentials (fsspec/s3fs storage options, botocore kwargs).
CREDENTIAL_OPTIONS = frozenset(
    {
        "api_key",
        "aws_secret_access_key",
        "aws_session_token",
        "password",
        "secret",
        "session_token",
        "token",
    }
)

_remembered: set[str] = set()
_lock = threading.Lock()


def remember(*secrets: str | SecretStr | None) -> None:
    """Add secrets learnt at run time (a key, a token, credentials) to those scrubbed.

    Args:
        *secrets: Values to scrub from now on; None, empty and short values are ignored.
    """
    values = {s.get_secret_value() if isinstance(s, SecretStr) else s for s in secrets}
    fresh = {v for v in values if isinstance(v, str) and len(v.strip()) >= MIN_SECRET_LENGTH}
    if fresh - _remembered:
        with _lock:
            _remembered.update(fresh)


def credential_values(options: Mapping[str, Any]) -> list[str]:
    """The values of :data:`CREDENTIAL_OPTIONS` keys in ``options``, at any depth (e.g. an S3
    store's ``secret`` and ``client_kwargs.aws_session_token``)."""
    found: list[str] = []
    for name, value in options.items():
        if isinstance(value, Mapping):
            found += credential_values(value)
        elif name in CREDENTIAL_OPTIONS and isinstance(value, str):
            found.append(value)
    return found


def known_secrets() -> frozenset[str]:
    """Every secret this process knows now: the environment's and the remembered ones."""
    from_env = (os.environ.get(name, "").strip() for name in ENV_SECRETS)
    return frozenset(_remembered).union(v for v in from_env if len(v) >= MIN_SECRET_LENGTH)


def scrub(text: str, extra: Iterable[str] = ()) -> str:
    """``text`` with every known secret (and each of ``extra``) replaced by :data:`MASK`.

    The URL-encoded form of a secret is masked too (a token inside a query string or an echoed
    URL). Longer secrets go first, so one that contains another is masked whole.

    Args:
        text: Text that may have come from the gateway.
        extra: Further secrets for this call only (e.g. a callback URL from the request body).

    Returns:
        The clean text.
    """
    secrets = known_secrets().union(s for s in extra if len(s) >= MIN_SECRET_LENGTH)
    for secret in sorted(secrets, key=len, reverse=True):
        for form in {secret, quote(secret, safe="")}:
            if form in text:
                text = text.replace(form, MASK)
    return text


def scrub_value(value: Any) -> Any:
    """``value`` with secrets scrubbed from every string in it (dicts, lists and tuples are
    copied; other values are returned as they are)."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {scrub_value(k): scrub_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(scrub_value(v) for v in value)
    return value


# -- logging --------------------------------------------------------------------------------------

_installed = False


def scrub_record(record: logging.LogRecord, clean: Callable[[str], str] = scrub) -> None:
    """Clean a log record in place: its message template, each of its arguments and its
    traceback text.

    Arguments are cleaned one by one rather than merged into the message, because formatters
    read them (uvicorn's access log unpacks its five arguments); numbers stay numbers, since a
    ``%d`` needs one and no number holds a secret. A non-text argument (an ``httpx.URL``) that
    holds a secret is replaced by its cleaned text.

    Args:
        record: The record, changed in place.
        clean: The text cleaner; :func:`scrub` by default.
    """
    if isinstance(record.msg, str):
        record.msg = clean(record.msg)
    if isinstance(record.args, tuple):
        record.args = tuple(_clean_arg(a, clean) for a in record.args)
    elif isinstance(record.args, Mapping):
        record.args = {k: _clean_arg(v, clean) for k, v in record.args.items()}
    if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
        text = logging.Formatter().formatException(record.exc_info)
        cleaned = clean(text)
        if cleaned != text:
            # Formatters use ``exc_text`` when it is set instead of formatting the traceback.
            record.exc_text = cleaned


def _clean_arg(arg: object, clean: Callable[[str], str]) -> object:
    if isinstance(arg, int | float | bool) or arg is None:
        return arg
    text = str(arg)
    cleaned = clean(text)
    return arg if cleaned == text else cleaned


def install_log_scrubbing() -> None:
    """Scrub secrets from every log record this process makes, whichever logger or handler.

    A record factory rather than a filter: filters sit on one logger or handler, and Prefect
    (re)configures its handlers from ``logging.yml``; the factory sees every record as it is
    made. The previous factory is kept and called first. Idempotent.
    """
    global _installed
    with _lock:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            if known_secrets():
                scrub_record(record)
            return record

        logging.setLogRecordFactory(factory)
        _installed = True
