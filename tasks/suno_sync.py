"""The sync Suno routes as tasks: timed lyrics (as LRC and SRT files), style text and personas.

Each is a :class:`tasks._sync.SyncStep`: its outputs are stored with the manifest and journal, so a
retry or resume of the same flow run hands back what was stored and calls nothing again (§11.4,
§11.5: ``timestamped-lyrics`` is read-only; ``style-generate`` and ``generate-persona`` are billed).

- :func:`timestamped_lyrics` stores ``<track>.lrc`` and ``<track>.srt`` *beside the track's audio*
  (``track-1.mp3`` → ``track-1.lrc``: the name a player looks for), each manifest entry carrying
  the word timings in ``metadata``.
- :func:`style_generate` stores the expanded style as ``style.txt`` and returns it.
- :func:`generate_persona` stores ``persona.json``. Upstream makes one persona per ``audioId``; a
  second request for the same track is refused with the existing ``personaId``, which is then
  adopted (a billed call whose answer was lost is not paid twice).
"""

from __future__ import annotations

import asyncio
import json
import posixpath
import re
from typing import Any

from prefect import get_run_logger, task
from pydantic import BaseModel

from anyint import BadRequestError
from anyint.types import suno as su
from blocks.ids import id_segment

from ._policy import RETRY_OPTIONS
from ._sync import SyncStep, sync_step
from .assets import AssetRecord
from .run import RunConfig
from .usage import usage_of

__all__ = [
    "LyricLine",
    "PersonaResult",
    "TimedLyrics",
    "TimedWord",
    "generate_persona",
    "lrc_text",
    "lyric_lines",
    "srt_text",
    "style_generate",
    "timestamped_lyrics",
]

#: A pause longer than this (seconds) between two words starts a new lyric line.
LINE_GAP_SECONDS = 1.5
#: Most words on one lyric line when the lyrics mark no line ends (subtitle convention).
LINE_WORDS = 8
_SECTION_TAG = re.compile(r"\[[^\]]*\]")


class TimedWord(BaseModel):
    """One sung word and when it is sung (seconds into the track)."""

    word: str
    start_s: float
    end_s: float


class LyricLine(BaseModel):
    """One lyric line: its text and when it is sung."""

    text: str
    start_s: float
    end_s: float


class TimedLyrics(BaseModel):
    """The word timings of one track, and the LRC and SRT files made of them.

    Attributes:
        task_id: The song's gateway task.
        audio_id: The track's ``audioId``.
        words: Every sung word with its timing, in order (section tags removed).
        lines: The words grouped into lyric lines.
        records: The stored ``.lrc`` and ``.srt`` files (their ``metadata`` holds ``words``).
    """

    task_id: str
    audio_id: str
    words: list[TimedWord]
    lines: list[LyricLine]
    records: list[AssetRecord]


class PersonaResult(BaseModel):
    """A persona (reusable voice) and where it is recorded.

    Attributes:
        persona_id: Pass as ``personaId`` to generate (custom mode only).
        name: Its name.
        description: Its description.
        adopted: The gateway had made it before (one persona per ``audioId``): nothing paid now.
        record: The stored ``persona.json``.
    """

    persona_id: str
    name: str | None
    description: str | None
    adopted: bool = False
    record: AssetRecord


# -- lines, LRC and SRT -------------------------------------------------------------------------


def _timed(aligned: list[su.AlignedWord]) -> list[tuple[list[str], float, float]]:
    """Each timed word as its newline-separated parts (section tags dropped) and its timing."""
    out = []
    for word in aligned:
        if word.start_s is None or word.end_s is None or word.success is False:
            continue  # not aligned: no time to show it at
        parts = [_SECTION_TAG.sub("", part).strip() for part in word.word.split("\n")]
        out.append((parts, word.start_s, word.end_s))
    return out


