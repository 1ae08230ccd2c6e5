"""Runtime configuration: one Settings class read from SALESOPS_* environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///salesops.db"


class Settings(BaseSettings):
    """Everything salesops can be configured with; nothing here connects to anything."""

    model_config = SettingsConfigDict(env_prefix="SALESOPS_", extra="ignore")

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL of the operational store (SQLite file or PostgreSQL).",
    )
    reporting_currency: str = Field(
        default="USD", description="ISO currency that money is converted to for reporting."
    )
    metrics_dir: Path | None = Field(
        default=None, description="Directory of extra metric definitions (YAML) to load."
    )
    comp_plans_dir: Path | None = Field(
        default=None,
        description="Directory of compensation plan files (YAML); default: the demo plans.",
    )
    echo_sql: bool = Field(default=False, description="Log every SQL statement (debugging).")
    metrics_cache: str = Field(
        default="auto",
        description=(
            "Where the metrics engine keeps its DuckDB copy of the large tables between"
            " processes: 'auto' (next to a SQLite database file), 'off', or a directory."
        ),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings, read once from the environment."""
    return Settings()
