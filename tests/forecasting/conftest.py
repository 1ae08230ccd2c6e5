"""Every forecasting test starts with the expensive-operation limits cleared: rolled-back
tests reuse user ids, so one test's runs must not count against the next."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from salesops.forecasting.limits import LIMITER


@pytest.fixture(autouse=True)
def _fresh_limits() -> Iterator[None]:
    LIMITER.reset()
    yield
    LIMITER.reset()
