"""Parameter types every flow shares: the flow signature is the schema (Prefect renders it in
the UI and in a deployment's parameter schema), and :func:`flows._common.checked_parameters`
checks a run's values against it, naming the field."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

__all__ = ["MAX_DEADLINE_SECONDS", "BlockName", "DeadlineSeconds", "IdempotencyKey", "PollInterval"]

#: A week: longer than any documented generation, short enough to be a real deadline.
MAX_DEADLINE_SECONDS = 7 * 24 * 3600.0

BlockName = Annotated[
    str | None, Field(description="Name of a saved block; empty uses the environment.")
]
IdempotencyKey = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=200,
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description=(
            "Runs with the same key share their gateway tasks and stored assets (nothing is "
            "paid twice). Empty: this flow run is its own intent; retrying it resumes it."
        ),
    ),
]
DeadlineSeconds = Annotated[
    float,
    Field(
        gt=0,
        le=MAX_DEADLINE_SECONDS,
        allow_inf_nan=False,
        description="Time budget for all the waiting of this run, in seconds (retries included).",
    ),
]
PollInterval = Annotated[
    float,
    Field(
        gt=0,
        le=600,
        allow_inf_nan=False,
        description="First poll interval in seconds (backs off up to 6x).",
    ),
]
