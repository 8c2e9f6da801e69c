"""The ``anyint-flows setup`` step for the Prefect global concurrency limits of
:mod:`tasks.limits`: each ``anyint-*`` limit is created, updated to the configured value or kept.

The values are :data:`tasks.limits.DEFAULTS` with ``ANYINT_LIMITS`` applied, e.g.
``ANYINT_LIMITS="anyint-suno=2,anyint-create=10/2" anyint-flows setup``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .setup import Change, Setup

__all__ = ["create_limits"]


async def create_limits(ctx: Setup) -> list[Change]:
    """Every ``anyint-*`` limit at its configured value (``ANYINT_LIMITS`` over the defaults).

    Raises:
        SetupError: ``ANYINT_LIMITS`` does not parse (the message names the item and the fix).
    """
    from prefect.client.schemas.actions import (
        GlobalConcurrencyLimitCreate,
        GlobalConcurrencyLimitUpdate,
    )
    from prefect.exceptions import ObjectNotFound

    from tasks.limits import configured

    from .setup import Change, SetupError  # here: setup imports this module for its STEPS

    try:
        specs = configured()
    except ValueError as exc:
        raise SetupError(str(exc)) from None
    changes = []
    for spec in specs.values():
        what = f"concurrency limit {spec.name!r}"
        try:
            limit = await ctx.client.read_global_concurrency_limit_by_name(spec.name)
        except ObjectNotFound:
            if not ctx.dry_run:
                await ctx.client.create_global_concurrency_limit(
                    GlobalConcurrencyLimitCreate(
                        name=spec.name,
                        limit=spec.limit,
                        slot_decay_per_second=spec.slot_decay_per_second,
                    )
                )
            changes.append(Change("create", what, spec.detail()))
            continue
        same = (limit.limit, limit.slot_decay_per_second, limit.active) == (
            spec.limit,
            spec.slot_decay_per_second,
            True,
        )
        if not same and not ctx.dry_run:
            await ctx.client.update_global_concurrency_limit(
                spec.name,
                GlobalConcurrencyLimitUpdate(
                    limit=spec.limit,
                    slot_decay_per_second=spec.slot_decay_per_second,
                    active=True,
                ),
            )
        changes.append(Change("keep" if same else "update", what, spec.detail()))
    return changes
