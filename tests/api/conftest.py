from collections.abc import Iterator

import pytest

from salesops.forecasting.limits import LIMITER
from tests.appsupport import app, client_as, org, session

__all__ = ["app", "client_as", "org", "session"]


@pytest.fixture(autouse=True)
def _fresh_forecast_limits() -> Iterator[None]:
    """Rolled-back tests reuse user ids: one test's forecast runs must not count in the next."""
    LIMITER.reset()
    yield
    LIMITER.reset()
