"""The emulator's own CPU per music-video pipeline, ``full`` media against ``lean``.

One emulator child per mode (``python -m emulator --media MODE``, every Suno status reached at
once), driven by the real client through a pipeline's gateway calls (lyrics, song, stems, WAV,
cover art, music video) and the downloads of its files. The child's CPU time is read from
``/proc`` (psutil): the client's work in this process never counts. A first pipeline warms the
child up (imports, first renders) and is not counted, so in lean mode the figure is the cost
per pipeline once the media exist, which is what 50 pipelines pay each.
"""

from __future__ import annotations

from typing import Any

import httpx
import psutil  # type: ignore[import-untyped]

from ._shared import ChildServer, child_env, free_port

__all__ = ["emulator_cpu_per_pipeline"]

_KEY = "sk-bench-media-cost"


def _cpu(pid: int | None) -> float:
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


async def _pipeline(client: Any, raw: httpx.AsyncClient, i: int) -> None:
    """One pipeline's gateway tasks, waited for, and every file of it downloaded."""
    from anyint import PollSchedule
    from anyint.types.suno import PLACEHOLDER_CALLBACK_URL as CB

    now = PollSchedule(initial=0.0, factor=1.0, max_interval=0.0, deadline=120.0)
    suno = client.suno
    made = await suno.generate_lyrics(prompt=f"road trip number {i}", call_back_url=CB)
    lyrics = await suno.wait(made.task_id, kind="lyrics", schedule=now)
    made = await suno.generate(
        custom_mode=True,
        instrumental=False,
        model="V5",
        title=f"Road trip {i}",
        style="pop, acoustic",
        prompt=lyrics.lyrics[0].text,
        call_back_url=CB,
    )
    song = await suno.wait(made.task_id, schedule=now)
    follow = {"task_id": song.task_id, "audio_id": song.tracks[0].id, "call_back_url": CB}
    stems = await suno.wait(
        (await suno.vocal_removal(**follow)).task_id, kind="vocal-removal", schedule=now
    )
    wav = await suno.wait((await suno.wav_generate(**follow)).task_id, kind="wav", schedule=now)
    cover = await suno.wait(
        (await suno.generate_cover_art(task_id=song.task_id, call_back_url=CB)).task_id,
        kind="cover",
        schedule=now,
    )
    video = await suno.wait((await suno.mp4_generate(**follow)).task_id, kind="mp4", schedule=now)
    track = song.tracks[0]
    urls = [track.audio_url, track.image_url, wav.audio_wav_url, video.video_url, *cover.images]
    urls += [stems.stems["vocal"], stems.stems["instrumental"]]
    for url in urls:
        (await raw.get(url)).raise_for_status()


async def emulator_cpu_per_pipeline(media: str, pipelines: int = 3) -> float:
    """CPU seconds the emulator spends per pipeline in media mode ``media`` (after a warm-up)."""
    from anyint import AnyIntClient

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = ["-m", "emulator", "--port", str(port), "--timing", "fast", "--media", media]
    with ChildServer(args, f"{base}/_emulator/profiles", env=child_env()) as emulator:
        async with httpx.AsyncClient(base_url=base, timeout=60) as raw:
            await raw.post("/_emulator/timing", json={"family": "suno", "after_seconds": 0})
            client = AnyIntClient(api_key=_KEY, base_url=base)
            try:
                await _pipeline(client, raw, 0)
                before = _cpu(emulator.pid)
                for i in range(1, pipelines + 1):
                    await _pipeline(client, raw, i)
                return (_cpu(emulator.pid) - before) / pipelines
            finally:
                await client.aclose()