def lyric_lines(aligned: list[su.AlignedWord]) -> tuple[list[TimedWord], list[LyricLine]]:
    """The sung words and the lyric lines they make.

    A line ends where a word holds a line break (``"[Verse]\\nThe"`` starts a line, ``"light\\n"``
    ends one), after a pause of :data:`LINE_GAP_SECONDS`, or at :data:`LINE_WORDS` words when
    the lyrics mark no line ends.
    """
    words: list[TimedWord] = []
    lines: list[list[TimedWord]] = [[]]

    def add(text: str, start: float, end: float) -> None:
        current = lines[-1]
        if current and (start - current[-1].end_s > LINE_GAP_SECONDS or len(current) >= LINE_WORDS):
            lines.append(current := [])
        word = TimedWord(word=text, start_s=start, end_s=end)
        current.append(word)
        words.append(word)

    for parts, start, end in _timed(aligned):
        for i, part in enumerate(parts):
            if i and lines[-1]:
                lines.append([])  # a line break inside the word
            if part:
                add(part, start, end)
    made = [
        LyricLine(
            text=" ".join(w.word for w in line), start_s=line[0].start_s, end_s=line[-1].end_s
        )
        for line in lines
        if line
    ]
    return words, made


def _lrc_time(seconds: float) -> str:
    centis = round(seconds * 100)
    return f"{centis // 6000:02d}:{centis // 100 % 60:02d}.{centis % 100:02d}"


def _srt_time(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d},{rest % 1000:03d}"


def lrc_text(lines: list[LyricLine], title: str | None = None) -> str:
    """Line-timed LRC: ``[mm:ss.xx]text`` per line, and an empty stamp where the last one ends."""
    head = [f"[ti:{title.replace(']', ')')}]"] if title else []
    body = [f"[{_lrc_time(line.start_s)}]{line.text}" for line in lines]
    tail = [f"[{_lrc_time(lines[-1].end_s)}]"] if lines else []
    return "\n".join([*head, *body, *tail]) + "\n"


def srt_text(lines: list[LyricLine]) -> str:
    """SubRip subtitles: one numbered cue per lyric line."""
    cues = [
        f"{i}\n{_srt_time(line.start_s)} --> {_srt_time(max(line.end_s, line.start_s))}\n"
        f"{line.text}\n"
        for i, line in enumerate(lines, start=1)
    ]
    return "\n".join(cues)


# -- tasks --------------------------------------------------------------------------------------


def _read_text(step: SyncStep, key: str) -> str:
    with step.store.open(key) as handle:
        data: bytes = handle.read()
    return data.decode()


def _timed_from_store(task_id: str, audio_id: str, kept: list[AssetRecord]) -> TimedLyrics:
    """What an earlier execution stored (its timings are in the first record's metadata)."""
    metadata = kept[0].metadata or {}
    words = [TimedWord.model_validate(w) for w in metadata.get("words", [])]
    lines = [LyricLine.model_validate(x) for x in metadata.get("lines", [])]
    return TimedLyrics(task_id=task_id, audio_id=audio_id, words=words, lines=lines, records=kept)


@task(
    name="timestamped-lyrics",
    task_run_name="timestamped lyrics {audio_id}",
    **RETRY_OPTIONS,
)
async def timestamped_lyrics(
    run: RunConfig,
    task_id: str,
    audio_id: str,
    beside: str | None = None,
    title: str | None = None,
) -> TimedLyrics:
    """Word timings of a finished track, stored as ``.lrc`` and ``.srt`` beside its audio.

    Args:
        run: The flow run's gateway, intent and deadline.
        task_id: The finished song's task (``taskId``).
        audio_id: The track (``audioId``) of that task.
        beside: Store key of the track's audio; the files take its name (``track-1.lrc``).
            Empty: ``lyrics-<audioId>`` in the song's folder (``assets/suno/<taskId>/``).
        title: Written into the LRC header (``[ti:...]``).

    Raises:
        ValueError: The track has no sung words (an instrumental), named by ``audio_id``.
    """
    body = su.TimestampedLyricsParams(task_id=task_id, audio_id=audio_id).to_body()
    step = await sync_step(run, "suno.timestamped-lyrics", "suno", body)
    if beside:
        step.prefix, stem = posixpath.dirname(beside), posixpath.basename(beside).rsplit(".", 1)[0]
    else:
        step.prefix, stem = f"assets/suno/{id_segment(task_id)}", f"lyrics-{id_segment(audio_id)}"
    kept = await asyncio.to_thread(step.stored)
    if kept is not None:
        return _timed_from_store(task_id, audio_id, kept)
    async with step.connection.client() as client:
        reply = await client.suno.timestamped_lyrics(body)
    words, lines = lyric_lines(reply.aligned_words)
    if not words:
        raise ValueError(
            f"audio_id {audio_id!r}: the track has no sung words (an instrumental?); timed "
            "lyrics need a track with vocals"
        )
    metadata = {
        "words": [w.model_dump() for w in words],
        "lines": [x.model_dump() for x in lines],
    }
    items = [
        (f"{stem}.lrc", lrc_text(lines, title).encode(), "text/plain"),
        (f"{stem}.srt", srt_text(lines).encode(), "application/x-subrip"),
    ]
    records = await asyncio.to_thread(
        step.store_bytes,
        items,
        "timed_lyrics",
        None,
        task_id=task_id,
        audio_id=audio_id,
        metadata=metadata,
    )
    get_run_logger().info("timed %d word(s) on %d line(s) of %s", len(words), len(lines), audio_id)
    return TimedLyrics(
        task_id=task_id, audio_id=audio_id, words=words, lines=lines, records=records
    )


