"""Prefect's block standards (descriptions, docs URL, code example) for every block we ship.

Prefect's ``BlockStandardTestSuite`` also downloads the block logo, which needs the internet; the
other checks run here through the suite's own methods.
"""

from __future__ import annotations

import pytest
from prefect.blocks.core import Block
from prefect.testing.standard_test_suites import BlockStandardTestSuite

from blocks import AnyIntCredentials, AssetStore

CHECKS = [
    "test_has_a_description",
    "test_has_a_documentation_url",
    "test_all_fields_have_a_description",
    "test_has_a_valid_code_example",
]


class _Suite(BlockStandardTestSuite):
    def block(self) -> type[Block]:  # type: ignore[override]
        raise NotImplementedError


@pytest.mark.parametrize("block", [AnyIntCredentials, AssetStore])
@pytest.mark.parametrize("check", CHECKS)
def test_block_standard(block: type[Block], check: str) -> None:
    getattr(_Suite(), check)(block)
