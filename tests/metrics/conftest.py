"""Fixtures for the metric tests: the edge-case company, and the engines to check it on."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from tests.metrics.scenario import Company, build


@pytest.fixture
def company(session: Session) -> Company:
    return build(session)


@pytest.fixture
def engines() -> list[str]:
    """The engine the hand-checked tests run on; test_engines.py proves the others agree."""
    return ["duckdb"]
