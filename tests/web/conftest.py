from collections.abc import Iterator
from datetime import date

import pytest

from salesops.web import periods
from tests.appsupport import app, client_as, org, session

# The org chart's deals are created on 6 Jan 2025 and close on 31 Mar 2025: page tests look at
# Q1 2025 while it is in progress unless they pin another day.
IN_Q1_2025 = date(2025, 3, 15)


@pytest.fixture
def today() -> Iterator[pytest.MonkeyPatch]:
    """The dashboard's today pinned to 15 Mar 2025 (tests may `setattr` another day)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(periods, "today", lambda: IN_Q1_2025)
        yield patch


__all__ = ["app", "client_as", "org", "session", "today"]
