"""Pieces every benchmark uses: reports, RSS sampling, child servers, temporary environment.

Nothing here imports Prefect: ``python -m benchmarks`` must set ``PREFECT_HOME`` before the first
Prefect import, and the streaming benchmark's child processes never need Prefect at all.
"""

from __future__ import annotations

import contextlib
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import psutil  # type: ignore[import-untyped]

__all__ = [
    "ChildServer",
    "Report",
    "RssSampler",
    "free_port",
    "machine_description",
    "mb",
    "temp_env",
]

#: The repository root: children run from here so ``-m emulator`` etc. resolve.
ROOT = Path(__file__).resolve().parent.parent


def mb(n_bytes: float) -> float:
    """Bytes → MiB, rounded for tables."""
    return round(n_bytes / 2**20, 1)


@dataclass
class Report:
    """One benchmark's outcome: a table for people and flat keys for ``--json``.

    Attributes:
        name: Short id (``wait``, ``overhead``, ``concurrency``, ``streaming``).
        title: Table title.
        columns: Column headers.
        rows: Table rows (already formatted cells).
        keys: Machine-readable results (the ``--json`` keys this benchmark owns).
        goals: ``(goal text, met)`` pairs, printed under the table.
        notes: Anything a reader needs to interpret the figures.
        extra: More tables (title, columns, rows).
    """

    name: str
    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    keys: dict[str, Any] = field(default_factory=dict)
    goals: list[tuple[str, bool]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    extra: list[tuple[str, list[str], list[list[str]]]] = field(default_factory=list)

    def tables(self) -> list[tuple[str, list[str], list[list[str]]]]:
        """The main table followed by the extra ones."""
        return [(self.title, self.columns, self.rows), *self.extra]

    def print_rich(self) -> None:
        """Print the tables, goals and notes with rich."""
        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table

        console = Console(width=max(120, Console().width))
        for title, columns, rows in self.tables():
            table = Table(title=escape(title), title_justify="left")
            for column in columns:
                table.add_column(escape(column))
            for row in rows:
                table.add_row(*map(escape, row))
            console.print(table)
        for goal, met in self.goals:
            mark = "[green]met[/green]" if met else "[red]MISSED[/red]"
            console.print(f"  goal: {escape(goal)}: {mark}")
        for note in self.notes:
            console.print(f"  [dim]{escape(note)}[/dim]")
        console.print()

    def markdown(self) -> str:
        """The same content as GitHub-flavoured markdown (for ``RESULTS.md``)."""
        out: list[str] = []
        for i, (title, columns, rows) in enumerate(self.tables()):
            out.append(f"### {title}" if i == 0 else f"**{title}**")
            out.append("")
            out.append("| " + " | ".join(columns) + " |")
            out.append("|" + "---|" * len(columns))
            out += ["| " + " | ".join(cell.replace("|", "\\|") for cell in r) + " |" for r in rows]
            out.append("")
        out += [f"- Goal: {goal}: **{'met' if met else 'missed'}**" for goal, met in self.goals]
        out += [f"- {note}" for note in self.notes]
        out.append("")
        return "\n".join(out)


class RssSampler:
    """Peak resident memory of a process while a block runs, sampled every few milliseconds.

    ``getrusage``'s max RSS is a high-water mark for the whole process life, so it cannot show
    the growth of one phase; sampling ``/proc`` (through psutil) can.

    Attributes:
        baseline: RSS in bytes when the block started.
        peak: Highest RSS in bytes seen while it ran.
    """

    def __init__(self, pid: int | None = None, every: float = 0.005) -> None:
        self._process = psutil.Process(pid)
        self._every = every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.baseline = 0
        self.peak = 0

    def _rss(self) -> int:
        return int(self._process.memory_info().rss)

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            with contextlib.suppress(psutil.Error):
                self.peak = max(self.peak, self._rss())

    def __enter__(self) -> RssSampler:
        self.baseline = self.peak = self._rss()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with contextlib.suppress(psutil.Error):
            self.peak = max(self.peak, self._rss())

    @property
    def growth(self) -> int:
        """Peak minus baseline, in bytes."""
        return self.peak - self.baseline


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def child_env(**extra: str) -> dict[str, str]:
    """This process's environment for a child server, minus the Prefect API (children must not
    talk to the benchmark's Prefect server) plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def log_tail(log: IO[bytes] | None) -> str:
    """The last 4,000 characters a child wrote to ``log`` (for error messages)."""
    if log is None:
        return ""
    log.seek(0)
    return log.read().decode(errors="replace")[-4000:]


def end_child(
    process: subprocess.Popen[bytes] | None, log: IO[bytes] | None, sig: int, timeout: float
) -> None:
    """Send ``sig`` to a child still running, kill it after ``timeout``, close its log."""
    if process is not None and process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if log is not None:
        log.close()


class ChildServer:
    """A server in a child process (so its memory and CPU never count as ours).

    Args:
        args: Arguments after ``python`` (e.g. ``["-m", "emulator", "--port", "8765"]``).
        ready_url: Polled until it answers; the server is ready then.
        env: Environment for the child (see :func:`child_env`).
        timeout: Seconds to wait for readiness.
    """

    def __init__(
        self,
        args: Sequence[str],
        ready_url: str,
        env: dict[str, str] | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.args = [sys.executable, *args]
        self.ready_url = ready_url
        self.env = env or child_env()
        self.timeout = timeout
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> ChildServer:
        """Start the child and wait until ``ready_url`` answers."""
        self._log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            self.args, cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + self.timeout
        # One client for every try: httpx.get builds a client, and a TLS context, per call.
        with httpx.Client(timeout=1.0) as probe:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"{' '.join(self.args[1:])} exited early:\n{self.output()}")
                try:
                    probe.get(self.ready_url)
                    return self
                except httpx.HTTPError:
                    if time.monotonic() > deadline:
                        self.stop()
                        raise RuntimeError(
                            f"{' '.join(self.args[1:])} never became ready"
                        ) from None
                    time.sleep(0.05)

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs."""
        return self.process.pid if self.process is not None else None

    def output(self) -> str:
        """What the child printed so far (for error messages)."""
        return log_tail(self._log)

    def stop(self) -> None:
        """Terminate the child (this benchmark started it) and wait for it."""
        end_child(self.process, self._log, signal.SIGTERM, timeout=10)
        self.process, self._log = None, None

    def __enter__(self) -> ChildServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def temp_env(**values: str | None) -> Iterator[None]:
    """Set (or, with None, remove) environment variables inside the block, restoring them after."""
    saved = {name: os.environ.get(name) for name in values}
    try:
        _set_env(values)
        yield
    finally:
        _set_env(saved)


def _set_env(values: Mapping[str, str | None]) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def machine_description() -> dict[str, Any]:
    """CPU, memory, OS and versions: what the figures were measured on."""
    import importlib.metadata as md

    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    versions = {}
    for dist in ("prefect", "httpx", "fastapi", "uvicorn", "s3fs", "moto"):
        with contextlib.suppress(md.PackageNotFoundError):
            versions[dist] = md.version(dist)
    return {
        "cpu": cpu,
        "cores": psutil.cpu_count(logical=True),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "versions": versions,
    }
