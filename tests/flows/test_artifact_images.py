"""Images in published artifacts are URLs a browser loads: ``http(s):`` or ``data:``, never
``file://``/``memory://``/``s3://`` (which the Prefect UI shows as broken images)."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prefect import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId
from prefect.client.schemas.objects import Artifact

import flows._common
from blocks import AssetStore
from flows.generate_image import generate_image
from tests._media import png_bytes
from tests.blocks.conftest import memory_store, moto_endpoint, s3_store
from tests.conftest import EmulatedGateway

__all__ = ["memory_store", "moto_endpoint", "s3_store"]

#: Markdown images ``![alt](url)`` and HTML ``<img src=url>``.
_MARKDOWN_IMAGE = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)")
_HTML_IMAGE = re.compile(r"<img\b[^>]*\bsrc\s*=\s*[\"']?([^\"'\s>]+)", re.IGNORECASE)


def image_references(artifacts: list[Artifact]) -> list[str]:
    """Every image URL the UI would load for these artifacts."""
    refs: list[str] = []
    for artifact in artifacts:
        if artifact.type == "image":
            refs.append(str(artifact.data))
        elif artifact.type == "markdown":
            text = str(artifact.data)
            refs += _MARKDOWN_IMAGE.findall(text) + _HTML_IMAGE.findall(text)
    return refs


async def run_artifacts(flow_run_id: str) -> list[Artifact]:
    """The artifacts of one flow run (this test's, no other)."""
    async with get_client() as client:
        return await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )


async def test_memory_store_images_are_inline_data_urls(gateway: EmulatedGateway) -> None:
    result = await generate_image(prompt="a red kite")
    (record,) = result.images
    artifacts = await run_artifacts(result.manifest_key.split("/")[1])
    refs = image_references(artifacts)
    assert refs, "the run published no image at all"
    assert all(ref.startswith(("https://", "http://", "data:")) for ref in refs), refs
    stored = hashlib.sha256(gateway.read(record.key)).hexdigest()
    for ref in refs:  # and each shows the stored picture, not some other bytes
        header, _, payload = ref.partition(",")
        assert header == f"data:{record.content_type};base64"
        assert hashlib.sha256(base64.b64decode(payload)).hexdigest() == stored


async def test_an_image_too_large_to_inline_is_named_not_linked(
    gateway: EmulatedGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(flows._common, "INLINE_IMAGE_LIMIT", 16)
    result = await generate_image(prompt="a big kite")
    (record,) = result.images
    artifacts = await run_artifacts(result.manifest_key.split("/")[1])
    assert image_references(artifacts) == []
    (markdown,) = [a for a in artifacts if a.type == "markdown"]
    assert f"`{record.key}` is not shown" in str(markdown.data)


def test_s3_store_gives_a_presigned_url_that_downloads_the_bytes(s3_store: AssetStore) -> None:
    image = png_bytes()
    s3_store.put_bytes("runs/r1/images/kite.png", image, "image/png")
    link = s3_store.browser_url("runs/r1/images/kite.png", inline_limit=1 << 20)
    assert link is not None and link.url.startswith("http://127.0.0.1:")
    assert "Signature=" in link.url or "X-Amz-Signature=" in link.url
    assert link.expires_at is not None
    expected = datetime.now(UTC) + timedelta(seconds=s3_store.link_expiry_seconds)
    assert abs((link.expires_at - expected).total_seconds()) < 60
    response = httpx.get(link.url, timeout=10)
    assert response.status_code == 200 and response.content == image


def test_local_store_inlines_small_files_only(memory_store: AssetStore) -> None:
    image = png_bytes()
    memory_store.put_bytes("a.png", image, "image/png")
    link = memory_store.browser_url("a.png", inline_limit=len(image), content_type="image/png")
    assert link is not None and link.expires_at is None
    assert base64.b64decode(link.url.removeprefix("data:image/png;base64,")) == image
    assert memory_store.browser_url("a.png", inline_limit=len(image) - 1) is None
    assert memory_store.browser_url("a.png") is None  # no limit given: nothing inlined
