"""Where a fan-out flow's tasks run: Prefect's thread pool, a local Dask cluster the flow starts,
or an existing Dask cluster reached by address (``dask_address``).

On a cluster by address the tasks run in worker processes, possibly on other machines, that
share nothing with the flow's process: each task gets the run's :class:`~tasks.RunConfig` as a
value and finds the gateway (its URL), the store (its URL: a folder every worker sees, or S3)
and the key (a saved ``AnyIntCredentials`` block, or the worker's own ``ANYINT_API_KEY``) from
it. An address that does not answer fails the run before anything is paid for.
"""

from __future__ import annotations

import asyncio
import os
import socket
from typing import Annotated, Any

from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner
from pydantic import Field

from tasks import AssetRecord, RunConfig, record_assets

__all__ = [
    "CONNECT_TIMEOUT",
    "DaskAddress",
    "check_dask_address",
    "fan_out_runner",
    "ran_on",
    "settle_manifest",
]

#: How long the scheduler may take to answer before the run fails (each of connect and reply).
CONNECT_TIMEOUT = 10.0

DaskAddress = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=300,
        pattern=r"^((tcp|tls)://)?[^\s/]+:[0-9]{1,5}$",
        description=(
            "Address of a running Dask scheduler (tcp://host:8786): the tasks run on its "
            "workers. Empty: they run here."
        ),
    ),
]


def _fix(address: str) -> str:
    return (
        f"start a scheduler and workers there (`dask scheduler`, then `dask worker {address}` "
        "on each worker machine, from the project's folder) or leave dask_address empty to "
        "run the tasks here"
    )


async def check_dask_address(address: str, wait_seconds: float = CONNECT_TIMEOUT) -> int:
    """Check that a Dask scheduler answers at ``address`` and has workers; their number.

    Bounded: a port nobody listens on fails at once, and one that accepts but never answers
    (not a Dask scheduler, or a stalled one) fails after ``wait_seconds``, where the Dask
    client would wait its own 30 s (or, in its handshake, for ever) inside the run.

    Raises:
        ValueError: Naming ``dask_address`` and the fix.
    """
    from distributed.comm.addressing import normalize_address

    try:
        identity = await asyncio.wait_for(_identity(normalize_address(address)), wait_seconds)
    except (OSError, TimeoutError, ValueError) as exc:
        reason = str(exc) or "no answer"
        raise ValueError(
            f"parameter 'dask_address': no Dask scheduler answers at {address} within "
            f"{wait_seconds:g} s ({reason}); {_fix(address)}"
        ) from None
    workers = len(identity.get("workers", {})) if isinstance(identity, dict) else 0
    if workers == 0:
        raise ValueError(
            f"parameter 'dask_address': the Dask scheduler at {address} has no workers, so "
            f"the tasks would never start; {_fix(address)}"
        )
    return workers


async def _identity(address: str) -> Any:
    """The scheduler's ``identity`` reply (unbounded: the caller bounds it)."""
    from distributed.comm.addressing import parse_address, parse_host_port
    from distributed.comm.core import connect  # imported only when asked for: distributed is heavy

    host, port = parse_host_port(parse_address(address)[1])
    # A plain TCP connect first: Dask's own connect retries a refused port until its timeout.
    _, writer = await asyncio.open_connection(host, port)
    writer.close()
    comm = await connect(address)  # type: ignore[no-untyped-call]
    try:
        await comm.write({"op": "identity", "reply": True})
        return await comm.read()
    finally:
        comm.abort()  # nothing to flush; never wait on a peer that does not answer


def fan_out_runner(address: str | None, *, local_dask: bool, width: int) -> TaskRunner[Any]:
    """The task runner of a fan-out: a Dask cluster by address, a local one, or threads.

    Args:
        address: A checked ``dask_address`` (see :func:`check_dask_address`), or None.
        local_dask: Without an address, start a local Dask cluster (threads, one process).
        width: How many tasks may run at once here (threads of the pool or local cluster).
    """
    if address is None and not local_dask:
        return ThreadPoolTaskRunner(max_workers=width)
    # Imported only when asked for: distributed is heavy to import.
    from prefect_dask.task_runners import DaskTaskRunner

    if address is not None:
        return DaskTaskRunner(address=address)
    return DaskTaskRunner(
        cluster_kwargs={
            "n_workers": 1,
            "threads_per_worker": width,
            "processes": False,
            "dashboard_address": ":0",  # a free port: a fixed one may be taken
        }
    )


def ran_on() -> str:
    """``host:pid`` of the process running this code (logged by fan-out tasks: on a cluster,
    it says which worker made what)."""
    return f"{socket.gethostname()}:{os.getpid()}"


async def settle_manifest(run: RunConfig, records: list[AssetRecord]) -> None:
    """Rebuild the run's manifest once more, here, after every fan-out task has finished.

    Each task adds its assets to the manifest as it stores them; two tasks (threads, or Dask
    workers on other machines) finishing at the same moment may each rebuild the manifest
    before seeing the other's entry. One rebuild after all of them lists every entry.
    """
    store = (await run.gateway.connect()).store
    await asyncio.to_thread(record_assets, store, run, records)
