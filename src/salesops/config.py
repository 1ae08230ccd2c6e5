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
    # Outbox delivery (salesops worker): e-mail through this SMTP server, webhooks signed.
    smtp_host: str | None = Field(default=None, description="SMTP server for outgoing e-mail.")
    smtp_port: int = Field(default=25, description="SMTP server port.")
    smtp_username: str | None = Field(default=None, description="SMTP login (optional).")
    smtp_password: str | None = Field(default=None, description="SMTP password (optional).")
    smtp_starttls: bool = Field(default=False, description="Upgrade SMTP with STARTTLS.")
    mail_from: str = Field(
        default="salesops@localhost", description="Sender address of outgoing e-mail."
    )
    contract_rules: Path | None = Field(
        default=None,
        description="Contract approval rules (YAML); the packaged defaults when unset.",
    )
    renewal_lead_days: int = Field(
        default=90,
        ge=0,
        le=3650,
        description="Days before a contract's notice date that its renewal deal is raised.",
    )
    notice_alert_days: int = Field(
        default=30,
        ge=0,
        le=3650,
        description="Days before a notice date that the owner is warned it is about to pass.",
    )
    webhook_secret: str | None = Field(
        default=None,
        description="Key of the HMAC-SHA256 signature sent with webhooks (X-Salesops-Signature).",
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings, read once from the environment."""
    return Settings()
