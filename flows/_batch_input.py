"""The items of a ``batch`` run: a list of prompts, or a JSONL or CSV file in the asset store.

- JSONL: one JSON object a line, ``{"prompt": "..."}`` plus optional per-item fields; blank
  lines are skipped.
- CSV: a header row with a ``prompt`` column, plus optional per-item columns; an empty cell is
  an absent field.

Per-item fields (:class:`BatchItem`): ``id`` (a label of the item, shown in the summary),
``size``, ``negative_prompt`` and ``seed``, which replace the flow's values for that item. A
file that does not parse, an unknown field or a bad value fails the run before any paid call,
naming the file, the line and the field (or the column).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from anyint.types import check_texts
from blocks import AssetStore

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_ITEMS",
    "PROMPT_MAX",
    "BatchItem",
    "items_from_file",
    "items_from_list",
]

#: Most items one run takes (a bigger job is several runs; the summary stays readable).
MAX_ITEMS = 1000
#: Largest prompts file read (1,000 prompts of 2,000 characters, and their fields, fit).
MAX_FILE_BYTES = 4 * 1024 * 1024
PROMPT_MAX = 2000

_SIZE = r"^[1-9][0-9]{0,4}[*:][1-9][0-9]{0,4}$"


class BatchItem(BaseModel):
    """One prompt of a batch and the fields it sets for itself.

    Attributes:
        prompt: What the image shows.
        id: A label of the item (shown in the summary and the result); None for none.
        size: Replaces the flow's ``size`` for this item.
        negative_prompt: Replaces the flow's ``negative_prompt`` for this item.
        seed: Random seed of this item (dashscope only).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    prompt: Annotated[str, Field(min_length=1, max_length=PROMPT_MAX)]
    id: Annotated[str | None, Field(min_length=1, max_length=200)] = None
    size: Annotated[str | None, Field(pattern=_SIZE)] = None
    negative_prompt: Annotated[str | None, Field(min_length=1, max_length=500)] = None
    seed: Annotated[int | None, Field(ge=0, le=2147483647)] = None

    @field_validator("*", mode="after")
    @classmethod
    def _plain_text(cls, value: Any) -> Any:
        # The rule of every flow's text parameters: no control characters.
        return check_texts(value)

    @field_validator("prompt", mode="after")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value


def _problems(exc: ValidationError, noun: str) -> str:
    """``field 'seed': Input should be ...`` for each error of one item."""
    parts = []
    for error in exc.errors():
        loc = ".".join(str(p) for p in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = f"unknown field; an item takes {', '.join(BatchItem.model_fields)}"
        parts.append(f"{noun} {loc!r}: {message}" if loc else message)
    return "; ".join(parts)


def _checked_count(count: int, where: str) -> None:
    if count == 0:
        raise ValueError(f"{where}: no prompts; give at least one")
    if count > MAX_ITEMS:
        raise ValueError(
            f"{where}: {count} prompts is more than one run takes ({MAX_ITEMS}); split them"
        )


def items_from_list(prompts: list[str]) -> list[tuple[str, BatchItem]]:
    """The items of the ``prompts`` parameter, each with where it came from (``prompts[2]``).

    Raises:
        ValueError: Naming ``prompts`` and the bad entry.
    """
    _checked_count(len(prompts), "parameter 'prompts'")
    items = []
    for i, prompt in enumerate(prompts):
        where = f"parameter 'prompts' item {i}"
        try:
            items.append((where, BatchItem(prompt=prompt)))
        except ValidationError as exc:
            raise ValueError(f"{where}: {_problems(exc, 'field')}") from None
    return items


def items_from_file(store: AssetStore, key: str) -> list[tuple[str, BatchItem]]:
    """The items of a ``.jsonl`` or ``.csv`` file in ``store``, each with its line.

    Raises:
        ValueError: Naming ``prompts_file``, the file, and the line (and field or column) that
            is wrong; a file that is missing, too big or not UTF-8.
    """
    name = f"parameter 'prompts_file': {key}"
    if not store.exists(key):
        raise ValueError(
            f"{name} is not in the store {store.root_url}; put the file there (a store key, "
            "relative to the store's root) or pass the prompts as 'prompts'"
        )
    with store.open(key) as handle:
        data: bytes = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise ValueError(f"{name}: larger than {MAX_FILE_BYTES // 2**20} MiB; split the batch")
    try:
        text = data.decode("utf-8-sig")  # a spreadsheet's CSV may start with a BOM
    except UnicodeDecodeError as exc:
        raise ValueError(f"{name}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    rows = _jsonl_rows(text, name) if key.endswith(".jsonl") else _csv_rows(text, name)
    items = []
    for where, row in rows:
        try:
            items.append((where, BatchItem.model_validate(row)))
        except ValidationError as exc:
            noun = "field" if key.endswith(".jsonl") else "column"
            raise ValueError(f"{where}: {_problems(exc, noun)}") from None
        if len(items) > MAX_ITEMS:
            break
    _checked_count(len(items), name)
    return items


def _jsonl_rows(text: str, name: str) -> Iterator[tuple[str, Any]]:
    """``(where, object)`` of each non-blank line."""
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{name} line {number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{where}, column {exc.colno}: not JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise ValueError(f'{where}: expected an object like {{"prompt": "..."}}')
        yield where, row


def _csv_rows(text: str, name: str) -> Iterator[tuple[str, dict[str, str]]]:
    """``(where, row)`` of each data row: empty cells left out."""
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    start = 1  # the line a row starts on (a quoted cell may span lines)
    try:
        columns = reader.fieldnames or []
        if "prompt" not in columns:
            found = ", ".join(repr(c) for c in columns) or "none"
            raise ValueError(
                f"{name} line 1: the header has no 'prompt' column (columns: {found}); the "
                "first row names the columns, one of them 'prompt'"
            )
        while True:
            start = reader.line_num + 1
            row = next(reader, None)
            if row is None:
                return
            where = f"{name} line {start}"
            if None in row:  # DictReader files extra cells under the key None
                raise ValueError(f"{where}: more cells than the header has columns")
            yield where, {k: v for k, v in row.items() if v not in (None, "")}
    except csv.Error as exc:
        raise ValueError(f"{name} line {start}: not CSV ({exc})") from None
