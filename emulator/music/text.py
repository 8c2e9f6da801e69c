"""The words of emulated music: titles, tags, lyric variants and expanded style text.

Pure functions of the request text and a seed, so the same request always reads the same. The
lyrics are built from the prompt's own content words, which keeps a demo recognisable: a song
"about travel and freedom" sings about travel and freedom.
"""

from __future__ import annotations

import random
import re

__all__ = ["expand_style", "lyric_variants", "lyrics", "split_lyrics", "tags_for", "title_for"]

_GENRES = (
    "pop",
    "rock",
    "jazz",
    "blues",
    "folk",
    "country",
    "classical",
    "piano",
    "hip hop",
    "rap",
    "r&b",
    "soul",
    "funk",
    "disco",
    "electronic",
    "edm",
    "house",
    "techno",
    "synthwave",
    "lofi",
    "ambient",
    "metal",
    "punk",
    "reggae",
    "indie",
    "acoustic",
    "orchestral",
    "cinematic",
)
_MOODS = (
    "bright",
    "calm",
    "dreamy",
    "energetic",
    "melancholic",
    "warm",
    "mysterious",
    "uplifting",
    "nostalgic",
    "playful",
)
_STOPWORDS = frozenset(
    """a an the and or but of to in on at for with about from by into over under song track
    tune music piece make write create generate me my our your we you i it its this that is are be
    very some something like style vibe feel feeling mood lyrics lyric verse chorus using use
    """.split()
)
_FALLBACK_WORDS = ("midnight", "river", "city", "summer", "horizon", "light", "ocean", "road")
_VERSE = (
    "{A} in the morning light",
    "Walking slow through the {a}",
    "Every road leads back to {a}",
    "We were young and {mood}",
    "Holding on to {a} tonight",
    "Counting stars above the {a}",
    "I hear the {a} calling my name",
    "Footsteps fading into {a}",
    "Paint the sky with {a}",
    "Whispers of the {a} remain",
)
_CHORUS = (
    "Oh, {a}, carry me home",
    "We keep running toward the {a}",
    "Sing it loud for {a}",
    "{A}, {A}, never let go",
    "Hearts on fire, chasing {a}",
    "Hold me close in the {a}",
)
_INSTRUMENTS = (
    "shimmering synth pads",
    "warm Rhodes chords",
    "fingerpicked acoustic guitar",
    "a punchy live drum kit",
    "a round, pulsing bass line",
    "lush string swells",
    "muted brass stabs",
    "crisp hand percussion",
    "a gritty overdriven guitar",
    "soft felt piano",
)
_VOICES = (
    "airy female vocals",
    "warm male vocals",
    "breathy close-miked vocals",
    "soaring layered harmonies",
    "a smoky alto lead",
)
_PRODUCTION = (
    "wide reverb-drenched mix",
    "tight, radio-ready mix",
    "lo-fi tape saturation",
    "intimate, dry production",
    "cinematic build to a big final chorus",
)


