"""Creating AI Music tasks and answering the synchronous routes (contract §11.4-11.5).

Each ``start_*`` function checks the route's rules against the backend (parents, tracks,
uploads, duplicates), then creates the task; a rejected request creates nothing. Request bodies
arrive already validated by the models of :mod:`.bodies`.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from anyint.types import RequestModel
from anyint.types.suno import SunoModel

from ..backend import Task
from ..calls import Call
from ..errors import EmulatorError
from . import audio, bodies, rules
from .audio import TrackSpec
from .callbacks import install
from .records import now_ms
from .rules import FAILURE, MUSIC_STAGES, SINGLE_STAGES, Track
from .text import expand_style, lyrics, tags_for, title_for

__all__ = [
    "Call",
    "Kind",
    "generate_persona",
    "start_add_instrumental",
    "start_add_vocals",
    "start_cover",
    "start_extend",
    "start_generate",
    "start_lyrics",
    "start_mp4",
    "start_replace_section",
    "start_stems",
    "start_upload_cover",
    "start_upload_extend",
    "start_wav",
    "style_generate",
    "timestamped_lyrics",
]

Kind = Literal["music", "lyrics", "vocal-removal", "wav", "mp4", "cover"]
#: Longest upload upstream accepts: 8 minutes, 1 minute for V4_5ALL (§11.5).
UPLOAD_SECONDS = 480.0
UPLOAD_SECONDS_V4_5ALL = 60.0
#: Credits style-generate reports (the emulator bills nothing).
STYLE_CREDITS = 0.4
EMULATED_BALANCE = 10_000.0


def _create(
    call: Call,
    kind: Kind,
    body: RequestModel,
    callback_url: str | None,
    data: dict[str, Any],
) -> Task:
    backend = call.backend
    install(backend)
    task = backend.create_task(
        family="suno",
        kind=kind,
        stages=MUSIC_STAGES if kind == "music" else SINGLE_STAGES,
        body=body.to_body(),
        base_url=call.base_url,
        failure_status=FAILURE[kind],
        method=call.method,
        path=call.path,
        callback_url=callback_url,
        callback_wrapped=backend.callback_shape == "wrapped",
        data={"created_ms": now_ms(), **data},
    )
    return call.created(task)


def _seed(call: Call, body: RequestModel, *extra: object) -> int:
    if call.backend.lean:
        # One seed per route and track index, whatever the request: every task's song is the
        # same samples, rendered and encoded once (the renderers are cached by track spec).
        return call.backend.media_seed("lean", call.path, *extra)
    return call.backend.media_seed(call.path, body.to_body(), *extra)


def _music(
    call: Call,
    body: RequestModel,
    *,
    op: str,
    model: str,
    title: str,
    tags: str,
    prompt: str,
    instrumental: bool,
    callback_url: str | None,
    base: TrackSpec | None = None,
    start: float = 0.0,
    end: float | None = None,
    parent_music_id: str = "",
) -> Task:
    """A music task with two tracks of the same text and different audio."""
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    made = []
    for i in range(2):
        seed = _seed(call, body, i)
        spec = TrackSpec(seed, audio.song_seconds(seed), instrumental, base, start, end)
        made.append(
            Track(
                id=call.backend.new_id(),
                spec=spec,
                title=title,
                tags=tags,
                prompt="" if instrumental else prompt,
                model=model,
                create_time=stamp,
            )
        )
    data = {"op": op, "tracks": made, "parent_music_id": parent_music_id, "model": model}
    return _create(call, "music", body, callback_url, data)


def _simple_text(prompt: str, seed: int, instrumental: bool) -> tuple[str, str, str]:
    """Title, tags and lyrics a simple-mode request leaves to the model."""
    sung = "" if instrumental else lyrics(prompt, seed)
    return title_for(prompt, seed), tags_for(prompt, seed), sung


def start_generate(
    call: Call, body: bodies.GenerateBody | bodies.UploadCoverBody, *, op: str = "generate"
) -> Task:
    """``/suno/generate`` (and upload-cover): custom mode uses the caller's text as given."""
    rules.check_persona(call.backend, body.persona_id)
    if body.custom_mode:
        title, tags, prompt = body.title or "", body.style or "", body.prompt or ""
    else:
        title, tags, prompt = _simple_text(body.prompt or "", _seed(call, body), body.instrumental)
    return _music(
        call,
        body,
        op=op,
        model=body.model.value,
        title=title,
        tags=tags,
        prompt=prompt,
        instrumental=body.instrumental,
        callback_url=body.call_back_url,
    )


def start_upload_cover(call: Call, body: bodies.UploadCoverBody) -> Task:
    """``/suno/upload-cover``: the upload must be an emulator asset within the length limit."""
    limit = UPLOAD_SECONDS_V4_5ALL if body.model is SunoModel.V4_5ALL else UPLOAD_SECONDS
    rules.uploaded_audio_seconds(call.backend, body.upload_url, max_seconds=limit)
    return start_generate(call, body, op="upload_cover")


