"""Converters remember the dates and timestamps they parsed, and still refuse bad ones."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from salesops.ingest import convert
from salesops.ingest.convert import converter
from salesops.ingest.mapping import FieldSpec
from salesops.ingest.targets import target


def test_a_repeated_date_is_parsed_once_and_a_bad_one_is_refused_every_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(convert, "MEMORY_LIMIT", 2)
    fields = target("opportunities").fields
    close = converter(FieldSpec("close_date", add_months=1), fields["close_date"], ("%d/%m/%Y",))
    created = converter(FieldSpec("created_at"), fields["created_at"])
    assert close("31/01/2025") == date(2025, 2, 28)  # shifted by a month, clamped
    assert close("31/01/2025") is close("31/01/2025")  # remembered
    assert [close(t) for t in ("01/02/2025", "02/02/2025", "31/01/2025")] == [
        date(2025, 3, 1),
        date(2025, 3, 2),
        date(2025, 2, 28),  # forgotten when the memory was full, parsed again alike
    ]
    for _ in range(2):
        with pytest.raises(ValueError, match="bad date '31/02/2025'"):
            close("31/02/2025")
        with pytest.raises(ValueError, match="1800-01-01"):
            created("1800-01-01T00:00:00Z")
    assert created("2024-03-01T10:00:00+02:00") == datetime(2024, 3, 1, 8, tzinfo=UTC)