def _words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z][A-Za-z'&-]*", text.lower())


def _content_words(text: str) -> list[str]:
    """Distinct words of ``text`` that carry meaning (no stopwords, genres or moods)."""
    seen: list[str] = []
    lowered = text.lower()
    genres = {g for g in _GENRES if g in lowered}
    for word in _words(text):
        if word in _STOPWORDS or word in genres or word in _MOODS or len(word) < 3:
            continue
        if word not in seen:
            seen.append(word)
    return seen


def _keywords(text: str, seed: int) -> list[str]:
    words = _content_words(text)
    if len(words) < 2:
        gen = random.Random(seed)
        words += [w for w in gen.sample(_FALLBACK_WORDS, 3) if w not in words]
    return words


def title_for(text: str, seed: int, variant: int = 0) -> str:
    """A short title (at most 80 characters) from the content words of ``text``.

    Args:
        text: A prompt, theme or style.
        seed: Picks fallback words when ``text`` has too few of its own.
        variant: Rotates the words, so lyric variants get different titles.
    """
    words = _keywords(text, seed)
    start = variant % len(words)
    picked = (words[start:] + words[:start])[:3]
    if len(picked) == 3:
        title = f"{picked[0].title()} of {picked[1].title()} and {picked[2].title()}"
    else:
        title = " ".join(w.title() for w in picked)
    return title[:80]


def tags_for(text: str, seed: int) -> str:
    """Comma-separated style tags: the genres and moods ``text`` names, else seeded ones."""
    lowered = text.lower()
    gen = random.Random(seed)
    genres = [g for g in _GENRES if re.search(rf"\b{re.escape(g)}\b", lowered)]
    moods = [m for m in _MOODS if m in lowered]
    tags = (genres or [gen.choice(_GENRES[:8])])[:3] + (moods or [gen.choice(_MOODS)])[:2]
    return ", ".join(tags)


def lyrics(text: str, seed: int) -> str:
    """Song lyrics in ``[Verse]`` / ``[Chorus]`` sections that sing about ``text``'s words."""
    gen = random.Random(seed)
    words = _keywords(text, seed)
    mood = next((m for m in _MOODS if m in text.lower()), gen.choice(_MOODS))

    def line(template: str) -> str:
        word = gen.choice(words)
        return template.format(a=word, A=word.capitalize(), mood=mood)

    verse1 = [line(t) for t in gen.sample(_VERSE, 4)]
    chorus = [line(t) for t in gen.sample(_CHORUS, 4)]
    verse2 = [line(t) for t in gen.sample(_VERSE, 4)]
    sections = [("[Verse]", verse1), ("[Chorus]", chorus), ("[Verse 2]", verse2)]
    sections.append(("[Chorus]", chorus))
    return "\n\n".join(head + "\n" + "\n".join(lines) for head, lines in sections)


def lyric_variants(prompt: str, seed: int, count: int = 2) -> list[dict[str, str]]:
    """``count`` different lyric sheets for one theme, each with its own title."""
    return [
        {"text": lyrics(prompt, seed + i), "title": title_for(prompt, seed, variant=i)}
        for i in range(count)
    ]


def split_lyrics(text: str) -> list[str]:
    """The sung words of a lyric sheet, each section tag glued to the word it precedes.

    ``"[Verse]\\nThe city\\nBy night"`` gives ``["[Verse]\\nThe", "city", "\\nBy", "night"]``:
    section tags as upstream spells aligned words, and a line break glued the same way to the
    word it precedes (so a karaoke line ends where the sheet's line does).
    """
    out: list[str] = []
    prefix = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            prefix += line + "\n"
            continue
        if out and not prefix:
            prefix = "\n"
        for word in line.split():
            out.append(prefix + word)
            prefix = ""
    return out


def expand_style(content: str, seed: int) -> str:
    """Rich style text from rough keywords, e.g. ``"Pop, Mysterious"`` (style-generate)."""
    gen = random.Random(seed)
    lowered = content.lower()
    genres = [g for g in _GENRES if re.search(rf"\b{re.escape(g)}\b", lowered)] or [
        gen.choice(_GENRES[:8])
    ]
    moods = [m for m in _MOODS if m in lowered] or [gen.choice(_MOODS)]
    extra = [w for w in _content_words(content) if w not in genres][:2]
    instruments = gen.sample(_INSTRUMENTS, 3)
    head = f"{' and '.join(moods).capitalize()} {' / '.join(genres)}"
    if extra:
        head += f" with hints of {' and '.join(extra)}"
    key = (
        "minor"
        if {"mysterious", "melancholic", "dark", "sad"} & set(_words(content))
        else (gen.choice(("major", "minor")))
    )
    return (
        f"{head}: {instruments[0]}, {instruments[1]} and {instruments[2]} under "
        f"{gen.choice(_VOICES)}; {key} key, {gen.randrange(78, 132)} BPM, "
        f"{gen.choice(_PRODUCTION)}."
    )