def start_extend(call: Call, body: bodies.ExtendBody) -> Task:
    """``/suno/extend``: the source track, cut at ``continueAt``, then new material."""
    backend = call.backend
    _, _, source = rules.find_track(backend, body.audio_id)
    if body.model.value != source.model:
        raise EmulatorError(
            400,
            f"model {body.model.value} does not match the source track's model {source.model}",
            code="model_mismatch",
        )
    rules.check_persona(backend, body.persona_id)
    cut = source.spec.duration
    if body.default_param_flag:
        # The body model makes continueAt required when the flag is true.
        cut = body.continue_at or cut
        if cut >= source.spec.duration:
            raise EmulatorError(
                400,
                f"continueAt {cut} s is not before the end of the source track "
                f"({source.spec.duration:.2f} s)",
                code="continue_at_out_of_range",
            )
        title, tags, prompt = body.title or "", body.style or "", body.prompt or ""
    else:
        title, tags, prompt = source.title, source.tags, source.prompt
    return _music(
        call,
        body,
        op="extend",
        model=source.model,
        title=title,
        tags=tags,
        prompt=prompt,
        instrumental=source.spec.instrumental,
        callback_url=body.call_back_url,
        base=source.spec,
        start=cut,
        parent_music_id=source.id,
    )


def start_upload_extend(call: Call, body: bodies.UploadExtendBody) -> Task:
    """``/suno/upload-extend``: continue uploaded audio.

    The result is new material only: an upload has no stems to splice, unlike ``extend``.
    """
    seconds = rules.uploaded_audio_seconds(
        call.backend, body.upload_url, max_seconds=UPLOAD_SECONDS
    )
    rules.check_persona(call.backend, body.persona_id)
    instrumental = bool(body.instrumental)
    if body.default_param_flag:
        if body.continue_at is not None and body.continue_at >= seconds:
            raise EmulatorError(
                400,
                f"continueAt {body.continue_at} s is not before the end of the upload "
                f"({seconds:.2f} s)",
                code="continue_at_out_of_range",
            )
        title, tags = body.title or "", body.style or ""
        prompt = body.prompt or ("" if instrumental else lyrics(title, _seed(call, body)))
    else:
        title, tags, prompt = _simple_text("uploaded melody", _seed(call, body), instrumental)
    return _music(
        call,
        body,
        op="upload_extend",
        model=body.model.value,
        title=title,
        tags=tags,
        prompt=prompt,
        instrumental=instrumental,
        callback_url=body.call_back_url,
    )


def start_add_vocals(call: Call, body: bodies.AddVocalsBody) -> Task:
    """``/suno/add-vocals``: a sung version over the uploaded instrumental."""
    return _overlay(call, body, op="add_vocals", tags=body.style, prompt=body.prompt)


def start_add_instrumental(call: Call, body: bodies.AddInstrumentalBody) -> Task:
    """``/suno/add-instrumental``: accompaniment under the uploaded vocals (a full mix)."""
    return _overlay(call, body, op="add_instrumental", tags=body.tags, prompt="")


def _overlay(
    call: Call,
    body: bodies.AddVocalsBody | bodies.AddInstrumentalBody,
    *,
    op: str,
    tags: str,
    prompt: str,
) -> Task:
    """A full mix made over an upload (both overlays sing or play along to the whole upload)."""
    rules.uploaded_audio_seconds(call.backend, body.upload_url, max_seconds=UPLOAD_SECONDS)
    return _music(
        call,
        body,
        op=op,
        model=(body.model or SunoModel.V4_5PLUS).value,
        title=body.title,
        tags=tags,
        prompt=prompt,
        instrumental=False,
        callback_url=body.call_back_url,
    )


#: Shortest replaced window (§11.5); the 50 % rule is only checked on tracks at least twice it.
MIN_WINDOW = 6.0


def start_replace_section(call: Call, body: bodies.ReplaceSectionParams) -> Task:
    """``/suno/replace-section``: the source track with ``[infillStartS, infillEndS)`` redone.

    Emulated tracks are shorter than 12 s by default, where no 6 s window can be at most half
    the track; the 50 % rule is therefore applied only to tracks of at least 12 s.
    """
    parent = rules.music_parent(call.backend, body.task_id)
    _, source = rules.track_of(parent, body.audio_id)
    duration = source.spec.duration
    if body.infill_end_s > duration:
        raise EmulatorError(
            400,
            f"infillEndS {body.infill_end_s} s is past the end of the track ({duration:.2f} s)",
            code="window_out_of_range",
        )
    window = body.infill_end_s - body.infill_start_s
    if duration >= 2 * MIN_WINDOW and window > duration / 2:
        raise EmulatorError(
            400,
            f"the replaced window ({window:.2f} s) is more than 50 % of the track "
            f"({duration:.2f} s)",
            code="window_too_long",
        )
    return _music(
        call,
        body,
        op="replace_section",
        model=source.model,
        title=body.title,
        tags=body.tags,
        prompt=body.full_lyrics or source.prompt,
        instrumental=source.spec.instrumental,
        callback_url=body.call_back_url,
        base=source.spec,
        start=body.infill_start_s,
        end=body.infill_end_s,
        parent_music_id=source.id,
    )


