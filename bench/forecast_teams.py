"""Coverage of the team forecast lines' P10-P90, with and without their calibration.

    .venv/bin/python bench/forecast_teams.py [--opportunities N]

Builds the demo company (seed 42) in a scratch SQLite database and backtests the deal-level
methods quarterly (8 quarter starts) and monthly (24 month starts), like
bench/forecast_accuracy.py. At each start every team's line (sub-teams included) is made twice
in the same process: with the simulated spread alone (the baseline) and with the spread
calibrated on the teams' own past lines (the default). An interval that is right holds the
actual in about 80% of lines.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date

import numpy as np
from sqlalchemy.orm import Session

from salesops.db import make_engine
from salesops.demo.generator import DemoSpec
from salesops.demo.loader import load_into_database
from salesops.demo.params import REFERENCE_END
from salesops.forecasting import service, teams
from salesops.forecasting.backtest import Actuals
from salesops.forecasting.engine import Options
from salesops.forecasting.features import FeatureBuilder
from salesops.forecasting.periods import Grain, periods_between
from salesops.forecasting.snapshot import Prepared, to_ns

METHODS = ("historical", "ml", "ensemble")
RANGES: dict[str, tuple[date, date]] = {
    "quarter": (date(2024, 10, 1), date(2026, 7, 1)),
    "month": (date(2024, 11, 1), date(2026, 10, 1)),
}


def measure(prep: Prepared, tree: teams.Teams, grain: Grain) -> None:
    opportunity_team = prep.history.opportunities.set_index("id")["team_id"]
    options = Options(grain=grain, horizon=1)
    builder = FeatureBuilder(prep, grain)
    actuals = Actuals(prep, builder)
    held: dict[tuple[str, str], list[bool]] = {}
    seconds: dict[str, float] = dict.fromkeys(("baseline", "calibrated"), 0.0)
    for period in periods_between(*RANGES[grain], grain):
        context = builder.context(to_ns(period.start_at), options)
        won = actuals.won_in(period)
        won_team = won["id"].map(opportunity_team).to_numpy()
        for method in METHODS:
            forecast = context.forecast(method)
            for kind, scale in (("baseline", 1.0), ("calibrated", None)):
                began = time.perf_counter()
                lines = teams.team_lines(context, forecast, tree, scale=scale)
                seconds[kind] += time.perf_counter() - began
                for team_id, line in lines.items():
                    actual = won["amount"].to_numpy()[np.isin(won_team, tree[team_id])].sum()
                    inside = bool(line["p10"][0] <= actual <= line["p90"][0])
                    held.setdefault((method, kind), []).append(inside)
    print(f"\n{grain}: P10-P90 coverage of team lines (share of lines holding the actual)")
    for method in METHODS:
        base, cal = held[(method, "baseline")], held[(method, "calibrated")]
        print(
            f"  {method:11s} lines {len(base):4d}  simulated spread {np.mean(base):.2f}"
            f"  calibrated {np.mean(cal):.2f}"
        )
    ratio = seconds["calibrated"] / max(seconds["baseline"], 1e-9)
    print(
        f"  time making the team lines: {seconds['baseline']:.1f} s simulated only,"
        f" {seconds['calibrated']:.1f} s calibrated ({ratio:.1f}x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--opportunities", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/demo.db")
        load_into_database(
            engine, DemoSpec(opportunities=args.opportunities, end=REFERENCE_END).validate()
        )
        with Session(engine) as session:
            prep = service.load(session)
            tree = service.team_tree(session)
        for grain in ("quarter", "month"):
            measure(prep, tree, grain)  # type: ignore[arg-type]
        engine.dispose()


if __name__ == "__main__":
    main()
