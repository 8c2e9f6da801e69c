"""AI Music (``/suno/*``) behaviour of the emulator: rules, outputs and callbacks.

The route module :mod:`emulator.routes.suno` stays thin; everything it needs is here:

* :mod:`.bodies`: request models (the client's rules; lengths answer 413),
* :mod:`.rules`: follow-up rules (parent SUCCESS, audioId, uploads, personas),
* :mod:`.tasks`: task creation and the synchronous routes,
* :mod:`.records`: served files and the query records of contract §11.6,
* :mod:`.callbacks`: callback payloads of §11.7,
* :mod:`.audio` and :mod:`.text`: the sound and the words.
"""

from __future__ import annotations

from .audio import SAMPLE_RATE, SONG_SECONDS
from .callbacks import build_callbacks, install
from .records import query
from .tasks import Call

__all__ = ["SAMPLE_RATE", "SONG_SECONDS", "Call", "build_callbacks", "install", "query"]
