"""Task ids as store keys: any id has a key, inside the store, one per id, and back again.

Property-style over a fixed corpus of awkward ids plus seeded random strings (``hypothesis`` is
not a dev dependency): every id must give a segment that is one safe path component, and distinct
ids distinct segments (also when the filesystem ignores case).
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from blocks import AssetStore
from blocks.ids import MAX_SEGMENT, id_label, id_segment, markdown_code, segment_id
from blocks.inbox import inbox_key, read_inbox, terminal_record, write_record
from blocks.store import check_key

#: Ids the gateway hands out today (hex, UUID, Kling digits, ``video_...``): kept as they are,
#: so stores written before encoding stay readable.
REAL_IDS = [
    "5c79be8e",
    "0b6a4f3e-2d1c-4b8a-9e7f-6a5b4c3d2e1f",
    "867283741759111202",
    "video_68d7512d07848190b3e45da0ecbebcde004da08e1e0678d5",
    "video_1.a:b-c",
    "A" * 200,
]
AWKWARD = [
    "/",
    "..",
    ".",
    "../x",
    "a/../../b",
    "a..b",
    "..\\..\\x",
    "\x00",
    "a\x00b",
    "~",
    "~root",
    "C:",
    "s3://bucket/key",
    "a b",
    "a+b=c",
    " leading",
    "trailing ",
    "\n",
    "t\r\nx",
    "%2F",
    "%2e%2e",
    "*?[a]",
    "é",
    "Ä",
    "日本語のタスク",
    "\U0001f600",
    "\ud800",  # a lone surrogate: valid in JSON, not in UTF-8
    "_b32_mfrgg",  # what an encoded segment looks like
    "_sha256_" + "0" * 64,
    "ABC",
    "abc ",
    "abc",
    "x" * 201,
    "y" * 121 + "!",  # the longest id still given a reversible segment
    "y" * 122 + "!",  # and the shortest one hashed
    "z" * 10_000,  # 10 KB
    "é" * 5_000,
]


def _random_ids(count: int, seed: int = 14) -> list[str]:
    rng = random.Random(seed)
    alphabet = "aZ09._:-/\\ +=%~\x00\n\t`|é日\U0001f600\ud800"
    ids = []
    for _ in range(count):
        size = rng.choice([1, 2, 5, 30, 120, 121, 122, 200, 300])
        ids.append("".join(rng.choice(alphabet) for _ in range(size)))
    return ids


CORPUS = list(dict.fromkeys(REAL_IDS + AWKWARD + _random_ids(400)))
_SEGMENT = re.compile(r"[A-Za-z0-9._:-]+")


@pytest.mark.parametrize("task_id", REAL_IDS)
def test_ids_already_safe_keep_their_key(task_id: str) -> None:
    assert id_segment(task_id) == task_id
    assert inbox_key(task_id, "complete") == f"inbox/{task_id}/complete.json"
    assert segment_id(task_id) == task_id


def test_every_segment_is_one_safe_component() -> None:
    for task_id in CORPUS:
        segment = id_segment(task_id)
        assert _SEGMENT.fullmatch(segment), (task_id, segment)
        assert 1 <= len(segment.encode()) <= MAX_SEGMENT < 255, (task_id, segment)
        assert segment not in (".", "..") and ".." not in segment, (task_id, segment)
        # Inside the store: the key is kept as it is, one folder below the prefix.
        key = f"inbox/{segment}/complete.json"
        assert check_key(key) == key and key.count("/") == 2, (task_id, key)


def test_distinct_ids_get_distinct_segments_even_ignoring_case() -> None:
    seen: dict[str, str] = {}
    for task_id in CORPUS:
        segment = id_segment(task_id)
        # Ids kept as they are keep their case (the gateway's ids are case-sensitive); every
        # segment made from an id must stay apart from all others when case is ignored.
        folded = segment if segment == task_id else segment.lower()
        assert folded == segment, (task_id, segment)  # made segments are lower case
        assert seen.setdefault(folded, task_id) == task_id, (task_id, seen[folded], segment)
        assert segment == id_segment(task_id)  # stable: the same id, the same key, every time


def test_round_trip() -> None:
    hashed = 0
    for task_id in CORPUS:
        segment = id_segment(task_id)
        decoded = segment_id(segment)
        if decoded is None:
            hashed += 1
            size = len(task_id.encode(errors="surrogatepass"))
            assert segment.startswith("_sha256_") and size > 121, task_id
        else:
            assert decoded == task_id, (task_id, segment)
    assert 0 < hashed < len(CORPUS)


@pytest.mark.parametrize(
    "segment",
    ["", "..", "_b32_", "_b32_MFRGG", "_b32_mfrgg=", "_b32_!", "_b32_a", "_sha256_00", "a b"],
)
def test_foreign_segments_do_not_decode(segment: str) -> None:
    with pytest.raises(ValueError, match="not a task id segment"):
        segment_id(segment)


@pytest.mark.parametrize("task_id", ["", None, 5])
def test_no_id_is_no_key(task_id: object) -> None:
    with pytest.raises(ValueError, match="non-empty string"):
        id_segment(task_id)  # type: ignore[arg-type]


def _holds(store: AssetStore, task_id: str) -> None:
    assert read_inbox(store, task_id) == {} and terminal_record(store, task_id) is None
    written, record = write_record(store, task_id, "kling", "complete", {"task_status": "succeed"})
    assert written and record["task_id"] == task_id
    again, _ = write_record(store, task_id, "kling", "complete", {})
    assert not again  # a duplicate is still one record
    assert inbox_key(task_id, "complete") in store.list("inbox")
    assert terminal_record(store, task_id) == record
    assert read_inbox(store, task_id) == {"complete": record}


@pytest.mark.parametrize("task_id", ["../x", "a\x00b", "a b+c=" + "x" * 250, "日本/.."])
def test_every_backend_holds_odd_ids_in_the_inbox(store: AssetStore, task_id: str) -> None:
    _holds(store, task_id)
    assert store.list() == [inbox_key(task_id, "complete")]  # one file, under the inbox


def test_the_inbox_holds_any_id(memory_store: AssetStore) -> None:
    ids = CORPUS[:120]  # every fixed id and some random ones (the store lists them each time)
    for task_id in ids:
        _holds(memory_store, task_id)
    assert len(memory_store.list("inbox")) == len(ids)  # one record each: none shared


def test_nothing_is_written_beside_a_local_store(tmp_path: Path) -> None:
    store = AssetStore(base_url=str(tmp_path / "out"))
    for task_id in AWKWARD:
        write_record(store, task_id, "suno", "complete", {})
    outside = [p for p in tmp_path.rglob("*") if not p.is_relative_to(tmp_path / "out")]
    assert outside == []
    inbox = tmp_path / "out" / "inbox"
    assert len(list(inbox.iterdir())) == len(AWKWARD)  # one folder per id: none shared


def test_a_hashed_folder_is_confirmed_by_the_record(memory_store: AssetStore) -> None:
    long_id = "q" * 300 + " "
    key = inbox_key(long_id, "complete")
    # A record of another id under the same key (a forged or stale file) is not this id's.
    memory_store.put_json(key, {"task_id": "someone else", "phase": "complete"})
    assert terminal_record(memory_store, long_id) is None
    assert read_inbox(memory_store, long_id) == {}


def test_labels_are_one_short_line() -> None:
    assert id_label("5c79be8e") == "5c79be8e"
    for task_id in CORPUS:
        label = id_label(task_id)
        # A safe id (at most 200 characters) is shown whole; any other is cut to about 80.
        limit = 200 if label == task_id else 100
        assert label.isascii() and label.isprintable() and len(label) <= limit, label
    assert id_label("a\nWARNING forged") == "'a\\nWARNING forged'"


_MD = MarkdownIt("commonmark").enable("table")


def _cells(row: str) -> list[list[tuple[str, str]]]:
    """The body cells of a one-row table, each as (token type, content) of its inline parts."""
    tokens = _MD.parse(f"| step | task | note |\n|---|---|---|\n{row}\n")
    body = tokens[[t.type for t in tokens].index("tbody_open") :]
    return [
        [(c.type, c.content) for c in t.children or [] if c.type != "softbreak"]
        for t in body
        if t.type == "inline"
    ]


@pytest.mark.parametrize("task_id", [*CORPUS[:80], "`", "``a``", "a|b", "a\\|b", " ` ", "  "])
def test_markdown_cannot_break_out_of_a_table_cell(task_id: str) -> None:
    cells = _cells(f"| song | {markdown_code(task_id, table=True)} | new |")
    assert len(cells) == 3, cells
    shown = "".join(" " if ord(c) < 32 or 127 <= ord(c) < 160 else c for c in task_id)
    shown = re.sub("[\ud800-\udfff]", "\ufffd", shown)
    assert cells[0] == [("text", "song")] and cells[2] == [("text", "new")], cells
    assert cells[1] == [("code_inline", shown)], (task_id, cells[1])


def test_markdown_of_a_plain_id_is_plain() -> None:
    assert markdown_code("5c79be8e") == "`5c79be8e`"
    assert markdown_code("a|b") == "`a|b`"  # outside a table nothing needs escaping
