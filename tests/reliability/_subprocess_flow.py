"""Run the ``music-video`` flow in a process of its own, so a test can SIGKILL it mid-pipeline.

Usage: ``python -m tests.reliability._subprocess_flow PARAMS_JSON RESULT_PATH``.

The gateway, store and Prefect server come from the environment (``ANYINT_BASE_URL``,
``ANYINT_API_KEY``, ``ANYINT_STORE``, ``PREFECT_API_URL``, ``PREFECT_HOME``), exactly as a
deployment's process would get them. On success the flow's result is written to ``RESULT_PATH``
as JSON (atomically, so a half-written result never looks like a finished run); on failure the
exception is printed and the exit code is 1.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    """Run the flow with the parameters in ``argv[0]`` and write its result to ``argv[1]``."""
    params = json.loads(argv[0])
    result_path = Path(argv[1])
    from flows.music_video import music_video  # after argv checks: importing Prefect takes ~2 s

    result = asyncio.run(music_video(**params))
    partial = result_path.with_suffix(".partial")
    partial.write_text(result.model_dump_json())
    os.replace(partial, result_path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
