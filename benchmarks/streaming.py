"""Large asset streaming: a 1 GiB asset from the emulator into the ``AssetStore`` vs plain httpx.

Processes, so that no memory counts twice:

- ``serve``: the emulator (:class:`emulator.server.ThreadedEmulatorServer`) serving one asset
  of the chosen size, in a child process (the asset lives in that process's memory);
- moto's S3 server (``python -m moto.server``) in another child;
- ``client``: one child per download, so each starts from a clean heap. It warms up first (imports,
  one small request, for S3 one small write) and then samples its own RSS while downloading.

Variants, run in the same session and alternated over rounds: plain ``httpx`` streaming to a local
file (what a user would write), ``AssetStore.download`` to a local folder, and to S3 (moto). The
throughput ratio is the plain download's time ÷ the store's; the RSS growth is the peak during the
download minus the RSS before it. ``python -m benchmarks.streaming serve|client ...`` are the
children's entry points.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ._shared import ROOT, ChildServer, Report, RssSampler, child_env, free_port, mb

__all__ = ["measure", "run"]

#: Goals: throughput relative to plain httpx, and peak RSS growth.
GOAL_RATIO, GOAL_GROWTH_MB = 0.8, 64.0
_KEY = "assets/bench/big.mp4"
#: The S3 variant's size cap: moto fails CompleteMultipartUpload of a 1 GiB object in 8 MiB
#: parts ("I/O operation on closed file" inside moto, with or without the store's writer
#: thread). Its RSS growth is bounded by the part buffer, not the size, so 256 MiB shows it.
_S3_MAX = 256 * 2**20
_MIB = 2**20
_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


# -- child: the emulator serving one big asset ----------------------------------------------------


def _serve(size: int, port: int, url_file: str) -> None:
    from emulator.app import create_app
    from emulator.server import ThreadedEmulatorServer

    app = create_app()
    # A real MP4 starts with an ftyp box; the rest is zeros (the bytes' values cost nothing here).
    header = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
    data = header + bytes(size - len(header))
    base_url = f"http://127.0.0.1:{port}"
    url = app.backend.serve(base_url, "bench-big", "big.mp4", "video/mp4", lambda: data)
    s3_data = data[:_S3_MAX]
    s3_url = app.backend.serve(base_url, "bench-s3", "big.mp4", "video/mp4", lambda: s3_data)
    # Written before the socket listens: once the parent sees the server up, the file is there.
    Path(url_file).write_text(json.dumps({"url": url, "s3_url": s3_url, "base_url": base_url}))
    server = ThreadedEmulatorServer(app, port=port).start()
    try:
        while True:
            time.sleep(3600)
    finally:
        server.stop()


# -- child: one download ---------------------------------------------------------------------------


async def _client(variant: str, url: str, base_url: str, dest: str) -> dict[str, Any]:
    import httpx

    if variant == "httpx":
        async with httpx.AsyncClient(timeout=300) as plain:
            await plain.get(f"{base_url}/_emulator/profiles")  # warm: connection, imports
            target = Path(dest) / "plain.mp4"
            with RssSampler() as rss:
                start, cpu = time.perf_counter(), time.process_time()
                size = 0
                async with plain.stream("GET", url) as response:
                    response.raise_for_status()
                    with target.open("wb") as handle:
                        async for chunk in response.aiter_bytes():
                            handle.write(chunk)
                            size += len(chunk)
                seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        return {
            "seconds": seconds,
            "cpu": cpu,
            "bytes": size,
            "growth": rss.growth,
            "peak": rss.peak,
        }

    from anyint import AnyIntClient
    from blocks import AssetStore

    if variant == "s3":
        import s3fs

        s3 = s3fs.S3FileSystem(client_kwargs={"endpoint_url": os.environ["AWS_ENDPOINT_URL"]})
        s3.makedirs("bench", exist_ok=True)
        store = AssetStore(base_url=f"s3://bench/{Path(dest).name}")
    else:
        store = AssetStore(base_url=dest)
    store.put_bytes("warm-up.json", b"{}", "application/json")  # warm: imports, S3 client
    with store.writer("probe.bin") as probe:
        # How much the store's writer buffers before it writes a part (s3fs: one S3 part).
        part = int(getattr(probe, "blocksize", 0) or 0)
    async with AnyIntClient(api_key="sk-bench-streaming", base_url=base_url) as client:
        await client.http.get(f"{base_url}/_emulator/profiles")
        with RssSampler() as rss:
            start, cpu = time.perf_counter(), time.process_time()
            stored = await store.download(client, url, _KEY, kind="video")
            seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    store.remove(_KEY)  # moto keeps objects in memory; the next round needs that room
    return {
        "seconds": seconds,
        "cpu": cpu,
        "bytes": stored.bytes,
        "growth": rss.growth,
        "peak": rss.peak,
        "sha256": stored.sha256,
        "write_block": part,
    }


def _run_client(variant: str, asset: dict[str, str], dest: str, env: dict[str, str]) -> Any:
    args = [sys.executable, "-m", "benchmarks.streaming", "client", variant]
    args += [asset["s3_url" if variant == "s3" else "url"], asset["base_url"], dest]
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, timeout=900, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{variant} download failed:\n{done.stderr.decode()[-3000:]}")
    return json.loads(done.stdout.decode().strip().splitlines()[-1])


# -- the benchmark ---------------------------------------------------------------------------------


def measure(size: int, rounds: int) -> dict[str, Any]:
    """Download ``size`` bytes ``rounds`` times per variant; best time and worst RSS growth each."""
    with tempfile.TemporaryDirectory(prefix="anyint-bench-stream-") as work:
        url_file = f"{work}/asset.json"
        port, s3_port = free_port(), free_port()
        emulator = ChildServer(
            ["-m", "benchmarks.streaming", "serve", str(size), str(port), url_file],
            f"http://127.0.0.1:{port}/_emulator/profiles",
            timeout=120,
        )
        moto = ChildServer(
            ["-m", "moto.server", "-H", "127.0.0.1", "-p", str(s3_port)],
            f"http://127.0.0.1:{s3_port}/moto-api/",
        )
        results: dict[str, list[dict[str, Any]]] = {"httpx": [], "file": [], "s3": []}
        with emulator, moto:
            asset = json.loads(Path(url_file).read_text())
            env = child_env(**_AWS, AWS_ENDPOINT_URL=f"http://127.0.0.1:{s3_port}")
            for round_ in range(rounds):
                for variant in results:
                    if variant == "s3" and round_:
                        continue  # moto's pace dominates S3; one round is enough (and slow)
                    dest = tempfile.mkdtemp(dir=work)
                    os.sync()  # start each download without the previous one's dirty pages
                    results[variant].append(_run_client(variant, asset, dest, env))
                    for path in Path(dest).rglob("*"):
                        if path.is_file():
                            path.unlink()  # keep the disk from holding several GiB at once
    sizes = {v: min(size, _S3_MAX) if v == "s3" else size for v in results}
    for variant, runs in results.items():
        if any(r["bytes"] != sizes[variant] for r in runs):
            raise RuntimeError(f"{variant}: wrong size {[r['bytes'] for r in runs]}")
    best = {v: min(r["seconds"] for r in runs) for v, runs in results.items()}
    cpu = {v: min(r["cpu"] for r in runs) for v, runs in results.items()}
    growth = {v: max(r["growth"] for r in runs) for v, runs in results.items()}
    peak = {v: max(r["peak"] for r in runs) for v, runs in results.items()}
    blocks = {v: max(r.get("write_block", 0) for r in runs) for v, runs in results.items()}
    return {
        "size": size,
        "sizes": sizes,
        "rounds": rounds,
        "seconds": best,
        "cpu": cpu,
        "growth": growth,
        "peak": peak,
        "write_block": blocks,
        "sha256_mib_s": _sha256_rate(),
    }


def _sha256_rate() -> float:
    """This machine's sha256 speed in MiB/s (the store hashes every byte for the manifest)."""
    import hashlib

    chunk, digest = bytes(_MIB), hashlib.sha256()
    start = time.perf_counter()
    for _ in range(64):
        digest.update(chunk)
    return 64 / (time.perf_counter() - start)


