"""Racing writers in separate processes (``spawn``: each a fresh interpreter, as two workers are).

Kept apart from the test modules so a child imports only the store, not pytest and the fixtures.
"""

from __future__ import annotations

import multiprocessing
from typing import Any

__all__ = ["race_in_processes"]

#: Bound on every wait of a race (the children import Prefect, slow on a busy 2-core machine).
TIMEOUT = 120.0


def _child(
    what: str, base_url: str, keys: list[str], writer: int, start: Any, results: Any
) -> None:
    try:
        from blocks import AssetStore
        from blocks.inbox import write_record

        store = AssetStore(base_url=base_url)
        store.root_url  # noqa: B018 (resolve the filesystem before the start line, not in the race)
        won = []
        for key in keys:
            start.wait(TIMEOUT)  # every round starts together
            if what == "create_json":
                won.append(store.create_json(key, {"writer": writer}))
            else:  # write_record: key is <task_id>/<phase>
                task_id, _, phase = key.partition("/")
                won.append(write_record(store, task_id, "suno", phase, {"writer": writer})[0])
        results.put((writer, won))
    except BaseException as exc:  # on the queue too, so the parent never waits for a dead child
        results.put((writer, f"{type(exc).__name__}: {exc}"))
        raise


def race_in_processes(what: str, base_url: str, keys: list[str], n: int) -> dict[str, list[int]]:
    """Start ``n`` processes that write each of ``keys`` at once, one round per key.

    Args:
        what: ``create_json`` (a key is a store key) or ``write_record`` (a key is
            ``<task_id>/<phase>`` of an inbox record).
        base_url: The store every child opens.
        keys: What they race on, one round each (more rounds, more chances to collide).
        n: How many children.

    Returns:
        For each key, the writers that were told they won it.

    The children line up on a barrier before every round, once their store is ready, so the
    writes of a round start together. The environment (``AWS_*`` for S3) is inherited.
    """
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(n)
    results = ctx.Queue()
    children = [
        ctx.Process(target=_child, args=(what, base_url, keys, i, start, results)) for i in range(n)
    ]
    for child in children:
        child.start()
    try:
        outcome = dict(results.get(timeout=TIMEOUT) for _ in children)
    finally:
        for child in children:
            child.join(TIMEOUT)
            if child.is_alive():
                child.kill()
                child.join()
    assert all(isinstance(won, list) for won in outcome.values()), outcome
    assert [c.exitcode for c in children] == [0] * n
    return {key: [w for w, won in outcome.items() if won[i]] for i, key in enumerate(keys)}
