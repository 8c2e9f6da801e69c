"""The documentation a clone carries: every contract section the code cites exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = ROOT / "docs" / "anyint-api.md"
PACKAGES = ("anyint", "emulator", "blocks", "tasks", "flows", "callbacks", "anyint_cli")
#: ``§11.4``, ``§11.4-11.5``: a section number, optionally the end of a range.
CITATION = re.compile(r"§(\d+(?:\.\d+)*)(?:-(\d+(?:\.\d+)*))?")
HEADING = re.compile(r"^#+ (\d+(?:\.\d+)*)\.? ", re.MULTILINE)


def _cited() -> dict[str, set[str]]:
    """Section number → the files citing it."""
    cited: dict[str, set[str]] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for match in CITATION.finditer(path.read_text(encoding="utf-8")):
                for number in filter(None, match.groups()):
                    cited.setdefault(number, set()).add(str(path.relative_to(ROOT)))
    return cited


def test_the_code_cites_the_contract() -> None:
    assert len(_cited()) > 10  # the scan itself works: the code cites many sections


def test_every_cited_section_exists_in_the_vendored_contract() -> None:
    sections = set(HEADING.findall(CONTRACT.read_text(encoding="utf-8")))
    cited = _cited()
    missing = {number: sorted(cited[number]) for number in cited if number not in sections}
    assert not missing, f"sections cited but absent from docs/anyint-api.md: {missing}"
