"""Edits of a finished song for ``music-video``: extend it, re-sing a window of it, and the
style-assist helpers.

The edits are planned with the song (:func:`plan_edits`: every rule that needs no gateway answer
is checked before the first paid call, each error naming its flow parameter). They run after the
song and before the follow-ups: :func:`extend_song` continues the chosen track, then
:func:`resing_window` re-sings a window of the newest track (the extension when there is one).
Each edit's first track is the one kept, and the follow-ups (stems, WAV, cover art, music video)
are made of the last track kept. Bodies are deterministic, so a retry or resume of the flow run
reuses each edit's gateway task like every other step.
"""

from __future__ import annotations

from typing import Annotated, Any

from prefect import get_run_logger
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from anyint.types import suno as su
from anyint.types.suno_requests import MODEL_LIMITS, SIMPLE_MODE_PROMPT_LIMIT
from tasks import RunConfig

from ._music_steps import SongResult, fit_title, run_step, suno_body, take_track
from ._params import named_error

__all__ = [
    "EditLyrics",
    "EditPlan",
    "ExtendAt",
    "SectionWindow",
    "check_window_in_song",
    "extend_song",
    "fit_style",
    "plan_edits",
    "resing_window",
    "style_room",
]

#: Stand-ins used only to check an edit's body before the song (and its ids) exist.
_ID_STAND_IN = "stand-in"
_TITLE_STAND_IN = "Title"
#: Which of an edit's tracks is kept: the first, so a resume keeps the same one.
_KEPT_TRACK = 0
#: The shortest and longest re-sung window, and its largest share of the song (§11.5).
_WINDOW_SECONDS = (6.0, 60.0)
_WINDOW_SHARE = 0.5

#: Where an extension starts, in seconds into the track (empty: at its end).
ExtendAt = Annotated[float | None, Field(gt=0, le=3600, allow_inf_nan=False)]
#: Lyrics sung by an edit (the longest prompt any model takes).
EditLyrics = Annotated[str | None, Field(min_length=1, max_length=5000)]
_Second = Annotated[float, Field(ge=0, le=3600, allow_inf_nan=False)]
#: ``[start, end]`` seconds of the window to re-sing.
SectionWindow = Annotated[list[_Second], Field(min_length=2, max_length=2)] | None


class EditPlan(BaseModel):
    """The edits of a song, checked before any paid call.

    Attributes:
        model: Suno model of the song (an extension must use the song's own).
        style: Style sent with custom edits (``style`` of extend, ``tags`` of replace-section).
        extend: Continue the song.
        extend_body: The extend body without the track's ``audioId`` and title (known later).
        window: Start and end, in seconds, of the window to re-sing, or None.
        replace_lyrics: What the re-sung window sings.
    """

    model_config = ConfigDict(frozen=True)

    model: su.SunoModel
    style: str
    extend: bool = False
    extend_body: dict[str, Any] | None = None
    window: tuple[float, float] | None = None
    replace_lyrics: str | None = None

    @property
    def extend_at(self) -> float | None:
        """Where the extension starts (None: at the end, with the song's own settings)."""
        if self.extend_body is None:
            return None
        at = self.extend_body.get("continueAt")
        return None if at is None else float(at)


def _required_with(name: str, value: object, needs: str, fix: str) -> None:
    if value is not None:
        raise ValueError(f"parameter {name!r}: only used with {needs}; {fix}")


def _extend_body(
    model: su.SunoModel,
    style: str,
    at: float | None,
    lyrics: str | None,
    *,
    instrumental: bool,
    prompt: str,
) -> dict[str, Any]:
    """The extend body (``audioId`` and title stand in): custom when ``at`` is given."""
    fields: dict[str, Any] = {"audio_id": _ID_STAND_IN, "model": model}
    names = {"prompt": "extend_lyrics", "style": "style"}
    names |= dict.fromkeys(("continue_at", "continueAt"), "extend_at")
    if at is None:
        fields["default_param_flag"] = False
    else:
        if lyrics is None and not instrumental:
            raise ValueError(
                "parameter 'extend_lyrics': needed with extend_at (the words the continuation "
                "sings); or leave extend_at empty to let the model continue from the end"
            )
        if lyrics is None:
            names["prompt"] = "prompt"  # an instrumental continuation is described by the theme
        fields |= {
            "default_param_flag": True,
            "continue_at": at,
            "prompt": lyrics if lyrics is not None else prompt,
            "style": style,
            "title": _TITLE_STAND_IN,
        }
    try:
        return suno_body(su.ExtendParams, **fields)
    except ValidationError as exc:
        raise named_error(exc, names) from None


def _window(section: list[float], lyrics: str | None, style: str) -> tuple[float, float]:
    """The re-sung window, checked by every rule that needs no song (§11.5)."""
    start, end = section
    if start >= end:
        raise ValueError(f"parameter 'replace_section': start {start} s must be before end {end} s")
    low, high = _WINDOW_SECONDS
    length = round(end - start, 2)  # 10.01 - 4.01 is 6.000000000000001
    if not low <= length <= high:
        raise ValueError(
            f"parameter 'replace_section': the window [{start}, {end}] is {length} s; "
            f"it must be {low:g}-{high:g} s long"
        )
    if lyrics is None:
        raise ValueError(
            "parameter 'replace_lyrics': needed with replace_section (what the window sings)"
        )
    # Errors name a field by its attribute (a rule's message by its wire name): both map.
    names = dict.fromkeys(
        ("infill_start_s", "infill_end_s", "infillStartS", "infillEndS"), "replace_section"
    )
    try:
        suno_body(
            su.ReplaceSectionParams,
            task_id=_ID_STAND_IN,
            audio_id=_ID_STAND_IN,
            prompt=lyrics,
            tags=style,
            title=_TITLE_STAND_IN,
            infill_start_s=start,
            infill_end_s=end,
        )
    except ValidationError as exc:
        raise named_error(exc, names | {"prompt": "replace_lyrics", "tags": "style"}) from None
    return start, end


