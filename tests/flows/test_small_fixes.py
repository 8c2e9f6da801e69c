"""Small things a user sees (issue 13, item 7): song titles, Gemini's ``size``, error prefixes.

Titles go through the ``music-video`` flow against the emulator, every follow-up switched off;
the Gemini ``size`` rule through ``generate-image``, checked before any paid call.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import httpx
import pytest
from prefect import flow
from pydantic import AfterValidator, ValidationError

from anyint.types import suno as su
from anyint.types.suno_requests import MODEL_LIMITS
from flows import start_run
from flows._music_steps import fit_title
from flows._params import named_error, validate_parameters
from flows.generate_image import generate_image
from flows.music_video import MusicVideoResult, music_video
from tasks.generation import GEMINI_ASPECT_RATIOS, gemini_image
from tests.conftest import EmulatedGateway, call_log
from tests.flows.conftest import Refusal

#: Lyrics and song only: no stems, WAV, cover art or music video.
SONG_ONLY: dict[str, Any] = {
    "stems": None,
    "wav": False,
    "cover_art": False,
    "music_video": False,
    "poll_interval": 0.01,
}
#: Its first words run past the derived-title length in the middle of ``Northern``.
LONG_THEME = "songs of the lighthouse keepers of northern scotland at dawn"


def _song_request(result: MusicVideoResult) -> dict[str, Any]:
    """The ``/suno/generate`` body the run sent, as its manifest recorded it."""
    request = result.assets["audio"][0].request
    assert request is not None
    return request


def _lyrics_title(gateway: EmulatedGateway, result: MusicVideoResult) -> str:
    """The title the gateway gave the sung lyric variant (its stored file's heading)."""
    (lyrics,) = result.assets["lyrics"]
    heading = gateway.read(lyrics.key).decode().splitlines()[0]
    assert heading.startswith("# ") and heading != "# Untitled"
    return heading.removeprefix("# ")


# -- titles ---------------------------------------------------------------------------------------


async def test_a_title_from_the_prompt_ends_at_a_whole_word(
    gateway: EmulatedGateway, fast_music: httpx.AsyncClient
) -> None:
    # Instrumental: custom mode without a lyrics step, so the title is the derived one.
    result = await music_video(prompt=LONG_THEME, instrumental=True, **SONG_ONLY)
    title = _song_request(result)["title"]
    words = title.split()
    assert [w.lower() for w in words] == LONG_THEME.split()[: len(words)]  # whole words only
    assert len(title) <= MODEL_LIMITS[su.SunoModel.V5].title
    assert title == "Songs Of The Lighthouse Keepers"  # not "... Keepers Of", nor "... Nort"
    assert result.title == title


async def test_the_lyrics_own_title_names_the_song(
    gateway: EmulatedGateway, fast_music: httpx.AsyncClient
) -> None:
    result = await music_video(prompt=LONG_THEME, **SONG_ONLY)
    lyrics_title = _lyrics_title(gateway, result)
    assert _song_request(result)["title"] == lyrics_title == result.title


async def test_a_title_the_user_gives_beats_the_lyrics_title(
    gateway: EmulatedGateway, fast_music: httpx.AsyncClient
) -> None:
    result = await music_video(prompt=LONG_THEME, title="Keepers", **SONG_ONLY)
    assert _lyrics_title(gateway, result) != "Keepers"
    assert _song_request(result)["title"] == "Keepers" == result.title


def test_a_lyrics_title_is_kept_whole_when_it_fits_and_cut_between_words_when_not() -> None:
    limit = MODEL_LIMITS[su.SunoModel.V5].title
    assert fit_title("Something To Hold On To", limit) == "Something To Hold On To"
    long = "Harbour Lights " * 10  # 150 characters
    cut = fit_title(long, limit)
    assert cut is not None and len(cut) <= limit and long.startswith(cut + " ")


# -- Gemini size ----------------------------------------------------------------------------------


async def test_gemini_size_as_an_aspect_ratio_is_honoured(gateway: EmulatedGateway) -> None:
    result = await generate_image(prompt="a wide beach", size="21:9")
    (record,) = result.images
    assert record.request is not None
    assert record.request["generationConfig"]["imageConfig"] == {"aspectRatio": "21:9"}


@pytest.mark.parametrize(
    ("size", "named"),
    [
        ("1024*576", r"got 1024\*576; pass size='16:9'"),  # pixels: never quietly sent as 16:9
        ("1000*700", r"got 1000\*700 \(10:7, not offered\)"),
        ("2:1", r"got 2:1 \(not offered\)"),
    ],
)
async def test_gemini_size_it_cannot_honour_is_refused_before_any_call(
    refused: Refusal, control: httpx.AsyncClient, size: str, named: str
) -> None:
    supported = re.escape(", ".join(GEMINI_ASPECT_RATIOS))
    await refused(generate_image, {"size": size}, f"^parameter 'size': .*{supported}; {named}")
    assert await call_log(control) == []  # not even the free catalogue read


@flow
async def _gemini_at(aspect_ratio: str) -> Any:
    run = await start_run({"aspect_ratio": aspect_ratio})
    return await gemini_image(
        run, "a kite", "gemini-3.1-flash-image-preview", aspect_ratio=aspect_ratio
    )


async def test_the_gemini_task_refuses_a_ratio_before_calling(
    gateway: EmulatedGateway, control: httpx.AsyncClient
) -> None:
    with pytest.raises(ValueError, match=r"aspect_ratio: .*got '10:7'"):
        await _gemini_at("10:7")
    assert [c for c in await call_log(control) if c["method"] != "GET"] == []


# -- error prefixes -------------------------------------------------------------------------------


def _size_rule(size: str) -> str:
    if "*" not in size:
        raise ValueError(f"parameter 'size': {size!r} is not W*H")
    return size


def _takes_size(size: Annotated[str, AfterValidator(_size_rule)] = "1*1") -> None:
    """A flow function whose ``size`` rule names the parameter itself."""


def test_a_message_that_names_its_parameter_is_not_prefixed_again() -> None:
    with pytest.raises(ValueError) as caught:
        validate_parameters(_takes_size, {"size": "big"})
    assert str(caught.value) == "parameter 'size': 'big' is not W*H"


def test_a_rule_no_parameter_owns_is_not_blamed_on_body() -> None:
    with pytest.raises(ValidationError) as caught:
        su.GenerateParams.model_validate(
            {
                "customMode": False,
                "instrumental": False,
                "model": "V5",
                "prompt": "x",
                "personaId": "p1",
                "callBackUrl": "https://callbacks.invalid/x",
            }
        )
    message = str(named_error(caught.value))
    assert "personaId" in message and "parameter 'body'" not in message


@pytest.mark.parametrize(
    "parameters",
    [
        {"size": "1024*576"},
        {"size": "huge"},
        {"size": 5},
        {"route": "dashscope", "size": "500*500"},
        {"route": "dashscope", "size": "16:9"},
    ],
)
async def test_bad_size_messages_name_size_once(
    refused: Refusal, parameters: dict[str, Any]
) -> None:
    # "^...(?!.*parameter ')": one prefix, at the start, and none repeated after it.
    await refused(generate_image, parameters, r"^parameter 'size': (?!.*parameter ')")
