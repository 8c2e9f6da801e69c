"""anyint.secrets: every secret the process knows is scrubbed from errors and log records.

Each test makes its own canary secrets (``uuid``-based, so nothing else can contain them by
chance) and checks the places a secret would be seen: an error's ``str``, ``repr``, attributes,
notes and pickled bytes; a log line's message, arguments and traceback as a handler prints it.
"""

from __future__ import annotations

import io
import logging
import pickle
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from anyint import BadRequestError, DownloadError, TaskFailedError
from anyint.secrets import MASK, known_secrets, remember, scrub, scrub_value
from blocks import AssetStore


def _canary(kind: str = "secret") -> str:
    return f"{kind}-canary-{uuid.uuid4().hex}"


@pytest.fixture
def log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger whose records a plain handler prints into a buffer."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger(f"tests.scrubbing.{uuid.uuid4().hex[:8]}")
    logger.addHandler(handler)
    logger.propagate = False
    yield logger, buffer
    logger.removeHandler(handler)


@pytest.mark.parametrize(
    "name", ["ANYINT_API_KEY", "ANYINT_CALLBACK_TOKEN", "AWS_SECRET_ACCESS_KEY"]
)
def test_errors_scrub_the_environments_secrets(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    secret = _canary()
    monkeypatch.setenv(name, secret)
    echoed = f"rejected: headers={{'authorization': 'Bearer {secret}'}} url=/cb/{quote(secret)}"
    error = BadRequestError(echoed, status_code=400, body={"msg": echoed, "list": [secret]})
    error.add_note(f"while sending with {secret}")
    text = f"{error} {error!r} {error.message} {error.body} {error.args} {error.__notes__}"
    assert secret not in text and MASK in str(error)
    assert "rejected: headers=" in str(error), "the gateway's own text must be kept"
    assert secret.encode() not in pickle.dumps(error)


def test_a_secret_learnt_later_is_scrubbed_from_older_errors() -> None:
    secret = _canary("sk")
    error = TaskFailedError(task_id="t1", status="FAILED", error_message=f"echo {secret}")
    assert secret in error.error_message  # not known yet: nothing to scrub
    remember(secret)
    assert secret not in str(error) and secret not in repr(error)
    assert secret in known_secrets()


def test_short_and_empty_values_are_never_secrets() -> None:
    remember("", None, "abc", "  short ")
    assert scrub("abc short text") == "abc short text"


def test_scrub_value_copies_containers_and_keeps_other_values() -> None:
    secret = _canary()
    remember(secret)
    value = {"a": [secret, 3, None], secret: (f"x{secret}y",)}
    assert scrub_value(value) == {"a": [MASK, 3, None], MASK: (f"x{MASK}y",)}
    assert value["a"][0] == secret, "the original is left as it was"


def test_download_errors_scrub_their_url() -> None:
    secret = _canary("token")
    remember(secret)
    error = DownloadError("cut", url=f"https://cdn.example/a.mp3?X-Amz-Security-Token={secret}")
    assert secret not in error.url and secret.encode() not in pickle.dumps(error)


def test_log_records_are_scrubbed_before_any_handler(
    log: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, buffer = log
    secret = _canary()
    remember(secret)
    logger.warning("the gateway said %s", f"Bearer {secret}")
    logger.warning(f"inline {secret}")
    try:
        raise ValueError(f"a foreign error carrying {secret}")
    except ValueError:
        logger.exception("failed")
    printed = buffer.getvalue()
    assert secret not in printed, printed
    assert printed.count(MASK) == 3 and "ValueError: a foreign error carrying ***" in printed


def test_a_store_blocks_credentials_become_known() -> None:
    secret, token = _canary("aws-secret"), _canary("aws-token")
    store = AssetStore(
        base_url=f"memory://scrub-{uuid.uuid4().hex[:8]}",
        storage_options={"secret": secret, "client_kwargs": {"aws_session_token": token}},
    )
    assert store.root_url
    assert scrub(f"{secret} and {token}") == f"{MASK} and {MASK}"


class _Unpacking(logging.Formatter):
    """Reads the record's arguments itself, as uvicorn's access-log formatter does."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        client, path, status = record.args  # type: ignore[misc]
        return f"{client} {path} {status:d}"


def test_arguments_stay_arguments(log: tuple[logging.Logger, io.StringIO]) -> None:
    """Formatters that read ``record.args`` still get them (cleaned, numbers as numbers)."""
    logger, buffer = log
    logger.handlers[0].setFormatter(_Unpacking())
    logger.setLevel(logging.INFO)
    secret = _canary("token")
    remember(secret)
    logger.info("%s %s %d", "127.0.0.1", f"/callbacks/{secret}/suno", 200)
    assert buffer.getvalue() == f"127.0.0.1 /callbacks/{MASK}/suno 200\n"