def plan_edits(
    *,
    model: su.SunoModel,
    style: str,
    prompt: str,
    instrumental: bool,
    extend: bool,
    extend_at: float | None,
    extend_lyrics: str | None,
    replace_section: list[float] | None,
    replace_lyrics: str | None,
) -> EditPlan:
    """Check the edit parameters of ``music-video`` and build what can be built of their bodies.

    The rules that need the song's length (the window inside the song and at most half of it,
    ``extend_at`` before its end) are checked by :func:`make_edits` once the length is known.

    Raises:
        ValueError: Naming the flow parameter that breaks a rule.
    """
    if not extend:
        fix = "set extend=true, or leave it empty"
        _required_with("extend_at", extend_at, "extend=true", fix)
        _required_with("extend_lyrics", extend_lyrics, "extend=true", fix)
    elif extend_at is None:
        fix = "set extend_at (where the custom continuation starts), or leave it empty"
        _required_with("extend_lyrics", extend_lyrics, "extend_at", fix)
    if replace_section is None:
        fix = "give replace_section (the window to re-sing), or leave it empty"
        _required_with("replace_lyrics", replace_lyrics, "replace_section", fix)
    body = None
    if extend:
        body = _extend_body(
            model, style, extend_at, extend_lyrics, instrumental=instrumental, prompt=prompt
        )
    window = None
    if replace_section is not None:
        window = _window(replace_section, replace_lyrics, style)
    return EditPlan(
        model=model,
        style=style,
        extend=extend,
        extend_body=body,
        window=window,
        replace_lyrics=replace_lyrics,
    )


def _title(plan: EditPlan, song: SongResult) -> str:
    return fit_title(song.title, MODEL_LIMITS[plan.model].title) or _TITLE_STAND_IN


async def extend_song(run: RunConfig, plan: EditPlan, song: SongResult) -> SongResult:
    """Continue ``song``'s track; the extension's first track becomes the song's track.

    Raises:
        ValueError: ``extend_at`` is not before the end of the song (nothing paid for it).
    """
    assert plan.extend_body is not None
    at = plan.extend_at
    if at is not None and song.duration is not None and at >= song.duration:
        raise ValueError(
            f"parameter 'extend_at': {at} s is not before the end of the song, which is "
            f"{song.duration:.2f} s long; choose a point inside it, or leave extend_at empty "
            "to continue from the end"
        )
    body = {**plan.extend_body, "audioId": song.audio_id}
    if at is not None:
        body["title"] = _title(plan, song)
    step, finished = await run_step(run, "extend", "suno.extend", body, model=plan.model.value)
    get_run_logger().info("extended track %s: task %s", song.audio_id, step.task_id)
    return take_track(song, step, finished, _KEPT_TRACK, parameter="extend")


def check_window_in_song(window: tuple[float, float], song: SongResult) -> None:
    """The window lies inside the song and is at most half of it (§11.5).

    Raises:
        ValueError: Naming ``replace_section`` and the song's length.
    """
    if song.duration is None:
        return  # the gateway reported no length: it checks the window itself
    start, end = window
    which = "extended song" if any(s.step == "extend" for s in song.steps) else "song"
    if end > song.duration:
        raise ValueError(
            f"parameter 'replace_section': the window [{start}, {end}] ends after the "
            f"{which}, which is {song.duration:.2f} s long; choose a window inside it"
        )
    if round(end - start, 2) > _WINDOW_SHARE * song.duration:
        raise ValueError(
            f"parameter 'replace_section': the window [{start}, {end}] is more than half of "
            f"the {which}, which is {song.duration:.2f} s long; choose a shorter window"
            + ("" if which == "extended song" else ", or extend the song first")
        )


async def resing_window(run: RunConfig, plan: EditPlan, song: SongResult) -> SongResult:
    """Re-sing a window of ``song``'s track; the result's first track becomes the song's.

    Raises:
        ValueError: The window does not fit the song (nothing paid for it).
    """
    assert plan.window is not None and plan.replace_lyrics is not None
    check_window_in_song(plan.window, song)
    body = suno_body(
        su.ReplaceSectionParams,
        task_id=song.task_id,
        audio_id=song.audio_id,
        prompt=plan.replace_lyrics,
        tags=plan.style,
        title=_title(plan, song),
        infill_start_s=plan.window[0],
        infill_end_s=plan.window[1],
    )
    step, finished = await run_step(
        run, "replace_section", "suno.replace-section", body, model=plan.model.value
    )
    return take_track(song, step, finished, _KEPT_TRACK, parameter="replace_section")


def style_room(model: su.SunoModel, mode: str, prompt: str) -> int:
    """Most characters a style may have in a song of ``mode``: the model's custom-mode limit,
    or what simple mode leaves of its prompt limit once the prompt is in (the style is folded
    into the prompt there, as :func:`flows._music_steps.plan_song` does)."""
    if mode == "custom":
        return MODEL_LIMITS[model].style
    return SIMPLE_MODE_PROMPT_LIMIT - len(f"{prompt.strip()}. Style: ")


def fit_style(expanded: str, rough: str, room: int) -> str:
    """The expanded style as one line within ``room`` characters (cut after a whole word).

    The gateway's text is data: line breaks and control characters become spaces, so the
    bodies built from it pass the request models' text rule. Nothing usable left: ``rough``.
    """
    flat = " ".join("".join(c if c.isprintable() else " " for c in expanded).split())
    if len(flat) <= room:
        return flat or rough
    return fit_title(flat, room) or rough
