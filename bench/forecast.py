"""Backtest benchmark: 24 month-start forecasts over 1M opportunities, all methods.

    .venv/bin/python bench/forecast.py [PARQUET_DIR] [--methods=m1,m2] [--json=PATH]

--json=PATH writes every forecast figure at full precision (and a digest of the per-deal
probabilities), so a speed change can be checked to leave the numbers identical.
PARQUET_DIR comes from `salesops demo --opportunities 1000000 --parquet DIR` (built here into
/tmp/salesops-bench-1m when missing). Target: the whole backtest in under 2 minutes. The
baseline, measured in the same run, is the row-by-row `rewind` of salesops.pipeline.history
(the rule the vectorised snapshot reproduces), timed on two dates.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

from salesops.forecasting.backtest import Actuals, MethodScore, score_forecast
from salesops.forecasting.engine import METHODS, Options
from salesops.forecasting.features import FeatureBuilder
from salesops.forecasting.frames import load_parquet
from salesops.forecasting.periods import periods_between
from salesops.forecasting.snapshot import prepare, snapshot, to_ns
from salesops.pipeline.history import LaterEvent, OpportunityState, rewind

DEFAULT_DIR = Path("/tmp/salesops-bench-1m")


def ensure_data(folder: Path) -> None:
    if (folder / "opportunities.parquet").exists():
        return
    print(f"building 1M opportunities into {folder} ...", flush=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "salesops",
            "demo",
            "-n",
            "1000000",
            "--end-date",
            "2026-10-31",
            "--parquet",
            str(folder),
        ],
        check=True,
    )


def rowwise_snapshot_seconds(history, at: datetime) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    """The reference rule, one Python object per deal and event (what we avoid)."""
    start = time.perf_counter()
    opps = history.opportunities
    stages = history.stages
    categories = dict(zip(stages["name"], stages["category"], strict=True))
    t = at.replace(tzinfo=None)
    alive = opps[opps["created_at"] <= t]
    current = [
        OpportunityState(
            id=int(r.id),
            name="",
            owner_id=int(r.owner_id),
            account_id=None,
            product_id=None,
            stage=r.stage,
            stage_category=categories.get(r.stage, "open"),
            amount=r.amount,
            currency="USD",
            close_date=None,
            forecast_category=r.forecast_category,
            type=r.type,
            created_at=r.created_at.to_pydatetime().replace(tzinfo=UTC),
            closed_at=None,
        )
        for r in alive.itertuples(index=False)
    ]
    ev = history.events[history.events["at"] > t].sort_values(["opportunity_id", "at", "id"])
    later = (
        LaterEvent(int(o), f, old, a.to_pydatetime().replace(tzinfo=UTC))
        for o, f, old, a in zip(
            ev["opportunity_id"], ev["field"], ev["old_value"], ev["at"], strict=True
        )
    )
    states = list(rewind(current, later, at=at, stage_categories=categories))
    return time.perf_counter() - start, len(states)


def figures(scores: list[MethodScore]) -> dict[str, object]:
    """Every number a method produced, unrounded: what a pure speed change must not move."""
    out: dict[str, object] = {}
    for s in scores:
        digest = hashlib.sha256()
        for h in sorted(s.deal_p):
            for p, won in zip(s.deal_p[h], s.deal_won[h], strict=True):
                digest.update(p.tobytes())
                digest.update(won.tobytes())
        out[s.method] = {
            "rows": [
                [r.as_of.isoformat(), r.horizon, r.expected, r.p10, r.p50, r.p90, r.actual]
                for r in s.rows
            ],
            "deal_p_sha256": digest.hexdigest(),
        }
    return out


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    folder = Path(args[0]) if args else DEFAULT_DIR
    methods = list(METHODS)
    json_path: Path | None = None
    for a in sys.argv[1:]:
        if a.startswith("--methods="):
            methods = a.split("=", 1)[1].split(",")
        if a.startswith("--json="):
            json_path = Path(a.split("=", 1)[1])
    ensure_data(folder)

    t0 = time.perf_counter()
    history = load_parquet(str(folder))
    t_load = time.perf_counter() - t0
    t0 = time.perf_counter()
    prep = prepare(history)
    t_prep = time.perf_counter() - t0
    n_opps, n_events = len(history.opportunities), len(history.events)
    print(
        f"loaded {n_opps:,} opportunities, {n_events:,} events in {t_load:.1f} s;"
        f" prepared in {t_prep:.1f} s"
    )

    end = history.opportunities["created_at"].max().date()
    last = date(end.year, end.month, 1)
    first = date(last.year - 2 + (last.month == 12), (last.month % 12) + 1, 1)
    at = datetime(first.year, first.month, 1, tzinfo=UTC)
    t0 = time.perf_counter()
    snap = snapshot(prep, at)
    t_vec = time.perf_counter() - t0
    t_row, n_row = (
        rowwise_snapshot_seconds(history, at)
        if "--no-baseline" not in sys.argv
        else (0.0, len(snap))
    )
    assert n_row == len(snap)
    baseline = (
        f", row-by-row rewind {t_row:.2f} s, speed-up x{t_row / max(t_vec, 1e-9):.0f}"
        if t_row
        else " (row-by-row baseline skipped)"
    )
    print(f"one snapshot ({len(snap):,} deals): vectorised {t_vec:.2f} s{baseline}")

    t0 = time.perf_counter()
    cpu0 = time.process_time()
    options = Options(grain="month", horizon=1)
    builder = FeatureBuilder(prep, options.grain)
    actuals = Actuals(prep, builder)
    scores = [MethodScore(method=m, version="") for m in methods]
    # Seconds per step, summed over the dates (a method's share includes whatever it is the
    # first to need: the context's snapshot, training rows, model fit, past forecasts).
    spent = dict.fromkeys(["context", *methods], 0.0)
    for period in periods_between(first, last, options.grain):
        started = time.perf_counter()
        context = builder.context(to_ns(period.start_at), options)
        spent["context"] += time.perf_counter() - started
        for score in scores:
            began = time.perf_counter()
            score_forecast(score, context.forecast(score.method), actuals, period.start)
            spent[score.method] += time.perf_counter() - began
        print(
            f"  {period.label}: {time.perf_counter() - started:.1f} s,"
            f" {len(context.deals):,} open deals",
            flush=True,
        )
    t_bt = time.perf_counter() - t0
    cpu_bt = time.process_time() - cpu0
    periods = len(scores[0].rows)
    rowwise = f"; row-by-row snapshots alone: ~{t_row * periods * 2:.0f} s" if t_row else ""
    print(
        f"backtest of {periods} month starts x {len(methods)} methods: {t_bt:.1f} s"
        f" (target < 120 s{rowwise})"
    )
    total = t_load + t_prep + t_bt
    print(
        f"total with loading: {total:.1f} s; backtest CPU time {cpu_bt:.1f} s"
        f" (wall time suffers when other jobs share the 2 cores: load average"
        f" {os.getloadavg()[0]:.1f})"
    )
    print("  seconds per step: " + ", ".join(f"{k} {v:.1f}" for k, v in spent.items()))

    def fmt(v: float | None) -> str:
        return "-" if v is None else f"{v:.3f}"

    for s in scores:
        d = s.as_dict()
        print(
            f"  {s.method:15s} WAPE {fmt(d['wape'])}  bias {fmt(d['bias'])}  MAPE {fmt(d['mape'])}"
            f"  P10-P90 {fmt(d['coverage_p10_p90'])}  Brier {fmt(d['brier'])}"
        )
    if json_path is not None:
        json_path.write_text(json.dumps(figures(scores), indent=1))


if __name__ == "__main__":
    main()
