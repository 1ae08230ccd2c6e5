"""The contracts' scheduled job: renewals, notice alerts, auto-renewal and expiry, daily."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy.orm import Session

from salesops.config import get_settings
from salesops.contracts.renewals import run_renewals
from salesops.jobs import handler


@handler("contracts.renewals", every=timedelta(days=1))
def renewals_job(session: Session, payload: dict[str, Any]) -> str:
    """Run the renewals pass for `payload["today"]` (default: today)."""
    settings = get_settings()
    today = date.fromisoformat(payload["today"]) if "today" in payload else date.today()
    report = run_renewals(
        session,
        today=today,
        lead_days=int(payload.get("lead_days", settings.renewal_lead_days)),
        alert_days=int(payload.get("alert_days", settings.notice_alert_days)),
    )
    return report.summary()