#: What the store should reach (issue 16); the goal line checks the issue's floor, GOAL_RATIO.
TARGET_RATIO = 0.9
_LABELS = {
    "httpx": "plain httpx stream → local file",
    "file": "AssetStore.download → local folder",
    "s3": "AssetStore.download → S3 (moto server)",
}


def _notes(m: dict[str, Any]) -> list[str]:
    size, plain = m["size"], m["seconds"]["httpx"]
    sha_share = size / _MIB / m["sha256_mib_s"] / plain
    return [
        "The store also computes the sha256 for the manifest and checks size and type; the "
        f"plain download does none of that. sha256 runs at {m['sha256_mib_s']:.0f} MiB/s here, "
        f"{sha_share:.0%} of the plain download's time on one core. The store hashes and writes "
        "on one worker thread (blocks/_pipe.py, 1 MiB batches, at most 4 in flight) while the "
        "event loop reads on: hashlib and file writes release the GIL, so with a free core that "
        "work overlaps the reading (the plain download writes on its loop thread). On a "
        "machine whose cores are busy with other work the overlap shrinks: compare the CPU "
        "column, which the machine's load barely moves.",
        f"The S3 writer buffers {mb(m['write_block']['s3']):.0f} MiB per part (s3fs's block "
        "size) and copies it on upload, which is the RSS growth seen. S3 goes through moto, a "
        "Python server on the same cores, so its throughput says more about moto than about s3fs; "
        f"it downloads {mb(m['sizes']['s3']):.0f} MiB, since moto fails to complete a 1 GiB "
        "multipart upload (÷ plain httpx compares throughputs).",
        f"Best of {m['rounds']} round(s) per variant (S3: 1); each download in a fresh process. "
        "CPU: the client process's CPU seconds (all threads) during the download, least of the "
        "rounds.",
    ]


