"""Run (or resume) the ``music-video`` flow in a process of its own, so a test can SIGKILL it
mid-pipeline.

Usage: ``python -m tests.reliability._subprocess_flow PARAMS_JSON RESULT_PATH [FLOW_RUN_ID]``.

With ``FLOW_RUN_ID`` the process resumes that flow run (what ``anyint-flows run music-video
--resume FLOW_RUN_ID`` does: the same flow run, its own parameters, so ``PARAMS_JSON`` must be
``{}``); without it, it starts a new one. The gateway, store and Prefect server come from the
environment (``ANYINT_BASE_URL``, ``ANYINT_API_KEY``, ``ANYINT_STORE``, ``PREFECT_API_URL``,
``PREFECT_HOME``), exactly as a deployment's process would get them. On success the flow's
result is written to ``RESULT_PATH`` as JSON (atomically, so a half-written result never looks
like a finished run); on failure the error and its resume command are printed and the exit code
is 1.
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
    resume = argv[2] if len(argv) > 2 else None
    # After the argv checks: importing Prefect takes ~2 s.
    from anyint_cli.run import FlowRunFailed, execute

    try:
        result = asyncio.run(execute("music-video", params, resume=resume))
    except FlowRunFailed as exc:
        cause = exc.cause
        print(f"flow run {exc.flow_run_id} failed: {type(cause).__name__}: {cause}", flush=True)
        print(f"resume with: {exc.resume_command()}", flush=True)
        return 1
    partial = result_path.with_suffix(".partial")
    partial.write_text(result.model_dump_json())
    os.replace(partial, result_path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
