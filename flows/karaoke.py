"""Flow ``karaoke``: a finished song → its word timings → ``.lrc`` and ``.srt`` beside the audio.

The song is one the user names (``task_id`` + ``audio_id`` of a finished Suno song), or, with
both empty (the default), a short song made on the fly from ``prompt``. The timings come from
``/suno/timestamped-lyrics`` (§11.4, sync and read-only); the files take the track's name
(``assets/suno/<taskId>/track-1.mp3`` → ``track-1.lrc``, ``track-1.srt``), the name a player
looks for, and their manifest entries carry every word's timing (``metadata.words``).

Needs: an AnyInt gateway (``credentials_block`` or ``ANYINT_API_KEY``/``ANYINT_BASE_URL``) and an
asset store (``store_block`` or the default store). Every parameter is checked before any paid
call; a named song is checked with a free query (finished, the track is one of its tracks). A
retry or resume of a flow run reuses the song task and the stored files (nothing paid twice).
"""

from __future__ import annotations

from typing import Annotated, Any

from anyint.types.suno import SunoModel
from blocks.ids import markdown_code
from tasks import AssetRecord
from tasks.suno_sync import LyricLine, TimedLyrics, timestamped_lyrics
from tasks.usage import UsageSummary

from ._common import ModelNeed, check_models_once, manifest_key, publish_assets, start_run
from ._defer import deferrable
from ._music_steps import by_kind
from ._params import (
    BlockName,
    DeadlineSeconds,
    Defer,
    IdempotencyKey,
    PollInterval,
    PriceTable,
    checked_flow,
    checked_parameters,
    text_field,
)
from ._song_source import SongId, check_song_ref, plan_source, source_song

__all__ = ["KaraokeResult", "karaoke"]

#: Lines shown in the summary artifact (the files hold them all).
SUMMARY_LINES = 12


class KaraokeResult(UsageSummary):
    """What a ``karaoke`` run made.

    Attributes:
        title: The song's title.
        task_id: The song's task (``taskId``).
        audio_id: The track (``audioId``).
        made_song: The song was made by this run (no ``task_id`` given).
        track_key: Store key of the track's MP3.
        lrc_key: Store key of the LRC file (beside the MP3).
        srt_key: Store key of the SRT file (beside the MP3).
        words: How many words were timed.
        lines: The lyric lines with their times (as in the files).
        assets: Stored assets by manifest kind (``audio``, ``image``, ``timed_lyrics``).
        manifest_key: Store key of this run's ``manifest.json``.
    """

    title: str
    task_id: str
    audio_id: str
    made_song: bool
    track_key: str | None
    lrc_key: str
    srt_key: str
    words: int
    lines: list[LyricLine]
    assets: dict[str, list[AssetRecord]]
    manifest_key: str


def _summary(title: str, timed: TimedLyrics) -> str:
    lines = [
        f"**{title}** · track {markdown_code(timed.audio_id)} · {len(timed.words)} words on "
        f"{len(timed.lines)} lines",
        "",
        "| start | end | line |",
        "|---|---|---|",
    ]
    lines += [
        f"| {x.start_s:.2f} | {x.end_s:.2f} | {markdown_code(x.text, table=True)} |"
        for x in timed.lines[:SUMMARY_LINES]
    ]
    if len(timed.lines) > SUMMARY_LINES:
        lines.append(f"| … | | {len(timed.lines) - SUMMARY_LINES} more in the files |")
    return "\n".join(lines)


@checked_flow("karaoke", "A finished song → word timings → .lrc and .srt beside the audio.")
async def karaoke(
    task_id: SongId = None,
    audio_id: SongId = None,
    prompt: Annotated[
        str, text_field(500, "The song made first when task_id and audio_id are empty.")
    ] = "A short bright pop song about the open road",
    model: SunoModel = SunoModel.V5,
    deadline_seconds: DeadlineSeconds = 1800.0,
    poll_interval: PollInterval = 5.0,
    idempotency_key: IdempotencyKey = None,
    credentials_block: BlockName = None,
    store_block: BlockName = None,
    price_table: PriceTable = None,
    defer: Defer = False,
) -> KaraokeResult:
    """Time the words of a song and store them as LRC and SRT files beside its audio.

    Args:
        task_id: Task id of a finished Suno song; empty (with audio_id) makes one first.
        audio_id: audioId of the track of that task to time.
        prompt: What the song made first is about (simple mode, at most 500 characters).
        model: Suno model of the song made first.
        deadline_seconds: Time budget for all the waiting, in seconds.
        poll_interval: First poll interval in seconds (later waits: 10 % of the time waited).
        idempotency_key: Runs with the same key share their gateway tasks and assets.
        credentials_block: Name of a saved AnyIntCredentials block (else ANYINT_* env).
        store_block: Name of a saved AssetStore block (else the default store).
        price_table: Store key of a JSON price table (:mod:`tasks.usage`): the usage
            totals then come with an estimated cost.
        defer: Deployment runs: suspend while the gateway works (see :mod:`flows._defer`).

    Returns:
        The song, the stored LRC and SRT keys, the timed lines and the manifest key.

    Raises:
        ValueError: A parameter breaks a rule (named in the message); nothing was paid for.
    """
    return await _karaoke(checked_parameters(locals()))


async def _karaoke(p: dict[str, Any]) -> KaraokeResult:
    """The karaoke run of checked parameters ``p``."""
    named = check_song_ref(p["task_id"], p["audio_id"])
    plan = plan_source(p["prompt"], p["model"])
    run = await start_run(p)
    if not named:
        need = ModelNeed("model", plan.model.value, "suno", output=("audio",))
        await check_models_once(run, [need])
    song = await deferrable(run, lambda run: source_song(run, p["task_id"], p["audio_id"], plan))
    timed = await timestamped_lyrics(
        run, song.task_id, song.audio_id, beside=song.track_key, title=song.title
    )
    records = [r for s in song.steps for r in s.records] + timed.records
    used = await publish_assets(
        run,
        records,
        key="karaoke",
        title=f"Karaoke: {song.title}",
        summary=_summary(song.title, timed),
    )
    lrc, srt = timed.records
    return KaraokeResult(
        usage_totals=used.usage_totals,
        estimated_cost=used.estimated_cost,
        title=song.title,
        task_id=song.task_id,
        audio_id=song.audio_id,
        made_song=not named,
        track_key=song.track_key,
        lrc_key=lrc.key,
        srt_key=srt.key,
        words=len(timed.words),
        lines=timed.lines,
        assets=by_kind(records),
        manifest_key=manifest_key(run),
    )
