"""Settings come from SALESOPS_* variables, with documented defaults, and connect to nothing."""

from __future__ import annotations

import pytest

from salesops.config import Settings
from salesops.db import make_engine
from salesops.errors import ConfigurationError


def test_settings_default_to_a_sqlite_file_and_usd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SALESOPS_DATABASE_URL", raising=False)
    settings = Settings()
    assert settings.database_url == "sqlite:///salesops.db"
    assert settings.reporting_currency == "USD"


def test_settings_read_the_salesops_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALESOPS_DATABASE_URL", "postgresql://x@y/z")
    monkeypatch.setenv("SALESOPS_REPORTING_CURRENCY", "EUR")
    settings = Settings()
    assert (settings.database_url, settings.reporting_currency) == ("postgresql://x@y/z", "EUR")


def test_plain_postgresql_urls_use_psycopg_3() -> None:
    engine = make_engine("postgresql://postgres@127.0.0.1:1/none")
    assert engine.dialect.driver == "psycopg"


def test_an_unknown_database_driver_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="unsupported database URL"):
        make_engine("oracle+nodriver://x@y/z")
