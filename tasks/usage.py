"""What the gateway reported a run consumed, per family, and an optional estimate of its cost.

**Usage.** :func:`usage_of` reads the usage a gateway answer reports, in the gateway's own field
names, and nothing else (no count is guessed):

- ``anthropic``: the message's ``usage`` (``input_tokens``, ``output_tokens``, cache fields; §8.4).
- ``gemini``: ``usageMetadata`` (``promptTokenCount``, ``candidatesTokenCount``... ; §9.6).
- ``dashscope``: ``usage`` of a sync image answer (``image_count``, ``width``, ``height``; §10.1)
  or of a finished video task's query (``duration``, ``video_count``, ``SR``...; §10.3).
- ``suno``: ``creditsConsumed`` (and ``creditsRemaining``), reported by ``style-generate`` only
  (§11.4); music, lyrics, cover, stem, WAV and MP4 task queries report none (§11.6).
- ``kling`` (§10.4) and ``videos`` (§10.5): nothing is reported, so the usage is ``{}``.

Each task or call that produced something (or, for chat, answered) writes one part file,
``runs/<flow_run_id>/usage.d/<hash of its source>.json``, keyed by its gateway task id or its
call's identity, so a retry or resume that finds the same work again counts it once. The run's
totals (:func:`run_totals`) sum each family's countable units (:data:`UNITS`) over those parts;
values that are not amounts (``width``, ``SR``, ``creditsRemaining``) stay on the asset only.

**Price table.** Optional, given as the flow parameter ``price_table``: the store key of a JSON
file (``prices/anyint.json``) in the run's asset store. Nothing here is a price: the table is
the user's. Its format::

    {"currency": "USD",
     "prices": {"anthropic": {"input_tokens": 0.000003, "output_tokens": 0.000015},
                "dashscope": {"image_count": 0.03, "duration": 0.1},
                "suno": {"creditsConsumed": 0.005}}}

``prices`` maps a family to the price of one unit of each usage field (a number >= 0). A family
or unit the gateway does not report (see :data:`UNITS`) is an error, as is a file that does not
parse: :func:`load_price_table` raises before any paid call, naming the file and the field. The
estimate (:func:`estimate`) is marked ``estimated`` and lists the used units the table has no
price for.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import uuid
from typing import Any

from pydantic import BaseModel, Field

from anyint.types.anthropic import AnthropicUsage
from anyint.types.dashscope import DashScopeTaskUsage
from anyint.types.gemini import UsageMetadata
from blocks import AssetStore, StoreDocumentError

from .run import RunConfig

__all__ = [
    "UNITS",
    "EstimatedCost",
    "UsageSummary",
    "add_totals",
    "adopt_usage",
    "count_call",
    "estimate",
    "load_price_table",
    "manifest_fields",
    "markdown_lines",
    "parse_price_table",
    "record_usage",
    "run_totals",
    "run_usage",
    "summary",
    "usage_of",
]

#: The countable units each family reports (summed into a run's totals and priced by a table).
UNITS: dict[str, tuple[str, ...]] = {
    "anthropic": (
        "input_tokens",
        "output_tokens",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
    ),
    "gemini": (
        "promptTokenCount",
        "candidatesTokenCount",
        "totalTokenCount",
        "cachedContentTokenCount",
        "thoughtsTokenCount",
        "toolUsePromptTokenCount",
    ),
    "dashscope": (
        "image_count",
        "video_count",
        "duration",
        "video_duration",
        "input_video_duration",
        "output_video_duration",
    ),
    "suno": ("creditsConsumed",),
    "kling": (),
    "videos": (),
}

#: Where each family's answer carries its usage: (attribute, wire name, model that reads it).
_FIELDS: dict[str, tuple[str, str, type[BaseModel]]] = {
    "anthropic": ("usage", "usage", AnthropicUsage),
    "gemini": ("usage_metadata", "usageMetadata", UsageMetadata),
    # The image usage model has fewer fields; extras are kept, so one model reads both.
    "dashscope": ("usage", "usage", DashScopeTaskUsage),
}
_SUNO_FIELDS = {"creditsConsumed": "credits_consumed", "creditsRemaining": "credits_remaining"}


def _get(response: Any, *names: str) -> Any:
    for name in names:
        value = response.get(name) if isinstance(response, dict) else getattr(response, name, None)
        if value is not None:
            return value
    return None


def usage_of(route: str, response: Any) -> dict[str, Any]:
    """The usage ``response`` (a typed answer or its JSON dump) reports, by the gateway's names.

    Args:
        route: Route name (``dashscope.video-synthesis``) or family (``anthropic``).
        response: The answer, a task's final snapshot, or None.

    Returns:
        The reported fields (None values left out); ``{}`` where the family reports nothing.
    """
    family = route.split(".", 1)[0]
    if response is None:
        return {}
    if family == "suno":
        found = {wire: _get(response, wire, attr) for wire, attr in _SUNO_FIELDS.items()}
        return {k: v for k, v in found.items() if v is not None}
    if family not in _FIELDS:
        return {}
    attribute, wire, model = _FIELDS[family]
    value = _get(response, attribute, wire)
    if value is None:
        return {}
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json", by_alias=True)
    if not isinstance(value, dict):
        return {}
    parsed = model.model_validate(value)
    dumped: dict[str, Any] = parsed.model_dump(mode="json", by_alias=True, exclude_none=True)
    return dumped


def add_totals(
    totals: dict[str, dict[str, float]], family: str, usage: dict[str, Any]
) -> dict[str, dict[str, float]]:
    """Add the countable units of one ``usage`` of ``family`` to ``totals`` (in place).

    Returns:
        ``totals``, for chaining. A family is listed once it has a part, even with nothing.
    """
    counted = totals.setdefault(family, {})
    for unit in UNITS.get(family, ()):
        value = usage.get(unit)
        if isinstance(value, int | float) and not isinstance(value, bool):
            counted[unit] = counted.get(unit, 0) + value
    return totals


def _prefix(run: RunConfig) -> str:
    return f"runs/{run.flow_run_id or 'local'}/usage.d"


def record_usage(
    store: AssetStore, run: RunConfig, source: str, route: str, usage: dict[str, Any]
) -> None:
    """Note that ``source`` (``task:<id>`` or ``call:<id>``) of ``route`` reported ``usage``.

    Writing the same source again replaces its part, so work found again counts once.
    """
    name = hashlib.sha256(source.encode()).hexdigest()[:24]
    part = {"source": source, "route": route, "family": route.split(".", 1)[0], "usage": usage}
    store.put_json(f"{_prefix(run)}/{name}.json", part)


def run_usage(store: AssetStore, run: RunConfig) -> list[dict[str, Any]]:
    """Every usage part of ``run``, in a stable order."""
    parts = [store.read_json(key) for key in store.list(_prefix(run))]
    return sorted(parts, key=lambda p: str(p.get("source")))


def run_totals(store: AssetStore, run: RunConfig) -> dict[str, dict[str, float]]:
    """Each family's summed units over the run's parts (see :func:`add_totals`)."""
    totals: dict[str, dict[str, float]] = {}
    for part in run_usage(store, run):
        add_totals(totals, str(part.get("family")), dict(part.get("usage") or {}))
    return dict(sorted(totals.items()))


class EstimatedCost(BaseModel):
    """A cost worked out from a price table: an estimate, never a bill.

    Attributes:
        estimated: Always True (shown with every figure).
        currency: The table's currency.
        total: Sum over the families.
        by_family: Cost per family.
        unpriced: Units the run used that the table has no price for, per family.
        table: Where the prices came from (a store key).
    """

    estimated: bool = True
    currency: str
    total: float
    by_family: dict[str, float] = Field(default_factory=dict)
    unpriced: dict[str, list[str]] = Field(default_factory=dict)
    table: str | None = None


class UsageSummary(BaseModel):
    """A run's usage totals and, with a price table, their estimated cost (a flow's result).

    Attributes:
        usage_totals: Family → unit → amount reported by the gateway.
        estimated_cost: From the run's price table; None without one.
    """

    #: ``int | float``: a count of tokens stays an integer in the manifest and the result.
    usage_totals: dict[str, dict[str, int | float]] = Field(default_factory=dict)
    estimated_cost: EstimatedCost | None = None


def estimate(totals: dict[str, dict[str, float]], table: dict[str, Any]) -> EstimatedCost:
    """The cost of ``totals`` at the prices of ``table`` (as :func:`parse_price_table` returns)."""
    prices: dict[str, dict[str, float]] = table["prices"]
    by_family: dict[str, float] = {}
    unpriced: dict[str, list[str]] = {}
    for family, units in totals.items():
        priced = prices.get(family, {})
        cost = sum(amount * priced[unit] for unit, amount in units.items() if unit in priced)
        missing = sorted(u for u, amount in units.items() if u not in priced and amount)
        if missing:
            unpriced[family] = missing
        if family in prices:
            by_family[family] = round(cost, 6)
    return EstimatedCost(
        currency=table["currency"],
        total=round(sum(by_family.values()), 6),
        by_family=by_family,
        unpriced=unpriced,
        table=table.get("source"),
    )


def _price_error(source: str, field: str, problem: str) -> ValueError:
    return ValueError(
        f"parameter 'price_table': {source}: {field} {problem}. Fix the table (format: "
        '{"currency": "USD", "prices": {"<family>": {"<unit>": <price per unit>}}}, see '
        "tasks.usage) or leave price_table empty"
    )


def parse_price_table(document: Any, source: str) -> dict[str, Any]:
    """Check a price table document; the table as a plain dict (with its ``source``).

    Raises:
        ValueError: Naming ``source`` and the field at fault, and how to fix it.
    """
    if not isinstance(document, dict):
        raise _price_error(source, "the document", "must be a JSON object")
    unknown = sorted(set(document) - {"currency", "prices", "note"})
    if unknown:
        raise _price_error(source, unknown[0], "is not a field (currency, prices, note)")
    currency = document.get("currency")
    if not isinstance(currency, str) or not 1 <= len(currency) <= 12:
        raise _price_error(source, "currency", "must be a short text such as 'USD'")
    prices = document.get("prices")
    if not isinstance(prices, dict):
        raise _price_error(source, "prices", "must be an object: family -> unit -> price")
    checked: dict[str, dict[str, float]] = {}
    for family, units in prices.items():
        if family not in UNITS:
            raise _price_error(source, f"prices.{family}", f"is not a family ({', '.join(UNITS)})")
        if not isinstance(units, dict):
            raise _price_error(source, f"prices.{family}", "must be an object: unit -> price")
        for unit, price in units.items():
            where = f"prices.{family}.{unit}"
            if unit not in UNITS[family]:
                known = ", ".join(UNITS[family]) or "none: it reports no usage"
                raise _price_error(source, where, f"is not a unit {family} reports ({known})")
            ok = isinstance(price, int | float) and not isinstance(price, bool)
            if not ok or not math.isfinite(price) or price < 0:
                raise _price_error(source, where, "must be a number >= 0")
            checked.setdefault(family, {})[unit] = float(price)
    return {"currency": currency, "prices": checked, "source": source}


async def load_price_table(store: AssetStore, reference: str | None) -> dict[str, Any] | None:
    """Read and check the price table ``reference`` names (see the module docstring).

    Args:
        store: The run's asset store (a store key is read there).
        reference: A store key, or None.

    Returns:
        The checked table, or None without one.

    Raises:
        ValueError: The file is missing or does not parse, naming it and the field.
    """
    if not reference:
        return None
    try:
        present = store.exists(reference)
    except ValueError as exc:  # not a key a store can hold
        raise _price_error(reference, "the key", f"is not a store key ({exc})") from None
    if not present:
        raise _price_error(reference, "the file", f"is not in the store ({store.url(reference)})")
    try:
        document = store.read_json(reference)
    except StoreDocumentError as exc:
        raise _price_error(reference, "the file", f"is not JSON ({exc})") from None
    return parse_price_table(document, reference)


def summary(store: AssetStore, run: RunConfig) -> UsageSummary:
    """The run's totals so far and, when it has a price table, their estimated cost."""
    totals = run_totals(store, run)
    cost = estimate(totals, run.prices) if run.prices else None
    return UsageSummary(usage_totals=totals, estimated_cost=cost)