def start_lyrics(call: Call, body: bodies.LyricsParams) -> Task:
    """``/suno/generate-lyrics``: single stage; variants are written at SUCCESS."""
    return _create(call, "lyrics", body, body.call_back_url, {"seed": _seed(call, body)})


def start_cover(call: Call, body: bodies.CoverArtParams) -> Task:
    """``/suno/generate-cover``: one cover-art task per music task (a repeat is a 400)."""
    parent = rules.music_parent(call.backend, body.task_id)
    made = f"cover art was already generated for task {parent.id!r}"
    rules.check_once(
        call.backend, parent, "covers", "cover", status=400, made=made, code="cover_exists"
    )
    title = rules.tracks(parent)[0].title
    data = {"parent": parent.id, "seed": _seed(call, body), "title": title}
    task = _create(call, "cover", body, body.call_back_url, data)
    rules.record_child(parent, "covers", "cover", task)
    return task


def _track_task(
    call: Call,
    body: bodies.WavParams | bodies.Mp4Params | bodies.VocalRemovalParams | bodies.SplitStemParams,
    kind: Kind,
    **extra: Any,
) -> tuple[Task, Task]:
    """Check ``taskId``/``audioId`` and create a task made from that one track."""
    parent = rules.music_parent(call.backend, body.task_id)
    index, track = rules.track_of(parent, body.audio_id)
    data = {"parent": parent.id, "audio_id": track.id, "index": index, **extra}
    return parent, _create(call, kind, body, body.call_back_url, data)


def start_stems(call: Call, body: bodies.VocalRemovalParams | bodies.SplitStemParams) -> Task:
    """``/suno/vocal-removal`` and ``/suno/split-stem`` (billed per call upstream: no dedup)."""
    stem_type = body.type or "separate_vocal"
    return _track_task(call, body, "vocal-removal", type=stem_type)[1]


def start_wav(call: Call, body: bodies.WavParams) -> Task:
    """``/suno/wav-generate``: a second WAV of the same track is a 409."""
    parent = rules.music_parent(call.backend, body.task_id)
    rules.track_of(parent, body.audio_id)
    made = f"a WAV of audioId {body.audio_id!r} already exists"
    rules.check_once(
        call.backend, parent, "wavs", body.audio_id, status=409, made=made, code="wav_exists"
    )
    _, task = _track_task(call, body, "wav")
    rules.record_child(parent, "wavs", body.audio_id, task)
    return task


def start_mp4(call: Call, body: bodies.Mp4Params) -> Task:
    """``/suno/mp4-generate``: a music video of one track."""
    extra = {"seed": _seed(call, body), "author": body.author, "domain_name": body.domain_name}
    return _track_task(call, body, "mp4", **extra)[1]


# -- synchronous routes -----------------------------------------------------------------------


def timestamped_lyrics(call: Call, body: bodies.TimestampedLyricsParams) -> dict[str, Any]:
    """Aligned words of a finished track (none for instrumentals) and its waveform."""
    parent = rules.music_parent(call.backend, body.task_id)
    _, track = rules.track_of(parent, body.audio_id)
    seed = track.spec.seed
    return {
        "alignedWords": audio.align_words(track.spec, track.prompt, seed),
        "waveformData": audio.waveform(track.spec),
        "hootCer": round(0.05 + (seed % 3000) / 10_000, 3),
        "isStreamed": False,
    }


def style_generate(call: Call, body: bodies.StyleParams) -> dict[str, Any]:
    """Expanded style text; nothing is stored."""
    return {
        "taskId": call.backend.new_id(),
        "param": body.model_dump_json(by_alias=True, exclude_none=True),
        "result": expand_style(body.content, _seed(call, body)),
        "creditsConsumed": STYLE_CREDITS,
        "creditsRemaining": EMULATED_BALANCE - STYLE_CREDITS,
        "successFlag": "1",
        "errorCode": None,
        "errorMessage": None,
        "createTime": now_ms(),
    }


def generate_persona(call: Call, body: bodies.PersonaParams) -> dict[str, Any]:
    """A reusable voice from a finished track: one persona per audioId (a repeat is a 400)."""
    parent = rules.music_parent(call.backend, body.task_id)
    _, track = rules.track_of(parent, body.audio_id)
    made = rules.personas(parent)
    if track.id in made:
        raise EmulatorError(
            400,
            f"a persona was already generated from audioId {track.id!r}: personaId "
            f"{made[track.id]['personaId']!r}",
            code="persona_exists",
            data={"personaId": made[track.id]["personaId"]},
        )
    persona = {
        "personaId": call.backend.new_id("p"),
        "name": body.name,
        "description": body.description,
    }
    made[track.id] = persona
    return dict(persona)
