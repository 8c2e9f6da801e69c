"""Gateway ids as data: the one way an id becomes a store key segment, a log label or markdown.

A task id is whatever the gateway answered; it is never refused once the work is done. Where it
becomes part of a store key (``inbox/<segment>/...``, ``assets/<family>/<segment>/...``),
:func:`id_segment` maps it to one safe path segment:

- an id that is already safe (1-200 of ``A-Z a-z 0-9 . _ : -``, starting with a letter or
  digit, no ``..``: every id the gateway hands out today) is the segment as it is, so stores
  written before keep their keys;
- any other id is ``_b32_`` + its UTF-8 bytes in lower-case base32 without padding: reversible
  (:func:`segment_id`), and two ids never share a segment even on a case-insensitive
  filesystem;
- an id whose base32 form would pass :data:`MAX_SEGMENT` characters is ``_sha256_`` + the hex
  digest of its bytes. That is not reversible: every record keyed by it also stores the id.

The markers start with ``_``, which no safe id does, so the three forms never collide. A segment
is never empty, ``.`` or ``..``, and holds no ``/``, ``\\``, NUL, glob or URL-special character.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re

__all__ = [
    "MAX_SEGMENT",
    "MAX_TASK_ID_BYTES",
    "id_bytes",
    "id_label",
    "id_segment",
    "markdown_code",
    "segment_id",
]

#: Longest segment :func:`id_segment` makes: far below the 255 bytes of a path component, which
#: leaves room for the suffixes a store adds (``.json``, ``.partial-<host>.<pid>.<uuid>``).
MAX_SEGMENT = 200
#: Longest task id (UTF-8 bytes) the callback receiver accepts from a stranger: ids are data,
#: but a 1 MiB "id" is an attack on the store, not a task. Wait tasks take ids of any length.
MAX_TASK_ID_BYTES = 4096
#: Ids that are their own segment (the inbox's whitelist before ids were encoded).
_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,199}")
_B32 = "_b32_"
_DIGEST = "_sha256_"
# Base32 of n bytes is ceil(8n/5) characters: the largest n whose segment fits.
_MAX_B32_BYTES = (MAX_SEGMENT - len(_B32)) * 5 // 8
_LABEL_CHARS = 80


def _is_safe(task_id: str) -> bool:
    return bool(_SAFE.fullmatch(task_id)) and ".." not in task_id


def id_bytes(task_id: str) -> bytes:
    """The bytes an id stands for: UTF-8, with lone surrogates (valid in JSON) kept as they are.

    Raises:
        ValueError: ``task_id`` is not a non-empty string.
    """
    if not isinstance(task_id, str) or not task_id:
        raise ValueError(f"task id must be a non-empty string, got {type(task_id).__name__}")
    return task_id.encode("utf-8", "surrogatepass")


def id_segment(task_id: str) -> str:
    """The store key segment of ``task_id`` (see the module docstring): safe, and stable.

    Args:
        task_id: Any non-empty string the gateway gave as an id.

    Returns:
        The id itself when it is safe, else its ``_b32_`` or ``_sha256_`` form.

    Raises:
        ValueError: ``task_id`` is not a non-empty string.
    """
    data = id_bytes(task_id)
    if _is_safe(task_id):
        return task_id
    if len(data) <= _MAX_B32_BYTES:
        return _B32 + base64.b32encode(data).decode("ascii").rstrip("=").lower()
    return _DIGEST + hashlib.sha256(data).hexdigest()


def segment_id(segment: str) -> str | None:
    """The task id a segment of :func:`id_segment` stands for.

    Args:
        segment: One key segment, as found when listing the store.

    Returns:
        The id; None for a digest segment (the id is then in the records stored under it).

    Raises:
        ValueError: ``segment`` is not one :func:`id_segment` makes.
    """
    if _is_safe(segment):
        return segment
    if segment.startswith(_DIGEST) and re.fullmatch(r"[0-9a-f]{64}", segment[len(_DIGEST) :]):
        return None
    if segment.startswith(_B32):
        text = segment[len(_B32) :]
        try:
            data = base64.b32decode(text.upper() + "=" * (-len(text) % 8))
            task_id = data.decode("utf-8", "surrogatepass")
        except (binascii.Error, ValueError):
            task_id = ""
        # Only the canonical spelling decodes: one id, one segment.
        if task_id and id_segment(task_id) == segment:
            return task_id
    raise ValueError(f"{segment[:_LABEL_CHARS]!r} is not a task id segment of the store")


def id_label(task_id: object) -> str:
    """``task_id`` for a log line or an error message: a safe id as it is, any other quoted and
    cut to 80 characters, so an id can neither forge log lines nor flood them."""
    if isinstance(task_id, str) and _is_safe(task_id):
        return task_id
    text = ascii(task_id)
    if len(text) <= _LABEL_CHARS:
        return text
    return f"{text[: _LABEL_CHARS - 3]}...({len(str(task_id))} chars)"


def markdown_code(text: object, *, table: bool = False) -> str:
    """``text`` as a markdown code span that an id cannot break out of.

    Line breaks and other control characters become spaces (a table row is one line), and the
    span's fence is one backtick longer than the longest run of backticks inside, so an id cannot
    end the span early.

    Args:
        text: The id (or any value) to show.
        table: The span is in a table cell: ``|`` is escaped as ``\\|``, since GitHub-flavoured
            tables split cells on it even inside code (and show the escaped one as ``|``).
    """
    value = "".join(_shown(c) for c in str(text))
    if table:
        value = value.replace("|", "\\|")
    runs = [len(r) for r in re.findall(r"`+", value)]
    fence = "`" * (max(runs, default=0) + 1)
    # CommonMark strips one space from each end of a span that has one at both ends (and is not
    # all spaces): a pad of one space keeps a backtick off the fence, and such spaces in the id.
    edges = value.startswith("`") or value.endswith("`")
    pad = " " if edges or (value[:1] == value[-1:] == " " and value.strip()) else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def _shown(char: str) -> str:
    code = ord(char)
    if code < 32 or 127 <= code < 160:
        return " "
    return "\ufffd" if 0xD800 <= code <= 0xDFFF else char  # a lone surrogate has no UTF-8
