"""Accuracy of every forecasting method on the real Maven CRM data and on the demo company.

    .venv/bin/python bench/forecast_accuracy.py [maven] [demo-quarter] [demo-month] [--periods]

Maven: imported with `salesops import maven` into a scratch SQLite database, month-start
forecasts of won value for 2017-04..2017-12, with the two naive baselines measured on the same
task. Demo: `salesops demo -n 20000` (seed 42), quarter-start forecasts over the last 8 full
quarters and month-start forecasts over the last 24 months. Same defaults everywhere (the
default number of simulations). Prints the tables docs/forecasting.md reports: WAPE, bias,
MAPE, P10-P90 coverage beside the interval's width (Σ(P90 − P10) ÷ Σ actual) and the mean
weighted quantile loss at P10/P50/P90 (wQL), and Brier. Name tasks to run only those.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
from sqlalchemy.orm import Session

from salesops.db import make_engine
from salesops.db.schema import upgrade
from salesops.demo.generator import DemoSpec
from salesops.demo.loader import load_into_database
from salesops.demo.params import REFERENCE_END
from salesops.forecasting import evaluate, service
from salesops.forecasting.engine import METHODS, Options
from salesops.ingest import run_import
from salesops.pipeline import stages

# ../shared/data from the checkout, or from the folder of worktrees above it.
MAVEN = next(
    (
        up / "shared" / "data" / "maven_crm_sales_opportunities"
        for up in Path(__file__).resolve().parents[2:4]
        if (up / "shared" / "data" / "maven_crm_sales_opportunities").exists()
    ),
    Path(__file__).resolve().parents[2] / "shared" / "data" / "maven_crm_sales_opportunities",
)


def show(title: str, scores: list, seconds: float) -> None:  # type: ignore[type-arg]
    print(f"\n{title} ({seconds:.1f} s)")
    print(
        f"  {'method':15s} {'WAPE':>6s} {'bias':>7s} {'MAPE':>6s} {'P10-P90':>8s}"
        f" {'width':>6s} {'wQL':>6s} {'Brier':>6s}"
    )
    for s in scores:
        d = s.as_dict()
        rows = [r for r in s.rows if r.horizon == 0]
        col = {c: np.array([getattr(r, c) for r in rows]) for c in ("p10", "p50", "p90", "actual")}
        width = evaluate.interval_width(col["p10"], col["p90"], col["actual"])
        wql = evaluate.quantile_loss(col["p10"], col["p50"], col["p90"], col["actual"])
        f = lambda v: "     -" if v is None else f"{v:6.3f}"  # noqa: E731
        print(
            f"  {s.method:15s} {f(d['wape'])} {f(d['bias']):>7s} {f(d['mape'])}"
            f"   {f(d['coverage_p10_p90'])} {f(width)} {f(wql)} {f(d['brier'])}",
            flush=True,
        )


def baselines(actual: dict[date, float], months: list[date]) -> None:
    a = np.array([actual.get(m, 0.0) for m in months])

    def prev(m: date, k: int) -> date:
        index = m.year * 12 + m.month - 1 - k
        return date(index // 12, index % 12 + 1, 1)

    last = np.array([actual.get(prev(m, 1), 0.0) for m in months])
    trailing = np.array(
        [np.mean([actual[prev(m, k)] for k in (1, 2, 3) if prev(m, k) in actual]) for m in months]
    )
    for name, fc in (("last month", last), ("trailing 3 months", trailing)):
        wape = np.abs(fc - a).sum() / a.sum()
        bias = (fc - a).sum() / a.sum()
        print(f"  baseline {name:18s} WAPE {wape:.3f}  bias {bias:+.3f}")


def run(url: str, loader, start: date, end: date, grain: str, title: str) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(url)
    upgrade(engine)
    with Session(engine) as session:
        stages.ensure_stages(session)
        loader(session)
        session.commit()
        began = time.perf_counter()
        scores = service.run_backtest(
            session,
            start=start,
            end=end,
            methods=list(METHODS),
            options=Options(grain=grain, horizon=1),  # type: ignore[arg-type]
        )
        show(title, scores, time.perf_counter() - began)
        rows = scores[0].rows
        if grain == "month":
            baselines(
                {r.period_start: r.actual for r in rows} | earlier(session, start),
                [r.period_start for r in rows],
            )
        for s in scores:
            if "--periods" in sys.argv:
                for r in s.rows:
                    print(
                        f"    {s.method:15s} {r.period} forecast {r.expected:14,.0f}"
                        f" [{r.p10:14,.0f} {r.p90:14,.0f}] actual {r.actual:14,.0f}"
                    )
    engine.dispose()


def earlier(session: Session, first: date) -> dict[date, float]:
    """Bookings of the months before `first` (from 2016-10 for Maven, 3 months otherwise)."""
    from salesops.forecasting.backtest import Actuals
    from salesops.forecasting.periods import periods_between

    prep = service.load(session)
    actuals = Actuals(prep)
    return {
        p.start: float(actuals.won_in(p)["amount"].sum())
        for p in periods_between(
            min(
                date(first.year - 1 + (first.month > 3), (first.month - 4) % 12 + 1, 1),
                date(2016, 10, 1),
            ),
            date(first.year - (first.month == 1), (first.month - 2) % 12 + 1, 1),
            "month",
        )
    }


def main() -> None:
    tasks = [a for a in sys.argv[1:] if not a.startswith("--")] or [
        "maven",
        "demo-quarter",
        "demo-month",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        if "maven" not in tasks:
            pass
        elif MAVEN.exists():
            run(
                f"sqlite:///{tmp}/maven.db",
                lambda s: run_import(s, "maven", [MAVEN]),
                date(2017, 4, 1),
                date(2017, 12, 1),
                "month",
                "Maven CRM: month-start forecasts of won value, 2017-04..2017-12",
            )
        else:
            print(f"{MAVEN} is missing: Maven evaluation skipped")
        if not {"demo-quarter", "demo-month"} & set(tasks):
            return
        demo_url = f"sqlite:///{tmp}/demo.db"
        load_into_database(
            make_engine(demo_url), DemoSpec(opportunities=20_000, end=REFERENCE_END).validate()
        )
        if "demo-quarter" in tasks:
            run(
                demo_url,
                lambda s: None,
                date(2024, 10, 1),
                date(2026, 7, 1),
                "quarter",
                "Demo company (20,000 deals, seed 42): quarter-start forecasts, 8 quarters",
            )
        if "demo-month" in tasks:
            run(
                demo_url,
                lambda s: None,
                date(2024, 11, 1),
                date(2026, 10, 1),
                "month",
                "Demo company (20,000 deals, seed 42): month-start forecasts, 24 months",
            )


if __name__ == "__main__":
    main()
