"""Lean media mode: for load tests, the emulator renders each kind of file once and reuses it.

In the default ``full`` mode every task gets media of its own, drawn from a seed of its request
(see :meth:`emulator.backend.Backend.media_seed`): 50 songs cost 50 renders (about 1.6 CPU-s per
music-video pipeline), which makes a load test measure the emulator instead of the client. In
``lean`` mode:

- Suno tracks take their seed from the route and the track's index only, not from the request,
  so every task's song is the same samples: rendered once, its MP3, stems, WAV and video encoded
  once (the renderers in :mod:`emulator.music.audio` are cached by track spec);
- no per-task text is drawn into pictures (track images, cover art, the music video's caption);
- :class:`MediaReuse` keeps the bytes of each rendering recipe (renderer and arguments), so the
  next task of the same kind and size reuses them.

The video and image families (Kling, DashScope, ``/v1/videos``, Gemini) still render per request
in lean mode: a music-video pipeline, the load benchmark's, uses none of them.

Everything a client tells tasks apart by stays unique per task: task ids, audio (track) ids,
asset URLs, titles and lyrics (those still follow the prompt). The files are real, valid media
whose reported facts (duration, size) match their bytes; only the bytes repeat across tasks.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Literal, ParamSpec, get_args

__all__ = ["MEDIA_MODES", "MediaMode", "MediaReuse", "check_media_mode"]

MediaMode = Literal["full", "lean"]
#: The media modes, default first.
MEDIA_MODES: tuple[MediaMode, ...] = get_args(MediaMode)

P = ParamSpec("P")


def check_media_mode(media: str) -> MediaMode:
    """``media`` as a :data:`MediaMode`, or a ValueError naming the choices."""
    for mode in MEDIA_MODES:
        if media == mode:
            return mode
    raise ValueError(f"media must be one of {list(MEDIA_MODES)}, got {media!r}")


class MediaReuse:
    """Bytes per rendering recipe: the first call renders, later calls with the same recipe reuse.

    Thread-safe (video renders run in worker threads); a recipe being rendered by one thread is
    not rendered again by another, which waits for it instead.

    Attributes:
        renders: Recipes rendered so far.
        reuses: Calls answered from a recipe rendered before.
    """

    def __init__(self) -> None:
        self._bytes: dict[Hashable, bytes] = {}
        self._locks: dict[Hashable, threading.Lock] = {}
        self._guard = threading.Lock()
        self.renders = 0
        self.reuses = 0

    def render(self, make: Callable[P, bytes], *args: P.args, **kwargs: P.kwargs) -> bytes:
        """``make(*args, **kwargs)``, computed once per distinct (make, args, kwargs).

        The arguments are the recipe, so they must be hashable (numbers, strings, frozen specs).
        """
        recipe = (make, args, tuple(sorted(kwargs.items())))
        with self._guard:
            lock = self._locks.setdefault(recipe, threading.Lock())
        with lock:
            data = self._bytes.get(recipe)
            reused = data is not None
            if data is None:
                data = self._bytes[recipe] = make(*args, **kwargs)
        with self._guard:
            if reused:
                self.reuses += 1
            else:
                self.renders += 1
        return data

    def clear(self) -> None:
        """Forget every rendering (a reset, or a new seed, changes what the recipes give)."""
        with self._guard:
            self._bytes.clear()
            self._locks.clear()
            self.renders = self.reuses = 0
