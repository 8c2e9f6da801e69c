"""The inbox API: keys, records written once, reads for wait tasks, and callback URLs."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from blocks import AssetStore
from blocks.inbox import check_task_id
from callbacks import (
    PLACEHOLDER_CALLBACK_URL,
    callback_url,
    inbox_key,
    read_inbox,
    terminal_record,
    write_record,
)
from tests.blocks._race import race_in_processes
from tests.blocks.test_store import PROCESSES, ROUNDS

from .conftest import TOKEN


def test_inbox_key() -> None:
    assert inbox_key("5c79be8e", "complete") == "inbox/5c79be8e/complete.json"
    assert inbox_key("video_1.a:b-c", "in_progress") == "inbox/video_1.a:b-c/in_progress.json"
    assert check_task_id(867283741759111202) == "867283741759111202"


# Any other id is data, made a safe key (tests/blocks/test_ids.py, tests/callbacks/test_odd_ids.py).
@pytest.mark.parametrize("task_id", ["", None, True, 1.5])
def test_invalid_task_ids(task_id: object) -> None:
    with pytest.raises(ValueError, match="task id"):
        inbox_key(task_id, "complete")  # type: ignore[arg-type]


@pytest.mark.parametrize("phase", ["", "Complete", "a/b", "..", "x" * 33, "in progress"])
def test_invalid_phases(phase: str) -> None:
    with pytest.raises(ValueError, match="phase"):
        inbox_key("t1", phase)


def test_write_once_then_read(memory_store: AssetStore) -> None:
    at = datetime(2025, 1, 1, tzinfo=UTC)
    written, record = write_record(memory_store, "t1", "suno", "text", {"a": 1}, received_at=at)
    assert written
    assert record == {
        "task_id": "t1",
        "family": "suno",
        "phase": "text",
        "received_at": "2025-01-01T00:00:00+00:00",
        "body": {"a": 1},
    }
    again, _ = write_record(memory_store, "t1", "suno", "text", {"a": 2})
    assert not again
    assert read_inbox(memory_store, "t1") == {"text": record}
    assert terminal_record(memory_store, "t1") is None


def test_terminal_record_prefers_complete(memory_store: AssetStore) -> None:
    write_record(memory_store, "t1", "kling", "error", {"task_status": "failed"})
    assert terminal_record(memory_store, "t1")["phase"] == "error"  # type: ignore[index]
    write_record(memory_store, "t1", "kling", "complete", {"task_status": "succeed"})
    assert terminal_record(memory_store, "t1")["phase"] == "complete"  # type: ignore[index]
    assert read_inbox(memory_store, "t1").keys() == {"complete", "error"}


def test_read_inbox_ignores_other_files(memory_store: AssetStore) -> None:
    assert read_inbox(memory_store, "t1") == {}
    write_record(memory_store, "t1", "suno", "first", {})
    memory_store.put_bytes("inbox/t1/notes.txt", b"x", "text/plain")
    memory_store.put_json("inbox/t1/nested/complete.json", {"phase": "complete"})
    memory_store.put_json("inbox/t10/complete.json", {"phase": "complete"})
    assert read_inbox(memory_store, "t1").keys() == {"first"}


def test_write_record_rejects_unknown_family(memory_store: AssetStore) -> None:
    with pytest.raises(ValueError, match="family"):
        write_record(memory_store, "t1", "midjourney", "complete", {})


def test_racing_threads_leave_one_record(memory_store: AssetStore) -> None:
    results: list[bool] = []
    start = threading.Barrier(32)

    def deliver(n: int) -> None:
        start.wait()
        results.append(write_record(memory_store, "t1", "suno", "complete", {"n": n})[0])

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 31 + [True]
    assert memory_store.list("inbox") == ["inbox/t1/complete.json"]


@pytest.mark.process
@pytest.mark.parametrize("backend", ["file", "s3"])
def test_racing_processes_leave_one_record(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Receivers in separate processes (several replicas behind a load balancer) that get the
    same callback at once write one record: the store's exclusive create decides."""
    store = (
        AssetStore(base_url=str(tmp_path / "inbox-store"))
        if backend == "file"
        else request.getfixturevalue("s3_store")
    )
    keys = [f"t{i}/complete" for i in range(ROUNDS)]
    winners = race_in_processes("write_record", store.root_url, keys, PROCESSES)
    assert {k: len(w) for k, w in winners.items()} == dict.fromkeys(keys, 1), winners
    for key, (winner,) in winners.items():
        task_id = key.partition("/")[0]
        assert read_inbox(store, task_id)["complete"]["body"] == {"writer": winner}


def test_s3_sees_records_written_by_another_process(s3_store: AssetStore) -> None:
    """A wait task must see a record the receiver (another process) writes after its last poll.

    s3fs caches listings per instance; ``skip_instance_cache`` gives the writer its own instance,
    as a separate receiver process would have.
    """
    receiver = AssetStore(base_url=s3_store.base_url, storage_options={"skip_instance_cache": True})
    write_record(receiver, "t1", "suno", "text", {})
    assert read_inbox(s3_store, "t1").keys() == {"text"}
    assert terminal_record(s3_store, "t1") is None
    write_record(receiver, "t1", "suno", "complete", {"ok": True})
    assert read_inbox(s3_store, "t1").keys() == {"text", "complete"}
    assert terminal_record(s3_store, "t1")["body"] == {"ok": True}  # type: ignore[index]
    assert not write_record(s3_store, "t1", "suno", "complete", {"ok": False})[0]


# -- callback_url ----------------------------------------------------------------------------------


def test_callback_url_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANYINT_CALLBACK_URL", "https://hooks.example.com/base/")
    monkeypatch.setenv("ANYINT_CALLBACK_TOKEN", TOKEN)
    assert callback_url("suno") == f"https://hooks.example.com/base/callbacks/{TOKEN}/suno"
    assert callback_url("kling").endswith(f"/callbacks/{TOKEN}/kling")


def test_callback_url_placeholder() -> None:
    assert callback_url("suno") == PLACEHOLDER_CALLBACK_URL == "https://callbacks.invalid/anyint"


def test_callback_url_token_without_url_is_placeholder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANYINT_CALLBACK_TOKEN", TOKEN)
    assert callback_url("dashscope") == PLACEHOLDER_CALLBACK_URL


def test_callback_url_without_token_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANYINT_CALLBACK_URL", "https://hooks.example.com")
    with pytest.raises(ValueError, match="ANYINT_CALLBACK_TOKEN"):
        callback_url("suno")


def test_callback_url_bad_token_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANYINT_CALLBACK_URL", "https://hooks.example.com")
    monkeypatch.setenv("ANYINT_CALLBACK_TOKEN", "has/slash-and-secret")
    with pytest.raises(ValueError, match="URL-safe") as info:
        callback_url("suno")
    assert "has/slash-and-secret" not in str(info.value)


def test_callback_url_unknown_family() -> None:
    with pytest.raises(ValueError, match="family"):
        callback_url("midjourney")