async def run(quick: bool = False, size_mb: int | None = None) -> Report:
    """1 GiB (quick: 200 MiB, or ``size_mb``), best of 2 rounds (quick: 1)."""
    size = (size_mb or (200 if quick else 1024)) * _MIB
    m = await asyncio.to_thread(measure, size, 1 if quick else 2)
    plain = m["seconds"]["httpx"]
    report = Report(
        name="streaming",
        title=f"4. Large asset streaming: {mb(size):.0f} MiB from the threaded emulator",
        columns=["path", "time", "throughput", "÷ plain httpx", "client CPU", "peak RSS growth"],
    )
    for variant, label in _LABELS.items():
        seconds, rate = m["seconds"][variant], m["sizes"][variant] / m["seconds"][variant]
        report.rows.append(
            [
                label,
                f"{seconds:.2f} s ({mb(m['sizes'][variant]):.0f} MiB)",
                f"{rate / _MIB:.0f} MiB/s",
                f"{rate / (size / plain):.2f}x",
                f"{m['cpu'][variant]:.2f} s",
                f"{mb(m['growth'][variant]):.1f} MB",
            ]
        )
    file_ratio = plain / m["seconds"]["file"]
    s3_ratio = m["sizes"]["s3"] / m["seconds"]["s3"] / (size / plain)  # throughputs
    store_growth = max(m["growth"]["file"], m["growth"]["s3"])
    report.keys = {
        "stream_throughput_ratio": round(file_ratio, 3),
        "stream_throughput_ratio_s3": round(s3_ratio, 3),
        "stream_peak_rss_growth_mb": mb(store_growth),
        "stream_peak_rss_growth_mb_file": mb(m["growth"]["file"]),
        "stream_peak_rss_growth_mb_s3": mb(m["growth"]["s3"]),
        "stream_peak_rss_growth_mb_plain": mb(m["growth"]["httpx"]),
        "stream_size_mb": mb(size),
        "stream_s3_write_block_mb": mb(m["write_block"]["s3"]),
        "stream_sha256_mib_s": round(m["sha256_mib_s"]),
        "stream_client_cpu_s": {v: round(c, 2) for v, c in m["cpu"].items()},
    }
    report.goals = [
        (
            f"throughput >= {GOAL_RATIO:g}x plain httpx, target {TARGET_RATIO:g}x (local folder "
            f"{file_ratio:.2f}x; S3 {s3_ratio:.2f}x)",
            file_ratio >= GOAL_RATIO,
        ),
        (
            f"peak RSS growth <= {GOAL_GROWTH_MB:g} MB (worst store: {mb(store_growth):.1f} MB)",
            mb(store_growth) <= GOAL_GROWTH_MB,
        ),
    ]
    report.notes = _notes(m)
    return report


def main(argv: list[str] | None = None) -> None:
    """Entry points of the child processes (not for direct use)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.streaming")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve")
    serve.add_argument("size", type=int)
    serve.add_argument("port", type=int)
    serve.add_argument("url_file")
    client = sub.add_parser("client")
    client.add_argument("variant", choices=["httpx", "file", "s3"])
    client.add_argument("url")
    client.add_argument("base_url")
    client.add_argument("dest")
    args = parser.parse_args(argv)
    if args.command == "serve":
        _serve(args.size, args.port, args.url_file)
    else:
        result = asyncio.run(_client(args.variant, args.url, args.base_url, args.dest))
        print(json.dumps(result))


if __name__ == "__main__":
    main()
