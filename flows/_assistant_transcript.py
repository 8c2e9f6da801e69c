"""The ``assistant`` flow's records: its transcript in the store, and its summary artifact."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from tasks import AssetRecord, RunConfig
from tasks.assets import record_assets, run_prefix

__all__ = ["ROUTE_NAMES", "scrubbed", "store_transcript", "summary_markdown"]

#: The gateway route each chat route's turns use, as the manifest names routes.
ROUTE_NAMES = {"gemini": "gemini.generateContent", "anthropic": "anthropic.messages"}
#: Arguments and results are cut to this many characters in the summary artifact.
_CELL_CHARS = 160


def _digest_of(data: str) -> str:
    return f"<{len(data)} base64 chars, sha256 {hashlib.sha256(data.encode()).hexdigest()[:16]}>"


def scrubbed(value: Any) -> Any:
    """``value`` with inline image bytes (Gemini ``inlineData``, Anthropic base64 sources)
    replaced by their size and digest: a transcript records which image, not the image."""
    if isinstance(value, list):
        return [scrubbed(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: scrubbed(v) for k, v in value.items()}
    inline = value.get("inlineData") or value.get("inline_data")
    if isinstance(inline, dict) and isinstance(inline.get("data"), str):
        key = "inlineData" if "inlineData" in value else "inline_data"
        out[key] = {**inline, "data": _digest_of(inline["data"])}
    if value.get("type") == "base64" and isinstance(value.get("data"), str):
        out["data"] = _digest_of(value["data"])
    return out


async def store_transcript(run: RunConfig, document: dict[str, Any]) -> AssetRecord:
    """Store the conversation as ``runs/<flow_run_id>/assistant/transcript.json`` and list it
    in the run's manifest.

    Returns:
        Its manifest record (kind ``transcript``).
    """
    store = (await run.gateway.connect()).store
    key = f"{run_prefix(run.flow_run_id)}/assistant/transcript.json"
    data = json.dumps(scrubbed(document), indent=2, ensure_ascii=False).encode()
    asset = await asyncio.to_thread(store.put_bytes, key, data, "application/json")
    record = AssetRecord(
        kind="transcript",
        route=ROUTE_NAMES[document["route"]],
        model=document["model"],
        uri=asset.uri,
        key=asset.key,
        bytes=asset.bytes,
        sha256=asset.sha256,
        content_type=asset.content_type,
        created_at=datetime.now(UTC),
    )
    await asyncio.to_thread(record_assets, store, run, [record])
    return record


def _cell(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    text = text if len(text) <= _CELL_CHARS else f"{text[: _CELL_CHARS - 1]}…"
    return text.replace("|", "\\|").replace("\n", " ")


def summary_markdown(document: dict[str, Any]) -> str:
    """The summary artifact's text: the prompt, every tool call and the answer."""
    prompt = "\n".join(f"> {line}" for line in document["prompt"].splitlines())
    tools = ", ".join(f"`{t['name']}`" for t in document["tools"]) or "none"
    lines = [
        f"`{document['model']}` on the {document['route']} route, {document['steps']} model "
        f"turn(s) of at most {document['max_steps']}; tools: {tools}",
        "",
        prompt,
        "",
    ]
    calls = document["tool_calls"]
    if calls:
        lines += ["| step | tool | arguments | outcome |", "|---|---|---|---|"]
        for c in calls:
            outcome = f"**error:** {_cell(c['error'])}" if not c["ok"] else _cell(c["result"])
            lines.append(f"| {c['step']} | `{c['name']}` | {_cell(c['arguments'])} | {outcome} |")
        lines.append("")
    heading = "Answer" if document["stop_reason"] == "answered" else "Stopped at the step cap"
    lines += [f"## {heading}", "", document["answer"] or "*(no text)*"]
    return "\n".join(lines)