def manifest_fields(store: AssetStore, run: RunConfig) -> dict[str, Any]:
    """``usage_totals`` and ``estimated_cost`` (None without a price table) of the manifest."""
    return summary(store, run).model_dump(mode="json")


async def count_call(store: AssetStore, run: RunConfig, route: str, reply: Any) -> dict[str, Any]:
    """Count a chat answer that stores nothing (no digest keys it): once per reply id.

    Returns:
        The usage it reported (:func:`usage_of`).
    """
    reported = usage_of(route, reply)
    reply_id = _get(reply, "id", "response_id", "responseId") or uuid.uuid4().hex
    await asyncio.to_thread(record_usage, store, run, f"call:{route}:{reply_id}", route, reported)
    return reported


def _amounts(units: dict[str, float]) -> str:
    return ", ".join(f"{unit} {amount:g}" for unit, amount in units.items()) or "nothing reported"


def markdown_lines(used: UsageSummary) -> list[str]:
    """The summary artifact's usage section: a row per family, costs marked as estimated."""
    if not used.usage_totals:
        return []
    cost = used.estimated_cost
    lines = ["## Usage", "", "| family | reported usage | estimated cost |", "|---|---|---|"]
    for family, units in used.usage_totals.items():
        price = "-"
        if cost is not None and family in cost.by_family:
            price = f"~{cost.by_family[family]:g} {cost.currency} (estimated)"
        lines.append(f"| {family} | {_amounts(units)} | {price} |")
    if cost is not None:
        lines += ["", f"**Estimated total: ~{cost.total:g} {cost.currency}** (from `{cost.table}`"]
        lines[-1] += ", an estimate, not a bill)."
        for family, missing in cost.unpriced.items():
            lines.append(f"Not priced by the table ({family}): {', '.join(missing)}.")
    return lines


def adopt_usage(store: AssetStore, run: RunConfig, manifest_key: str) -> None:
    """Count in ``run`` the usage of another run whose manifest it lists (a subflow's).

    The parts keep their sources, so adopting twice, or work both runs found, counts once.
    """
    prefix = f"{manifest_key.rsplit('/', 1)[0]}/usage.d"
    if prefix == _prefix(run):
        return
    for key in store.list(prefix):
        part = store.read_json(key)
        record_usage(store, run, part["source"], part["route"], dict(part.get("usage") or {}))