@task(name="style-generate", task_run_name="style generate", **RETRY_OPTIONS)
async def style_generate(run: RunConfig, content: str) -> str:
    """Expand rough style text (``"Pop, Mysterious"``) into a rich style; stored as ``style.txt``.

    Billed: a retry or resume of the same flow run hands back the stored text, paying nothing.

    Returns:
        The expanded style text.
    """
    body = su.StyleParams(content=content).to_body()
    step = await sync_step(run, "suno.style-generate", "suno", body)
    if (kept := await asyncio.to_thread(step.stored)) is not None:
        return await asyncio.to_thread(_read_text, step, kept[0].key)
    async with step.connection.client() as client:
        reply = await client.suno.style_generate(body)
    usage = usage_of("suno.style-generate", reply)
    items = [("style.txt", reply.result.encode(), "text/plain")]
    await asyncio.to_thread(step.store_bytes, items, "style", usage, metadata={"content": content})
    return reply.result


def _existing_persona(exc: BadRequestError) -> str | None:
    """The ``personaId`` a refusal names: the persona made from this track before."""
    body = exc.body if isinstance(exc.body, dict) else {}
    data = body.get("data")
    found = data.get("personaId") if isinstance(data, dict) else None
    return found if isinstance(found, str) and found else None


def _persona_result(record: AssetRecord, data: dict[str, Any]) -> PersonaResult:
    return PersonaResult(
        persona_id=data["personaId"],
        name=data.get("name"),
        description=data.get("description"),
        adopted=bool(data.get("adopted")),
        record=record,
    )


@task(name="generate-persona", task_run_name="persona from {audio_id}", **RETRY_OPTIONS)
async def generate_persona(
    run: RunConfig, task_id: str, audio_id: str, name: str, description: str
) -> PersonaResult:
    """A reusable voice from a finished track, recorded as ``persona.json``.

    One persona per ``audioId`` (§11.5): when the gateway refuses a second one and names the
    persona it made before, that one is adopted (``adopted=True``).

    Raises:
        BadRequestError: The gateway refused it for another reason (parent not finished, an
            ``audio_id`` not of ``task_id`` ...).
    """
    body = su.PersonaParams(
        task_id=task_id, audio_id=audio_id, name=name, description=description
    ).to_body()
    step = await sync_step(run, "suno.generate-persona", "suno", body)
    if (kept := await asyncio.to_thread(step.stored)) is not None:
        return _persona_result(
            kept[0], json.loads(await asyncio.to_thread(_read_text, step, kept[0].key))
        )
    data: dict[str, Any] = {"taskId": task_id, "audioId": audio_id}
    try:
        async with step.connection.client() as client:
            persona = await client.suno.generate_persona(body)
        data |= {"personaId": persona.persona_id, "name": persona.name or name}
        data |= {"description": persona.description or description, "adopted": False}
    except BadRequestError as exc:
        if (existing := _existing_persona(exc)) is None:
            raise
        get_run_logger().info("audioId %s has persona %s already: adopting it", audio_id, existing)
        data |= {"personaId": existing, "name": None, "description": None, "adopted": True}
    items = [("persona.json", json.dumps(data, indent=2).encode(), "application/json")]
    (record,) = await asyncio.to_thread(
        step.store_bytes, items, "persona", None, task_id=task_id, audio_id=audio_id
    )
    return _persona_result(record, data)
